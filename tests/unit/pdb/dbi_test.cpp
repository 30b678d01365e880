// Info stream, DBI header, substreams and optional debug streams, compared
// with llvm-pdbutil-16.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <tuple>
#include <sstream>

#include "pdb/pdb_file.h"
#include "pdbutil_oracle.h"
#include "support/test_support.h"

using namespace nt::pdb;
using namespace nt::pdbtest;

#define NT_REQUIRE_PDBUTIL() \
    if (!havePdbutil()) GTEST_SKIP() << "llvm-pdbutil-16 not found: no oracle to compare with"

TEST(PdbInfo, NamedStreamsOfSigsegv) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    auto pdb = PdbFile::open(path);
    // llvm-pdbutil-16 dump -named-streams: /names 13, /LinkInfo 5, /src/headerblock 9.
    EXPECT_EQ(pdb->info().namedStream("/names"), std::optional<uint32_t>(13));
    EXPECT_EQ(pdb->info().namedStream("/LinkInfo"), std::optional<uint32_t>(5));
    EXPECT_EQ(pdb->info().namedStream("/src/headerblock"), std::optional<uint32_t>(9));
    EXPECT_EQ(pdb->info().namedStream("/nope"), std::nullopt);
    EXPECT_EQ(pdb->info().namedStreams.size(), 3u);
    EXPECT_EQ(pdb->guid().toStoreString(), "7DD47A9FC2E8499AA78EC14AE2C965A2");
}

TEST(PdbInfo, NamedStreamsMatchPdbutil) {
    NT_REQUIRE_PDBUTIL();
    for (const char* rel : {"processmarauder/x64/ntdll.pdb", "symbolic/CrashWithException.pdb",
                            "kdlibcpp/targetapp_test_cv_allreg_i386/targetapp.pdb"}) {
        NT_REQUIRE_CORPUS_FILE(path, rel);
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        std::string out = pdbutil("-named-streams", path);
        std::regex re(R"(\n  (/\S*)\n    Index: (\d+))");
        size_t n = 0;
        for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it, ++n)
            EXPECT_EQ(pdb->info().namedStream((*it)[1].str()), std::optional<uint32_t>(std::stoul((*it)[2])))
                << (*it)[1];
        EXPECT_GT(n, 0u);
        EXPECT_EQ(pdb->info().namedStreams.size(), n);
    }
}

// The stream roles llvm-pdbutil names in `dump -streams` equal the indices
// from the DBI header and its optional debug header.
TEST(Dbi, StreamIndicesMatchPdbutil) {
    NT_REQUIRE_PDBUTIL();
    for (const char* rel : {"processmarauder/x86/wntdll.pdb", "processmarauder/x64/ntdll.pdb", "lldb/sigsegv.pdb",
                            "kdlibcpp/targetapp_test_cv_allreg_i386/targetapp.pdb"}) {
        NT_REQUIRE_CORPUS_FILE(path, rel);
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        const Dbi* dbi = pdb->dbi();
        ASSERT_NE(dbi, nullptr);
        std::string out = pdbutil("-streams", path);
        auto indexOf = [&](const std::string& role) -> uint32_t {
            std::regex re("Stream +(\\d+) \\( *\\d+ bytes\\): \\[" + role + "\\]");
            std::smatch m;
            return std::regex_search(out, m, re) ? std::stoul(m[1]) : kNoStream;
        };
        EXPECT_EQ(dbi->globalsStream, indexOf("Global Symbol Hash"));
        EXPECT_EQ(dbi->publicsStream, indexOf("Public Symbol Hash"));
        EXPECT_EQ(dbi->symRecordStream, indexOf("Symbol Records"));
        EXPECT_EQ(dbi->debugStream(DebugStream::Fpo), indexOf("FPO Data"));
        EXPECT_EQ(dbi->debugStream(DebugStream::FrameData), indexOf("New FPO Data"));
        EXPECT_EQ(dbi->debugStream(DebugStream::SectionHeaders), indexOf("Section Header Data"));
        EXPECT_EQ(dbi->debugStream(DebugStream::Pdata), indexOf("Pdata"));
        EXPECT_EQ(dbi->debugStream(DebugStream::Xdata), indexOf("Xdata"));
    }
}

