// x86 EBP-chain unwinding on a synthetic 32-bit image and stack.
#include <gtest/gtest.h>

#include "synth.h"
#include "unwind/stack_walk.h"

namespace nt {
namespace {

using test::SynthImage;
using test::SynthTarget;
using test::Stack;

constexpr uint64_t kBase = 0x00400000;
constexpr uint64_t kStack = 0x00120000;

struct X86 {
    SynthImage img{Machine::X86, false};
    Stack stack{kStack, 0x2000};
    SynthTarget target;
    ModuleImages images{target};
    CpuContext ctx{Machine::X86};
    WalkOptions opts;
    X86() {
        target.machine = Machine::X86;
        opts.stackLimit = kStack;
        opts.stackBase = kStack + 0x2000;
    }
    StackWalk walk() {
        target.modules = {img.module(kBase)};
        target.map(kBase, img.bytes);
        target.map(kStack, stack.bytes);
        target.finish();
        return walkStack(target, images, ctx, opts);
    }
    // Writes a frame record at ebp: saved ebp, return address, 4 args.
    void frame(uint32_t ebp, uint32_t savedEbp, uint32_t ret, uint32_t arg0 = 0) {
        stack.d(ebp, savedEbp);
        stack.d(ebp + 4, ret);
        for (int k = 0; k < 4; ++k) stack.d(ebp + 8 + 4 * k, arg0 + k);
    }
};

TEST(X86Unwind, EbpChainWithArgs) {
    X86 t;
    t.frame(0x120100, 0x120200, kBase + 0x1100, 0x10);
    t.frame(0x120200, 0x120300, kBase + 0x1200, 0x20);
    t.frame(0x120300, 0, 0);
    t.ctx.setIp(kBase + 0x1050);
    t.ctx.setSp(0x1200f0);
    t.ctx.set(Reg::Rbp, 0x120100);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 3u);
    EXPECT_EQ(w.frames[0].fp, 0x120100u);
    EXPECT_EQ(w.frames[0].returnAddress, kBase + 0x1100);
    ASSERT_EQ(w.frames[0].argsPresent, 0xf);
    EXPECT_EQ(w.frames[0].args[0], 0x10u);
    EXPECT_EQ(w.frames[0].args[3], 0x13u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1100);
    EXPECT_EQ(w.frames[1].sp, 0x120108u);
    EXPECT_EQ(w.frames[1].fp, 0x120200u);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::FramePointer);
    EXPECT_EQ(w.frames[2].ip, kBase + 0x1200);
    EXPECT_EQ(w.frames[2].args[0], 0u);
    EXPECT_EQ(w.frames[2].returnAddress, 0u);
}

// A saved EBP below the current one is bogus: the chain step is refused and,
// with scanning off, the walk stops there instead of following it.
TEST(X86Unwind, BogusEbpRejected) {
    X86 t;
    t.frame(0x120100, 0x120200, kBase + 0x1100);
    t.frame(0x120200, 0x120080, kBase + 0x1200);  // points down: bogus
    t.ctx.setIp(kBase + 0x1050);
    t.ctx.setSp(0x1200f0);
    t.ctx.set(Reg::Rbp, 0x120100);
    t.opts.allowScan = false;
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1100);
    EXPECT_EQ(w.frames[1].returnAddress, 0u);
}

// A return address into a non-executable section (.rdata) is refused.
TEST(X86Unwind, ReturnAddressMustBeCode) {
    X86 t;
    t.frame(0x120100, 0x120200, kBase + 0x3010);
    t.ctx.setIp(kBase + 0x1050);
    t.ctx.setSp(0x1200f0);
    t.ctx.set(Reg::Rbp, 0x120100);
    t.opts.allowScan = false;
    StackWalk w = t.walk();
    EXPECT_EQ(w.frames.size(), 1u);
}

// Frame 0 stopped on "push ebp": the return address is at [esp].
TEST(X86Unwind, Frame0AtPushEbp) {
    X86 t;
    t.img.code(0x1500, {0x55, 0x8b, 0xec});
    t.stack.d(0x120050, kBase + 0x1100);
    t.frame(0x120100, 0, 0);
    t.ctx.setIp(kBase + 0x1500);
    t.ctx.setSp(0x120050);
    t.ctx.set(Reg::Rbp, 0x120100);  // still the caller's
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1100);
    EXPECT_EQ(w.frames[1].sp, 0x120054u);
    EXPECT_EQ(w.frames[1].fp, 0x120100u);
}

