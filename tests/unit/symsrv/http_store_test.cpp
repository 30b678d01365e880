// The locator against a real HTTP server on 127.0.0.1 (ephemeral port):
// download, cache, CAB expansion, file.ptr, 404 fallback, stalled servers,
// redirects, two-tier stores, size limit, offline mode, parallel findAll.
// No other host is ever contacted.
#include <gtest/gtest.h>

#include <chrono>

#include "local_http_server.h"
#include "support/test_support.h"
#include "symsrv/symbol_locator.h"
#include "symsrv_test_util.h"

using namespace nt::symsrv;
using nt::test::anyProbe;
using nt::test::describe;
using nt::test::LocalHttpServer;
using nt::test::readFile;
using nt::test::TempDir;
using Route = LocalHttpServer::Route;

namespace {

const std::string kPlainIdx = "3249D99D0C4049318610F4E4FB0B6936ffffffff";
const std::string kCabIdx = "3249D99D0C4049318610F4E4FB0B69361";
const StoreKey kPlain{"crash.pdb", kPlainIdx, "crash.pdb"};
const StoreKey kCab{"crash.pdb", kCabIdx, "crash.pdb"};

// Small timeouts: the stalled endpoints must be given up on quickly.
LocatorOptions fastOptions(const TempDir& defaultCache) {
    LocatorOptions o;
    o.defaultCache = defaultCache.str();
    o.connectTimeoutMs = 300;
    o.stallTimeoutMs = 300;
    o.defaultStore = "http://127.0.0.1:9/unused";  // never reached: every test names its store
    return o;
}

class HttpStore : public ::testing::Test {
protected:
    void SetUp() override {
        plainPdb_ = nt::test::corpusFile("symbolicator/symbols/crash.pdb/" + kPlainIdx + "/crash.pdb");
        cabPdb_ = nt::test::corpusFile("symbolicator/symbols/crash.pdb/" + kCabIdx + "/crash.pdb");
        sym_ = nt::test::corpusFile("symbolic/crash.sym");
        if (plainPdb_.empty() || cabPdb_.empty() || sym_.empty()) GTEST_SKIP() << "corpus crash.pdb/crash.sym not found";
        plainBytes_ = readFile(plainPdb_);
        // The store: the plain PDB, the CAB as `.pd_`, everything else 404.
        server_.serve("/store/crash.pdb/" + kPlainIdx + "/crash.pdb", plainBytes_);
        server_.serve("/store/crash.pdb/" + kCabIdx + "/crash.pd_", readFile(cabPdb_));
    }

    std::string store(const std::string& name = "store") const { return server_.url("/" + name); }

    LocalHttpServer server_;
    std::string plainPdb_, cabPdb_, sym_, plainBytes_;
};

TEST_F(HttpStore, DownloadsIntoCacheThenAnswersFromCacheWithoutRequests) {
    TempDir cache, dc;
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store()), fastOptions(dc));
    std::vector<Probe> probes;
    auto r = loc.find(kPlain, nullptr, &probes);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(*r, cache / ("crash.pdb/" + kPlainIdx + "/crash.pdb"));
    EXPECT_EQ(readFile(*r), plainBytes_);  // 1019904 bytes, MSF 7.00
    EXPECT_EQ(server_.requestLog(), std::vector<std::string>{"/store/crash.pdb/" + kPlainIdx + "/crash.pdb"});
    EXPECT_EQ(server_.lastUserAgent(), "ntriage-symsrv");
    EXPECT_TRUE(anyProbe(probes, "/crash.pdb", "downloaded 1019904 bytes")) << describe(probes);

    // Second lookup, even from a fresh locator: the cache answers, no request.
    SymbolLocator fresh(SymbolPath::parse("srv*" + cache.str() + "*" + store()), fastOptions(dc));
    probes.clear();
    auto again = fresh.find(kPlain, nullptr, &probes);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *r);
    EXPECT_EQ(server_.requestCount(), 1u);
    EXPECT_EQ(nt::test::countTemporaries(cache.str()), 0u);
}