TEST(Dbi, SectionsContributionsAndFilesOfSigsegv) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    auto pdb = PdbFile::open(path);
    const Dbi* dbi = pdb->dbi();
    ASSERT_NE(dbi, nullptr);
    EXPECT_EQ(dbi->machine, 0x8664);
    ASSERT_GE(dbi->sections().size(), 2u);
    // llvm-pdbutil-16 dump -section-headers.
    EXPECT_EQ(dbi->sections()[0].name, ".text");
    EXPECT_EQ(dbi->sections()[0].virtualAddress, 0x1000u);
    EXPECT_EQ(dbi->sections()[0].virtualSize, 0x11DBu);
    EXPECT_EQ(dbi->sections()[1].name, ".rdata");
    EXPECT_EQ(dbi->sections()[1].virtualAddress, 0x3000u);
    EXPECT_EQ(dbi->rvaOf(1, 176), std::optional<uint32_t>(0x10b0));
    EXPECT_EQ(dbi->rvaOf(0, 1), std::nullopt);
    EXPECT_EQ(dbi->rvaOf(1000, 1), std::nullopt);
    EXPECT_EQ(dbi->sectionOffsetOf(0x10d9), (std::optional<std::pair<uint16_t, uint32_t>>({1, 0xd9})));
    // dump -section-contribs: mod 1 at 0001:0000 size 30, mod 0 at 0001:0064 size 316.
    EXPECT_EQ(dbi->moduleAt(1, 0), std::optional<uint16_t>(1));
    EXPECT_EQ(dbi->moduleAt(1, 29), std::optional<uint16_t>(1));
    EXPECT_EQ(dbi->moduleAt(1, 30), std::nullopt);
    EXPECT_EQ(dbi->moduleAt(1, 64), std::optional<uint16_t>(0));
    EXPECT_EQ(dbi->moduleAt(1, 64 + 315), std::optional<uint16_t>(0));
    // dump -files.
    ASSERT_EQ(dbi->moduleFiles().size(), 2u);
    EXPECT_EQ(dbi->moduleFiles()[0], std::vector<std::string>{"c:\\temp\\sigsegv.cpp"});
    EXPECT_TRUE(dbi->moduleFiles()[1].empty());
    EXPECT_EQ(dbi->modules()[0].sourceFileCount, 1u);
}

// Section contributions of every corpus PDB equal `dump -section-contribs`.
TEST(Dbi, ContributionsMatchPdbutil) {
    NT_REQUIRE_PDBUTIL();
    for (const char* rel : {"processmarauder/x64/ntdll.pdb", "symbolic/CrashWithException.pdb", "lldb/sigsegv.pdb"}) {
        NT_REQUIRE_CORPUS_FILE(path, rel);
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        std::string out = pdbutil("-section-contribs", path);
        std::regex re(R"(mod = (\d+), (\d+):(\d+), size = (\d+))");
        std::multiset<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>> want, got;
        for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it)
            want.emplace(std::stoul((*it)[1]), std::stoul((*it)[2]), std::stoul((*it)[3]), std::stoul((*it)[4]));
        for (const auto& c : pdb->dbi()->contributions()) got.emplace(c.module, c.section, c.offset, c.size);
        EXPECT_FALSE(want.empty());
        EXPECT_TRUE(want == got) << want.size() << " vs " << got.size();
    }
}

// Section map entries (frame, offset, size) equal `dump -section-map`.
TEST(Dbi, SectionMapMatchesPdbutil) {
    NT_REQUIRE_PDBUTIL();
    for (const char* rel : {"lldb/sigsegv.pdb", "processmarauder/x86/wntdll.pdb"}) {
        NT_REQUIRE_CORPUS_FILE(path, rel);
        SCOPED_TRACE(path);
        auto pdb = PdbFile::open(path);
        std::string out = pdbutil("-section-map", path);
        std::regex re(R"(frame = (\d+), name = \d+\s+class = \d+, offset = (\d+), size = (\d+))");
        std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> want, got;
        for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it)
            want.emplace_back(std::stoul((*it)[1]), std::stoul((*it)[2]), std::stoul((*it)[3]));
        for (const auto& e : pdb->dbi()->sectionMap()) got.emplace_back(e.frame, e.offset, e.length);
        EXPECT_FALSE(want.empty());
        EXPECT_EQ(want, got);
    }
}
