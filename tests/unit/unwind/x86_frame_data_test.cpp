// x86 unwinding from frame data (FPO / FrameData / STACK WIN) on a synthetic
// 32-bit image and stack: each test lays out the frame a compiler would
// have built for the record, so the expected caller follows from the record
// alone. Return addresses follow a `call rel32` (E8) in the image, as the
// walker requires when code bytes are present.
#include <gtest/gtest.h>

#include "synth.h"
#include "unwind/frame_annotation.h"
#include "unwind/stack_walk.h"
#include "unwind/x86_frame_data_unwind.h"

namespace nt {
namespace {

using test::SynthImage;
using test::SynthTarget;
using test::Stack;

constexpr uint64_t kBase = 0x00400000;
constexpr uint64_t kStack = 0x00120000;

// Records by module-relative range; the innermost (greatest start) wins.
struct MapSource : X86FrameDataSource {
    std::vector<X86FrameData> records;
    unsigned lookups = 0;
    std::optional<Hit> x86FrameDataAt(uint64_t a) override {
        ++lookups;
        std::optional<Hit> best;
        for (const auto& r : records) {
            uint64_t s = kBase + r.rva;
            if (a >= s && a < s + r.codeSize && (!best || r.rva > best->data.rva)) best = Hit{r, kBase};
        }
        return best;
    }
};

X86FrameData record(X86FrameData::Type type, uint32_t rva, uint32_t size, uint32_t params, uint32_t locals,
                    uint32_t saved, std::string program = {}) {
    X86FrameData d;
    d.type = type;
    d.rva = rva;
    d.codeSize = size;
    d.paramsSize = params;
    d.localsSize = locals;
    d.savedRegsSize = saved;
    d.program = std::move(program);
    return d;
}

struct X86 {
    SynthImage img{Machine::X86, false};
    Stack stack{kStack, 0x2000};
    SynthTarget target;
    ModuleImages images{target};
    CpuContext ctx{Machine::X86};
    WalkOptions opts;
    MapSource source;
    X86() {
        target.machine = Machine::X86;
        opts.stackLimit = kStack;
        opts.stackBase = kStack + 0x2000;
        opts.x86FrameData = &source;
    }
    // A return address at rva: a `call rel32` ends there.
    uint32_t ret(uint32_t rva) {
        img.code(rva - 5, {0xe8, 0, 0, 0, 0});
        return static_cast<uint32_t>(kBase + rva);
    }
    StackWalk walk() {
        target.modules = {img.module(kBase)};
        target.map(kBase, img.bytes);
        target.map(kStack, stack.bytes);
        target.finish();
        return walkStack(target, images, ctx, opts);
    }
    void at(uint32_t rva, uint32_t esp, uint32_t ebp) {
        ctx.setIp(kBase + rva);
        ctx.setSp(esp);
        ctx.set(Reg::Rbp, ebp);
    }
};

// MSVC's frameless function: "$T0 .raSearch = ..." with ebx restored by its
// CodeView register number ($20), as in crash.pdb. The return address is
// above 12 bytes of locals and 4 of saved registers.
TEST(X86FrameData, RaSearchProgramRestoresRegistersByCodeViewNumber) {
    X86 t;
    t.source.records.push_back(record(X86FrameData::Type::FrameData, 0x1400, 0x100, 8, 12, 4,
                                      "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =  $20 $T0 16 - ^ = "));
    t.stack.d(0x120100, 0xb0b0b0b0);  // saved ebx
    t.stack.d(0x120110, t.ret(0x1205));
    t.stack.d(0x120114, 0xa1);        // first argument
    t.stack.d(0x120200, 0);           // the caller's frame ends the chain
    t.stack.d(0x120204, 0);
    t.at(0x1450, 0x120100, 0x120200);
    t.ctx.set(Reg::Rbx, 0x11);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[0].returnAddress, kBase + 0x1205);
    ASSERT_TRUE(w.frames[0].frameData);
    EXPECT_EQ(w.frames[0].frameData->rva, 0x1400u);
    EXPECT_EQ(w.frames[0].args[0], 0xa1u);  // above the return address, not ebp-based
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1205);
    EXPECT_EQ(w.frames[1].sp, 0x120114u);
    EXPECT_EQ(w.frames[1].fp, 0x120200u);  // not saved: unchanged
    EXPECT_EQ(w.frames[1].trust, FrameTrust::UnwindInfo);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rbx), 0xb0b0b0b0u);
}

