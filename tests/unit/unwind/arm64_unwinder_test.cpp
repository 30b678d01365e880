// ARM64 unwinding on synthetic images: packed unwind data, .xdata codes,
// prolog skipping for frame 0, save_next, leaf functions and the FP chain.
#include <gtest/gtest.h>

#include "synth.h"
#include "unwind/stack_walk.h"

namespace nt {
namespace {

using test::SynthImage;
using test::SynthTarget;
using test::Stack;

constexpr uint64_t kBase = 0x7ff700000000;
constexpr uint64_t kStack = 0x20000;
constexpr uint64_t S = 0x20800;
constexpr uint64_t kRet = kBase + 0x1f04;  // in a function with packed "no frame" data

Reg x(unsigned n) { return static_cast<Reg>(static_cast<unsigned>(Reg::X0) + n); }

struct A64 {
    SynthImage img{Machine::Arm64};
    Stack stack{kStack, 0x2000};
    SynthTarget target;
    ModuleImages images{target};
    CpuContext ctx{Machine::Arm64};
    A64() { target.machine = Machine::Arm64; }
    // Terminal function at 0x1f00: packed, nothing saved, FrameSize 0 -> returns to lr.
    void endFunction() { img.arm64Function(0x1f00, SynthImage::arm64Packed(0x40, 0, 0, 0, 0, 0)); }
    StackWalk walk(unsigned maxFrames = 2) {
        target.modules = {img.module(kBase)};
        target.map(kBase, img.bytes);
        target.map(kStack, stack.bytes);
        target.finish();
        WalkOptions o;
        o.maxFrames = maxFrames;
        return walkStack(target, images, ctx, o);
    }
};

// Packed CR=3 (x29/lr frame record), RegI=2 (x19,x20), FrameSize 48:
// savsz 16, locsz 32; from the body x29 == sp == frame record.
TEST(Arm64Unwind, PackedChainedFrame) {
    A64 t;
    t.img.arm64Function(0x1000, SynthImage::arm64Packed(0x100, 0, 2, 0, 3, 3));
    t.endFunction();
    t.stack.q(S, 0x21000);      // saved x29
    t.stack.q(S + 8, kRet);     // saved lr
    t.stack.q(S + 32, 0x1919);  // x19
    t.stack.q(S + 40, 0x2020);  // x20
    t.ctx.setIp(kBase + 0x1080);
    t.ctx.setSp(S);
    t.ctx.set(Reg::Fp, S);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kRet);
    EXPECT_EQ(w.frames[1].sp, S + 48);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::UnwindInfo);
    EXPECT_EQ(w.frames[1].context.get(Reg::Fp), 0x21000u);
    EXPECT_EQ(w.frames[1].context.get(x(19)), 0x1919u);
    EXPECT_EQ(w.frames[1].context.get(x(20)), 0x2020u);
}

// Packed CR=1 (lr saved after the int regs), RegI=1, FrameSize 32: locsz 16.
TEST(Arm64Unwind, PackedLrWithIntRegs) {
    A64 t;
    t.img.arm64Function(0x1000, SynthImage::arm64Packed(0x100, 0, 1, 0, 1, 2));
    t.endFunction();
    t.stack.q(S + 16, 0x1919);
    t.stack.q(S + 24, kRet);
    t.ctx.setIp(kBase + 0x1080);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kRet);
    EXPECT_EQ(w.frames[1].sp, S + 32);
    EXPECT_EQ(w.frames[1].context.get(x(19)), 0x1919u);
}

// .xdata for: stp x19,x20,[sp,#-32]! ; stp x29,lr,[sp,#16] ; add x29,sp,#16 ; sub sp,sp,#64
// unwind codes: alloc_s(4) add_fp(2) save_fplr(2) save_r19r20_x(4) end.
std::vector<uint8_t> fpFrameCodes() { return {0x04, 0xe2, 0x02, 0x42, 0x24, 0xe4}; }

TEST(Arm64Unwind, XdataCodesWithAddFp) {
    A64 t;
    t.img.arm64Function(0x1000, t.img.arm64Xdata(0x100, fpFrameCodes()));
    t.endFunction();
    uint64_t T = S;  // sp after the first stp
    t.stack.q(T, 0x1919);
    t.stack.q(T + 8, 0x2020);
    t.stack.q(T + 16, 0x21000);
    t.stack.q(T + 24, kRet);
    t.ctx.setIp(kBase + 0x1080);
    t.ctx.setSp(T - 64 - 0x100);  // below the locals: alloca
    t.ctx.set(Reg::Fp, T + 16);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kRet);
    EXPECT_EQ(w.frames[1].sp, T + 32);
    EXPECT_EQ(w.frames[1].context.get(Reg::Fp), 0x21000u);
    EXPECT_EQ(w.frames[1].context.get(x(19)), 0x1919u);
    EXPECT_EQ(w.frames[1].context.get(x(20)), 0x2020u);
}

