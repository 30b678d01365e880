// PDB x86 frame data (DBI debug streams FPO and FrameData): every record of
// every x86 PDB of the corpus and of the Wine fixtures against
// llvm-pdbutil-16 `dump -fpo`, the innermost-record lookup against a brute
// force search, and hostile streams built in memory.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "pdb/frame_data.h"
#include "pdb/pdb_file.h"
#include "pdb/string_table.h"
#include "pdbutil_oracle.h"
#include "support/test_support.h"

using namespace nt;
using namespace nt::pdb;

namespace {

const char* const kX86Pdbs[] = {
    "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B6936ffffffff/crash.pdb",
    "kdlibcpp/targetapp_test_cv_allreg_i386/targetapp.pdb",
    "kdlibcpp/targetapp_stacktest_wow64/targetapp.pdb",
    "kdlibcpp/targetapp_stacktest_wow64_release/targetapp.pdb",
    "processmarauder/x86/wntdll.pdb",
};

std::vector<std::string> x86Pdbs() {
    std::vector<std::string> v;
    for (const char* rel : kX86Pdbs)
        if (auto p = test::corpusFile(rel); !p.empty()) v.push_back(p);
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(test::fixtureFile("wine/out"), ec)) {
        std::string n = e.path().filename().string();
        if (e.path().extension() == ".pdb" && n.find("x86") != std::string::npos) v.push_back(e.path().string());
    }
    std::sort(v.begin(), v.end());
    return v;
}

std::string rtrim(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
    return s;
}

std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out;
    std::string cell;
    std::istringstream in(line);
    while (std::getline(in, cell, '|')) {
        size_t b = cell.find_first_not_of(' ');
        out.push_back(b == std::string::npos ? std::string() : rtrim(cell.substr(b)));
    }
    return out;
}

// The rows of `llvm-pdbutil-16 dump -fpo`: "Old FPO Data" then "New FPO Data".
struct PdbutilFpo {
    std::vector<std::vector<std::string>> oldRows, newRows;
    bool oldPresent = false, newPresent = false;
};
PdbutilFpo parseFpo(const std::string& out) {
    PdbutilFpo r;
    std::istringstream in(out);
    std::string line;
    int section = 0;
    while (std::getline(in, line)) {
        if (line.find("Old FPO Data") != std::string::npos) section = 1;
        else if (line.find("New FPO Data") != std::string::npos) section = 2;
        else if (line.size() > 9 && line[8] == ' ' && line[9] == '|' && std::isxdigit(static_cast<unsigned char>(line[0]))) {
            // The program string is the last cell and may contain no '|'.
            auto c = cells(line);
            if (section == 1) r.oldRows.push_back(c), r.oldPresent = true;
            if (section == 2) {
                // Keep the program's inner spacing: take the raw text after the 10th '|'.
                size_t at = 0;
                for (int k = 0; k < 10 && at != std::string::npos; ++k) at = line.find('|', at + 1);
                if (at != std::string::npos && c.size() >= 11) {
                    std::string prog = line.substr(at + 1);
                    if (!prog.empty() && prog[0] == ' ') prog.erase(0, 1);
                    c[10] = rtrim(prog);
                }
                r.newRows.push_back(c);
                r.newPresent = true;
            }
        } else if (line.find("RVA ") != std::string::npos && section == 1) {
            r.oldPresent = true;
        } else if (line.find("RVA ") != std::string::npos && section == 2) {
            r.newPresent = true;
        }
    }
    return r;
}

uint32_t hex(const std::string& s) { return static_cast<uint32_t>(std::stoul(s, nullptr, 16)); }
uint32_t dec(const std::string& s) { return static_cast<uint32_t>(std::stoul(s, nullptr, 10)); }
std::string boolText(bool b) { return b ? "true" : "false"; }

FrameDataTable tableOf(const PdbFile& pdb) {
    const Dbi* d = pdb.dbi();
    if (!d) return FrameDataTable::parse({}, {});
    auto s = [&](DebugStream w) { return pdb.msf().hasStream(d->debugStream(w)) ? pdb.msf().stream(d->debugStream(w)) : StreamReader(); };
    return FrameDataTable::parse(s(DebugStream::Fpo), s(DebugStream::FrameData));
}

