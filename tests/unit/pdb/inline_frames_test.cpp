// Inline frames (S_INLINESITE + DEBUG_S_INLINEELINES + IPI names) against
// two oracles: `llvm-pdbutil-16 dump -symbols -il` (every site's decoded
// annotations: code ranges and lines) and llvm-symbolizer-16 --inlining (the
// frame names and their nesting at an address).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "pdb/inline_sites.h"
#include "pdb/pdb_file.h"
#include "msf_builder.h"
#include "pdbutil_oracle.h"
#include "support/test_support.h"

using namespace nt::pdb;
using namespace nt::pdbtest;

namespace {

const char* const kInlinePdbs[] = {
    "symbolic/CrashWithException.pdb",
    "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B6936ffffffff/crash.pdb",
    "kdlibcpp/targetapp_stacktest_wow64_release/targetapp.pdb",
    "kdlibcpp/targetapp_stacktest_x64_release/targetapp.pdb",
    "kdlibcpp/targetapp_test_cv_allreg_amd64/targetapp.pdb",
    "kdlibcpp/targetapp_test_cv_allreg_i386/targetapp.pdb",
};

struct OracleRange {
    uint32_t start = 0, end = 0;
    int32_t line = 0;  // offset from the inlinee's first line
};
struct OracleSite {
    std::string shortName;  // as pdbutil prints it: without the class
    uint32_t inlinee = 0;
    uint16_t segment = 0;
    uint32_t procOffset = 0;
    int module = 0;
    uint32_t procRecord = 0;  // the procedure's record offset in its module
    std::vector<OracleRange> ranges;
};

// The S_INLINESITE records of `dump -symbols`, with the address of the
// procedure they belong to and the ranges their annotation lines describe.
std::vector<OracleSite> parseInlineSites(const std::string& out) {
    std::vector<OracleSite> sites;
    struct ProcAt {
        uint16_t segment = 0;
        uint32_t offset = 0;
        uint32_t record = 0;
    };
    std::map<uint32_t, ProcAt> procAt;  // record offset -> its procedure
    std::istringstream in(out);
    std::string line;
    int module = -1;
    std::string kind;
    uint32_t rec = 0;
    OracleSite* cur = nullptr;
    bool open = false;
    int32_t curLine = 0;
    std::smatch m;
    static const std::regex modRe(R"(^\s*Mod (\d+) \|)");
    static const std::regex recRe(R"(^\s*(\d+) \| (S_\w+) \[size = \d+\])");
    static const std::regex procAddr(R"(addr = (\d+):(\d+))");
    static const std::regex parentRe(R"(parent = (\d+))");
    static const std::regex siteRe(R"(inlinee = 0x([0-9A-F]+)(?: \((.*)\))?, parent = (\d+), end)");
    static const std::regex annRe(R"(^\s{11}[0-9A-F]{2,}\s+(.*)$)");
    static const std::regex codeRe(R"(code 0x([0-9A-F]+) \()");
    static const std::regex endRe(R"(code end 0x([0-9A-F]+) \()");
    static const std::regex lineRe(R"(line (-?\d+) \()");
    auto closeOpen = [&](uint32_t at) {
        if (cur && open) cur->ranges.back().end = at;
        open = false;
    };
    auto finishSite = [&]() {
        if (cur && open) cur->ranges.pop_back();  // no known end
        if (cur) std::erase_if(cur->ranges, [](const OracleRange& r) { return r.end <= r.start; });
        cur = nullptr;
        open = false;
    };
    while (std::getline(in, line)) {
        if (std::regex_search(line, m, modRe)) {
            finishSite();
            module = std::stoi(m[1]);
            procAt.clear();
            continue;
        }
        if (std::regex_search(line, m, recRe)) {
            finishSite();
            rec = std::stoul(m[1]);
            kind = m[2];
            continue;
        }
        if (kind.find("PROC32") != std::string::npos && std::regex_search(line, m, procAddr)) {
            procAt[rec] = {static_cast<uint16_t>(std::stoul(m[1])), static_cast<uint32_t>(std::stoul(m[2])), rec};
            kind.clear();
        } else if (kind == "S_BLOCK32" && std::regex_search(line, m, parentRe)) {
            if (auto it = procAt.find(std::stoul(m[1])); it != procAt.end()) procAt[rec] = it->second;
            kind.clear();
        } else if (kind == "S_INLINESITE" && std::regex_search(line, m, siteRe)) {
            auto it = procAt.find(std::stoul(m[3]));
            if (it == procAt.end()) continue;
            procAt[rec] = it->second;
            sites.push_back({m[2], static_cast<uint32_t>(std::stoul(m[1], nullptr, 16)), it->second.segment,
                             it->second.offset, module, it->second.record, {}});
            cur = &sites.back();
            curLine = 0;
            kind = "annotations";
        } else if (kind == "annotations" && cur && std::regex_search(line, m, annRe)) {
            std::string text = m[1];
            if (std::regex_search(text, m, lineRe)) curLine = std::stoi(m[1]);
            if (std::regex_search(text, m, codeRe)) {
                uint32_t at = std::stoul(m[1], nullptr, 16);
                closeOpen(at);
                cur->ranges.push_back({at, at, curLine});
                open = true;
                if (std::regex_search(text, m, endRe)) {
                    cur->ranges.back().end = std::stoul(m[1], nullptr, 16);
                    open = false;
                }
            }
        }
    }
    finishSite();
    return sites;
}

// (module, inlinee) -> first line, from `dump -il`.
std::map<std::pair<int, uint32_t>, uint32_t> parseInlineeLines(const std::string& out) {
    std::map<std::pair<int, uint32_t>, uint32_t> v;
    std::istringstream in(out);
    std::string line;
    int module = -1;
    std::smatch m;
    static const std::regex modRe(R"(^\s*Mod (\d+) \|)");
    static const std::regex entry(R"(^\s+0x([0-9A-F]+) \|\s+(\d+) \|)");
    while (std::getline(in, line)) {
        if (std::regex_search(line, m, modRe)) module = std::stoi(m[1]);
        else if (std::regex_search(line, m, entry))
            v[{module, static_cast<uint32_t>(std::stoul(m[1], nullptr, 16))}] = std::stoul(m[2]);
    }
    return v;
}

// pdbutil prints the inlinee's name without its class, and cuts long names
// with "...".
bool sameInlinee(const std::string& ours, const std::string& printed) {
    if (printed.size() > 3 && printed.compare(printed.size() - 3, 3, "...") == 0)
        return ours.find(printed.substr(0, printed.size() - 3)) != std::string::npos;
    return ours.size() >= printed.size() && ours.compare(ours.size() - printed.size(), printed.size(), printed) == 0;
}

}  // namespace