// Frame 0 after only the first prolog instruction: only save_r19r20_x is
// undone, and the return address is still in lr.
TEST(Arm64Unwind, XdataInsidePrologSkipsUnexecutedCodes) {
    A64 t;
    t.img.arm64Function(0x1000, t.img.arm64Xdata(0x100, fpFrameCodes()));
    t.endFunction();
    t.stack.q(S, 0x1919);
    t.stack.q(S + 8, 0x2020);
    t.ctx.setIp(kBase + 0x1004);
    t.ctx.setSp(S);
    t.ctx.set(Reg::Lr, kRet);
    t.ctx.set(Reg::Fp, 0x21000);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kRet);
    EXPECT_EQ(w.frames[1].sp, S + 32);
    EXPECT_EQ(w.frames[1].context.get(Reg::Fp), 0x21000u);
    EXPECT_EQ(w.frames[1].context.get(x(19)), 0x1919u);
}

// stp x19,x20,[sp,#-48]! ; stp x21,x22,[sp,#16] ; stp x29,lr,[sp,#32]
// codes: save_fplr(4) save_next save_r19r20_x(6) end.
TEST(Arm64Unwind, SaveNextWidensPair) {
    A64 t;
    t.img.arm64Function(0x1000, t.img.arm64Xdata(0x100, {0x44, 0xe6, 0x26, 0xe4}));
    t.endFunction();
    for (int i = 0; i < 4; ++i) t.stack.q(S + 8 * i, 0x1900 + i);
    t.stack.q(S + 32, 0x21000);
    t.stack.q(S + 40, kRet);
    t.ctx.setIp(kBase + 0x1080);
    t.ctx.setSp(S);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kRet);
    EXPECT_EQ(w.frames[1].sp, S + 48);
    EXPECT_EQ(w.frames[1].context.get(x(19)), 0x1900u);
    EXPECT_EQ(w.frames[1].context.get(x(22)), 0x1903u);
}

// A leaf with no .pdata entry at frame 0 returns through lr; sp unchanged.
TEST(Arm64Unwind, LeafFrame0UsesLr) {
    A64 t;
    t.endFunction();
    t.ctx.setIp(kBase + 0x1500);
    t.ctx.setSp(S);
    t.ctx.set(Reg::Lr, kRet);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kRet);
    EXPECT_EQ(w.frames[1].sp, S);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::UnwindInfo);
}

// Frame 0 on the epilog's final `ret`: registers are restored, pc = lr.
TEST(Arm64Unwind, Frame0AtRet) {
    A64 t;
    t.img.arm64Function(0x1000, t.img.arm64Xdata(0x100, fpFrameCodes()));
    t.endFunction();
    t.img.put32(0x1080, 0xd65f03c0);  // ret
    t.ctx.setIp(kBase + 0x1080);
    t.ctx.setSp(S + 32);
    t.ctx.set(Reg::Lr, kRet);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kRet);
    EXPECT_EQ(w.frames[1].sp, S + 32);
}

// No .pdata: follow the frame records {x29, lr}.
TEST(Arm64Unwind, FramePointerChainWithoutPdata) {
    SynthImage img(Machine::Arm64, false);
    Stack st(kStack, 0x2000);
    st.q(S + 0x10, S + 0x40);
    st.q(S + 0x18, kBase + 0x1100);
    st.q(S + 0x40, 0);
    st.q(S + 0x48, kBase + 0x1200);
    SynthTarget t;
    t.machine = Machine::Arm64;
    t.modules = {img.module(kBase)};
    t.map(kBase, img.bytes);
    t.map(kStack, st.bytes);
    t.finish();
    ModuleImages images(t);
    CpuContext c(Machine::Arm64);
    c.setIp(kBase + 0x1050);
    c.setSp(S);
    c.set(Reg::Fp, S + 0x10);
    WalkOptions o;
    o.allowScan = false;
    StackWalk w = walkStack(t, images, c, o);
    ASSERT_EQ(w.frames.size(), 3u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1100);
    EXPECT_EQ(w.frames[1].sp, S + 0x20);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::FramePointer);
    EXPECT_EQ(w.frames[2].ip, kBase + 0x1200);
    EXPECT_EQ(w.frames[2].sp, S + 0x50);
}

}  // namespace
}  // namespace nt