// "$T0 $ebp = ..." (a conventional frame) restoring esi ($23) below ebp.
TEST(X86FrameData, EbpProgram) {
    X86 t;
    t.source.records.push_back(record(X86FrameData::Type::FrameData, 0x1400, 0x100, 0, 4, 4,
                                      "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =  $23 $T0 8 - ^ = "));
    t.source.records.back().prologSize = 3;
    t.stack.d(0x1200f8, 0x5151);  // saved esi
    t.stack.d(0x120100, 0x120200);
    t.stack.d(0x120104, t.ret(0x1205));
    t.at(0x1460, 0x1200f0, 0x120100);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1205);
    EXPECT_EQ(w.frames[1].sp, 0x120108u);
    EXPECT_EQ(w.frames[1].fp, 0x120200u);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rsi), 0x5151u);
    EXPECT_EQ(fpoAnnotation(w.frames[0]), "(FPO: [Non-Fpo])");
}

// Frame 0 on the first byte of a function whose record is ebp-based: ebp is
// still the caller's, so the record's program does not apply and the
// prolog heuristics find the return address at [esp].
TEST(X86FrameData, EbpProgramInFrame0PrologFallsBack) {
    X86 t;
    auto r = record(X86FrameData::Type::FrameData, 0x1400, 0x100, 0, 0, 0,
                    "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =");
    r.prologSize = 3;
    t.source.records.push_back(r);
    t.img.code(0x1400, {0x55, 0x8b, 0xec});
    t.stack.d(0x120050, t.ret(0x1205));
    t.stack.d(0x120100, 0);
    t.stack.d(0x120104, t.ret(0x1305));  // what the program would wrongly read
    t.at(0x1400, 0x120050, 0x120100);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1205);
    EXPECT_EQ(w.frames[1].sp, 0x120054u);
}

// Two FPO records (no program strings). A, frame 0, takes 8 bytes of
// arguments; B, its caller, allocates ebp for its own use and saved the
// caller's ebp in its saved-register area. B's return address lies above A's
// arguments (.cbCalleeParams), B's 8 bytes of saved registers and 8 of locals.
TEST(X86FrameData, FpoRecordsUseCalleeParamsAndRestoreEbp) {
    X86 t;
    t.source.records.push_back(record(X86FrameData::Type::Fpo, 0x1400, 0x40, 8, 0, 0));
    auto b = record(X86FrameData::Type::Fpo, 0x1600, 0x80, 4, 8, 8);
    b.allocatesBasePointer = true;
    t.source.records.push_back(b);
    t.stack.d(0x120100, t.ret(0x1625));   // A returns into B
    t.stack.d(0x120104, t.ret(0x1705));   // A's first argument looks like a return address
    t.stack.d(0x120108, 0x2);             // A's second argument
    t.stack.d(0x12010c, 0x120300);        // B's saved regs: the caller's ebp first ...
    t.stack.d(0x120110, 0x77);            // ... then another register
    t.stack.d(0x12011c, t.ret(0x1805));   // B returns into C
    t.stack.d(0x120300, 0);
    t.stack.d(0x120304, 0);
    t.at(0x1410, 0x120100, 0x1234);       // ebp: B's scratch value
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 3u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1625);
    EXPECT_EQ(w.frames[1].sp, 0x120104u);
    EXPECT_EQ(w.frames[1].fp, 0x1234u);
    EXPECT_EQ(w.frames[2].ip, kBase + 0x1805);
    EXPECT_EQ(w.frames[2].sp, 0x120120u);
    EXPECT_EQ(w.frames[2].fp, 0x120300u);
    EXPECT_EQ(w.frames[2].trust, FrameTrust::UnwindInfo);
    EXPECT_EQ(fpoAnnotation(w.frames[0]), "(FPO: [2,0,0])");
    EXPECT_EQ(fpoAnnotation(w.frames[1]), "(FPO: [Uses EBP] [1,2,2])");
    EXPECT_EQ(fpoAnnotation(w.frames[2]), "");
}

