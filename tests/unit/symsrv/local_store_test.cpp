// SymbolLocator over local directories and stores in temporary directories
// and over the corpus's own store trees (symbolicator, breakpad).
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "symsrv/symbol_locator.h"
#include "symsrv_test_util.h"

using namespace nt::symsrv;
using nt::test::anyProbe;
using nt::test::describe;
using nt::test::readFile;
using nt::test::TempDir;
using nt::test::writeFile;

namespace {

const StoreKey kNtdll{"ntdll.pdb", "1EB9FACB04EA273BB4BA52C8C8D2E0401", "ntdll.pdb"};

LocatorOptions opts(const TempDir& defaultCache) {
    LocatorOptions o;
    o.defaultCache = defaultCache.str();
    o.offline = true;  // nothing here may touch the network
    return o;
}

TEST(LocalLookup, DirectoryNameHitIsCheckedByAccept) {
    TempDir a, b, dc;
    writeFile(a / "ntdll.pdb", "wrong");
    writeFile(b / "ntdll.pdb", "right");
    SymbolLocator loc(SymbolPath::parse(a.str() + ";" + b.str()), opts(dc));
    std::vector<Probe> probes;
    auto r = loc.find(kNtdll, [](const std::string& p) { return readFile(p) == "right"; }, &probes);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(*r, b / "ntdll.pdb");
    EXPECT_TRUE(anyProbe(probes, a / "ntdll.pdb", "rejected")) << describe(probes);
    // Left to right: the first acceptable file wins.
    auto first = loc.find(kNtdll, nullptr, nullptr);
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, a / "ntdll.pdb");
}

TEST(LocalLookup, DirectoryMatchesNamesIgnoringCase) {
    TempDir a, dc;
    writeFile(a / "NTDLL.PDB", "upper");
    SymbolLocator loc(SymbolPath::parse(a.str()), opts(dc));
    auto r = loc.find(kNtdll, nullptr, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(readFile(*r), "upper");
}

TEST(LocalLookup, DirectorySymbolsExtSubfolder) {
    TempDir a, dc;
    writeFile(a / "symbols/pdb/ntdll.pdb", "dbghelp layout");
    SymbolLocator loc(SymbolPath::parse(a.str()), opts(dc));
    auto r = loc.find(kNtdll, nullptr, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(readFile(*r), "dbghelp layout");
}

TEST(LocalLookup, DirectoryAsStoreIsAcceptedByIndexAndIgnoresCase) {
    TempDir a, dc;
    // Windows stores written by other tools: case differs from the key's.
    writeFile(a / "NtDll.PDB/1eb9facb04ea273bb4ba52c8c8d2e0401/ntdll.pdb", "store copy");
    writeFile(a / "ntdll.pdb/00000000000000000000000000000000FF/ntdll.pdb", "other build");
    SymbolLocator loc(SymbolPath::parse(a.str()), opts(dc));
    std::vector<Probe> probes;
    auto r = loc.find(kNtdll, [](const std::string&) { return false; }, &probes);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(readFile(*r), "store copy");
    // A plain store hit without any cache is used where it is.
    EXPECT_EQ(*r, a / "NtDll.PDB/1eb9facb04ea273bb4ba52c8c8d2e0401/ntdll.pdb");
}

TEST(LocalLookup, MissingEverywhereListsEveryProbe) {
    TempDir a, dc;
    SymbolLocator loc(SymbolPath::parse(a.str() + ";srv*" + (dc / "c") + "*" + (a / "store")), opts(dc));
    std::vector<Probe> probes;
    EXPECT_FALSE(loc.find(kNtdll, nullptr, &probes));
    EXPECT_TRUE(anyProbe(probes, a / "ntdll.pdb", "not found"));
    EXPECT_TRUE(anyProbe(probes, "store/ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb", "not found"));
    EXPECT_TRUE(anyProbe(probes, "store/ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pd_", "not found"));
    EXPECT_TRUE(anyProbe(probes, "store/ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/file.ptr", "not found"))
        << describe(probes);
}

TEST(LocalLookup, CompressedStoreFileIsExpandedIntoTheCacheOnce) {
    NT_REQUIRE_CORPUS_FILE(cab, "kdlibcpp/_cab/targetapp_minidump/targetapp_minidump.cab");
    NT_REQUIRE_CORPUS_FILE(dump, "kdlibcpp/targetapp_minidump/target_minidump.dmp");
    TempDir store, cache, dc;
    const StoreKey key{"target_minidump.dmp", "ABCDEF0123", "target_minidump.dmp"};
    writeFile(store / "target_minidump.dmp/ABCDEF0123/target_minidump.dm_", readFile(cab));
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store.str()), opts(dc));
    std::vector<Probe> probes;
    auto r = loc.find(key, nullptr, &probes);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(*r, cache / "target_minidump.dmp/ABCDEF0123/target_minidump.dmp");
    EXPECT_EQ(readFile(*r), readFile(dump));  // 22276 bytes, byte-identical
    EXPECT_TRUE(anyProbe(probes, "target_minidump.dmp", "expanded from CAB")) << describe(probes);
    // Second lookup: the cache answers first.
    probes.clear();
    auto again = loc.find(key, nullptr, &probes);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *r);
    ASSERT_FALSE(probes.empty());
    EXPECT_EQ(probes.back().where, *r);
    EXPECT_EQ(probes.back().result, "found");
    EXPECT_EQ(nt::test::countTemporaries(cache.str()), 0u);
}