TEST(InlineAnnotations, DecodesRangesAndLines) {
    // The __get_entropy site of CrashWithException.pdb, bytes as pdbutil shows them.
    const uint8_t ann[] = {0x03, 0x23, 0x0B, 0x65, 0x0B, 0x4A, 0x06, 0x0C, 0x03, 0x08, 0x0B, 0x2C, 0x06, 0x12,
                           0x03, 0x08, 0x0B, 0x4E, 0x06, 0x12, 0x0C, 0x20, 0x03, 0x00};
    auto r = decodeInlineAnnotations(nt::Bytes(ann, sizeof ann));
    ASSERT_EQ(r.size(), 8u);
    EXPECT_EQ(r[0].start, 0x23u);
    EXPECT_EQ(r[0].end, 0x28u);
    EXPECT_EQ(r[0].lineOffset, 0);
    EXPECT_EQ(r[1].lineOffset, 3);
    EXPECT_EQ(r[3].start, 0x3Au);
    EXPECT_EQ(r[3].lineOffset, 11);
    EXPECT_EQ(r[6].start, 0x5Cu);
    EXPECT_EQ(r[6].end, 0x5Fu);
    EXPECT_EQ(r[6].lineOffset, 23);
    EXPECT_EQ(r[7].start, 0x5Fu);
    EXPECT_EQ(r[7].end, 0x7Fu);
    EXPECT_EQ(r[7].lineOffset, 32);
    // Truncated operands, an unknown opcode and a trailing open range.
    const uint8_t bad[] = {0x03, 0x10, 0x03, 0xC0};
    EXPECT_TRUE(decodeInlineAnnotations(nt::Bytes(bad, sizeof bad)).empty());
    const uint8_t unk[] = {0x0C, 0x04, 0x02, 0x0E, 0x01, 0x0C, 0x04, 0x10};
    auto u = decodeInlineAnnotations(nt::Bytes(unk, sizeof unk));
    ASSERT_EQ(u.size(), 1u);
    EXPECT_EQ(u[0].end, 6u);
    const uint8_t neg[] = {0x0C, 0x02, 0x81, 0x00, 0x06, 0x03, 0x04, 0x05};  // 2-byte operand, line -1
    auto n = decodeInlineAnnotations(nt::Bytes(neg, sizeof neg));
    ASSERT_EQ(n.size(), 2u);
    EXPECT_EQ(n[0].start, 0x100u);
    EXPECT_EQ(n[0].end, 0x102u);
    EXPECT_EQ(n[1].start, 0x100u);  // a length without an open range opens one
    EXPECT_EQ(n[1].end, 0x105u);
    EXPECT_EQ(n[1].lineOffset, -1);
}

