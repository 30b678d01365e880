// Stack scanning: only words pointing just after a call instruction in
// executable code of a module are accepted.
#include <gtest/gtest.h>

#include "synth.h"
#include "unwind/stack_walk.h"
#include "unwind/unwinders.h"

namespace nt {
namespace {

using test::SynthImage;
using test::SynthTarget;
using test::Stack;

constexpr uint64_t kBase = 0x7ff600000000;
constexpr uint64_t kStack = 0x10000;
constexpr uint64_t S = 0x10800;

// x64 image without .pdata: no unwind data, so the walk scans and warns.
TEST(StackScan, X64ScanSkipsDataPointersAndWarns) {
    SynthImage img(Machine::Amd64, /*withPdata*/ false);
    img.code(0x1100, {0xe8, 0, 0, 0, 0});                   // call rel32 ending at 0x1105
    img.code(0x1200, {0x41, 0xff, 0xd3});                   // call r11 ending at 0x1203
    img.code(0x1300, {0xff, 0x15, 0x10, 0x20, 0x00, 0x00});  // call [rip+...] ending at 0x1306
    Stack st(kStack, 0x1000);
    st.q(S, kBase + 0x3010);       // points into .rdata: data
    st.q(S + 8, kBase + 0x1101);   // code, but not after a call
    st.q(S + 16, 0x1234);          // outside every module
    st.q(S + 24, kBase + 0x1105);  // after E8 rel32
    st.q(S + 32, kBase + 0x1203);  // after REX call r11
    st.q(S + 40, kBase + 0x1306);  // after FF 15 disp32
    SynthTarget t;
    t.machine = Machine::Amd64;
    t.modules = {img.module(kBase)};
    t.map(kBase, img.bytes);
    t.map(kStack, st.bytes);
    t.finish();
    ModuleImages images(t);
    CpuContext c(Machine::Amd64);
    c.setIp(kBase + 0x1050);
    c.setSp(S);
    WalkOptions o;
    o.maxFrames = 4;
    StackWalk w = walkStack(t, images, c, o);
    ASSERT_EQ(w.frames.size(), 4u);
    EXPECT_EQ(w.warning, "Stack unwind information not available. Following frames may be wrong.");
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1105);
    EXPECT_EQ(w.frames[1].sp, S + 32);
    EXPECT_EQ(w.frames[1].trust, FrameTrust::Scan);
    EXPECT_EQ(w.frames[2].ip, kBase + 0x1203);
    EXPECT_EQ(w.frames[3].ip, kBase + 0x1306);
    EXPECT_EQ(frameTrustName(w.frames[3].trust), "scan");
}

// With scanning disabled and no unwind data, the walk is just frame 0.
TEST(StackScan, ScanDisabled) {
    SynthImage img(Machine::Amd64, false);
    img.code(0x1100, {0xe8, 0, 0, 0, 0});
    Stack st(kStack, 0x1000);
    st.q(S, kBase + 0x1105);
    SynthTarget t;
    t.machine = Machine::Amd64;
    t.modules = {img.module(kBase)};
    t.map(kBase, img.bytes);
    t.map(kStack, st.bytes);
    t.finish();
    ModuleImages images(t);
    CpuContext c(Machine::Amd64);
    c.setIp(kBase + 0x1050);
    c.setSp(S);
    WalkOptions o;
    o.allowScan = false;
    StackWalk w = walkStack(t, images, c, o);
    EXPECT_EQ(w.frames.size(), 1u);
}

// x86: FF /2 forms with ModRM/SIB/disp lengths (call [ebp+8], call [eax+ecx*4+disp32]).
TEST(StackScan, X86CallForms) {
    SynthImage img(Machine::X86, false);
    img.code(0x1100, {0xff, 0x55, 0x08});                          // call [ebp+8] (3 bytes)
    img.code(0x1200, {0xff, 0x94, 0x88, 0x00, 0x10, 0x00, 0x00});  // call [eax+ecx*4+1000h] (7)
    img.code(0x1300, {0xff, 0xd0});                                // call eax (2)
    img.code(0x1400, {0xff, 0x65, 0x08});                          // jmp [ebp+8]: not a call
    Stack st(0x120000, 0x1000);
    st.d(0x120100, 0x400000 + 0x1403);
    st.d(0x120104, 0x400000 + 0x1103);
    st.d(0x120108, 0x400000 + 0x1207);
    st.d(0x12010c, 0x400000 + 0x1302);
    SynthTarget t;
    t.machine = Machine::X86;
    t.modules = {img.module(0x400000)};
    t.map(0x400000, img.bytes);
    t.map(0x120000, st.bytes);
    t.finish();
    ModuleImages images(t);
    CpuContext c(Machine::X86);
    c.setIp(0x400000 + 0x1050);
    c.setSp(0x120100);
    c.set(Reg::Rbp, 0);  // no frame chain
    // x86 walks never fall back to a generic scan (stale return addresses
    // cannot be told from live ones without FPO data), so the scanner is
    // exercised directly: it skips the jmp and takes the three call forms.
    WalkOptions o;
    unwind::WalkEnv env{t, images, o};
    auto s1 = unwind::stepScan(env, c, true);
    ASSERT_TRUE(s1);
    EXPECT_EQ(s1->caller.ip(), 0x401103u);
    EXPECT_EQ(s1->caller.sp(), 0x120108u);
    auto s2 = unwind::stepScan(env, s1->caller, false);
    ASSERT_TRUE(s2);
    EXPECT_EQ(s2->caller.ip(), 0x401207u);
    auto s3 = unwind::stepScan(env, s2->caller, false);
    ASSERT_TRUE(s3);
    EXPECT_EQ(s3->caller.ip(), 0x401302u);
    EXPECT_FALSE(unwind::precededByCall(env, Machine::X86, 0x401403));
    // And walkStack itself does not scan on x86: with no frame chain, frame 0 is all there is.
    StackWalk w = walkStack(t, images, c, o);
    EXPECT_EQ(w.frames.size(), 1u);
}

// ARM64: the instruction before the candidate must be BL or BLR.
TEST(StackScan, Arm64BlBlr) {
    SynthImage img(Machine::Arm64, false);
    auto put = [&](uint32_t rva, uint32_t insn) { img.put32(rva, insn); };
    put(0x1100, 0x94000010);  // bl
    put(0x1200, 0xd63f0200);  // blr x16
    put(0x1300, 0xd61f0200);  // br x16: not a call
    Stack st(kStack, 0x1000);
    st.q(S, kBase + 0x1304);
    st.q(S + 8, kBase + 0x1104);
    st.q(S + 16, kBase + 0x1204);
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
    WalkOptions o;
    o.maxFrames = 3;
    StackWalk w = walkStack(t, images, c, o);
    ASSERT_EQ(w.frames.size(), 3u);
    EXPECT_EQ(w.frames[1].ip, kBase + 0x1104);
    EXPECT_EQ(w.frames[2].ip, kBase + 0x1204);
}

}  // namespace
}  // namespace nt