TEST_F(HttpStore, CompressedPdUnderscoreIsExpanded) {
    TempDir cache, dc;
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store()), fastOptions(dc));
    std::vector<Probe> probes;
    auto r = loc.find(kCab, nullptr, &probes);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(*r, cache / ("crash.pdb/" + kCabIdx + "/crash.pdb"));
    EXPECT_EQ(readFile(*r), readFile(sym_));  // the CAB's member (see cab_expand_test)
    // Plain name first (404), then the compressed form.
    EXPECT_EQ(server_.requestLog(), (std::vector<std::string>{"/store/crash.pdb/" + kCabIdx + "/crash.pdb",
                                                               "/store/crash.pdb/" + kCabIdx + "/crash.pd_"}));
    EXPECT_TRUE(anyProbe(probes, "/crash.pdb", "HTTP 404")) << describe(probes);
    EXPECT_TRUE(anyProbe(probes, "/crash.pd_", "expanded from CAB")) << describe(probes);
}

TEST_F(HttpStore, CompressedFirstOrderAsksPdUnderscoreFirst) {
    TempDir cache, dc;
    LocatorOptions o = fastOptions(dc);
    o.compressedFirst = true;
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store()), o);
    ASSERT_TRUE(loc.find(kCab, nullptr, nullptr));
    EXPECT_EQ(server_.requestLog(), std::vector<std::string>{"/store/crash.pdb/" + kCabIdx + "/crash.pd_"});
}

TEST_F(HttpStore, FilePtrToLocalPathToUrlAndMessage) {
    TempDir cache, dc, elsewhere;
    nt::test::writeFile(elsewhere / "deep/ntdll.pdb", "via PATH pointer");
    server_.serve("/store/ntdll.pdb/AA1/file.ptr", "PATH:" + (elsewhere / "deep/ntdll.pdb"));
    server_.serve("/store/kernel.pdb/BB1/file.ptr", "PATH:" + server_.url("/blobs/kernel.pdb"));
    server_.serve("/blobs/kernel.pdb", "via URL pointer");
    server_.serve("/store/secret.pdb/CC1/file.ptr", "MSG:This file is not available");
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store()), fastOptions(dc));

    std::vector<Probe> probes;
    auto a = loc.find({"ntdll.pdb", "AA1", "ntdll.pdb"}, nullptr, &probes);
    ASSERT_TRUE(a) << describe(probes);
    EXPECT_EQ(readFile(*a), "via PATH pointer");
    EXPECT_EQ(*a, cache / "ntdll.pdb/AA1/ntdll.pdb");
    EXPECT_EQ(server_.requestCount("/store/ntdll.pdb/AA1/ntdll.pdb"), 1u);
    EXPECT_EQ(server_.requestCount("/store/ntdll.pdb/AA1/ntdll.pd_"), 1u);
    EXPECT_EQ(server_.requestCount("/store/ntdll.pdb/AA1/file.ptr"), 1u);

    auto b = loc.find({"kernel.pdb", "BB1", "kernel.pdb"}, nullptr, &probes);
    ASSERT_TRUE(b) << describe(probes);
    EXPECT_EQ(readFile(*b), "via URL pointer");
    EXPECT_EQ(server_.requestCount("/blobs/kernel.pdb"), 1u);

    probes.clear();
    EXPECT_FALSE(loc.find({"secret.pdb", "CC1", "secret.pdb"}, nullptr, &probes));
    EXPECT_TRUE(anyProbe(probes, "/store/secret.pdb/CC1/file.ptr", "message: This file is not available"))
        << describe(probes);
}

TEST_F(HttpStore, FallsBackToNextElementAfter404) {
    TempDir cache, dc;
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store("empty") + ";srv*" + cache.str() + "*" + store()),
                      fastOptions(dc));
    std::vector<Probe> probes;
    auto r = loc.find(kPlain, nullptr, &probes);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(readFile(*r), plainBytes_);
    for (const char* name : {"crash.pdb", "crash.pd_", "file.ptr"})
        EXPECT_TRUE(anyProbe(probes, "/empty/crash.pdb/" + kPlainIdx + "/" + name, "HTTP 404")) << describe(probes);
    // index2.txt is asked once, after the flat layout missed; 404 means flat.
    EXPECT_EQ(server_.requestCount("/empty/index2.txt"), 1u);
}