// Every inline site's every range, probed at its first and last byte: the
// frames there are as many as pdbutil's sites covering it and include the site's inlinee at the line pdbutil's annotations
// give (inlinee first line from -il plus the offset); the procedure's first
// byte has no frames unless a range covers it.
TEST(InlineFrames, EverySiteRangeMatchesPdbutil) {
    if (!havePdbutil()) GTEST_SKIP() << "llvm-pdbutil-16 not found: no oracle to compare with";
    size_t pdbs = 0, sites = 0, probes = 0, named = 0, framesSeen = 0;
    for (const char* rel : kInlinePdbs) {
        std::string path = nt::test::corpusFile(rel);
        if (path.empty()) continue;
        SCOPED_TRACE(path);
        ++pdbs;
        auto pdb = PdbFile::open(path);
        auto oracle = parseInlineSites(pdbutil("-symbols", path));
        auto firstLines = parseInlineeLines(pdbutil("-il", path));
        auto vas = parseSectionVAs(pdbutil("-section-headers", path));
        ASSERT_FALSE(oracle.empty());
        std::map<uint32_t, bool> procStartCovered;
        // How many of pdbutil's sites cover an address: our frame count. A
        // procedure folded with others (same address, in this or other
        // modules) has sites in each copy: one of the copies must agree.
        std::map<uint32_t, std::map<std::pair<int, uint32_t>, std::vector<const OracleSite*>>> byProc;
        for (const auto& s : oracle)
            byProc[vas.at(s.segment - 1) + s.procOffset][{s.module, s.procRecord}].push_back(&s);
        auto oracleDepths = [&](uint32_t procRva, uint32_t off) {
            std::set<size_t> depths;
            for (const auto& [mod, list] : byProc[procRva]) {
                size_t n = 0;
                for (const OracleSite* o : list)
                    for (const auto& r : o->ranges)
                        if (off >= r.start && off < r.end) {
                            ++n;
                            break;
                        }
                depths.insert(n);
            }
            return depths;
        };
        for (const auto& s : oracle) {
            SCOPED_TRACE(s.shortName);
            ++sites;
            uint32_t procRva = vas.at(s.segment - 1) + s.procOffset;
            auto& covered = procStartCovered[procRva];
            for (const auto& r : s.ranges) {
                if (r.start == 0) covered = true;
                for (uint32_t at : {r.start, r.end - 1}) {
                    ++probes;
                    auto frames = pdb->inlineFramesAt(procRva + at);
                    EXPECT_TRUE(oracleDepths(procRva, at).count(frames.size())) << std::hex << procRva + at;
                    for (const auto& f : frames) {
                        named += !f.name.empty();  // cross-module inlinees resolve through imports/exports
                        ++framesSeen;
                    }
                    bool found = false;
                    for (const auto& f : frames) {
                        if (!sameInlinee(f.name, s.shortName)) continue;
                        auto fl = firstLines.find({s.module, s.inlinee});
                        if (fl == firstLines.end() || f.line == fl->second + r.line) found = true;
                    }
                    EXPECT_TRUE(found) << "rva " << std::hex << procRva + at << std::dec << ": " << frames.size()
                                       << " frames, want line offset " << r.line;
                }
            }
        }
        for (const auto& [rva, covered] : procStartCovered) {
            if (!covered) {
                EXPECT_TRUE(pdb->inlineFramesAt(rva).empty()) << std::hex << rva;
            }
        }
    }
    std::printf("inline sites: %zu PDBs, %zu sites, %zu probes, %zu of %zu frames named\n", pdbs, sites, probes,
                named, framesSeen);
    EXPECT_EQ(named, framesSeen);
    if (pdbs) {
        EXPECT_GT(sites, 1000u);
    }
}

