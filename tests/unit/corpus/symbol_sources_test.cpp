// Symbols from PDB and Breakpad files on the symbol path, on real dumps.
// Expected names, lines and ranges come from outside ntriage:
//  - sigsegv.pdb: llvm-pdbutil-16 dump -symbols -l: crash at 0001:0176 (RVA
//    0x10b0, 69 bytes), foo at 0001:0256 (RVA 0x1100), main at 0001:0064
//    (RVA 0x1040), mainCRTStartup at 0001:0112 (RVA 0x1070); sigsegv.cpp line 22
//    is the null store `*(volatile int*)nullptr = 0;` that lldb's test expects
//    to fault at 0x7ff7a13110d9.
//  - kdlibcpp's expected/stacktest.cpp: the WoW64 dump's thread 0 runs
//    stackTestClass::stackMethod <- stackTestRun2 <- stackTestRun1.
//  - breakpad/expected/minidump2.stackwalk.out: the crashed thread's frames.
#include <gtest/gtest.h>

#include "commands/engine.h"
#include "dump/open_dump.h"
#include "support/test_support.h"

namespace nt::test {
namespace {

std::vector<std::string> callSites(const Output& k) {
    std::vector<std::string> out;
    for (const auto& f : k.json["frames"]) out.push_back(f["call_site"].get<std::string>());
    return out;
}

TEST(SymbolSources, SigsegvPdbNamesTheCrashLineAndItsCallers) {
    NT_REQUIRE_CORPUS_FILE(dump, "lldb/sigsegv.dmp");
    Engine e(openDump(dump));
    e.symbols().setSymbolPath(corpusFile("lldb"));
    const Module* m = e.target().moduleByName("sigsegv");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(e.symbols().state(*m), SymbolState::Deferred);

    auto hit = e.symbols().lookup(0x7ff7a13110d9);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->function, "crash");
    EXPECT_EQ(hit->functionStart, m->base + 0x10b0);
    EXPECT_EQ(e.symbols().state(*m), SymbolState::PrivatePdbSymbols);
    auto line = e.symbols().lineAt(0x7ff7a13110d9);
    ASSERT_TRUE(line);
    EXPECT_EQ(line->file, "c:\\temp\\sigsegv.cpp");
    EXPECT_EQ(line->line, 22u);

    e.execute(".ecxr");
    Output k = e.execute("k");
    ASSERT_FALSE(k.error) << k.text;
    std::vector<std::string> sites = callSites(k);
    ASSERT_GE(sites.size(), 4u) << k.text;
    EXPECT_EQ(sites[0], "sigsegv!crash+0x29");
    EXPECT_EQ(sites[1].rfind("sigsegv!foo+", 0), 0u) << sites[1];
    EXPECT_EQ(sites[2].rfind("sigsegv!main+", 0), 0u) << sites[2];
    EXPECT_EQ(sites[3].rfind("sigsegv!mainCRTStartup+", 0), 0u) << sites[3];
    EXPECT_EQ(k.json["frames"][0]["source"]["line"].get<uint32_t>(), 22u);
    EXPECT_NE(k.text.find("sigsegv!crash+0x29 [c:\\temp\\sigsegv.cpp @ 22]"), std::string::npos) << k.text;