// A program that aligns the stack ('@') finds the return address from ebp:
// esp says nothing about the frame (Breakpad uses ebp + 4 the same way).
TEST(X86FrameData, AlignedStackSearchesFromEbp) {
    X86 t;
    t.source.records.push_back(record(X86FrameData::Type::FrameData, 0x1400, 0x100, 12, 0, 0,
                                      "$T1 .raSearch = $T0  $T1 4 - 8 @ = $ebp $T1 4 - ^ = $eip $T1 ^ = $esp $T1 4 + ="));
    t.stack.d(0x1200e0, t.ret(0x1705));  // esp-based guess: a stale return address
    t.stack.d(0x120104, 0x120200);       // saved ebp
    t.stack.d(0x120108, t.ret(0x1205));
    t.stack.d(0x120200, 0);
    t.stack.d(0x120204, 0);
    t.at(0x1420, 0x1200e0, 0x120104);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1205);
    EXPECT_EQ(w.frames[1].sp, 0x12010cu);
    EXPECT_EQ(w.frames[1].fp, 0x120200u);
}

// The computed return-address slot holds no return address (the stack was
// realigned): the first plausible one within three words above is used.
TEST(X86FrameData, RaSearchSlack) {
    X86 t;
    t.source.records.push_back(record(X86FrameData::Type::FrameData, 0x1400, 0x100, 0, 4, 0,
                                      "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + ="));
    t.stack.d(0x120104, 0);
    t.stack.d(0x120108, t.ret(0x1205));
    t.stack.d(0x120200, 0);
    t.stack.d(0x120204, 0);
    t.at(0x1420, 0x120100, 0x120200);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1205);
    EXPECT_EQ(w.frames[1].sp, 0x12010cu);
}

// A record whose program yields no plausible caller (its "return address"
// points into .rdata) is not trusted: the EBP chain unwinds the frame, and
// the record still annotates it.
TEST(X86FrameData, ImplausibleResultFallsBackToEbpChain) {
    X86 t;
    t.source.records.push_back(record(X86FrameData::Type::FrameData, 0x1400, 0x100, 12, 0, 0,
                                      "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + ="));
    for (uint32_t a = 0x120100; a < 0x120110; a += 4) t.stack.d(a, kBase + 0x3010);
    t.stack.d(0x120180, 0x120200);
    t.stack.d(0x120184, t.ret(0x1205));
    t.stack.d(0x120200, 0);
    t.stack.d(0x120204, 0);
    t.at(0x1420, 0x120100, 0x120180);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1205);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::FramePointer);
    EXPECT_EQ(fpoAnnotation(w.frames[0]), "(FPO: [3,0,0])");
}

// Non-FPO (type 3): the EBP chain, without the frameless-callee search.
TEST(X86FrameData, StandardRecordIsTheEbpChain) {
    X86 t;
    t.source.records.push_back(record(X86FrameData::Type::Standard, 0x1400, 0x100, 4, 0, 0));
    t.stack.d(0x120100, 0x120200);
    t.stack.d(0x120104, t.ret(0x1205));
    t.stack.d(0x120200, 0);
    t.stack.d(0x120204, 0);
    t.at(0x1420, 0x1200f0, 0x120100);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1205);
    EXPECT_EQ(w.frames[1].sp, 0x120108u);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::FramePointer);
    EXPECT_EQ(fpoAnnotation(w.frames[0]), "(FPO: [Non-Fpo])");
}

// A program that ends the stack ($eip 0 with $ebp 0), as a thread's first
// function does.
TEST(X86FrameData, ZeroReturnWithZeroEbpEndsTheWalk) {
    X86 t;
    t.source.records.push_back(record(X86FrameData::Type::FrameData, 0x1400, 0x100, 0, 0, 0,
                                      "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + ="));
    t.stack.d(0x120100, 0);
    t.stack.d(0x120104, 0);
    t.at(0x1420, 0x1200f0, 0x120100);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 1u);
    EXPECT_EQ(w.frames[0].returnAddress, 0u);
    ASSERT_TRUE(w.frames[0].frameData);
}

