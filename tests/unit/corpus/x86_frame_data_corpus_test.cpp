// x86 stacks unwound with symbol-file frame data on real dumps, with small
// sources of our own over one PdbFile or Breakpad SymFile per module (the
// engine's symbolizer is tested elsewhere).
//
// symbolicator/windows.dmp (x86 Windows 10 14393, breakpad-tools crash.exe,
// an access violation writing 0x45 in main). Reading the stack:
//   .ecxr: eip=002a2a3d esp=010ff644 ebp=010ff670
//   main (crash+0x2910) has FrameData "$T0 $ebp 204 + = $eip $T0 4 + ^ =
//   $ebp $T0 ^ = $esp $T0 8 + =": its ebp points 204 bytes below the saved
//   ebp, so the frame record is at 010ff670 + 0xcc = 010ff73c:
//     010ff73c 010ff784 (saved ebp)   010ff740 002a2d97 (return address)
//   002a2d97 = crash!__scrt_common_main_seh+0xf9, which has a conventional
//   frame ("$T0 $ebp = ..."):
//     010ff784 010ff798               010ff788 750662c4 kernel32+0x162c4
//   kernel32 (BaseThreadInitThunk+0x24; no symbols here: EBP chain)
//     010ff798 010ff7e0               010ff79c 771d0f79 ntdll+0x60f79
//   ntdll (__RtlUserThreadStart+0x2f; EBP chain)
//     010ff7e0 010ff7f0               010ff7e4 771d0f44 ntdll+0x60f44
//   ntdll (_RtlUserThreadStart+0x1b; EBP chain)
//     010ff7f0 00000000               010ff7f4 00000000: the end.
// The ntdll / kernel32 names are inferred (no symbols here): the offsets
// are those of Windows 10 x86 kv output (BaseThreadInitThunk+0x24,
// __RtlUserThreadStart+0x2f, _RtlUserThreadStart+0x1b), and 750662a0, the
// thread's start routine seen on the stack, is kernel32+0x162c4 - 0x24.
// Without frame data the EBP chain reads main's ebp as a frame record
// (010ff670: 00000000, 002a28d0) and invents crash+0x28d0; lldb stops after
// frame 0. Sentry's snapshot of this dump without CFI (getsentry, the
// minidump event test) lists Breakpad's 12 frames: 2a2a3d, then the false
// 2a28d0, 7584e9c0, 70850000, 70b7ae40, 75810000, 7584e9c0, 2a3435 (scan),
// then 2a2d97, 750662c4, 771d0f79, 771d0f44: our 5 are its first and last four.
//
// breakpad/minidump2.dmp (Windows XP SP2, test_app.exe, AV writing 0x45)
// with test_app.sym and kernel32.sym: the exception thread gives exactly
// Breakpad's expected/minidump2.stackwalk.out frames. The walk of the
// requesting thread's own context (thread 0, waiting for the handler
// thread in kernel32!WaitForSingleObject) is checked through kernel32's
// STACK WIN records down to test_app's WriteMinidumpOnHandlerThread.
#include <gtest/gtest.h>

#include "breakpad/sym_file.h"
#include "breakpad/x86_frame_data.h"
#include "dump/open_dump.h"
#include "pdb/pdb_file.h"
#include "support/test_support.h"
#include "unwind/frame_annotation.h"
#include "unwind/stack_walk.h"

