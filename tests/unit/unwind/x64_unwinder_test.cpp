// x64 unwinding on synthetic images: each test builds the unwind codes and
// stack a compiler would produce for one prolog shape, and checks the
// caller's registers the ABI rules give.
#include <gtest/gtest.h>

#include "synth.h"
#include "unwind/stack_walk.h"

namespace nt {
namespace {

using test::SynthImage;
using test::SynthTarget;
using test::Stack;
using test::uw;

constexpr uint64_t kBase = 0x7ff600000000;
constexpr uint64_t kStack = 0x10000;
constexpr uint64_t S = 0x10800;  // rsp of frame 0

struct X64 {
    SynthImage img{Machine::Amd64};
    Stack stack{kStack, 0x2000};
    SynthTarget target;
    ModuleImages images{target};
    CpuContext ctx{Machine::Amd64};
    // A terminal function at 0x1f00 whose frame returns to 0, so walks end cleanly.
    static constexpr uint32_t kEnd = 0x1f00;

    X64() { target.machine = Machine::Amd64; }
    void endFunction() { img.function(kEnd, kEnd + 0x40, img.unwindInfo(1, 0, 0, {})); }
    StackWalk walk(unsigned maxFrames = 16) {
        target.modules = {img.module(kBase)};
        target.map(kBase, img.bytes);
        target.map(kStack, stack.bytes);
        target.finish();
        WalkOptions o;
        o.maxFrames = maxFrames;
        return walkStack(target, images, ctx, o);
    }
};

// push rbx; sub rsp,20h  ->  codes [5: ALLOC_SMALL 0x20, 1: PUSH_NONVOL rbx]
TEST(X64Unwind, PushNonvolAllocSmall) {
    X64 t;
    t.img.function(0x1000, 0x1100, t.img.unwindInfo(1, 0, 5, {uw(5, 2, 3), uw(1, 0, 3)}));
    t.endFunction();
    t.stack.q(S + 0x20, 0x1111);                  // saved rbx
    t.stack.q(S + 0x28, kBase + X64::kEnd + 0x10);  // return address
    t.ctx.setIp(kBase + 0x1050);
    t.ctx.setSp(S);
    t.ctx.set(Reg::Rbx, 0xdead);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[0].trust, FrameTrust::Context);
    EXPECT_EQ(w.frames[0].returnAddress, kBase + X64::kEnd + 0x10);
    EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd + 0x10);
    EXPECT_EQ(w.frames[1].sp, S + 0x30);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::UnwindInfo);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rbx), 0x1111u);
    EXPECT_EQ(w.frames[1].returnAddress, 0u);  // end function returns to 0
    EXPECT_TRUE(w.warning.empty());
}

TEST(X64Unwind, AllocLargeBothForms) {
    for (int form = 0; form < 2; ++form) {
        X64 t;
        uint32_t size = form == 0 ? 0x1008 : 0x1234;
        std::vector<uint16_t> codes = form == 0 ? std::vector<uint16_t>{uw(7, 1, 0), uint16_t(size / 8)}
                                                : std::vector<uint16_t>{uw(7, 1, 1), uint16_t(size & 0xffff), uint16_t(size >> 16)};
        t.img.function(0x1000, 0x1100, t.img.unwindInfo(1, 0, 7, codes));
        t.endFunction();
        t.stack.q(S + size, kBase + X64::kEnd);
        t.ctx.setIp(kBase + 0x1080);
        t.ctx.setSp(S);
        StackWalk w = t.walk();
        ASSERT_GE(w.frames.size(), 2u) << form;
        EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd) << form;
        EXPECT_EQ(w.frames[1].sp, S + size + 8) << form;
    }
}

// push rbp; sub rsp,40h; lea rbp,[rsp+20h]; ... (alloca moved rsp further)
TEST(X64Unwind, SetFpregUsesFrameRegister) {
    X64 t;
    t.img.function(0x1000, 0x1100,
                   t.img.unwindInfo(1, 0, 10, {uw(10, 3, 0), uw(5, 2, 7), uw(1, 0, 5)}, /*rbp*/ 5, /*0x20*/ 2));
    t.endFunction();
    t.stack.q(S + 0x40, 0xbbbb);  // saved rbp
    t.stack.q(S + 0x48, kBase + X64::kEnd);
    t.ctx.setIp(kBase + 0x1060);
    t.ctx.setSp(S - 0x300);  // alloca
    t.ctx.set(Reg::Rbp, S + 0x20);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd);
    EXPECT_EQ(w.frames[1].sp, S + 0x50);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rbp), 0xbbbbu);
}