TEST(LocalLookup, CompressedNameThatIsNotACabinetIsRejected) {
    TempDir store, cache, dc;
    writeFile(store / "ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pd_", "plain text, not MSCF");
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store.str()), opts(dc));
    std::vector<Probe> probes;
    EXPECT_FALSE(loc.find(kNtdll, nullptr, &probes));
    EXPECT_TRUE(anyProbe(probes, "ntdll.pd_", "rejected: not a cabinet")) << describe(probes);
}

TEST(LocalLookup, FilePtrPathAndMessage) {
    TempDir store, cache, elsewhere, dc;
    writeFile(elsewhere / "real/ntdll.pdb", "pointed-to");
    writeFile(store / "ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/file.ptr", "PATH:" + (elsewhere / "real/ntdll.pdb") + "\r\n");
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store.str()), opts(dc));
    std::vector<Probe> probes;
    auto r = loc.find(kNtdll, nullptr, &probes);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(*r, cache / "ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb");
    EXPECT_EQ(readFile(*r), "pointed-to");
    EXPECT_TRUE(anyProbe(probes, "file.ptr", "pointer to " + (elsewhere / "real/ntdll.pdb")));

    // MSG: the store says why there is no file; the search goes on to the right.
    TempDir store2, cache2, next;
    writeFile(store2 / "ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/file.ptr", "MSG: withheld by policy");
    writeFile(next / "ntdll.pdb", "from the next element");
    SymbolLocator loc2(SymbolPath::parse("srv*" + cache2.str() + "*" + store2.str() + ";" + next.str()), opts(dc));
    probes.clear();
    auto r2 = loc2.find(kNtdll, nullptr, &probes);
    ASSERT_TRUE(r2) << describe(probes);
    EXPECT_EQ(readFile(*r2), "from the next element");
    EXPECT_TRUE(anyProbe(probes, "file.ptr", "message: withheld by policy")) << describe(probes);
}

TEST(LocalLookup, TwoTierStoreWithIndex2Txt) {
    TempDir store, dc;
    writeFile(store / "index2.txt", "");
    writeFile(store / "nt/ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb", "two-tier");
    SymbolLocator loc(SymbolPath::parse("srv*" + store.str()), opts(dc));
    std::vector<Probe> probes;
    auto r = loc.find(kNtdll, nullptr, &probes);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(readFile(*r), "two-tier");
    EXPECT_EQ(*r, store / "nt/ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb");
}

TEST(LocalLookup, TwoTierCacheReceivesTwoTierLayout) {
    TempDir store, cache, dc;
    writeFile(cache / "index2.txt", "");
    writeFile(store / "ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb", "flat store");
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store.str()), opts(dc));
    auto r = loc.find(kNtdll, nullptr, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, cache / "nt/ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb");
}

TEST(LocalLookup, CacheElementStoresWhatIsFoundToItsRight) {
    TempDir cache, dir, dc;
    writeFile(dir / "ntdll.pdb", "plain dir");
    SymbolLocator loc(SymbolPath::parse("cache*" + cache.str() + ";" + dir.str()), opts(dc));
    auto r = loc.find(kNtdll, nullptr, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, cache / "ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb");
    EXPECT_EQ(readFile(*r), "plain dir");
    // The cache alone now answers.
    SymbolLocator cacheOnly(SymbolPath::parse("cache*" + cache.str()), opts(dc));
    auto again = cacheOnly.find(kNtdll, nullptr, nullptr);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *r);
    // `cache*` without a directory is the default cache.
    SymbolLocator def(SymbolPath::parse("cache*;" + dir.str()), opts(dc));
    auto d = def.find(kNtdll, nullptr, nullptr);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, dc / "ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb");
}

TEST(LocalLookup, SecondCacheHitIsCopiedIntoTheFirst) {
    TempDir c1, c2, store, dc;
    writeFile(c2 / "ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb", "in c2");
    SymbolLocator loc(SymbolPath::parse("srv*" + c1.str() + "*" + c2.str() + "*" + store.str()), opts(dc));
    auto r = loc.find(kNtdll, nullptr, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, c1 / "ntdll.pdb/1EB9FACB04EA273BB4BA52C8C8D2E0401/ntdll.pdb");
    EXPECT_EQ(readFile(*r), "in c2");
}