// llvm-symbolizer-16 reads CrashWithException.exe's PDB (its CodeView path
// is patched to a temporary copy): at every range start of every site the
// inline frames, innermost first, carry the names it prints above the
// procedure's frame.
TEST(InlineFrames, NamesAndNestingMatchLlvmSymbolizer) {
    NT_REQUIRE_CORPUS_FILE(exe, "symbolic/CrashWithException.exe");
    NT_REQUIRE_CORPUS_FILE(pdbPath, "symbolic/CrashWithException.pdb");
    if (nt::test::captureOutput("llvm-symbolizer-16 --version 2>/dev/null").empty())
        GTEST_SKIP() << "llvm-symbolizer-16 not found";
    char dirTemplate[] = "/tmp/ntr-inline-XXXXXX";
    ASSERT_NE(mkdtemp(dirTemplate), nullptr);
    std::string dir = dirTemplate;
    std::filesystem::copy_file(pdbPath, dir + "/c.pdb");
    std::string bytes = nt::test::readTextFile(exe);
    const std::string oldPath = "C:\\Users\\sentry\\source\\repos\\CrashWithException\\x64\\Release\\CrashWithException.pdb";
    size_t at = bytes.find(oldPath);
    ASSERT_NE(at, std::string::npos);
    std::string newPath = dir + "/c.pdb";
    ASSERT_LT(newPath.size(), oldPath.size());
    bytes.replace(at, oldPath.size(), newPath + std::string(oldPath.size() - newPath.size(), '\0'));
    std::ofstream(dir + "/c.exe", std::ios::binary) << bytes;

    auto pdb = PdbFile::open(dir + "/c.pdb");
    const Dbi* dbi = pdb->dbi();
    ASSERT_NE(dbi, nullptr);
    std::vector<uint32_t> rvas;
    InlineTable table(pdb->msf());
    for (uint16_t mi = 0; mi < dbi->modules().size(); ++mi) {
        const ModuleInlines* m = table.module(pdb->msf(), *dbi, mi);
        const ModuleSymbols* ms = pdb->moduleSymbols(mi);
        if (!m || !ms) continue;
        for (const auto& s : m->sites()) {
            const Procedure* proc = ms->procedureAtRecord(s.procedure);
            if (!proc) continue;
            for (const auto& r : s.ranges) rvas.push_back(*dbi->rvaOf(proc->segment, proc->offset) + r.start);
        }
    }
    ASSERT_GT(rvas.size(), 20u);
    std::string input;
    for (uint32_t rva : rvas) input += "0x" + [&] { std::ostringstream o; o << std::hex << rva; return o.str(); }() + "\n";
    std::ofstream(dir + "/in.txt") << input;
    std::string out = nt::test::captureOutput("llvm-symbolizer-16 --obj=" + dir + "/c.exe --relative-address --inlining < " +
                                              dir + "/in.txt");
    std::filesystem::remove_all(dir);
    // One block per address, blocks separated by blank lines; in a block,
    // function names and their locations alternate.
    std::vector<std::vector<std::string>> blocks(1);
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) {
            if (!blocks.back().empty()) blocks.emplace_back();
            continue;
        }
        blocks.back().push_back(line);
    }
    for (auto& bl : blocks) {
        std::vector<std::string> names;
        for (size_t k = 0; k < bl.size(); k += 2) names.push_back(bl[k]);
        bl = names;
    }
    if (blocks.back().empty()) blocks.pop_back();
    ASSERT_EQ(blocks.size(), rvas.size());
    // llvm-symbolizer's native PDB reader decodes fewer ranges than pdbutil
    // prints (it misses a site's range that starts with a line change, e.g.
    // the nested std::exception::{ctor} at offset 0 of
    // bad_array_new_length's constructor, which pdbutil shows as
    // "code 0x0 line 0"). So its inline frames must be the outermost of ours,
    // in the same order; where it shows fewer, the address is only counted.
    size_t frames = 0, agreed = 0, symbolizerFewer = 0;
    for (size_t i = 0; i < rvas.size(); ++i) {
        SCOPED_TRACE(rvas[i]);
        auto ours = pdb->inlineFramesAt(rvas[i]);
        std::vector<std::string> theirs(blocks[i].begin(), blocks[i].end() - (blocks[i].empty() ? 0 : 1));
        EXPECT_FALSE(ours.empty());
        ASSERT_LE(theirs.size(), ours.size());
        size_t skip = ours.size() - theirs.size();
        for (size_t k = 0; k < theirs.size(); ++k) EXPECT_EQ(ours[skip + k].name, theirs[k]);
        frames += theirs.size();
        ++(skip ? symbolizerFewer : agreed);
    }
    std::printf("llvm-symbolizer: %zu addresses: %zu with the same inline frames, %zu where it shows fewer; "
                "%zu frame names compared\n", rvas.size(), agreed, symbolizerFewer, frames);
    EXPECT_GT(agreed, rvas.size() / 2);
}

