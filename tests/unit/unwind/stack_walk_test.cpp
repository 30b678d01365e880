// walkStack on real dumps from the corpus. Expected frames come from
// independent sources: lldb-16 `thread backtrace all` (output quoted below),
// breakpad's minidump2.stackwalk.out, and function ranges in the matching
// PDBs read with llvm-pdbutil-16 `dump --symbols` (.text at RVA 0x1000).
#include "unwind/stack_walk.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/format.h"
#include "dump/open_dump.h"
#include "support/test_support.h"

namespace nt {
namespace {

struct Walked {
    std::unique_ptr<Target> target;
    std::unique_ptr<ModuleImages> images;
    StackWalk walk;
};

// Walks thread `tid` from the exception context (.ecxr) when it is the
// exception thread, else from its own context.
Walked walkThread(const std::string& path, uint32_t tid, bool useBounds = true,
                  std::vector<std::string> imagePath = {}) {
    Walked w;
    w.target = openDump(path);
    w.images = std::make_unique<ModuleImages>(*w.target);
    w.images->setImagePath(std::move(imagePath));
    const Thread* th = w.target->threadById(tid);
    EXPECT_TRUE(th) << "thread " << tid;
    if (!th) return w;
    std::optional<CpuContext> ctx = th->context;
    if (w.target->exception && w.target->exception->threadId == tid && w.target->exception->context)
        ctx = w.target->exception->context;
    EXPECT_TRUE(ctx);
    if (!ctx) return w;
    WalkOptions o;
    if (useBounds) {
        o.stackLimit = th->stackStart;
        o.stackBase = th->stackStart + th->stackSize;
    }
    w.walk = walkStack(*w.target, *w.images, *ctx, o);
    return w;
}

std::vector<uint64_t> ips(const StackWalk& w) {
    std::vector<uint64_t> v;
    for (const auto& f : w.frames) v.push_back(f.ip);
    return v;
}

// lldb-16 on breakpad/minidump2.dmp:
//   * frame #0: 0x0040429e test_app.exe   frame #1: 0x00404200 test_app.exe
//     frame #2: 0x004053ec test_app.exe   frame #3: 0x7c816fd7 kernel32.dll
// breakpad minidump2.stackwalk.out gives esp/ebp of frames 1..3.
TEST(StackWalkCorpus, Minidump2X86MatchesLldbAndBreakpad) {
    NT_REQUIRE_CORPUS_FILE(p, "breakpad/minidump2.dmp");
    Walked w = walkThread(p, 0xbf4);
    EXPECT_EQ(ips(w.walk), (std::vector<uint64_t>{0x40429e, 0x404200, 0x4053ec, 0x7c816fd7}));
    ASSERT_EQ(w.walk.frames.size(), 4u);
    EXPECT_EQ(w.walk.frames[1].sp, 0x12fe90u);
    EXPECT_EQ(w.walk.frames[1].fp, 0x12ff70u);
    EXPECT_EQ(w.walk.frames[2].sp, 0x12ff78u);
    EXPECT_EQ(w.walk.frames[2].fp, 0x12ffc0u);
    EXPECT_EQ(w.walk.frames[3].sp, 0x12ffc8u);
    EXPECT_EQ(w.walk.frames[3].fp, 0x12fff0u);
    EXPECT_EQ(w.walk.frames[0].trust, FrameTrust::Context);
    for (size_t i = 1; i < 4; ++i) EXPECT_EQ(w.walk.frames[i].trust, FrameTrust::FramePointer) << i;
    // The caller's registers are recovered per frame (.frame N / kv use them).
    EXPECT_EQ(w.walk.frames[2].context.get(Reg::Rbp), 0x12ffc0u);
    EXPECT_EQ(w.walk.frames[2].context.ip(), 0x4053ecu);
}

// lldb-16 on lldb/fizzbuzz_no_heap.dmp: 0x00164d14 0x00167c79 0x00167e6d
// fizzbuzz.exe, 0x7510336a kernel32.dll, 0x77759882 0x77759855 ntdll.dll.
TEST(StackWalkCorpus, FizzbuzzX86MatchesLldb) {
    NT_REQUIRE_CORPUS_FILE(p, "lldb/fizzbuzz_no_heap.dmp");
    auto t = openDump(p);
    ASSERT_FALSE(t->threads.empty());
    Walked w = walkThread(p, t->threads[0].id);
    EXPECT_EQ(ips(w.walk), (std::vector<uint64_t>{0x164d14, 0x167c79, 0x167e6d, 0x7510336a, 0x77759882, 0x77759855}));
    EXPECT_EQ(w.walk.frames.back().returnAddress, 0u);
}

// lldb-16 on symbolicator/windows.dmp, thread #2 (0xdfc): 0x771e016c ntdll,
// 0x750662c4 kernel32, 0x771d0f79 ntdll, 0x771d0f44 ntdll. Frame 0 is a
// WoW64 system-call stub stopped on its `ret 0x14` (bytes in the dump), so its
// caller is the word at esp: 0x771a6a11 in ntdll (the worker-thread routine,
// WinDbg shows as ntdll!TppWorkerThread with symbols). lldb's EBP-only walk
// skips that frame; the rest is identical.
TEST(StackWalkCorpus, WindowsDmpX86WorkerThreadMatchesLldb) {
    NT_REQUIRE_CORPUS_FILE(p, "symbolicator/windows.dmp");
    Walked w = walkThread(p, 0xdfc);
    EXPECT_EQ(ips(w.walk), (std::vector<uint64_t>{0x771e016c, 0x771a6a11, 0x750662c4, 0x771d0f79, 0x771d0f44}));
    ASSERT_GE(w.walk.frames.size(), 2u);
    uint8_t code[3];
    ASSERT_EQ(w.target->memory().read(0x771e016c, code), 3u);
    EXPECT_EQ(code[0], 0xc2);  // ret imm16
    EXPECT_EQ(w.walk.frames[1].sp, w.walk.frames[0].sp + 4 + (code[1] | code[2] << 8));
}

// symbolicator/windows.dmp crash thread with crash.exe on the image path:
// frame 0 is crash.exe+0x2a3d (lldb: "frame #0: 0x002a2a3d crash.exe"), and
// the image found for crash.exe is the corpus file (timestamp 0x5AB38077,
// SizeOfImage 0x9000 per llvm-readobj match the module list).
TEST(StackWalkCorpus, WindowsDmpCrashThreadUsesImageFromPath) {
    NT_REQUIRE_CORPUS_FILE(p, "symbolicator/windows.dmp");
    NT_REQUIRE_CORPUS_FILE(exe, "symbolic/crash.exe");
    Walked w = walkThread(p, 0x664, true, {exe.substr(0, exe.rfind('/'))});
    ASSERT_GE(w.walk.frames.size(), 2u);
    EXPECT_EQ(w.walk.frames[0].ip, 0x2a2a3du);
    const Module* m = w.target->moduleAt(0x2a2a3d);
    ASSERT_TRUE(m);
    EXPECT_EQ(w.images->origin(*m), exe);
    // Every later frame returns into executable code of crash.exe's .text
    // (llvm-readobj: .text VA 0x1000, VirtualSize 0x291B → 0x2a1000..0x2a391b).
    for (size_t i = 1; i < w.walk.frames.size(); ++i) {
        EXPECT_GE(w.walk.frames[i].ip, 0x2a1000u);
        EXPECT_LT(w.walk.frames[i].ip, 0x2a391bu);
    }
}

// lldb/sigsegv.dmp (x64): the module images are not in the dump and not on
// the image path, so there is no unwind data: frame 0 is the fault address
// (MANIFEST/lldb: 0x7ff7a13110d9, inside `crash` = 0x10b0..0x10f5 per the
// PDB), later frames come from the scan, and WinDbg's warning is set.
TEST(StackWalkCorpus, SigsegvX64WithoutImagesScansAndWarns) {
    NT_REQUIRE_CORPUS_FILE(p, "lldb/sigsegv.dmp");
    auto t = openDump(p);
    ASSERT_FALSE(t->threads.empty());
    Walked w = walkThread(p, t->threads[0].id);
    ASSERT_GE(w.walk.frames.size(), 1u);
    EXPECT_EQ(w.walk.frames[0].ip, 0x7ff7a13110d9u);
    EXPECT_EQ(w.walk.warning, "Stack unwind information not available. Following frames may be wrong.");
    for (size_t i = 1; i < w.walk.frames.size(); ++i) EXPECT_EQ(w.walk.frames[i].trust, FrameTrust::Scan);
    // The only scan hit whose call instruction is present in the dump:
    // mainCRTStartup (0x1070..0x107e per the PDB) calling main.
    ASSERT_GE(w.walk.frames.size(), 2u);
    EXPECT_EQ(w.walk.frames[1].ip, 0x7ff7a1311079u);
}

// kdlibcpp x64 USERDU64: images are in memory, so every frame comes from
// unwind info. Per targetapp.pdb (llvm-pdbutil): stackTestRun1 0x1e10+231,
// wmain 0x1a00+1028, __scrt_common_main_seh 0x2d8c+380.
TEST(StackWalkCorpus, KdlibX64ReleaseAllUnwindInfo) {
    NT_REQUIRE_CORPUS_FILE(p, "kdlibcpp/targetapp_stacktest_x64_release/targetapp_stacktest_x64_release.dmp");
    auto t = openDump(p);
    ASSERT_TRUE(t->exception);
    Walked w = walkThread(p, t->exception->threadId);
    const auto& f = w.walk.frames;
    ASSERT_EQ(f.size(), 5u);
    EXPECT_TRUE(w.walk.warning.empty());
    const Module* app = w.target->moduleByName("targetapp");
    ASSERT_TRUE(app);
    auto in = [&](uint64_t ip, uint32_t begin, uint32_t size) { return ip >= app->base + begin && ip < app->base + begin + size; };
    EXPECT_TRUE(in(f[0].ip, 0x1e10, 231));
    EXPECT_TRUE(in(f[1].ip, 0x1a00, 1028));
    EXPECT_TRUE(in(f[2].ip, 0x2d8c, 380));
    EXPECT_EQ(w.target->moduleAt(f[3].ip)->name, w.target->moduleByName("kernel32")->name);
    EXPECT_EQ(w.target->moduleAt(f[4].ip), w.target->moduleByName("ntdll"));
    EXPECT_EQ(f[4].returnAddress, 0u);
    for (size_t i = 1; i < f.size(); ++i) {
        EXPECT_EQ(f[i].trust, FrameTrust::UnwindInfo) << i;
        EXPECT_GT(f[i].sp, f[i - 1].sp);
    }
}

// kdlibcpp WoW64 minidump, 64-bit view of a worker thread: native x64 frames
// through wow64cpu/wow64 down to the 64-bit ntdll, all from unwind info.
TEST(StackWalkCorpus, KdlibWow64NativeViewAllUnwindInfo) {
    NT_REQUIRE_CORPUS_FILE(p, "kdlibcpp/targetapp_stacktest_wow64/targetapp_stacktest_wow64.cab.dmp");
    auto t = openDump(p);
    ASSERT_GE(t->threads.size(), 2u);
    uint32_t tid = t->threads[1].id;
    Walked w = walkThread(p, tid);
    const auto& f = w.walk.frames;
    ASSERT_GE(f.size(), 5u);
    EXPECT_TRUE(w.walk.warning.empty());
    bool sawWow64cpu = false;
    for (size_t i = 0; i < f.size(); ++i) {
        if (i) {
            EXPECT_EQ(f[i].trust, FrameTrust::UnwindInfo) << i;
        }
        const Module* m = w.target->moduleAt(f[i].ip);
        ASSERT_TRUE(m) << i;
        if (m->name == "wow64cpu") sawWow64cpu = true;
    }
    EXPECT_TRUE(sawWow64cpu);
    // Starts and ends in the 64-bit ntdll (above 4 GiB).
    EXPECT_GT(f.front().ip, 0xffffffffull);
    EXPECT_GT(f.back().ip, 0xffffffffull);
    EXPECT_EQ(f.back().returnAddress, 0u);
}

// kdlibcpp WoW64 minidump, event thread: its x64 context is in compatibility
// mode (CS 0x23), so the walk is x86 through the 32-bit targetapp (Debug).
// Per targetapp.pdb (llvm-pdbutil; section 2 .text at RVA 0x11000):
// stackTestClass::stackMethod 0x25f30+68, stackTestRun2 0x26180+243,
// stackTestRun1 0x25f90+387, stackTestRun 0x262b0+200, wmain 0x26a00+1587,
// invoke_main 0x28510+35, __scrt_common_main_seh 0x28240+532,
// wmainCRTStartup 0x285a0+10 — kdlibcpp's StackTest expects stackMethod,
// stackTestRun2, stackTestRun1 as frames 0..2.
TEST(StackWalkCorpus, KdlibWow64EventThreadWalksAsX86) {
    NT_REQUIRE_CORPUS_FILE(p, "kdlibcpp/targetapp_stacktest_wow64/targetapp_stacktest_wow64.cab.dmp");
    auto t = openDump(p);
    ASSERT_TRUE(t->exception);
    Walked w = walkThread(p, t->exception->threadId);
    const auto& f = w.walk.frames;
    ASSERT_GE(f.size(), 9u);
    EXPECT_EQ(f[0].context.machine(), Machine::X86);
    const Module* app = w.target->moduleAt(f[0].ip);
    ASSERT_TRUE(app);
    struct Range { uint32_t begin, size; };
    std::vector<Range> expect = {{0x25f30, 68},  {0x26180, 243}, {0x25f90, 387},  {0x262b0, 200}, {0x26a00, 1587},
                                 {0x28510, 35},  {0x28240, 532}};
    for (size_t i = 0; i < expect.size(); ++i) {
        // Frame i's ip (a return address for i > 0) lies in function i; the
        // call's last byte is ip - 1.
        uint64_t at = f[i].ip - (i ? 1 : 0);
        EXPECT_GE(at, app->base + expect[i].begin) << i;
        EXPECT_LT(at, app->base + expect[i].begin + expect[i].size) << i;
        if (i) {
            EXPECT_EQ(f[i].trust, FrameTrust::FramePointer) << i;
        }
    }
    EXPECT_GE(f[8].ip - 1, app->base + 0x285a0);
    EXPECT_LT(f[8].ip - 1, app->base + 0x285a0 + 10);
}

std::string runTool(const std::string& cmd) { return test::captureOutput(cmd); }

// Writes a module's in-memory image as a file llvm-readobj can read: the
// loaded layout, with each section header's raw offset/size set to its
// virtual address/size.
std::string dumpImageAsFile(const Target& t, const Module& m, const std::string& path) {
    std::vector<uint8_t> img(m.size, 0);
    for (uint64_t off = 0; off < m.size; off += 0x1000)
        t.memory().read(m.base + off, std::span<uint8_t>(img.data() + off, std::min<uint64_t>(0x1000, m.size - off)));
    uint32_t lfanew;
    std::memcpy(&lfanew, &img[0x3c], 4);
    uint16_t nsec, optSize;
    std::memcpy(&nsec, &img[lfanew + 6], 2);
    std::memcpy(&optSize, &img[lfanew + 20], 2);
    for (unsigned i = 0; i < nsec; ++i) {
        uint8_t* sh = &img[lfanew + 24 + optSize + 40 * i];
        std::memcpy(sh + 16, sh + 8, 4);   // SizeOfRawData = VirtualSize
        std::memcpy(sh + 20, sh + 12, 4);  // PointerToRawData = VirtualAddress
    }
    FILE* f = fopen(path.c_str(), "wb");
    fwrite(img.data(), 1, img.size(), f);
    fclose(f);
    return path;
}

// The thread-start frames of the kdlibcpp x64 dump, symbolized from the
// in-memory export tables, against llvm-readobj-16 --coff-exports run on the
// same images: ntdll!RtlUserThreadStart+0x21 and
// KERNEL32!BaseThreadInitThunk+0x14 (the familiar Windows 10 x64 frames).
TEST(StackWalkCorpus, KdlibX64ThreadStartFramesSymbolized) {
    NT_REQUIRE_CORPUS_FILE(p, "kdlibcpp/targetapp_stacktest_x64_release/targetapp_stacktest_x64_release.dmp");
    if (runTool("command -v llvm-readobj-16").empty()) GTEST_SKIP() << "llvm-readobj-16 not installed";
    auto t = openDump(p);
    Walked w = walkThread(p, t->exception->threadId);
    ASSERT_EQ(w.walk.frames.size(), 5u);
    Symbolizer sym(*w.target, *w.images);
    struct Case { const char* module; const char* function; size_t frame; uint64_t offset; };
    for (Case c : {Case{"ntdll", "RtlUserThreadStart", 4, 0x21}, Case{"kernel32", "BaseThreadInitThunk", 3, 0x14}}) {
        const Module* m = w.target->moduleByName(c.module);
        ASSERT_TRUE(m);
        char tmpl[] = "/tmp/ntimgXXXXXX";
        int fd = mkstemp(tmpl);
        close(fd);
        std::string out = runTool("llvm-readobj-16 --coff-exports " + dumpImageAsFile(*w.target, *m, tmpl) + " 2>/dev/null");
        unlink(tmpl);
        size_t at = out.find(std::string("Name: ") + c.function + "\n");
        ASSERT_NE(at, std::string::npos) << c.function;
        size_t rvaAt = out.find("RVA: 0x", at);
        uint64_t rva = std::stoull(out.substr(rvaAt + 5), nullptr, 16);
        EXPECT_EQ(w.walk.frames[c.frame].ip, m->base + rva + c.offset) << c.function;
        EXPECT_EQ(sym.format(w.walk.frames[c.frame].ip), m->name + "!" + c.function + "+" + hex0x(c.offset));
    }
}

// Wine fixtures (tests/fixtures/wine): the expected frames come from
// tools/groundtruth.py, independent of ntriage (PDB procs + its own walk).
std::vector<uint64_t> groundTruthIps(const std::string& json, uint32_t tid) {
    std::ifstream in(json);
    nlohmann::json d = nlohmann::json::parse(in);
    std::vector<uint64_t> v;
    for (const auto& t : d["threads"]) {
        if (t["thread_id"].get<uint32_t>() != tid) continue;
        for (const auto& f : t["frames"]) v.push_back(f.contains("ip") ? f["ip"].get<uint64_t>() : f["return_address"].get<uint64_t>());
    }
    return v;
}

std::string wine(const std::string& name) { return test::fixtureFile("wine/out/" + name); }

std::vector<uint64_t> prefix(std::vector<uint64_t> v, size_t n) {
    v.resize(std::min(v.size(), n));
    return v;
}

// x64 clang build with the exe on the image path: every frame through
// kernel32!BaseThreadInitThunk from .pdata (the Wine kernel32 image itself
// is not available, so the walk ends there).
TEST(StackWalkWine, CrashX64ClangFromPdata) {
    NT_REQUIRE_FILE(p, wine("crash-x64-clang.dmp"));
    Walked w = walkThread(p, 0x24, true, {wine("")});
    auto expect = groundTruthIps(wine("crash-x64-clang.expected.json"), 0x24);
    ASSERT_EQ(expect.size(), 8u);
    EXPECT_EQ(ips(w.walk), prefix(expect, 7));
    for (size_t i = 1; i < w.walk.frames.size(); ++i) EXPECT_EQ(w.walk.frames[i].trust, FrameTrust::UnwindInfo) << i;
    // The walk stops in kernel32 for want of its image: WinDbg's warning says
    // the stack may not really end there.
    EXPECT_EQ(w.walk.warning, "Stack unwind information not available. Following frames may be wrong.");
}

// The same dump without the image: no unwind data for the exe, so the walk
// scans and WinDbg's warning is set; frame 0 is still the fault.
TEST(StackWalkWine, CrashX64ClangWithoutImageWarns) {
    NT_REQUIRE_FILE(p, wine("crash-x64-clang.dmp"));
    Walked w = walkThread(p, 0x24);
    ASSERT_GE(w.walk.frames.size(), 1u);
    EXPECT_EQ(w.walk.frames[0].ip, 0x140001565u);
    EXPECT_EQ(w.walk.warning, "Stack unwind information not available. Following frames may be wrong.");
}

// mingw x64 build: same chain shape, different code generator.
TEST(StackWalkWine, CrashX64MingwFromPdata) {
    NT_REQUIRE_FILE(p, wine("crash-x64-mingw.dmp"));
    Walked w = walkThread(p, 0x24, true, {wine("")});
    auto expect = groundTruthIps(wine("crash-x64-mingw.expected.json"), 0x24);
    EXPECT_EQ(ips(w.walk), prefix(expect, 7));
}

// C++ throw through libstdc++ (x64 clang): 11 frames down to BaseThreadInitThunk.
TEST(StackWalkWine, ThrowX64ClangFromPdata) {
    NT_REQUIRE_FILE(p, wine("throw-x64-clang.dmp"));
    Walked w = walkThread(p, 0x24, true, {wine("")});
    auto expect = groundTruthIps(wine("throw-x64-clang.expected.json"), 0x24);
    ASSERT_GE(expect.size(), 11u);
    EXPECT_EQ(ips(w.walk), prefix(expect, 11));
}

// Stack overflow in mingw's ___chkstk_ms (a leaf without .pdata that pushed
// rcx/rax): [rsp] is not a return address, so the caller is found by the
// scan, then the recursion unwinds from .pdata again.
TEST(StackWalkWine, OverflowX64ChkstkLeaf) {
    NT_REQUIRE_FILE(p, wine("overflow-x64-clang.dmp"));
    Walked w = walkThread(p, 0x24, true, {wine("")});
    auto expect = groundTruthIps(wine("overflow-x64-clang.expected.json"), 0x24);
    EXPECT_EQ(prefix(ips(w.walk), 6), prefix(expect, 6));
    ASSERT_GE(w.walk.frames.size(), 3u);
    EXPECT_EQ(w.walk.frames[1].trust, FrameTrust::Scan);
    EXPECT_EQ(w.walk.frames[2].trust, FrameTrust::UnwindInfo);
    // ___chkstk_ms has no .pdata entry and [rsp] is not its return address, so
    // frame 1 came from the scan: the warning says so.
    EXPECT_FALSE(w.walk.warning.empty());
}

// x86 clang (frame pointers): all 8 frames by the EBP chain, including the
// Wine kernel32/ntdll frames whose images are absent.
TEST(StackWalkWine, CrashX86ClangEbpChain) {
    NT_REQUIRE_FILE(p, wine("crash-x86-clang.dmp"));
    Walked w = walkThread(p, 0x24, true, {wine("")});
    EXPECT_EQ(ips(w.walk), groundTruthIps(wine("crash-x86-clang.expected.json"), 0x24));
    EXPECT_EQ(w.walk.frames.back().returnAddress, 0u);
}

// x86 deadlock, waiting threads. Frame 0 is Wine's frameless system-call
// stub stopped on its `ret`, so the caller at [esp] comes first (e.g. kernelbase!Sleep+0x41 for 0x114, and
// 0x7bc5b581 for 0x108, which the ground truth's own stack_scan lists at the
// thread's esp), then exactly the ground truth's frames.
TEST(StackWalkWine, DeadlockX86StubCallerRecovered) {
    NT_REQUIRE_FILE(p, wine("deadlock-x86-clang.dmp"));
    // Recognising frame 0 as a stub stopped on `ret` needs the stub's code
    // bytes, which Wine's dump does not hold: they come from Wine's ntdll image.
    const std::string wineDlls = "/usr/lib/i386-linux-gnu/wine/i386-windows";
    if (access((wineDlls + "/ntdll.dll").c_str(), R_OK) != 0)
        GTEST_SKIP() << "Wine's x86 DLL images are not installed (tests/fixtures/wine/regen.sh --install)";
    struct Case { uint32_t tid; uint64_t inserted; };
    for (Case c : {Case{0x104, 0x7b076e56}, Case{0x108, 0x7bc5b581}, Case{0x10c, 0x7bc5b581}, Case{0x110, 0x7b076e56},
                   Case{0x114, 0x7b0774c1}}) {
        Walked w = walkThread(p, c.tid, true, {wine(""), wineDlls});
        auto expect = groundTruthIps(wine("deadlock-x86-clang.expected.json"), c.tid);
        ASSERT_GE(expect.size(), 2u);
        auto got = ips(w.walk);
        ASSERT_GE(got.size(), 2u);
        // The inserted caller is the word at frame 0's esp.
        EXPECT_EQ(got[1], c.inserted) << c.tid;
        EXPECT_EQ(w.target->memory().readValue<uint32_t>(w.walk.frames[0].sp), c.inserted) << c.tid;
        // The ground truth has carried this frame since it was corrected by hand
        // (tests/fixtures/wine/README.md, "Corrections").
        EXPECT_EQ(got, expect) << c.tid;
    }
}

// x86 C++ throw through libgcc/libstdc++ code without frame pointers: the
// EBP chain alone would jump from __terminate straight to throw_level2. The
// frameless functions' return addresses (between esp and ebp, after a direct
// call into the current function) recover all 12 ground-truth frames.
TEST(StackWalkWine, ThrowX86FramelessFunctions) {
    NT_REQUIRE_FILE(p, wine("throw-x86-clang.dmp"));
    Walked w = walkThread(p, 0x24, true, {wine("")});
    auto expect = groundTruthIps(wine("throw-x86-clang.expected.json"), 0x24);
    ASSERT_EQ(expect.size(), 12u);
    EXPECT_EQ(ips(w.walk), expect);
    ASSERT_GE(w.walk.frames.size(), 5u);
    EXPECT_EQ(w.walk.frames[2].trust, FrameTrust::Scan);  // std::terminate, frameless
    EXPECT_EQ(w.walk.frames[5].trust, FrameTrust::FramePointer);
}

// x86 stack overflow in ___chkstk (frameless): its caller 0x4015be, then 132
// recursive overflow_recurse frames by the EBP chain.
TEST(StackWalkWine, OverflowX86Chkstk) {
    NT_REQUIRE_FILE(p, wine("overflow-x86-clang.dmp"));
    Walked w = walkThread(p, 0x24, true, {wine("")});
    EXPECT_EQ(ips(w.walk), groundTruthIps(wine("overflow-x86-clang.expected.json"), 0x24));
}

// With Wine's own DLLs (PE builds, same TimeDateStamp/SizeOfImage as in the
// dumps) on the image path, every x64 thread of every fixture unwinds to
// ntdll!RtlUserThreadStart exactly as the ground truth, all from .pdata
// except the caller of mingw's ___chkstk_ms leaf (found by the scan).
TEST(StackWalkWine, X64FullChainsWithWineImages) {
    std::vector<std::string> dirs = {wine("")};
    for (const char* d : {"/usr/lib/x86_64-linux-gnu/wine/x86_64-windows", "/usr/lib/wine/x86_64-windows"})
        if (access(d, R_OK) == 0) dirs.push_back(d);
    if (dirs.size() == 1) GTEST_SKIP() << "Wine's x86_64-windows DLLs are not installed";
    for (const char* name : {"crash-x64-clang", "crash-x64-mingw", "throw-x64-clang", "overflow-x64-clang", "deadlock-x64-clang"}) {
        NT_REQUIRE_FILE(p, wine(std::string(name) + ".dmp"));
        std::ifstream in(wine(std::string(name) + ".expected.json"));
        nlohmann::json d = nlohmann::json::parse(in);
        for (const auto& t : d["threads"]) {
            uint32_t tid = t["thread_id"].get<uint32_t>();
            auto expect = groundTruthIps(wine(std::string(name) + ".expected.json"), tid);
            if (expect.empty()) continue;
            Walked w = walkThread(p, tid, true, dirs);
            EXPECT_EQ(ips(w.walk), expect) << name << " thread " << tid;
            for (size_t i = 1; i < w.walk.frames.size(); ++i) {
                bool chkstkCaller = std::string(name) == "overflow-x64-clang" && i == 1;
                EXPECT_EQ(w.walk.frames[i].trust, chkstkCaller ? FrameTrust::Scan : FrameTrust::UnwindInfo)
                    << name << " thread " << tid << " frame " << i;
            }
            EXPECT_TRUE(w.walk.warning.empty()) << name;
        }
    }
}

}  // namespace
}  // namespace nt
