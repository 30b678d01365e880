// Every PDB of the corpus and the Wine fixtures, checked against
// llvm-pdbutil-16 (the tests skip, saying so, when it is not installed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "base/error.h"
#include "pdb/pdb_file.h"
#include "pdbutil_oracle.h"
#include "support/test_support.h"

using namespace nt::pdb;
using namespace nt::pdbtest;

namespace {

#define NT_REQUIRE_PDBUTIL() \
    if (!havePdbutil()) GTEST_SKIP() << "llvm-pdbutil-16 not found: no oracle to compare with"

// llvm-pdbutil prints file names as stored; compare case-insensitively.
std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

uint32_t rvaFrom(const std::vector<uint32_t>& vas, uint16_t seg, uint32_t off) {
    return vas.at(seg - 1) + off;
}

}  // namespace

TEST(PdbCorpus, EveryPdbOpensWithSummaryOfPdbutil) {
    auto pdbs = nt::pdbtest::allPdbs();
    if (pdbs.empty()) GTEST_SKIP() << "no corpus PDBs";
    EXPECT_GE(pdbs.size(), 10u);
    for (const auto& path : pdbs) {
        SCOPED_TRACE(path);
        std::unique_ptr<PdbFile> pdb;
        ASSERT_NO_THROW(pdb = PdbFile::open(path));
        EXPECT_NE(pdb->dbi(), nullptr);
        EXPECT_NE(pdb->publics(), nullptr);
        EXPECT_TRUE(pdb->machine() == 0x8664 || pdb->machine() == 0x14c) << pdb->machine();
        if (!havePdbutil()) continue;
        Summary s = parseSummary(pdbutil("-summary", path));
        EXPECT_EQ(pdb->guid().toString(), s.guid);
        EXPECT_EQ(pdb->age(), s.age);
        EXPECT_EQ(pdb->signature(), s.signature);
    }
}

// Every public (name, section:offset) equals llvm-pdbutil's; the address map
// walk gives the same set; lookup by name gives the RVA; lookup by RVA gives
// a public at exactly that RVA.
TEST(PdbCorpus, PublicsMatchPdbutil) {
    NT_REQUIRE_PDBUTIL();
    auto pdbs = nt::pdbtest::allPdbs();
    if (pdbs.empty()) GTEST_SKIP() << "no corpus PDBs";
    for (const auto& path : pdbs) {
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        auto expected = parsePublics(pdbutil("-publics", path));
        auto vas = parseSectionVAs(pdbutil("-section-headers", path));
        ASSERT_FALSE(expected.empty());
        const Publics* pub = pdb->publics();
        ASSERT_NE(pub, nullptr);
        ASSERT_EQ(pub->count(), expected.size());

        std::multiset<std::tuple<std::string, uint16_t, uint32_t>> want, got;
        for (const auto& e : expected) want.emplace(e.name, e.segment, e.offset);
        for (uint32_t i = 0; i < pub->count(); ++i) {
            auto p = pub->at(i);
            ASSERT_TRUE(p) << i;
            got.emplace(p->pub.name, p->pub.segment, p->pub.offset);
        }
        EXPECT_TRUE(want == got);

        std::map<std::string, int> nameCount;
        for (const auto& e : expected) ++nameCount[e.name];
        size_t byName = 0, byRva = 0;
        for (const auto& e : expected) {
            if (e.segment == 0 || e.segment > vas.size()) continue;
            uint32_t rva = rvaFrom(vas, e.segment, e.offset);
            if (nameCount[e.name] == 1) {
                auto r = pdb->rvaOf(e.name);
                EXPECT_EQ(r, std::optional<uint32_t>(rva)) << e.name;
                ++byName;
            }
            auto n = pub->nearestAtOrBelow(rva);
            ASSERT_TRUE(n) << e.name;
            EXPECT_EQ(n->rva, std::optional<uint32_t>(rva)) << e.name;
            ++byRva;
        }
        EXPECT_GT(byName, 0u);
        EXPECT_GT(byRva, 0u);
    }
}

TEST(PdbCorpus, ModulesMatchPdbutil) {
    NT_REQUIRE_PDBUTIL();
    for (const auto& path : nt::pdbtest::allPdbs()) {
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        auto expected = parseModules(pdbutil("-modules", path));
        const Dbi* dbi = pdb->dbi();
        ASSERT_NE(dbi, nullptr);
        ASSERT_EQ(dbi->modules().size(), expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
            EXPECT_EQ(dbi->modules()[i].moduleName, expected[i].name) << i;
            EXPECT_EQ(dbi->modules()[i].objectName, expected[i].obj) << i;
            EXPECT_EQ(dbi->modules()[i].symStream, expected[i].stream) << i;
        }
    }
}

// In every PDB (ntdll's included), each procedure's first and last byte resolve to a procedure with its start
// and size (and its name, when no other procedure starts at that address).
TEST(PdbCorpus, ProceduresMatchPdbutil) {
    NT_REQUIRE_PDBUTIL();
    for (const auto& path : nt::pdbtest::allPdbs()) {
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        auto procs = parseProcs(pdbutil("-symbols", path));
        auto vas = parseSectionVAs(pdbutil("-section-headers", path));
        ASSERT_FALSE(procs.empty());
        std::map<uint32_t, int> starts;
        for (const auto& p : procs) ++starts[rvaFrom(vas, p.segment, p.offset)];
        size_t checked = 0;
        for (const auto& p : procs) {
            if (p.codeSize == 0) continue;
            uint32_t rva = rvaFrom(vas, p.segment, p.offset);
            for (uint32_t probe : {rva, rva + p.codeSize - 1}) {
                auto s = pdb->symbolAt(probe);
                ASSERT_TRUE(s) << p.name;
                EXPECT_TRUE(s->isProcedure) << p.name;
                EXPECT_EQ(s->rva, rva) << p.name;
                EXPECT_EQ(s->size, p.codeSize) << p.name;
                if (starts[rva] == 1) {
                    EXPECT_EQ(s->name, p.name);
                }
            }
            ++checked;
        }
        EXPECT_GT(checked, 0u);
    }
}