    // Names resolve both ways.
    EXPECT_EQ(e.symbols().resolve("sigsegv!crash"), m->base + 0x10b0);
    EXPECT_EQ(e.symbols().resolve("sigsegv!mainCRTStartup"), m->base + 0x1070);
    Output lm = e.execute("lm m sigsegv");
    EXPECT_NE(lm.text.find("(private pdb symbols)  " + corpusFile("lldb") + "/sigsegv.pdb"), std::string::npos) << lm.text;
}

TEST(SymbolSources, PdbWithAnotherGuidIsRejected) {
    NT_REQUIRE_CORPUS_FILE(dump, "kdlibcpp/targetapp_stacktest_wow64/targetapp_stacktest_wow64.cab.dmp");
    // The x64 release build's targetapp.pdb has the same name and another GUID.
    Engine e(openDump(dump));
    e.symbols().setSymbolPath(corpusFile("kdlibcpp/targetapp_stacktest_x64_release"));
    const Module* m = e.target().moduleByName("targetapp");
    ASSERT_NE(m, nullptr);
    e.symbols().lookup(m->base + 0x1000);
    EXPECT_NE(e.symbols().state(*m), SymbolState::PrivatePdbSymbols);
    EXPECT_NE(e.symbols().state(*m), SymbolState::PdbSymbols);
}

TEST(SymbolSources, Wow64StackNamesFromTargetappPdb) {
    NT_REQUIRE_CORPUS_FILE(dump, "kdlibcpp/targetapp_stacktest_wow64/targetapp_stacktest_wow64.cab.dmp");
    Engine e(openDump(dump));
    e.symbols().setSymbolPath(corpusFile("kdlibcpp/targetapp_stacktest_wow64"));
    ASSERT_TRUE(e.setEffectiveMachine(Machine::X86));
    Output k = e.execute("k");
    std::vector<std::string> sites = callSites(k);
    ASSERT_GE(sites.size(), 3u) << k.text;
    EXPECT_EQ(sites[0].rfind("targetapp!stackTestClass::stackMethod+", 0), 0u) << k.text;
    EXPECT_EQ(sites[1].rfind("targetapp!stackTestRun2+", 0), 0u) << k.text;
    EXPECT_EQ(sites[2].rfind("targetapp!stackTestRun1+", 0), 0u) << k.text;
}

TEST(SymbolSources, BreakpadSymFilesNameMinidump2LikeStackwalk) {
    NT_REQUIRE_CORPUS_FILE(dump, "breakpad/minidump2.dmp");
    Engine e(openDump(dump));
    e.symbols().setSymbolPath(corpusFile("breakpad/symbols"));
    e.execute(".ecxr");
    Output k = e.execute("k");
    ASSERT_FALSE(k.error) << k.text;
    // minidump2.stackwalk.out, thread 0 (crashed):
    //  0 test_app.exe!`anonymous namespace'::CrashFunction [test_app.cc : 58 + 0x3]  eip 0x0040429e
    //  1 test_app.exe!main [test_app.cc : 65 + 0x5]                                   eip 0x00404200
    //  2 test_app.exe!__tmainCRTStartup [crt0.c : 327 + 0x12]                         eip 0x004053ec
    //  3 kernel32.dll!BaseProcessStart + 0x23                                         eip 0x7c816fd7
    const auto& f = k.json["frames"];
    ASSERT_EQ(f.size(), 4u) << k.text;
    EXPECT_EQ(f[0]["instruction_pointer"].get<uint64_t>(), 0x0040429eu);
    EXPECT_EQ(f[1]["instruction_pointer"].get<uint64_t>(), 0x00404200u);
    EXPECT_EQ(f[2]["instruction_pointer"].get<uint64_t>(), 0x004053ecu);
    EXPECT_EQ(f[3]["instruction_pointer"].get<uint64_t>(), 0x7c816fd7u);
    EXPECT_EQ(f[0]["call_site"], "test_app!`anonymous namespace'::CrashFunction+0xe");
    EXPECT_EQ(f[1]["call_site"], "test_app!main+0x50");
    EXPECT_EQ(f[2]["call_site"], "test_app!__tmainCRTStartup+0x15f");
    EXPECT_EQ(f[3]["call_site"], "kernel32!BaseProcessStart+0x23");
    EXPECT_EQ(f[0]["source"]["line"].get<uint32_t>(), 58u);
    EXPECT_EQ(f[1]["source"]["line"].get<uint32_t>(), 65u);
    EXPECT_EQ(f[2]["source"]["line"].get<uint32_t>(), 327u);
    EXPECT_EQ(f[0]["source"]["file"], "c:\\test_app.cc");
    EXPECT_FALSE(f[3].contains("source"));
}

// symbolicator/windows.dmp, crashed thread, with crash.pdb (the plain copy)
// or crash.sym: 5 physical frames, the truth that FrameData gives (see
// x86_frame_data_corpus_test.cpp), plus, from the PDB's inline sites, the
// functions the compiler inlined: crash() and start() into main (main.cpp
// lines 24 and 28, breakpad-tools' windows/crash/main.cpp) and invoke_main
// into __scrt_common_main_seh.
TEST(SymbolSources, WindowsDmpFiveFramesWithPdbOrSym) {
    NT_REQUIRE_CORPUS_FILE(dump, "symbolicator/windows.dmp");
    // Third: symbolicator's store, where .../3249D99D...1/crash.pdb is a CAB
    // whose member is the Breakpad text of crash.sym: expanded into the cache
    // and used as a .sym.
    for (std::string dir : {std::string("symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B6936ffffffff"),
                            std::string("symbolic"), std::string("symbolicator/symbols")}) {
        SCOPED_TRACE(dir);
        Engine e(openDump(dump));
        e.symbols().setSymbolPath(corpusFile(dir));
        e.execute(".ecxr");
        Output k = e.execute("kv");
        std::vector<std::string> physical, inlined;
        for (const auto& f : k.json["frames"])
            (f.value("inline", false) ? inlined : physical).push_back(f["call_site"].get<std::string>());
        ASSERT_EQ(physical.size(), 5u) << k.text;
        EXPECT_EQ(physical[0], "crash!main+0x12d");
        EXPECT_EQ(physical[1], "crash!__scrt_common_main_seh+0xf9");
        EXPECT_EQ(physical[2], "kernel32+0x162c4");
        EXPECT_EQ(physical[3], "ntdll+0x60f79");
        EXPECT_EQ(physical[4], "ntdll+0x60f44");
        if (dir != "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B6936ffffffff") continue;  // .sym: no INLINE records
        EXPECT_EQ(inlined, (std::vector<std::string>{"crash!`anonymous namespace'::crash",
                                                     "crash!`anonymous namespace'::start", "crash!invoke_main"}))
            << k.text;
        EXPECT_NE(k.text.find("crash!main+0x12d (FPO: [Non-Fpo]) [c:\\projects\\breakpad-tools\\windows\\crash\\main.cpp @ 35]"),
                  std::string::npos)
            << k.text;
    }
}

// Offline, a server path costs nothing and says what to fetch by hand.
TEST(SymbolSources, OfflineServerPathPrintsTheUrlToFetch) {
    NT_REQUIRE_CORPUS_FILE(dump, "lldb/sigsegv.dmp");
    Engine e(openDump(dump));
    auto options = e.symbols().locatorOptions();
    options.offline = true;
    e.symbols().setLocatorOptions(options);
    e.symbols().setSymbolPath("srv*/nonexistent-cache*https://symbols.example.invalid/store");
    Output out = e.execute(".ecxr");
    EXPECT_NE(out.text.find("*** sigsegv: symbols not loaded (offline"), std::string::npos) << out.text;
    EXPECT_NE(out.text.find("download https://symbols.example.invalid/store/sigsegv.pdb/"
                            "7DD47A9FC2E8499AA78EC14AE2C965A21/sigsegv.pdb to /nonexistent-cache/sigsegv.pdb/"
                            "7DD47A9FC2E8499AA78EC14AE2C965A21/sigsegv.pdb"),
              std::string::npos)
        << out.text;
}

TEST(SymbolSources, SympathReloadAndNoisy) {
    NT_REQUIRE_CORPUS_FILE(dump, "lldb/sigsegv.dmp");
    Engine e(openDump(dump));
    Output empty = e.execute(".sympath");
    EXPECT_EQ(empty.text, "Symbol search path is: <empty>\nExpanded Symbol search path is: <empty>\n");
    Output set = e.execute(".sympath " + corpusFile("lldb"));
    EXPECT_NE(set.text.find("OK                                             " + corpusFile("lldb")), std::string::npos)
        << set.text;
    e.execute(".sympath+ /nonexistent/dir");
    Output show = e.execute(".sympath");
    EXPECT_EQ(show.json["symbol_path"], corpusFile("lldb") + ";/nonexistent/dir");

    const Module* m = e.target().moduleByName("sigsegv");
    e.execute("!sym noisy");
    Output reload = e.execute(".reload /f sigsegv.exe");
    EXPECT_NE(reload.text.find("DBGHELP: sigsegv - private symbols & lines"), std::string::npos) << reload.text;
    EXPECT_EQ(e.symbols().state(*m), SymbolState::PrivatePdbSymbols);
    // Without the PDB's folder, the module falls back (no image in this dump: no exports either).
    e.execute(".sympath /nonexistent/dir");
    Output again = e.execute(".reload /f sigsegv");
    EXPECT_NE(again.text.find("DBGHELP: sigsegv - no symbols loaded"), std::string::npos) << again.text;
    EXPECT_EQ(e.symbols().state(*m), SymbolState::NoSymbols);
}

}  // namespace
}  // namespace nt::test