void expectGivesUpOnStall(LocalHttpServer& server, const std::string& stalledStore, const std::string& goodStore,
                          const std::string& expectedBytes) {
    TempDir cache, dc;
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + stalledStore + ";srv*" + cache.str() + "*" + goodStore),
                      fastOptions(dc));
    std::vector<Probe> probes;
    auto start = std::chrono::steady_clock::now();
    auto r = loc.find(kPlain, nullptr, &probes);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(readFile(*r), expectedBytes);
    EXPECT_TRUE(anyProbe(probes, "/crash.pdb/" + kPlainIdx + "/crash.pdb", "timed out")) << describe(probes);
    // Behaviour, not speed: one 300 ms stall, far below libcurl's whole-second backstop of several.
    EXPECT_LT(ms, 5000) << describe(probes);
    EXPECT_EQ(nt::test::countTemporaries(cache.str()), 0u);

    // The stalled store is not asked again by this locator.
    size_t before = server.requestCount();
    probes.clear();
    EXPECT_FALSE(loc.find({"other.pdb", "DD1", "other.pdb"}, nullptr, &probes));
    EXPECT_TRUE(anyProbe(probes, stalledStore, "skipped: timed out")) << describe(probes);
    // Only the good store was asked: other.pdb, other.pd_, file.ptr, index2.txt.
    EXPECT_EQ(server.requestCount() - before, 4u);
}

TEST_F(HttpStore, GivesUpOnSilentServerAndFallsBack) {
    server_.set("/silent/crash.pdb/" + kPlainIdx + "/crash.pdb", Route{200, "", Route::Mode::Silent, {}});
    expectGivesUpOnStall(server_, store("silent"), store(), plainBytes_);
}

TEST_F(HttpStore, GivesUpOnHalfBodyAndLeavesNoPartialFile) {
    server_.set("/half/crash.pdb/" + kPlainIdx + "/crash.pdb", Route{200, plainBytes_, Route::Mode::HalfBody, {}});
    expectGivesUpOnStall(server_, store("half"), store(), plainBytes_);
}

TEST_F(HttpStore, RefusedConnectionFallsBackAndIsNotRetried) {
    // A port bound on 127.0.0.1 but not listening: the connection is refused at once.
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::string dead = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/s";
    TempDir cache, dc;
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + dead + ";srv*" + cache.str() + "*" + store()),
                      fastOptions(dc));
    std::vector<Probe> probes;
    auto r = loc.find(kPlain, nullptr, &probes);
    ::close(fd);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(readFile(*r), plainBytes_);
    EXPECT_TRUE(anyProbe(probes, dead + "/crash.pdb/" + kPlainIdx + "/crash.pdb", "connect")) << describe(probes);
    // Only the first name was tried there: a refused server is not asked for .pd_ or file.ptr.
    EXPECT_FALSE(anyProbe(probes, dead + "/crash.pdb/" + kPlainIdx + "/crash.pd_", "")) << describe(probes);
}

// A server whose accept queue is full: the kernel drops further SYNs, so a
// connection attempt hangs until the connect timeout (300 ms here).
TEST_F(HttpStore, ConnectTimeoutOnUnansweredSyn) {
    int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(lfd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(lfd, 0), 0);
    socklen_t len = sizeof addr;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    // Fill the queue, then check that one more connection indeed hangs.
    std::vector<int> fillers;
    bool hangs = false;
    for (int i = 0; i < 8 && !hangs; ++i) {
        int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        fillers.push_back(c);
        pollfd p{c, POLLOUT, 0};
        hangs = ::poll(&p, 1, 200) == 0;
    }
    auto cleanup = [&] {
        for (int c : fillers) ::close(c);
        ::close(lfd);
    };
    if (!hangs) {
        cleanup();
        GTEST_SKIP() << "this kernel answers connections beyond the accept queue";
    }
    std::string blackhole = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/s";
    TempDir cache, dc;
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + blackhole + ";srv*" + cache.str() + "*" + store()),
                      fastOptions(dc));
    std::vector<Probe> probes;
    auto start = std::chrono::steady_clock::now();
    auto r = loc.find(kPlain, nullptr, &probes);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    cleanup();
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_TRUE(anyProbe(probes, blackhole + "/crash.pdb/" + kPlainIdx + "/crash.pdb", "timed out")) << describe(probes);
    EXPECT_LT(ms, 5000);
}