StringTable namesOf(const PdbFile& pdb) {
    auto idx = pdb.info().namedStream("/names");
    return idx ? StringTable(pdb.msf().stream(*idx)) : StringTable();
}

// The innermost record covering rva by brute force: greatest start, then
// smallest size, then first in the stream.
template <class R, class Start, class Size>
std::optional<size_t> bruteInnermost(const std::vector<R>& rs, uint32_t rva, Start start, Size size) {
    std::optional<size_t> best;
    for (size_t i = 0; i < rs.size(); ++i) {
        uint64_t s = start(rs[i]), e = s + size(rs[i]);
        if (rva < s || rva >= e) continue;
        if (!best || s > start(rs[*best]) || (s == start(rs[*best]) && size(rs[i]) < size(rs[*best]))) best = i;
    }
    return best;
}

TEST(PdbFrameData, EveryRecordAgreesWithPdbutil) {
    if (!pdbtest::havePdbutil()) GTEST_SKIP() << "llvm-pdbutil-16 not installed";
    auto pdbs = x86Pdbs();
    if (pdbs.empty()) GTEST_SKIP() << "no x86 PDB found";
    size_t totalOld = 0, totalNew = 0, files = 0;
    for (const std::string& path : pdbs) {
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        FrameDataTable t = tableOf(*pdb);
        StringTable names = namesOf(*pdb);
        PdbutilFpo want = parseFpo(pdbtest::pdbutil("-fpo", path));
        ASSERT_EQ(t.fpo().size(), want.oldRows.size());
        ASSERT_EQ(t.frameData().size(), want.newRows.size());
        for (size_t i = 0; i < t.fpo().size(); ++i) {
            const FpoRecord& r = t.fpo()[i];
            const auto& w = want.oldRows[i];
            ASSERT_GE(w.size(), 9u);
            EXPECT_EQ(r.start, hex(w[0])) << i;
            EXPECT_EQ(r.procSize, dec(w[1])) << i;
            EXPECT_EQ(r.localsDwords, dec(w[2])) << i;
            EXPECT_EQ(r.paramsDwords, dec(w[3])) << i;
            EXPECT_EQ(r.savedRegs, dec(w[5])) << i;
            // llvm-pdbutil-16 reads the bitfield word with its own layout
            // (COFF.h FpoData: prolog & 0xF, SEH bit 9, UseBP bit 10), not
            // winnt.h's (prolog 8 bits, SEH bit 11, UseBP bit 12): compare
            // its reading of our raw word, and our fields with winnt.h's.
            EXPECT_EQ(r.attributes & 0xF, dec(w[4])) << i;
            EXPECT_EQ(boolText((r.attributes >> 10) & 1), w[6]) << i;
            EXPECT_EQ(boolText((r.attributes >> 9) & 1), w[7]) << i;
            EXPECT_EQ(r.prologSize, r.attributes & 0xff) << i;
            EXPECT_EQ(r.hasSeh, bool((r.attributes >> 11) & 1)) << i;
            EXPECT_EQ(r.useBp, bool((r.attributes >> 12) & 1)) << i;
            static const char* kTypes[] = {"FPO", "Trap", "TSS", "Non-FPO"};
            EXPECT_EQ(kTypes[r.frameType], w[8]) << i;
        }
        for (size_t i = 0; i < t.frameData().size(); ++i) {
            const FrameDataRecord& r = t.frameData()[i];
            const auto& w = want.newRows[i];
            ASSERT_GE(w.size(), 11u);
            EXPECT_EQ(r.start, hex(w[0])) << i;
            EXPECT_EQ(r.codeSize, dec(w[1])) << i;
            EXPECT_EQ(r.localsSize, dec(w[2])) << i;
            EXPECT_EQ(r.paramsSize, dec(w[3])) << i;
            EXPECT_EQ(r.maxStack, dec(w[4])) << i;
            EXPECT_EQ(r.prologSize, dec(w[5])) << i;
            EXPECT_EQ(r.savedRegsSize, dec(w[6])) << i;
            EXPECT_EQ(boolText(r.hasSeh()), w[7]) << i;
            EXPECT_EQ(boolText(r.hasEh()), w[8]) << i;
            EXPECT_EQ(boolText(r.isFunctionStart()), w[9]) << i;
            EXPECT_EQ(rtrim(names.at(r.programOffset)), w[10]) << i;
        }
        totalOld += t.fpo().size();
        totalNew += t.frameData().size();
        ++files;
    }
    // The counts the report quotes (all agree with llvm-pdbutil above).
    std::cout << "[ frame data ] " << files << " x86 PDBs, " << totalOld << " FPO and " << totalNew
              << " FrameData records match llvm-pdbutil-16\n";
    EXPECT_GT(totalNew, 0u);
    EXPECT_GT(totalOld, 0u);
}

