// Exports symbolizer over the corpus kernel32.dll found on an image path.
// Export names/RVAs, TimeDateStamp and SizeOfImage below were read with
// llvm-readobj-16 --coff-exports --file-headers rizin-testbins/kernel32.dll.
#include "symbols/symbolizer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "dump/open_dump.h"
#include "memory/range_memory.h"
#include "support/test_support.h"

namespace nt {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kBase = 0x7ffb12340000;
constexpr uint32_t kTimestamp = 0x59028368;
constexpr uint32_t kSize = 704512;

class FakeTarget : public Target {
public:
    const Memory& memory() const override { return mem; }
    RangeMemory mem;
};

struct Fixture {
    FakeTarget target;
    std::string dir;
    Fixture(uint32_t ts = kTimestamp) {
        target.machine = Machine::Amd64;
        Module m;
        m.base = kBase;
        m.size = kSize;
        m.timestamp = ts;
        m.path = "C:\\Windows\\System32\\KERNEL32.DLL";
        m.name = "kernel32";
        target.modules.push_back(m);
        target.mem.finalize();
        char tmpl[] = "/tmp/ntsymXXXXXX";
        dir = mkdtemp(tmpl);
    }
    ~Fixture() { fs::remove_all(dir); }
};

TEST(Symbolizer, ExportsFromImagePathCaseInsensitive) {
    NT_REQUIRE_CORPUS_FILE(k32, "rizin-testbins/kernel32.dll");
    Fixture f;
    fs::create_symlink(k32, f.dir + "/kernel32.dll");
    ModuleImages images(f.target);
    images.setImagePath({f.dir});
    Symbolizer sym(f.target, images);
    const Module& m = f.target.modules[0];
    EXPECT_EQ(sym.state(m), SymbolState::Deferred);
    EXPECT_EQ(sym.format(kBase + 0x24310), "kernel32!CreateFileW");
    EXPECT_EQ(sym.state(m), SymbolState::ExportSymbols);
    EXPECT_EQ(symbolStateText(sym.state(m)), "(export symbols)");
    EXPECT_EQ(sym.format(kBase + 0x24315), "kernel32!CreateFileW+0x5");
    // Below the lowest export (GetNumberFormatW at 0x1290): module+offset.
    EXPECT_EQ(sym.format(kBase + 0x1000), "kernel32+0x1000");
    // Past the highest export WinDbg still names it, with a large offset.
    EXPECT_EQ(sym.format(kBase + 0x694e0 + 0x1234), "kernel32!QuirkIsEnabledForProcessWorker+0x1234");
    EXPECT_EQ(sym.format(0x1234), "");
    EXPECT_EQ(sym.formatOrAddress(0x1234), "0x00000000`00001234");
    auto hit = sym.lookup(kBase + 0x240b0 + 3);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->function, "CloseHandle");
    EXPECT_EQ(hit->functionStart, kBase + 0x240b0);
    EXPECT_EQ(hit->displacement, 3u);
    EXPECT_EQ(images.origin(m), fs::path(f.dir + "/kernel32.dll").string());

    EXPECT_EQ(sym.resolve("kernel32!CreateFileW"), kBase + 0x24310);
    EXPECT_EQ(sym.resolve("KERNEL32!closehandle"), kBase + 0x240b0);
    EXPECT_EQ(sym.resolve("ActivateActCtx"), kBase + 0x1eb70);
    EXPECT_EQ(sym.resolve("kernel32"), kBase);
    EXPECT_FALSE(sym.resolve("kernel32!NoSuchExport"));
    // Forwarders are not symbols of this module.
    EXPECT_FALSE(sym.resolve("kernel32!AcquireSRWLockExclusive"));

    auto ms = sym.match("kernel*", "CreateFile?");
    std::vector<std::string> names;
    for (const auto& n : ms) names.push_back(n.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"CreateFile2", "CreateFileA", "CreateFileW"}));
}