// symbolicator's fixture store: the ...1 directory holds a CAB under the
// plain name (its member is the Breakpad text for crash.pdb), the
// ...ffffffff directory the plain PDB.
TEST(CorpusStore, SymbolicatorStoreThroughSrvWithCache) {
    NT_REQUIRE_CORPUS_FILE(plain, "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B6936ffffffff/crash.pdb");
    NT_REQUIRE_CORPUS_FILE(sym, "symbolic/crash.sym");
    std::string root = nt::test::corpusDir() + "/symbolicator/symbols";
    TempDir cache, dc;
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + root), opts(dc));
    std::vector<Probe> probes;
    auto cab = loc.find({"crash.pdb", "3249D99D0C4049318610F4E4FB0B69361", "crash.pdb"}, nullptr, &probes);
    ASSERT_TRUE(cab) << describe(probes);
    EXPECT_EQ(*cab, cache / "crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb");
    EXPECT_EQ(readFile(*cab), readFile(sym));
    EXPECT_TRUE(anyProbe(probes, "crash.pdb", "expanded from CAB")) << describe(probes);
    auto pdb = loc.find({"crash.pdb", "3249D99D0C4049318610F4E4FB0B6936ffffffff", "crash.pdb"}, nullptr, nullptr);
    ASSERT_TRUE(pdb);
    EXPECT_EQ(readFile(*pdb).size(), 1019904u);
    EXPECT_EQ(readFile(*pdb).substr(0, 24), "Microsoft C/C++ MSF 7.00");
}

TEST(CorpusStore, BreakpadSymbolsDirectoryAsStore) {
    NT_REQUIRE_CORPUS_FILE(sym, "breakpad/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym");
    TempDir dc;
    SymbolLocator loc(SymbolPath::parse(nt::test::corpusDir() + "/breakpad/symbols"), opts(dc));
    auto r = loc.find({"test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1", "test_app.sym"}, nullptr, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, sym);
    EXPECT_FALSE(loc.find({"test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF2", "test_app.sym"}, nullptr, nullptr));
}

TEST(LocalLookup, HostileKeysAreRefused) {
    TempDir a, cache, dc;
    writeFile(a / "x.pdb", "bait");
    SymbolLocator loc(SymbolPath::parse("cache*" + cache.str() + ";" + a.str()), opts(dc));
    for (const StoreKey& k : std::vector<StoreKey>{{"../x.pdb", "AA1", "x.pdb"},
                                                   {"x.pdb", "..", "x.pdb"},
                                                   {"x.pdb", "AA1", "../../x.pdb"},
                                                   {"x.pdb", "AA1", "sub/x.pdb"},
                                                   {"x.pdb", "AA1", "c:x.pdb"},
                                                   {"x.pdb", "", "x.pdb"},
                                                   {"x.pdb", "AA1", std::string("x.pdb\0", 6)}}) {
        std::vector<Probe> probes;
        EXPECT_FALSE(loc.find(k, nullptr, &probes)) << k.indexName << "/" << k.index << "/" << k.fileName;
        ASSERT_EQ(probes.size(), 1u);
        EXPECT_NE(probes[0].result.find("refused"), std::string::npos);
    }
    EXPECT_TRUE(std::filesystem::is_empty(cache.path()));
}

TEST(LocalLookup, FindAllLocal) {
    TempDir a, dc;
    writeFile(a / "one.pdb/AA1/one.pdb", "1");
    writeFile(a / "two.pdb/BB1/two.pdb", "2");
    LocatorOptions o = opts(dc);
    o.parallelDownloads = 3;
    SymbolLocator loc(SymbolPath::parse(a.str()), o);
    std::vector<StoreKey> keys = {{"one.pdb", "AA1", "one.pdb"}, {"missing.pdb", "CC1", "missing.pdb"}, {"two.pdb", "BB1", "two.pdb"}};
    std::vector<std::vector<Probe>> probes;
    auto r = loc.findAll(keys, nullptr, &probes);
    ASSERT_EQ(r.size(), 3u);
    ASSERT_TRUE(r[0] && r[2]);
    EXPECT_FALSE(r[1]);
    EXPECT_EQ(readFile(*r[0]), "1");
    EXPECT_EQ(readFile(*r[2]), "2");
    ASSERT_EQ(probes.size(), 3u);
    EXPECT_TRUE(anyProbe(probes[1], "missing.pdb/CC1/missing.pdb", "not found"));
}

}  // namespace