TEST(PdbFrameData, LookupIsTheInnermostCoveringRecord) {
    auto pdbs = x86Pdbs();
    if (pdbs.empty()) GTEST_SKIP() << "no x86 PDB found";
    for (const std::string& path : pdbs) {
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        FrameDataTable t = tableOf(*pdb);
        auto check = [&](const auto& rs, auto lookup, auto start, auto size) {
            for (const auto& r : rs) {
                uint32_t s = start(r), n = size(r);
                for (uint32_t rva : {s - 1, s, s + n / 2, s + n - 1, s + n}) {
                    auto want = bruteInnermost(rs, rva, start, size);
                    auto got = lookup(rva);
                    ASSERT_EQ(got.has_value(), want.has_value()) << std::hex << rva;
                    if (got) {
                        // Equal records (duplicates) are interchangeable.
                        EXPECT_EQ(start(rs[*got]), start(rs[*want])) << std::hex << rva;
                        EXPECT_EQ(size(rs[*got]), size(rs[*want])) << std::hex << rva;
                    }
                }
            }
        };
        check(t.frameData(), [&](uint32_t a) { return t.frameDataAt(a); },
              [](const FrameDataRecord& r) { return r.start; }, [](const FrameDataRecord& r) { return r.codeSize; });
        check(t.fpo(), [&](uint32_t a) { return t.fpoAt(a); }, [](const FpoRecord& r) { return r.start; },
              [](const FpoRecord& r) { return r.procSize; });
    }
}

// crash.pdb (symbolicator's windows.dmp): main's FrameData record, the one
// that unwinds the crashed frame, and an old FPO record no FrameData covers.
TEST(PdbFrameData, CrashPdbRecords) {
    NT_REQUIRE_CORPUS_FILE(path, kX86Pdbs[0]);
    auto pdb = PdbFile::open(path);
    auto main = pdb->frameDataAt(0x2a3d);
    ASSERT_TRUE(main);
    EXPECT_EQ(main->type, X86FrameData::Type::FrameData);
    EXPECT_EQ(main->rva, 0x2910u);
    EXPECT_EQ(main->codeSize, 350u);
    EXPECT_EQ(main->localsSize, 244u);
    EXPECT_EQ(main->paramsSize, 8u);
    EXPECT_EQ(main->savedRegsSize, 4u);
    EXPECT_EQ(main->prologSize, 54u);
    EXPECT_EQ(main->program, "$T0 $ebp 204 + =$eip $T0 4 + ^ =$ebp $T0 ^ = $esp $T0 8 + = ");
    // __scrt_common_main_seh: SEH, three callee-saved registers by CodeView number.
    auto scrt = pdb->frameDataAt(0x2d96);
    ASSERT_TRUE(scrt);
    EXPECT_EQ(scrt->rva, 0x2c9eu);
    EXPECT_TRUE(scrt->hasSeh);
    EXPECT_EQ(scrt->program,
              "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =  $20 $T0 40 - ^ =  $23 $T0 44 - ^ =  $24 $T0 48 - ^ = ");
    // Nested prolog records: 1000+114, 100f+f5, 1030+92, 1048+a.
    EXPECT_EQ(pdb->frameDataAt(0x1000)->rva, 0x1000u);
    EXPECT_EQ(pdb->frameDataAt(0x1050)->rva, 0x1048u);
    EXPECT_EQ(pdb->frameDataAt(0x1052)->rva, 0x1030u);  // past 1048+a: back in 1030's
    EXPECT_EQ(pdb->frameDataAt(0x10c2)->rva, 0x100fu);  // past 1030+92
    EXPECT_EQ(pdb->frameDataAt(0x1104)->rva, 0x1000u);  // past 100f+f5
    EXPECT_FALSE(pdb->frameDataAt(0x1114));
}