// sub rsp,38h; mov [rsp+40h],rsi (SAVE_NONVOL, scaled) ; mov [rsp+...],rdi (FAR, unscaled)
// movaps [rsp+20h],xmm6 (SAVE_XMM128, scaled by 16)
TEST(X64Unwind, SaveNonvolAndXmm) {
    X64 t;
    t.img.function(0x1000, 0x1100,
                   t.img.unwindInfo(1, 0, 20,
                                    {uw(20, 8, 6), 2, uw(15, 5, 7), 0x10, 0, uw(10, 4, 6), 8, uw(4, 2, 6)}));
    t.endFunction();
    t.stack.q(S + 0x40, 0x5151);  // rsi (home slot above the return address... any frame offset)
    t.stack.q(S + 0x10, 0x7171);  // rdi at unscaled 0x10
    std::vector<uint8_t> xmm(16);
    for (int i = 0; i < 16; ++i) xmm[i] = uint8_t(0xa0 + i);
    std::memcpy(&t.stack.bytes[S + 0x20 - kStack], xmm.data(), 16);
    t.stack.q(S + 0x38, kBase + X64::kEnd);
    t.ctx.setIp(kBase + 0x1040);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd);
    EXPECT_EQ(w.frames[1].sp, S + 0x40);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rsi), 0x5151u);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rdi), 0x7171u);
    EXPECT_EQ(w.frames[1].context.vectors()[6][0], 0xa0);
    EXPECT_EQ(w.frames[1].context.vectors()[6][15], 0xaf);
}

TEST(X64Unwind, PushMachframeWithAndWithoutErrorCode) {
    for (uint8_t err = 0; err < 2; ++err) {
        X64 t;
        // A trap handler: PUSH_MACHFRAME then sub rsp,28h.
        t.img.function(0x1000, 0x1100, t.img.unwindInfo(1, 0, 4, {uw(4, 2, 4), uw(0, 10, err)}));
        t.endFunction();
        uint64_t mf = S + 0x28 + (err ? 8 : 0);
        t.stack.q(mf, kBase + X64::kEnd + 4);  // interrupted rip
        t.stack.q(mf + 24, S + 0x800);          // interrupted rsp
        t.ctx.setIp(kBase + 0x1020);
        t.ctx.setSp(S);
        StackWalk w = t.walk();
        ASSERT_GE(w.frames.size(), 2u) << int(err);
        EXPECT_TRUE(w.frames[0].isMachineFrame);
        EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd + 4) << int(err);
        EXPECT_EQ(w.frames[1].sp, S + 0x800) << int(err);
    }
}

// rip right after "push rbx" (offset 1) but before "sub rsp,20h" (ends at 5):
// only the push is undone.
TEST(X64Unwind, InsidePrologOnlyExecutedCodesApply) {
    X64 t;
    t.img.function(0x1000, 0x1100, t.img.unwindInfo(1, 0, 5, {uw(5, 2, 3), uw(1, 0, 3)}));
    t.endFunction();
    t.img.code(0x1000, {0x53, 0x48, 0x83, 0xec, 0x20});
    t.stack.q(S, 0x2222);
    t.stack.q(S + 8, kBase + X64::kEnd);
    t.ctx.setIp(kBase + 0x1001);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd);
    EXPECT_EQ(w.frames[1].sp, S + 0x10);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rbx), 0x2222u);
}

// rip at "pop rbx; ret" of "add rsp,20h; pop rbx; ret": the add already ran,
// so undoing the prolog (which would add 0x20 again) would be wrong.
TEST(X64Unwind, EpilogIsEmulated) {
    X64 t;
    t.img.function(0x1000, 0x1100, t.img.unwindInfo(1, 0, 5, {uw(5, 2, 3), uw(1, 0, 3)}));
    t.endFunction();
    t.img.code(0x1080, {0x48, 0x83, 0xc4, 0x20, 0x5b, 0xc3});
    t.stack.q(S, 0x3333);
    t.stack.q(S + 8, kBase + X64::kEnd);
    t.ctx.setIp(kBase + 0x1084);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd);
    EXPECT_EQ(w.frames[1].sp, S + 0x10);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rbx), 0x3333u);

    // From the start of the epilog (add rsp,20h), the same caller comes out.
    X64 u;
    u.img.function(0x1000, 0x1100, u.img.unwindInfo(1, 0, 5, {uw(5, 2, 3), uw(1, 0, 3)}));
    u.endFunction();
    u.img.code(0x1080, {0x48, 0x83, 0xc4, 0x20, 0x5b, 0xc3});
    u.stack.q(S - 0x20, 0);
    u.stack.q(S, 0x3333);
    u.stack.q(S + 8, kBase + X64::kEnd);
    u.ctx.setIp(kBase + 0x1080);
    u.ctx.setSp(S - 0x20);
    w = u.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].sp, S + 0x10);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rbx), 0x3333u);
}