TEST_F(HttpStore, NamesArePercentEncodedInUrls) {
    TempDir cache, dc;
    server_.serve("/store/my%20app.pdb/AB1/my%20app.pdb", "spaced");
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store()), fastOptions(dc));
    auto r = loc.find({"my app.pdb", "AB1", "my app.pdb"}, nullptr, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(readFile(*r), "spaced");
    EXPECT_EQ(*r, cache / "my app.pdb/AB1/my app.pdb");
}

TEST_F(HttpStore, CompressedNameThatIsNotACabinetIsRejected) {
    TempDir cache, dc;
    server_.serve("/store/fake.pdb/AB1/fake.pd_", "not a cabinet at all");
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store()), fastOptions(dc));
    std::vector<Probe> probes;
    EXPECT_FALSE(loc.find({"fake.pdb", "AB1", "fake.pdb"}, nullptr, &probes));
    EXPECT_TRUE(anyProbe(probes, "/fake.pdb/AB1/fake.pd_", "rejected: not a cabinet")) << describe(probes);
    EXPECT_FALSE(std::filesystem::exists(cache / "fake.pdb/AB1/fake.pdb"));
    EXPECT_EQ(nt::test::countTemporaries(cache.str()), 0u);
}

TEST_F(HttpStore, SymsrvDllFormAndCacheElementToTheLeft) {
    TempDir cache, left, dc;
    // `cache*` caches what the server element to its right downloads, too.
    SymbolLocator loc(SymbolPath::parse("cache*" + left.str() + ";SYMSRV*symsrv.dll*" + cache.str() + "*" + store()),
                      fastOptions(dc));
    auto r = loc.find(kPlain, nullptr, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, cache / ("crash.pdb/" + kPlainIdx + "/crash.pdb"));
    EXPECT_EQ(readFile(left / ("crash.pdb/" + kPlainIdx + "/crash.pdb")), plainBytes_);
    EXPECT_EQ(server_.requestCount(), 1u);
    // Now the `cache*` element answers before the server is reached.
    std::vector<Probe> probes;
    auto again = loc.find(kPlain, nullptr, &probes);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, left / ("crash.pdb/" + kPlainIdx + "/crash.pdb"));
    EXPECT_EQ(server_.requestCount(), 1u);
}

TEST_F(HttpStore, FollowsRedirects) {
    TempDir cache, dc;
    server_.set("/moved/crash.pdb/" + kPlainIdx + "/crash.pdb",
                Route{302, "", Route::Mode::Normal, "/store/crash.pdb/" + kPlainIdx + "/crash.pdb"});
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store("moved")), fastOptions(dc));
    auto r = loc.find(kPlain, nullptr, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(readFile(*r), plainBytes_);
    EXPECT_EQ(server_.requestCount("/store/crash.pdb/" + kPlainIdx + "/crash.pdb"), 1u);
}

TEST_F(HttpStore, TwoTierStoreDetectedByIndex2Txt) {
    TempDir cache, dc;
    server_.serve("/tt/index2.txt", "");
    server_.serve("/tt/cr/crash.pdb/" + kPlainIdx + "/crash.pdb", plainBytes_);
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store("tt")), fastOptions(dc));
    std::vector<Probe> probes;
    auto r = loc.find(kPlain, nullptr, &probes);
    ASSERT_TRUE(r) << describe(probes);
    EXPECT_EQ(readFile(*r), plainBytes_);
    auto log = server_.requestLog();
    ASSERT_EQ(log.size(), 5u);
    EXPECT_EQ(log[3], "/tt/index2.txt");
    EXPECT_EQ(log[4], "/tt/cr/crash.pdb/" + kPlainIdx + "/crash.pdb");
}