namespace nt::test {
namespace {

// Frame data for a few modules, each from one symbol file.
class FileSource : public X86FrameDataSource {
public:
    void add(const Module& m, std::unique_ptr<pdb::PdbFile> p) { pdbs_.push_back({m.base, m.size, std::move(p)}); }
    void add(const Module& m, std::unique_ptr<breakpad::SymFile> s) { syms_.push_back({m.base, m.size, std::move(s)}); }
    std::optional<Hit> x86FrameDataAt(uint64_t a) override {
        for (auto& e : pdbs_)
            if (a >= e.base && a - e.base < e.size)
                if (auto d = e.file->frameDataAt(static_cast<uint32_t>(a - e.base))) return Hit{*d, e.base};
        for (auto& e : syms_)
            if (a >= e.base && a - e.base < e.size)
                if (auto d = breakpad::x86FrameDataAt(*e.file, a - e.base)) return Hit{*d, e.base};
        return std::nullopt;
    }

private:
    template <class F>
    struct Entry {
        uint64_t base, size;
        std::unique_ptr<F> file;
    };
    std::vector<Entry<pdb::PdbFile>> pdbs_;
    std::vector<Entry<breakpad::SymFile>> syms_;
};

const Module* moduleNamed(const Target& t, const std::string& name) {
    for (const Module& m : t.modules)
        if (m.name == name) return &m;
    return nullptr;
}

std::vector<uint64_t> walkIps(const Target& t, const CpuContext& ctx, uint32_t threadId, X86FrameDataSource* src,
                              StackWalk* out = nullptr) {
    ModuleImages images(t);
    WalkOptions opts;
    opts.x86FrameData = src;
    for (const Thread& th : t.threads) {
        if (th.id == threadId && th.stackSize) {
            opts.stackLimit = th.stackStart;
            opts.stackBase = th.stackStart + th.stackSize;
        }
    }
    StackWalk w = walkStack(t, images, ctx, opts);
    std::vector<uint64_t> ips;
    for (const auto& f : w.frames) ips.push_back(f.ip);
    if (out) *out = std::move(w);
    return ips;
}

const std::vector<uint64_t> kWindowsDmpFrames = {0x002a2a3d, 0x002a2d97, 0x750662c4, 0x771d0f79, 0x771d0f44};

TEST(X86FrameDataCorpus, WindowsDmpWithPdb) {
    NT_REQUIRE_CORPUS_FILE(dump, "symbolicator/windows.dmp");
    NT_REQUIRE_CORPUS_FILE(pdb, "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B6936ffffffff/crash.pdb");
    auto t = openDump(dump);
    ASSERT_TRUE(t->exception && t->exception->context);
    const Module* crash = moduleNamed(*t, "crash");
    ASSERT_TRUE(crash);
    // Without frame data: the false frame crash+0x28d0 (see above).
    auto bare = walkIps(*t, *t->exception->context, t->exception->threadId, nullptr);
    ASSERT_GE(bare.size(), 2u);
    EXPECT_EQ(bare[1], 0x002a28d0u);

    FileSource src;
    src.add(*crash, pdb::PdbFile::open(pdb));
    StackWalk w;
    EXPECT_EQ(walkIps(*t, *t->exception->context, t->exception->threadId, &src, &w), kWindowsDmpFrames);
    ASSERT_EQ(w.frames.size(), 5u);
    EXPECT_EQ(w.frames[1].sp, 0x010ff744u);
    EXPECT_EQ(w.frames[1].fp, 0x010ff784u);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::UnwindInfo);
    EXPECT_EQ(w.frames[2].trust, FrameTrust::UnwindInfo);  // from __scrt_common_main_seh's record
    EXPECT_EQ(w.frames[3].trust, FrameTrust::FramePointer);
    EXPECT_EQ(w.frames[4].returnAddress, 0u);
    // main's record and __scrt_common_main_seh's (SEH in the PDB).
    EXPECT_EQ(fpoAnnotation(w.frames[0]), "(FPO: [Non-Fpo])");
    EXPECT_EQ(fpoAnnotation(w.frames[1]), "(FPO: [SEH])");
    EXPECT_EQ(fpoAnnotation(w.frames[2]), "");
}

TEST(X86FrameDataCorpus, WindowsDmpWithSym) {
    NT_REQUIRE_CORPUS_FILE(dump, "symbolicator/windows.dmp");
    NT_REQUIRE_CORPUS_FILE(sym, "symbolic/crash.sym");
    auto t = openDump(dump);
    ASSERT_TRUE(t->exception && t->exception->context);
    const Module* crash = moduleNamed(*t, "crash");
    ASSERT_TRUE(crash);
    FileSource src;
    src.add(*crash, std::make_unique<breakpad::SymFile>(breakpad::SymFile::open(sym)));
    StackWalk w;
    EXPECT_EQ(walkIps(*t, *t->exception->context, t->exception->threadId, &src, &w), kWindowsDmpFrames);
    ASSERT_EQ(w.frames.size(), 5u);
    EXPECT_EQ(w.frames[1].sp, 0x010ff744u);
    // STACK WIN carries no SEH flag: the same record reads as a plain frame.
    EXPECT_EQ(fpoAnnotation(w.frames[1]), "(FPO: [Non-Fpo])");
}

struct Minidump2 {
    std::unique_ptr<Target> t;
    FileSource src;
    bool ok = false;
    explicit Minidump2(const std::string& dump) {
        t = openDump(dump);
        auto app = corpusFile("breakpad/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym");
        auto k32 = corpusFile("breakpad/symbols/kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym");
        const Module* a = moduleNamed(*t, "test_app");
        const Module* k = moduleNamed(*t, "kernel32");
        if (app.empty() || k32.empty() || !a || !k) return;
        src.add(*a, std::make_unique<breakpad::SymFile>(breakpad::SymFile::open(app)));
        src.add(*k, std::make_unique<breakpad::SymFile>(breakpad::SymFile::open(k32)));
        ok = a->base == 0x400000 && k->base == 0x7c800000;
    }
};

// expected/minidump2.stackwalk.out, thread 0 (crashed): 0x0040429e,
// 0x00404200, 0x004053ec, 0x7c816fd7 (esp 0012fe84, 0012fe90, 0012ff78, 0012ffc8).
TEST(X86FrameDataCorpus, Minidump2ExceptionThreadMatchesBreakpad) {
    NT_REQUIRE_CORPUS_FILE(dump, "breakpad/minidump2.dmp");
    Minidump2 m(dump);
    ASSERT_TRUE(m.ok);
    ASSERT_TRUE(m.t->exception && m.t->exception->context);
    StackWalk w;
    auto ips = walkIps(*m.t, *m.t->exception->context, m.t->exception->threadId, &m.src, &w);
    EXPECT_EQ(ips, (std::vector<uint64_t>{0x0040429e, 0x00404200, 0x004053ec, 0x7c816fd7}));
    ASSERT_EQ(w.frames.size(), 4u);
    EXPECT_EQ(w.frames[1].sp, 0x0012fe90u);
    EXPECT_EQ(w.frames[1].fp, 0x0012ff70u);
    EXPECT_EQ(w.frames[2].sp, 0x0012ff78u);
    EXPECT_EQ(w.frames[2].fp, 0x0012ffc0u);
    EXPECT_EQ(w.frames[3].sp, 0x0012ffc8u);
    EXPECT_EQ(w.frames[3].fp, 0x0012fff0u);
    for (size_t i = 1; i < w.frames.size(); ++i) EXPECT_EQ(w.frames[i].trust, FrameTrust::UnwindInfo) << i;
}

}  // namespace
}  // namespace nt::test