// A return address is looked up at ip - 1: the call may be the last
// instruction of its function (a noreturn call), and the record after it
// belongs to another function.
TEST(X86FrameData, CallerLookupUsesTheCallInstruction) {
    X86 t;
    t.source.records.push_back(record(X86FrameData::Type::FrameData, 0x1400, 0x10, 0, 0, 0,
                                      "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + ="));
    // B ends with the call at 0x1600..0x1605; C's record starts at 0x1605.
    t.source.records.push_back(record(X86FrameData::Type::FrameData, 0x1580, 0x85, 0, 0, 0,
                                      "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + ="));
    t.source.records.push_back(record(X86FrameData::Type::FrameData, 0x1605, 0x20, 0, 0x40, 0,
                                      "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + ="));
    t.stack.d(0x120100, t.ret(0x1605));
    t.stack.d(0x120104, t.ret(0x1805));  // B's return address (C's record would skip 0x40 bytes)
    t.at(0x1404, 0x120100, 0);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 3u);
    EXPECT_EQ(w.frames[1].frameData->rva, 0x1580u);
    EXPECT_EQ(w.frames[2].ip, kBase + 0x1805);
}

TEST(X86FrameData, FpoProgramsAreBreakpads) {
    auto r = record(X86FrameData::Type::Fpo, 0, 1, 0, 0, 0);
    EXPECT_EQ(unwind::fpoProgram(r), "$eip .raSearchStart ^ = $esp .raSearchStart 4 + =");
    r.allocatesBasePointer = true;
    r.savedRegsSize = 12;
    EXPECT_EQ(unwind::fpoProgram(r),
              "$eip .raSearchStart ^ = $ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = $esp .raSearchStart 4 + =");
}

TEST(X86FrameData, AnnotationText) {
    StackFrame f;
    EXPECT_EQ(fpoAnnotation(f), "");
    using T = X86FrameData::Type;
    f.frameData = record(T::Fpo, 0, 1, 8, 12, 8);
    EXPECT_EQ(fpoAnnotation(f), "(FPO: [2,3,2])");
    f.frameData->allocatesBasePointer = true;
    EXPECT_EQ(fpoAnnotation(f), "(FPO: [Uses EBP] [2,3,2])");
    f.frameData->hasSeh = true;
    EXPECT_EQ(fpoAnnotation(f), "(FPO: [SEH])");
    f.frameData = record(T::Standard, 0, 1, 8, 12, 8);
    EXPECT_EQ(fpoAnnotation(f), "(FPO: [Non-Fpo])");
    f.frameData = record(T::Trap, 0, 1, 0, 8, 0);
    EXPECT_EQ(fpoAnnotation(f), "(FPO: [0,2])");
    EXPECT_EQ(fpoAnnotation(f, {0x8013eee8, std::nullopt}), "(FPO: [0,2] TrapFrame @ 8013eee8)");
    f.frameData = record(T::Tss, 0, 1, 0, 0, 0);
    EXPECT_EQ(fpoAnnotation(f, {std::nullopt, 0x28}), "(FPO: TaskGate 28:0)");
    // FrameData records as WinDbg shows modern system DLLs.
    f.frameData = record(T::FrameData, 0, 1, 12, 0, 0, "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + = ");
    EXPECT_EQ(fpoAnnotation(f), "(FPO: [3,0,0])");
    f.frameData = record(T::FrameData, 0, 1, 0, 0, 16,
                         "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =  $20 $T0 8 - ^ =  $22 $T0 12 - ^ = ");
    EXPECT_EQ(fpoAnnotation(f), "(FPO: [Uses EBP] [0,0,4])");
    f.frameData = record(T::FrameData, 0, 1, 4, 0, 0, "$T0 $ebp 4 + = $eip $T0 ^ = $esp $T0 4 + = $ebp $T0 4 - ^ = ");
    EXPECT_EQ(fpoAnnotation(f), "(FPO: [Non-Fpo])");
    f.frameData->hasSeh = true;
    EXPECT_EQ(fpoAnnotation(f), "(FPO: [SEH])");
}

}  // namespace
}  // namespace nt