// Frame 0 between "push ebp" and "mov ebp, esp": saved ebp at [esp], ret at [esp+4].
TEST(X86Unwind, Frame0AtMovEbpEsp) {
    X86 t;
    t.img.code(0x1500, {0x55, 0x8b, 0xec});
    t.stack.d(0x120050, 0x120100);
    t.stack.d(0x120054, kBase + 0x1100);
    t.frame(0x120100, 0, 0);
    t.ctx.setIp(kBase + 0x1501);
    t.ctx.setSp(0x120050);
    t.ctx.set(Reg::Rbp, 0x11ffff);  // garbage: not yet set by this function
    StackWalk w = t.walk();
    ASSERT_GE(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1100);
    EXPECT_EQ(w.frames[1].sp, 0x120058u);
    EXPECT_EQ(w.frames[1].fp, 0x120100u);
}

// Frame 0 in an epilog: "leave; ret" (esp = ebp, pop ebp, ret),
// "pop ebp; ret", and a bare "ret 8" (a frameless stdcall function or a
// syscall stub: the return address is at [esp] and 8 bytes of arguments are
// popped with it).
TEST(X86Unwind, Frame0InEpilog) {
    for (int form = 0; form < 3; ++form) {
        X86 t;
        std::vector<uint8_t> code = form == 0 ? std::vector<uint8_t>{0xc9, 0xc3}
                                    : form == 1 ? std::vector<uint8_t>{0x5d, 0xc3}
                                                : std::vector<uint8_t>{0xc2, 0x08, 0x00};
        t.img.code(0x1500, code);
        uint32_t esp = 0x120050, ebp = 0x120080;
        t.frame(0x120100, 0, 0);
        if (form == 0) {
            t.stack.d(ebp, 0x120100);
            t.stack.d(ebp + 4, kBase + 0x1100);
        } else if (form == 1) {
            t.stack.d(esp, 0x120100);
            t.stack.d(esp + 4, kBase + 0x1100);
        } else {
            t.stack.d(esp, kBase + 0x1100);
        }
        t.ctx.setIp(kBase + 0x1500);
        t.ctx.setSp(esp);
        t.ctx.set(Reg::Rbp, form == 2 ? 0x120100 : ebp);
        StackWalk w = t.walk();
        ASSERT_GE(w.frames.size(), 2u) << form;
        EXPECT_EQ(w.frames[1].ip, kBase + 0x1100) << form;
        EXPECT_EQ(w.frames[1].fp, 0x120100u) << form;
        EXPECT_EQ(w.frames[1].sp, form == 0 ? ebp + 8 : form == 1 ? esp + 8 : esp + 4 + 8) << form;
    }
}

// A frameless function F (0x1400) called by the EBP function A (0x1100),
// itself called by B: ebp still holds A's frame while in F. The chain's
// return address 0x1255 follows `call A`, which does not enter F's code as
// closely as `call F` (return 0x1155, found below ebp) does, so F's caller
// comes from that slot (Scan), then A's caller from the chain.
TEST(X86Unwind, FramelessFunctionBelowEbpFrame) {
    X86 t;
    t.img.code(0x1150, {0xe8, 0xab, 0x02, 0x00, 0x00});  // 0x1150: call 0x1400 (F)
    t.img.code(0x1250, {0xe8, 0xab, 0xfe, 0xff, 0xff});  // 0x1250: call 0x1100 (A)
    uint32_t esp = 0x120040, ebpA = 0x120100;
    t.stack.d(esp + 8, kBase + 0x1155);  // F's return address, above 8 bytes of F's locals
    t.frame(ebpA, 0x120200, kBase + 0x1255);
    t.frame(0x120200, 0, 0);
    t.ctx.setIp(kBase + 0x1410);
    t.ctx.setSp(esp);
    t.ctx.set(Reg::Rbp, ebpA);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 3u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1155);
    EXPECT_EQ(w.frames[1].sp, esp + 12);
    EXPECT_EQ(w.frames[1].fp, ebpA);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::Scan);
    EXPECT_EQ(w.frames[2].ip, kBase + 0x1255);
    EXPECT_EQ(w.frames[2].trust, FrameTrust::FramePointer);
}

// The same stack when the current function is A itself (an EBP function):
// the chain's call enters A, nothing nearer is below ebp, so no frame is
// invented from the stale word.
TEST(X86Unwind, EbpFunctionIgnoresStaleReturnBelowEbp) {
    X86 t;
    t.img.code(0x1150, {0xe8, 0xab, 0x02, 0x00, 0x00});
    t.img.code(0x1250, {0xe8, 0xab, 0xfe, 0xff, 0xff});
    uint32_t esp = 0x120040, ebpA = 0x120100;
    t.stack.d(esp + 8, kBase + 0x1155);  // stale: a call A made earlier
    t.frame(ebpA, 0x120200, kBase + 0x1255);
    t.frame(0x120200, 0, 0);
    t.ctx.setIp(kBase + 0x1160);  // in A, after its call to F returned
    t.ctx.setSp(esp);
    t.ctx.set(Reg::Rbp, ebpA);
    StackWalk w = t.walk();
    ASSERT_EQ(w.frames.size(), 2u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1255);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::FramePointer);
}

}  // namespace
}  // namespace nt