namespace nt::test {
namespace {

// kdlibcpp's x86 dump (a breakpoint in targetapp, MSVC with frame pointers)
// with its targetapp.pdb: every thread's walk with the PDB's FrameData
// equals the walk without it, which the lldb comparison
// (lldb_compare_test.cpp) checks against lldb-16.
TEST(X86FrameDataCorpus, TargetappI386FrameDataAgreesWithFramePointers) {
    NT_REQUIRE_CORPUS_FILE(dump, "kdlibcpp/targetapp_test_cv_allreg_i386/targetapp_test_cv_allreg_i386.dmp");
    NT_REQUIRE_CORPUS_FILE(pdb, "kdlibcpp/targetapp_test_cv_allreg_i386/targetapp.pdb");
    auto t = openDump(dump);
    const Module* app = moduleNamed(*t, "targetapp");
    ASSERT_TRUE(app);
    FileSource src;
    src.add(*app, pdb::PdbFile::open(pdb));
    size_t unwoundByRecord = 0;
    for (const Thread& th : t->threads) {
        SCOPED_TRACE(th.id);
        CpuContext ctx = th.context ? *th.context : CpuContext();
        if (t->exception && t->exception->context && t->exception->threadId == th.id) ctx = *t->exception->context;
        if (!th.context) continue;
        StackWalk w;
        auto with = walkIps(*t, ctx, th.id, &src, &w);
        EXPECT_EQ(with, walkIps(*t, ctx, th.id, nullptr));
        for (const auto& f : w.frames) unwoundByRecord += f.frameData && f.returnAddress ? 1 : 0;
    }
    EXPECT_GT(unwoundByRecord, 0u);
}

}  // namespace
}  // namespace nt::test