namespace {

struct Writer {
    std::vector<uint8_t> b;
    Writer& u8(uint8_t v) { b.push_back(v); return *this; }
    Writer& u16(uint16_t v) { return u8(v & 0xFF).u8(v >> 8); }
    Writer& u32(uint32_t v) { return u16(v & 0xFFFF).u16(v >> 16); }
    Writer& bytes(std::initializer_list<uint8_t> v) { b.insert(b.end(), v); return *this; }
    // A symbol record: u16 length, u16 kind, payload.
    Writer& record(uint16_t kind, const Writer& payload) {
        u16(static_cast<uint16_t>(payload.b.size() + 2)).u16(kind);
        b.insert(b.end(), payload.b.begin(), payload.b.end());
        return *this;
    }
};

}  // namespace

// A hand-made module stream: sites whose parent is themselves or a later
// record are ignored, garbage annotations give no ranges, oversized import
// and inlinee-lines counts stop their subsection without reading past it.
TEST(InlineFrames, HostileModuleStream) {
    Writer syms;
    syms.u32(4);  // CV signature
    Writer proc;
    proc.u32(0).u32(0).u32(0).u32(0x40).u32(0).u32(0x40).u32(0x1001).u32(0x100).u16(1).u8(0).bytes({'f', 0});
    syms.record(0x1110, proc);  // S_GPROC32 at offset 4
    const uint32_t site1 = static_cast<uint32_t>(syms.b.size());
    syms.record(0x114D, Writer().u32(4).u32(0).u32(0x1000).bytes({0x0C, 0x04, 0x00, 0x00}));
    const uint32_t self = static_cast<uint32_t>(syms.b.size());
    syms.record(0x114D, Writer().u32(self).u32(0).u32(0x1000).bytes({0x0C, 0x04, 0x00, 0x00}));
    syms.record(0x114D, Writer().u32(0x7FFFFFF0).u32(0).u32(0x1000).bytes({0x0C, 0x04, 0x00, 0x00}));
    syms.record(0x114D, Writer().u32(site1).u32(0).u32(0x1000).bytes({0x0E, 0xFF, 0xC0}));  // nested, garbage
    Writer c13;
    c13.u32(0xF6).u32(4 + 12 + 4 + 12);  // inlinee lines, "ex" form with a huge extra count
    c13.u32(1).u32(0x1000).u32(0).u32(42).u32(0xFFFFFFFF).u32(0).u32(0).u32(0);
    c13.u32(0xF7).u32(12).u32(0).u32(0xFFFFFFFF).u32(0x1000);  // imports: count past the end
    c13.u32(0xF8).u32(8).u32(0x1000).u32(0x1234);               // exports
    c13.u32(0xF4).u32(0x7FFFFFFF);                                // length past the end: stops
    std::vector<uint8_t> stream = syms.b;
    stream.insert(stream.end(), c13.b.begin(), c13.b.end());
    std::vector<nt::pdbtest::StreamSpec> specs(1);
    specs[0].size = static_cast<uint32_t>(stream.size());
    specs[0].data = stream;
    for (uint32_t i = 0; i < nt::pdb::blocksFor(stream.size(), 512); ++i) specs[0].blocks.push_back(3 + i);
    auto file = nt::pdbtest::writeMsf(512, specs, 3 + static_cast<uint32_t>(specs[0].blocks.size()));
    Msf msf = Msf::open(nt::Bytes(file.data(), file.size()));
    ModuleInfo info;
    info.symByteSize = static_cast<uint32_t>(syms.b.size());
    info.c13ByteSize = static_cast<uint32_t>(c13.b.size());
    ModuleInlines m = ModuleInlines::parse(msf.stream(0), info);
    ASSERT_EQ(m.sites().size(), 2u);  // the self- and forward-parented ones are ignored
    EXPECT_EQ(m.sites()[0].recordOffset, site1);
    EXPECT_EQ(m.sites()[0].depth, 1u);
    EXPECT_EQ(m.sites()[1].depth, 2u);
    EXPECT_TRUE(m.sites()[1].ranges.empty());
    auto at = m.sitesAt(4, 2);
    ASSERT_EQ(at.size(), 1u);
    EXPECT_EQ(at[0]->recordOffset, site1);
    EXPECT_TRUE(m.sitesAt(4, 4).empty());
    ASSERT_TRUE(m.inlinee(0x1000).has_value());
    EXPECT_EQ(m.inlinee(0x1000)->line, 42u);
    EXPECT_FALSE(m.importOf(0x80000000).has_value());
    EXPECT_EQ(m.exportOf(0x1000), 0x1234u);
    EXPECT_FALSE(m.fileNameOffset(0).has_value());
}
