#include "dump/module_names.h"

#include <gtest/gtest.h>

using namespace nt;

namespace {
Module mod(uint64_t base, std::string path) {
    Module m;
    m.base = base;
    m.path = std::move(path);
    return m;
}
}  // namespace

TEST(ModuleNames, BaseName) {
    EXPECT_EQ(moduleBaseName("C:\\Windows\\System32\\ntdll.dll"), "ntdll");
    EXPECT_EQ(moduleBaseName("ntdll.dll"), "ntdll");
    EXPECT_EQ(moduleBaseName("/usr/lib/libc.so.6"), "libc_so");
    EXPECT_EQ(moduleBaseName("C:\\x\\noext"), "noext");
    EXPECT_EQ(moduleBaseName("C:\\x\\a.b.dll"), "a_b");
    EXPECT_EQ(moduleBaseName("C:\\x\\api-ms-win-core-synch-l1-2-0.dll"), "api_ms_win_core_synch_l1_2_0");
}

TEST(ModuleNames, LaterDuplicateGetsBaseSuffixCaseInsensitive) {
    // The example from "Why does the Windows debugger engine show a bunch of
    // hex digits after one of the DLL names?": contoso_7ffe7d0e0000.
    std::vector<Module> m{mod(0x7ff6a3b30000, "C:\\app\\contoso.exe"), mod(0x7ffe7d0e0000, "C:\\x\\CONTOSO.dll"),
                          mod(0x7ffe96110000, "C:\\Windows\\System32\\USER32.dll")};
    assignModuleNames(m);
    EXPECT_EQ(m[0].name, "contoso");
    EXPECT_EQ(m[1].name, "CONTOSO_7ffe7d0e0000");
    EXPECT_EQ(m[2].name, "USER32");
}

TEST(ModuleNames, OrderDecidesWhoKeepsThePlainName) {
    std::vector<Module> m{mod(0x771d0000, "ntdll.dll"), mod(0x7ff837b70000, "ntdll.dll")};
    assignModuleNames(m, {1, 0});
    EXPECT_EQ(m[0].name, "ntdll_771d0000");
    EXPECT_EQ(m[1].name, "ntdll");
}

TEST(ModuleNames, SameImageListedTwiceKeepsOneName) {
    // targetapp_stacktest_wow64.cab.dmp lists targetapp.exe at 0x850000 twice.
    std::vector<Module> m{mod(0x850000, "D:\\x\\targetapp.exe"), mod(0x7ffc8d700000, "C:\\w\\ntdll.dll"),
                          mod(0x850000, "D:\\x\\targetapp.exe")};
    assignModuleNames(m);
    EXPECT_EQ(m[0].name, "targetapp");
    EXPECT_EQ(m[2].name, "targetapp");
}