// "pop rbx; jmp other_function": a tail call is an epilog too.
TEST(X64Unwind, TailJumpEpilog) {
    X64 t;
    t.img.function(0x1000, 0x1100, t.img.unwindInfo(1, 0, 1, {uw(1, 0, 3)}));
    t.endFunction();
    // jmp rel32 from 0x1081 (next ip 0x1086) to 0x1800: outside [0x1000,0x1100).
    int32_t rel = 0x1800 - 0x1086;
    t.img.code(0x1080, {0x5b, 0xe9, uint8_t(rel), uint8_t(rel >> 8), uint8_t(rel >> 16), uint8_t(rel >> 24)});
    t.stack.q(S, 0x4444);
    t.stack.q(S + 8, kBase + X64::kEnd);
    t.ctx.setIp(kBase + 0x1080);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rbx), 0x4444u);
}

// Version 2 info with UWOP_EPILOG descriptors first: they are skipped and
// the prolog codes give the same answer as in version 1.
TEST(X64Unwind, Version2EpilogCodesSkipped) {
    X64 t;
    t.img.function(0x1000, 0x1100,
                   t.img.unwindInfo(2, 0, 5, {uw(6, 6, 1), uw(0x20, 6, 0), uw(5, 2, 3), uw(1, 0, 3)}));
    t.endFunction();
    t.stack.q(S + 0x20, 0x1111);
    t.stack.q(S + 0x28, kBase + X64::kEnd);
    t.ctx.setIp(kBase + 0x1050);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd);
    EXPECT_EQ(w.frames[1].sp, S + 0x30);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rbx), 0x1111u);
}

// A function fragment (no codes of its own) chained to its parent.
TEST(X64Unwind, ChainedInfo) {
    X64 t;
    uint32_t parentInfo = t.img.unwindInfo(1, 0, 5, {uw(5, 2, 3), uw(1, 0, 3)});
    t.img.function(0x1000, 0x1100, parentInfo);
    uint32_t parent[3] = {0x1000, 0x1100, parentInfo};
    // Fragment with its own PUSH_NONVOL rsi, chained to the parent.
    t.img.function(0x1400, 0x1480, t.img.unwindInfo(1, 4, 1, {uw(1, 0, 6)}, 0, 0, parent));
    t.endFunction();
    t.stack.q(S, 0x6666);         // rsi pushed by the fragment
    t.stack.q(S + 8 + 0x20, 0x1111);  // rbx
    t.stack.q(S + 8 + 0x28, kBase + X64::kEnd);
    t.ctx.setIp(kBase + 0x1410);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::UnwindInfo);
    EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd);
    EXPECT_EQ(w.frames[1].sp, S + 0x38);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rsi), 0x6666u);
    EXPECT_EQ(w.frames[1].context.get(Reg::Rbx), 0x1111u);
}

// Chained info pointing at itself: the chain cap stops it; no hang, and the
// walk does not report an UnwindInfo frame from it.
TEST(X64Unwind, ChainCycleIsCapped) {
    X64 t;
    uint32_t self = t.img.xdataNext;
    uint32_t rf[3] = {0x1000, 0x1100, self};
    t.img.function(0x1000, 0x1100, t.img.unwindInfo(1, 4, 0, {}, 0, 0, rf));
    t.ctx.setIp(kBase + 0x1050);
    t.ctx.setSp(S);
    WalkOptions o;
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 1u);
    for (size_t i = 1; i < w.frames.size(); ++i) EXPECT_NE(w.frames[i].trust, FrameTrust::UnwindInfo);
}

// rip in code with no RUNTIME_FUNCTION in an image that has .pdata: a leaf.
TEST(X64Unwind, LeafFunction) {
    X64 t;
    t.endFunction();
    t.stack.q(S, kBase + X64::kEnd + 8);
    t.ctx.setIp(kBase + 0x1500);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd + 8);
    EXPECT_EQ(w.frames[1].sp, S + 8);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::UnwindInfo);
}

