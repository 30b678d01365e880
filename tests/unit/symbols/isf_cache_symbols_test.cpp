// ISF tables found on the symbol path go through the persistent cache
// (isf/isf_cache.h): where the symbolizer puts it, that a second session is
// served from the entries, and that the small-dump search by KDBG RVAs
// (every table of ntkrnlmp.pdb/) leaves one entry per table behind.
// Each test points the cache at its own temporary directory.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "isf/isf_cache.h"
#include "isf/isf_file.h"
#include "memory/range_memory.h"
#include "support/test_support.h"
#include "symbols/symbolizer.h"

namespace nt {
namespace {

namespace fs = std::filesystem;
using test::corpusFile;

constexpr const char* k5278 = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

class FakeTarget : public Target {
public:
    const Memory& memory() const override { return mem; }
    RangeMemory mem;
};

// Sets (or unsets, with nullptr) an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

class TempDir {
public:
    TempDir() {
        std::string t = (fs::temp_directory_path() / "ntriage-isf-symbols-test-XXXXXX").string();
        if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
        path_ = t;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// Entry file name -> inode: unchanged inodes mean the second session read
// the entries instead of rewriting them (a rewrite renames a new file, made
// while the old one still exists, over it).
std::map<std::string, int64_t> entries(const std::string& dir) {
    std::map<std::string, int64_t> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        struct stat st {};
        // The inode: an entry is rewritten by renaming a new file over it,
        // while a hit only touches its mtime (the eviction order).
        if (::stat(it->path().c_str(), &st) == 0) out[it->path().filename().string()] = int64_t(st.st_ino);
    }
    return out;
}

TEST(IsfCacheSymbols, CacheDirectoryFollowsTheSymbolPathThenTheEnvironment) {
    FakeTarget t;
    ModuleImages images(t);
    Symbolizer s(t, images);
    ScopedEnv cache("NTRIAGE_CACHE", "/nc"), symbols("NTRIAGE_SYMBOL_CACHE", "/sc"), xdg("XDG_CACHE_HOME", "/xdg"),
        home("HOME", "/home/u");
    s.setSymbolPath("/isf");
    EXPECT_EQ(s.isfCacheDirectory(), "/nc/isf");
    s.setSymbolPath("/isf;srv*/down/stream*https://msdl.microsoft.com/download/symbols");
    EXPECT_EQ(s.isfCacheDirectory(), "/down/stream/ntriage-isf");
    s.setSymbolPath("cache*/c;/isf");
    EXPECT_EQ(s.isfCacheDirectory(), "/c/ntriage-isf");
    s.setSymbolPath("srv*https://msdl.microsoft.com/download/symbols;/isf");  // no downstream store named
    EXPECT_EQ(s.isfCacheDirectory(), "/nc/isf");
    {
        ScopedEnv none("NTRIAGE_CACHE", nullptr);
        s.setSymbolPath("/isf");
        EXPECT_EQ(s.isfCacheDirectory(), "/sc/ntriage-isf");
        ScopedEnv none2("NTRIAGE_SYMBOL_CACHE", nullptr);
        s.setSymbolPath("/isf");
        EXPECT_EQ(s.isfCacheDirectory(), "/xdg/ntriage/isf");
        ScopedEnv none3("XDG_CACHE_HOME", nullptr);
        s.setSymbolPath("/isf");
        EXPECT_EQ(s.isfCacheDirectory(), "/home/u/.cache/ntriage/isf");
    }
}

TEST(IsfCacheSymbols, SecondSessionIsServedFromTheEntry) {
    NT_REQUIRE_CORPUS_FILE(isf, k5278);
    TempDir dir;
    ScopedEnv env("NTRIAGE_CACHE", dir.path().c_str());
    FakeTarget t;
    t.machine = Machine::Amd64;
    Module nt;
    nt.base = 0xfffff80460000000;
    nt.size = 0x1046000;
    nt.name = "nt";
    CodeViewInfo cv;
    const uint8_t guid[16] = {0xF8, 0xAF, 0x78, 0x52, 0x34, 0x6C, 0x77, 0x16,
                              0xD7, 0xD7, 0x83, 0x5C, 0x85, 0xB7, 0xB8, 0x44};
    std::copy(std::begin(guid), std::end(guid), cv.guid.begin());
    cv.age = 1;
    cv.pdbName = "ntkrnlmp.pdb";
    nt.codeView = cv;
    t.modules.push_back(nt);
    const auto fresh = isf::IsfFile::open(isf);
    const uint64_t head = *fresh->rvaOf("PsActiveProcessHead");

    std::map<std::string, int64_t> afterFirst;
    for (int session = 0; session < 2; ++session) {
        ModuleImages images(t);
        Symbolizer s(t, images);
        s.setSymbolPath(corpusFile("jpcert-isf"));
        EXPECT_EQ(s.isfCacheDirectory(), dir.path() + "/isf");
        EXPECT_EQ(s.resolve("nt!PsActiveProcessHead"), nt.base + head);
        EXPECT_EQ(s.format(nt.base + head + 8), "nt!PsActiveProcessHead+0x8");
        EXPECT_EQ(s.state(t.modules[0]), SymbolState::PdbSymbols);
        ASSERT_TRUE(s.provider(t.modules[0])->types()->findType("_EPROCESS"));
        if (session == 0) afterFirst = entries(dir.path() + "/isf");
    }
    ASSERT_EQ(afterFirst.size(), 1u);
    EXPECT_TRUE(fs::exists(isf::isfCacheEntryPath(isf, dir.path() + "/isf")));
    EXPECT_EQ(entries(dir.path() + "/isf"), afterFirst);
}

TEST(IsfCacheSymbols, KernelSearchByKdbgRvasLeavesOneEntryPerTable) {
    NT_REQUIRE_CORPUS_FILE(isf, k5278);
    TempDir dir;
    ScopedEnv env("NTRIAGE_CACHE", dir.path().c_str());
    const auto fresh = isf::IsfFile::open(isf);
    const uint64_t kdbg = *fresh->rvaOf("KdDebuggerDataBlock"), list = *fresh->rvaOf("PsLoadedModuleList");
    const uint64_t head = *fresh->rvaOf("PsActiveProcessHead");

    // A small dump's kernel: no CodeView record, only its KDBG's addresses.
    auto kernelTarget = [&](uint64_t kdbgRva) {
        auto t = std::make_unique<FakeTarget>();
        t->machine = Machine::Amd64;
        Module nt;
        nt.base = 0xfffff80460000000;
        nt.size = 0x1046000;
        nt.name = "nt";
        t->modules.push_back(nt);
        KernelInfo k;
        k.kdbg.present = true;
        k.kdbg.kernBase = nt.base;
        k.kdbg.address = nt.base + kdbgRva;
        k.kdbg.psLoadedModuleList = nt.base + list;
        t->kernel = k;
        return t;
    };
    const std::string cacheDir = dir.path() + "/isf";
    std::map<std::string, int64_t> first;
    for (int session = 0; session < 2; ++session) {
        auto t = kernelTarget(kdbg);
        ModuleImages images(*t);
        Symbolizer s(*t, images);
        s.setSymbolPath(corpusFile("jpcert-isf"));
        EXPECT_EQ(s.resolve("nt!PsActiveProcessHead"), t->modules[0].base + head);
        EXPECT_EQ(s.symbolFile(t->modules[0]), isf);
        if (session == 0) first = entries(cacheDir);
    }
    EXPECT_EQ(entries(cacheDir), first);  // the second search read the entries
    EXPECT_GE(first.size(), 1u);

    // RVAs no table has: every table is tried, each leaves its entry.
    for (int session = 0; session < 2; ++session) {
        auto t = kernelTarget(kdbg + 0x10);
        ModuleImages images(*t);
        Symbolizer s(*t, images);
        s.setSymbolPath(corpusFile("jpcert-isf"));
        EXPECT_FALSE(s.resolve("nt!PsActiveProcessHead"));
        if (session == 0) first = entries(cacheDir);
    }
    EXPECT_EQ(first.size(), 10u);
    EXPECT_EQ(entries(cacheDir), first);
}

}  // namespace
}  // namespace nt