// The line of each procedure start, from `dump -l`, in every PDB with lines.
TEST(PdbCorpus, LinesOfProcedureStartsMatchPdbutil) {
    NT_REQUIRE_PDBUTIL();
    size_t withLines = 0;
    for (const auto& path : nt::pdbtest::allPdbs()) {
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        auto procs = parseProcs(pdbutil("-symbols", path));
        auto lines = parseLines(pdbutil("-l", path));
        auto vas = parseSectionVAs(pdbutil("-section-headers", path));
        if (lines.empty()) continue;  // public-only PDBs (ntdll, wntdll)
        ++withLines;
        size_t checked = 0;
        for (const auto& p : procs) {
            // The oracle's answer: the entry at the procedure's start.
            // Identical code folding can give one address several entries
            // (one per folded function): any of them is a right answer.
            std::set<std::pair<std::string, uint32_t>> want;
            for (const auto& l : lines)
                if (l.segment == p.segment && l.offset == p.offset && l.line != 0xFEEFEE) want.emplace(lower(l.file), l.line);
            if (want.empty()) continue;
            auto got = pdb->lineAt(rvaFrom(vas, p.segment, p.offset));
            ASSERT_TRUE(got) << p.name;
            EXPECT_TRUE(want.count({lower(got->file), got->line}))
                << p.name << ": got " << got->file << " @ " << got->line << ", pdbutil has " << want.begin()->first
                << " @ " << want.begin()->second;
            EXPECT_EQ(got->rva, rvaFrom(vas, p.segment, p.offset));
            ++checked;
        }
        EXPECT_GT(checked, 0u);
    }
    EXPECT_GE(withLines, 10u);
}

// The lldb test's frame 0: sigsegv!crash at image offset 0x10d9, line 22.
TEST(PdbCorpus, SigsegvCrashFrame) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    auto pdb = PdbFile::open(path);
    EXPECT_EQ(pdb->guid().toString(), "{7DD47A9F-C2E8-499A-A78E-C14AE2C965A2}");
    EXPECT_EQ(pdb->machine(), 0x8664);
    auto s = pdb->symbolAt(0x10d9);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->name, "crash");
    EXPECT_TRUE(s->isProcedure);
    EXPECT_EQ(s->rva, 0x10b0u);
    EXPECT_EQ(s->size, 69u);
    auto l = pdb->lineAt(0x10d9);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->line, 22u);
    EXPECT_EQ(l->file, "c:\\temp\\sigsegv.cpp");
    EXPECT_EQ(l->rva, 0x10d9u);
    // Private name through the globals, decorated name through the publics.
    EXPECT_EQ(pdb->rvaOf("crash"), std::optional<uint32_t>(0x10b0));
    EXPECT_EQ(pdb->rvaOf("?crash@@YAX_N@Z"), std::optional<uint32_t>(0x10b0));
    EXPECT_EQ(pdb->rvaOf("no_such_symbol"), std::nullopt);
    // Outside every procedure, the nearest public wins.
    auto pub = pdb->publics()->nearestAtOrBelow(0x10d9);
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->pub.name, "?crash@@YAX_N@Z");
    // Headers and past the last section: no symbol.
    EXPECT_FALSE(pdb->symbolAt(0x10));
    EXPECT_FALSE(pdb->symbolAt(0x7fffffff));
    // In .text (0x1000, size 0x11DB) after the last procedure: the nearest public.
    auto tail = pdb->symbolAt(0x21d0);
    ASSERT_TRUE(tail);
    EXPECT_FALSE(tail->isProcedure);
}

// The CAB-compressed copy of crash.pdb is refused with a one-line message.
TEST(PdbCorpus, CabCompressedPdbIsFormatError) {
    NT_REQUIRE_CORPUS_FILE(path, "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb");
    try {
        PdbFile::open(path);
        FAIL() << "opened a CAB file";
    } catch (const nt::FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("CAB"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
}

// Open to first lookup on the real ntdll.pdb (printed; loose bound).
TEST(PdbCorpus, NtdllOpenToFirstLookupTiming) {
    NT_REQUIRE_CORPUS_FILE(path, "processmarauder/x64/ntdll.pdb");
    auto t0 = std::chrono::steady_clock::now();
    auto pdb = PdbFile::open(path);
    auto t1 = std::chrono::steady_clock::now();
    auto r = pdb->rvaOf("RtlUserThreadStart");
    ASSERT_TRUE(r);
    auto s = pdb->symbolAt(*r + 4);
    auto t2 = std::chrono::steady_clock::now();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->name, "RtlUserThreadStart");
    // A stripped Microsoft PDB: the info stream's age (llvm-pdbutil's) and
    // DBI's differ.
    EXPECT_EQ(pdb->age(), 3u);
    EXPECT_EQ(pdb->matchAge(), 1u);
    auto us = [](auto d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); };
    std::printf("ntdll.pdb: open %lld us, first lookups %lld us\n", (long long)us(t1 - t0), (long long)us(t2 - t1));
    EXPECT_LT(us(t2 - t0), 200000);
}