// Args: the four home slots at Child-SP+8..+0x20 of each frame.
TEST(X64Unwind, HomeSlotArgs) {
    X64 t;
    t.endFunction();
    t.stack.q(S, kBase + X64::kEnd + 8);
    for (int k = 0; k < 4; ++k) t.stack.q(S + 8 + 8 * k, 0xa0 + k);
    t.ctx.setIp(kBase + 0x1500);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 1u);
    EXPECT_EQ(w.frames[0].argsPresent, 0xf);
    EXPECT_EQ(w.frames[0].args[0], 0xa0u);
    EXPECT_EQ(w.frames[0].args[3], 0xa3u);
}

// An unwind step that would not move rsp up (a damaged machine frame) ends
// the walk: no frame loops.
TEST(X64Unwind, StackPointerMustGrow) {
    X64 t;
    t.img.function(0x1000, 0x1100, t.img.unwindInfo(1, 0, 0, {uw(0, 10, 0)}));
    t.stack.q(S, kBase + 0x1050);  // rip: same function
    t.stack.q(S + 24, S);          // rsp: unchanged
    t.ctx.setIp(kBase + 0x1050);
    t.ctx.setSp(S);
    StackWalk w = t.walk(50);
    EXPECT_LT(w.frames.size(), 50u);
    for (size_t i = 1; i < w.frames.size(); ++i) EXPECT_GT(w.frames[i].sp, w.frames[i - 1].sp);
}

// A return address equal to the end of its function (the call to a noreturn
// function was the last instruction) belongs to that function, not the next.
TEST(X64Unwind, ReturnAddressAtFunctionEndUsesCaller) {
    X64 t;
    t.img.function(0x1000, 0x1020, t.img.unwindInfo(1, 0, 4, {uw(4, 2, 3)}));  // sub rsp,20h
    t.img.function(0x1020, 0x1080, t.img.unwindInfo(1, 0, 4, {uw(4, 2, 7)}));  // sub rsp,40h
    t.img.function(0x1100, 0x1180, t.img.unwindInfo(1, 0, 0, {}));            // frame 0: no frame
    t.endFunction();
    t.stack.q(S, kBase + 0x1020);                 // frame 0 returns to the end of 0x1000..0x1020
    t.stack.q(S + 8 + 0x20, kBase + X64::kEnd);   // that function's return address
    t.ctx.setIp(kBase + 0x1110);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 3u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1020);
    EXPECT_EQ(w.frames[2].ip, kBase + X64::kEnd);
    EXPECT_EQ(w.frames[2].sp, S + 8 + 0x28);
}

// Damaged unwind data (version 3, codes running past CountOfCodes): the step
// fails, the scan finds the return address after a call, and no WinDbg
// "information not available" warning is printed (the data exists).
TEST(X64Unwind, DamagedUnwindInfoFallsBackToScan) {
    for (int kind = 0; kind < 2; ++kind) {
        X64 t;
        uint32_t info = kind == 0 ? t.img.unwindInfo(3, 0, 0, {uw(0, 2, 1)})
                                  : t.img.unwindInfo(1, 0, 0, {uw(0, 1, 1)});  // ALLOC_LARGE needs 3 slots, has 1
        t.img.function(0x1000, 0x1100, info);
        t.endFunction();
        t.img.code(X64::kEnd + 0x10, {0xe8, 0, 0, 0, 0});
        t.stack.q(S + 0x18, kBase + X64::kEnd + 0x15);
        t.ctx.setIp(kBase + 0x1050);
        t.ctx.setSp(S);
        StackWalk w = t.walk(2);
        ASSERT_EQ(w.frames.size(), 2u) << kind;
        EXPECT_EQ(w.frames[1].ip, kBase + X64::kEnd + 0x15) << kind;
        EXPECT_EQ(w.frames[1].sp, S + 0x20) << kind;
        EXPECT_EQ(w.frames[1].trust, FrameTrust::Scan) << kind;
        EXPECT_TRUE(w.warning.empty()) << kind;
    }
}

// Stack memory missing under a PUSH_NONVOL: the step fails, and with
// scanning off the walk is frame 0 alone.
TEST(X64Unwind, MissingStackMemoryStops) {
    X64 t;
    t.img.function(0x1000, 0x1100, t.img.unwindInfo(1, 0, 1, {uw(1, 0, 3)}));
    t.ctx.setIp(kBase + 0x1050);
    t.ctx.setSp(0x900000);  // not mapped
    t.target.modules = {t.img.module(kBase)};
    t.target.map(kBase, t.img.bytes);
    t.target.finish();
    WalkOptions o;
    o.allowScan = false;
    StackWalk w = walkStack(t.target, t.images, t.ctx, o);
    EXPECT_EQ(w.frames.size(), 1u);
    EXPECT_EQ(w.frames[0].returnAddress, 0u);
}

}  // namespace
}  // namespace nt