TEST_F(HttpStore, SizeLimitRefusesAndLeavesNothing) {
    TempDir cache, dc;
    LocatorOptions o = fastOptions(dc);
    o.maxDownloadBytes = 100000;  // the PDB is 1019904 bytes
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store()), o);
    std::vector<Probe> probes;
    EXPECT_FALSE(loc.find(kPlain, nullptr, &probes));
    EXPECT_TRUE(anyProbe(probes, "/crash.pdb/" + kPlainIdx + "/crash.pdb", "too large")) << describe(probes);
    EXPECT_FALSE(std::filesystem::exists(cache / ("crash.pdb/" + kPlainIdx + "/crash.pdb")));
    EXPECT_EQ(nt::test::countTemporaries(cache.str()), 0u);
}

TEST_F(HttpStore, OfflineMakesNoRequestAndNamesUrlsAndDestinations) {
    TempDir cache, dc;
    LocatorOptions o = fastOptions(dc);
    o.offline = true;
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store()), o);
    std::vector<Probe> probes;
    EXPECT_FALSE(loc.find(kPlain, nullptr, &probes));
    EXPECT_EQ(server_.requestCount(), 0u);
    std::string dest = cache / ("crash.pdb/" + kPlainIdx + "/crash.pdb");
    for (const char* name : {"crash.pdb", "crash.pd_", "file.ptr"}) {
        std::string url = store() + "/crash.pdb/" + kPlainIdx + "/" + name;
        bool seen = false;
        for (const auto& p : probes)
            if (p.where == url) {
                seen = true;
                EXPECT_EQ(p.destination, dest);
                EXPECT_NE(p.result.find("offline"), std::string::npos);
            }
        EXPECT_TRUE(seen) << url << "\n" << describe(probes);
    }
    // `srv*` alone uses the default store and the default cache.
    LocatorOptions d = o;
    d.defaultStore = store();
    SymbolLocator def(SymbolPath::parse("srv*"), d);
    probes.clear();
    EXPECT_FALSE(def.find(kPlain, nullptr, &probes));
    EXPECT_TRUE(anyProbe(probes, store() + "/crash.pdb/" + kPlainIdx + "/crash.pdb", "offline"));
    EXPECT_EQ(probes.front().destination, dc / ("crash.pdb/" + kPlainIdx + "/crash.pdb"));
    EXPECT_EQ(server_.requestCount(), 0u);
}

TEST_F(HttpStore, FindAllDownloadsInParallel) {
    TempDir cache, dc;
    // Each answer waits 150 ms: with 4 workers the server sees requests overlap.
    for (int i = 0; i < 6; ++i)
        server_.set("/store/m" + std::to_string(i) + ".pdb/AB" + std::to_string(i) + "/m" + std::to_string(i) + ".pdb",
                    Route{200, std::string(1000 + i, static_cast<char>('a' + i)), Route::Mode::Normal, {}, 150});
    LocatorOptions o = fastOptions(dc);
    o.parallelDownloads = 4;
    o.stallTimeoutMs = 5000;  // the 150 ms wait must never count as a stall on a busy machine
    SymbolLocator loc(SymbolPath::parse("srv*" + cache.str() + "*" + store()), o);
    std::vector<StoreKey> keys;
    for (int i = 0; i < 6; ++i)
        keys.push_back({"m" + std::to_string(i) + ".pdb", "AB" + std::to_string(i), "m" + std::to_string(i) + ".pdb"});
    keys.push_back(kCab);
    keys.push_back({"absent.pdb", "EE1", "absent.pdb"});
    std::vector<std::vector<Probe>> probes;
    auto r = loc.findAll(keys, nullptr, &probes);
    ASSERT_EQ(r.size(), keys.size());
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(r[i]) << describe(probes[i]);
        EXPECT_EQ(readFile(*r[i]), std::string(1000 + i, static_cast<char>('a' + i)));
    }
    ASSERT_TRUE(r[6]);
    EXPECT_EQ(readFile(*r[6]), readFile(sym_));
    EXPECT_FALSE(r[7]);
    EXPECT_TRUE(anyProbe(probes[7], "/absent.pdb/EE1/absent.pdb", "HTTP 404"));
    EXPECT_EQ(nt::test::countTemporaries(cache.str()), 0u);
    // (No upper bound: a server thread still closing its socket overlaps the
    // client's next request, so the server may count one more than 4.)
    EXPECT_GE(server_.maxConcurrent(), 2u);
}

}  // namespace