TEST(Symbolizer, SymbolStoreLayout) {
    NT_REQUIRE_CORPUS_FILE(k32, "rizin-testbins/kernel32.dll");
    Fixture f;
    fs::create_directories(f.dir + "/kernel32.dll/59028368AC000");
    fs::create_symlink(k32, f.dir + "/kernel32.dll/59028368AC000/kernel32.dll");
    ModuleImages images(f.target);
    images.setImagePath({f.dir});
    Symbolizer sym(f.target, images);
    EXPECT_EQ(sym.format(kBase + 0x24300), "kernel32!CreateFileA");
}

TEST(Symbolizer, MismatchedTimestampRejected) {
    NT_REQUIRE_CORPUS_FILE(k32, "rizin-testbins/kernel32.dll");
    Fixture f(kTimestamp + 1);
    fs::create_symlink(k32, f.dir + "/kernel32.dll");
    ModuleImages images(f.target);
    images.setImagePath({f.dir});
    Symbolizer sym(f.target, images);
    EXPECT_EQ(sym.format(kBase + 0x24310), "kernel32+0x24310");
    EXPECT_EQ(sym.state(f.target.modules[0]), SymbolState::NoSymbols);
    EXPECT_EQ(images.image(f.target.modules[0]), nullptr);
}

TEST(Symbolizer, WildcardMatch) {
    EXPECT_TRUE(wildcardMatch("*", ""));
    EXPECT_TRUE(wildcardMatch("Create*", "createfilew"));
    EXPECT_TRUE(wildcardMatch("*File?", "CreateFileW"));
    EXPECT_FALSE(wildcardMatch("*File?", "CreateFile"));
    EXPECT_TRUE(wildcardMatch("a*b*c", "aXXbYYbc"));
    EXPECT_FALSE(wildcardMatch("a*b*c", "aXXbYYb"));
    EXPECT_FALSE(wildcardMatch("ntdll", "ntdll2"));
}

// ntdll exports each system call twice (NtXxx and ZwXxx at one address);
// the call site prints the Nt name, as WinDbg does with ntdll's symbols,
// and both names still resolve. Images come from the dump's memory.
TEST(Symbolizer, NtNamePreferredOverZwAlias) {
    NT_REQUIRE_CORPUS_FILE(p, "kdlibcpp/targetapp_stacktest_x64_release/targetapp_stacktest_x64_release.dmp");
    auto t = openDump(p);
    ModuleImages images(*t);
    Symbolizer sym(*t, images);
    auto nt = sym.resolve("ntdll!NtWaitForWorkViaWorkerFactory");
    auto zw = sym.resolve("ntdll!ZwWaitForWorkViaWorkerFactory");
    ASSERT_TRUE(nt && zw);
    EXPECT_EQ(*nt, *zw);
    EXPECT_EQ(sym.format(*nt + 0x14), "ntdll!NtWaitForWorkViaWorkerFactory+0x14");
    EXPECT_EQ(sym.state(*t->moduleByName("ntdll")), SymbolState::ExportSymbols);
    EXPECT_EQ(images.origin(*t->moduleByName("ntdll")), "memory");
}

}  // namespace
}  // namespace nt

namespace nt {
namespace {

// Images are also looked for on the symbol path, in symbol-store layout
// (name/TIMESTAMPSIZE/name with symstore's "%08X%x"), as WinDbg does.
TEST(Symbolizer, ImageFromSymbolPathStore) {
    NT_REQUIRE_CORPUS_FILE(k32, "rizin-testbins/kernel32.dll");
    Fixture f;
    fs::create_directories(f.dir + "/kernel32.dll/59028368ac000");
    fs::create_symlink(k32, f.dir + "/kernel32.dll/59028368ac000/kernel32.dll");
    ModuleImages images(f.target);
    Symbolizer sym(f.target, images);
    EXPECT_EQ(sym.format(kBase + 0x24300), "kernel32+0x24300");  // no path yet: nothing
    sym.setSymbolPath(f.dir);
    EXPECT_EQ(sym.format(kBase + 0x24300), "kernel32!CreateFileA");
    EXPECT_EQ(images.origin(f.target.modules[0]), f.dir + "/kernel32.dll/59028368ac000/kernel32.dll");
}

}  // namespace
}  // namespace nt