// A StreamReader over one in-memory block.
struct MemStream {
    std::vector<uint8_t> bytes;
    std::vector<uint32_t> blocks{0};
    StreamReader reader(uint32_t size) const {
        return StreamReader(Bytes(bytes.data(), bytes.size()), static_cast<uint32_t>(bytes.size()), blocks, size);
    }
    void u32(uint32_t v) { for (int k = 0; k < 4; ++k) bytes.push_back(uint8_t(v >> (8 * k))); }
    void u16(uint16_t v) { bytes.push_back(uint8_t(v)); bytes.push_back(uint8_t(v >> 8)); }
};

TEST(PdbFrameData, FpoBitfieldsAndPartialRecords) {
    MemStream fpo;
    fpo.u32(0x1000); fpo.u32(0x40); fpo.u32(3); fpo.u16(2);
    // cbProlog 5, cbRegs 3, fHasSEH, fUseBP, cbFrame 3 (non-FPO)
    fpo.u16(uint16_t(5 | (3 << 8) | (1 << 11) | (1 << 12) | (3 << 14)));
    fpo.u32(0x2000); fpo.u32(0x10); fpo.u32(0); fpo.u16(0); fpo.u16(uint16_t(1 << 14));  // trap frame
    fpo.u32(0xdead);  // a trailing partial record is ignored
    FrameDataTable t = FrameDataTable::parse(fpo.reader(static_cast<uint32_t>(fpo.bytes.size())), {});
    ASSERT_EQ(t.fpo().size(), 2u);
    const FpoRecord& r = t.fpo()[0];
    EXPECT_EQ(r.prologSize, 5u);
    EXPECT_EQ(r.savedRegs, 3u);
    EXPECT_TRUE(r.hasSeh);
    EXPECT_TRUE(r.useBp);
    EXPECT_EQ(r.frameType, 3u);
    X86FrameData d = FrameDataTable::normalize(r);
    EXPECT_EQ(d.type, X86FrameData::Type::Standard);
    EXPECT_EQ(d.paramsSize, 8u);
    EXPECT_EQ(d.localsSize, 12u);
    EXPECT_EQ(d.savedRegsSize, 12u);
    EXPECT_TRUE(d.allocatesBasePointer);
    EXPECT_EQ(FrameDataTable::normalize(t.fpo()[1]).type, X86FrameData::Type::Trap);
    EXPECT_EQ(t.fpoAt(0x103f), 0u);
    EXPECT_FALSE(t.fpoAt(0x1040));
    EXPECT_EQ(t.fpoAt(0x2000), 1u);
}

TEST(PdbFrameData, HostileRecordsStayBounded) {
    MemStream fd;
    fd.u32(0);  // header: the stream size is then 4 mod 32
    auto rec = [&](uint32_t start, uint32_t size) {
        fd.u32(start); fd.u32(size); fd.u32(0); fd.u32(0); fd.u32(0); fd.u32(0xffffffff); fd.u16(0); fd.u16(0); fd.u32(0xffffffff);
    };
    rec(0xfffffff0, 0xffffffff);  // runs past 2^32
    rec(0, 0);                    // empty: never found
    rec(0x100, 0x100);
    rec(0x80, 0x300);             // overlaps, starts earlier
    rec(0x100, 0x10);             // same start, smaller: innermost
    FrameDataTable t = FrameDataTable::parse({}, fd.reader(static_cast<uint32_t>(fd.bytes.size())));
    ASSERT_EQ(t.frameData().size(), 5u);
    EXPECT_EQ(t.frameDataAt(0xffffffff), 0u);
    EXPECT_EQ(t.frameDataAt(0x100), 4u);
    EXPECT_EQ(t.frameDataAt(0x110), 2u);
    EXPECT_EQ(t.frameDataAt(0x200), 3u);
    EXPECT_EQ(t.frameDataAt(0x90), 3u);
    EXPECT_FALSE(t.frameDataAt(0));
    EXPECT_FALSE(t.frameDataAt(0x380));
    // A program offset outside /names gives an empty program, not a crash.
    StringTable empty;
    auto d = t.at(0x100, empty);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->program.empty());
    EXPECT_TRUE(d->hasSeh);
}

}  // namespace
