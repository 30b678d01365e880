// `r` formatting (FACTS.md §2.6 layouts; flags/segment spacing as in real
// WinDbg captures) from hand-built contexts, the memory-operand annotation,
// and `r` on lldb/sigsegv.dmp with register values read by lldb-16.
#include <gtest/gtest.h>

#include "commands/command_views.h"
#include "commands/engine.h"
#include "dump/open_dump.h"
#include "memory/range_memory.h"
#include "support/test_support.h"

namespace nt {
namespace {

TEST(RegisterView, FlagsText) {
    EXPECT_EQ(flagsText(0x246), "nv up ei pl zr na pe nc");
    EXPECT_EQ(flagsText(0x202), "nv up ei pl nz na po nc");
    EXPECT_EQ(flagsText(0x10202), "nv up ei pl nz na po nc");
    EXPECT_EQ(flagsText(0x0cd5), "ov dn di ng zr ac pe cy");
}

CpuContext x64() {
    CpuContext c(Machine::Amd64);
    const Reg regs[] = {Reg::Rax, Reg::Rbx, Reg::Rcx, Reg::Rdx, Reg::Rsi, Reg::Rdi, Reg::Rbp, Reg::Rsp,
                        Reg::R8,  Reg::R9,  Reg::R10, Reg::R11, Reg::R12, Reg::R13, Reg::R14, Reg::R15};
    for (size_t i = 0; i < std::size(regs); ++i) c.set(regs[i], 0x1111111111111111ull * (i + 1) & 0xffffffffffffffffull);
    c.set(Reg::Rip, 0x7ff7a13110d9);
    c.set(Reg::Eflags, 0x10246);
    c.set(Reg::Cs, 0x33);
    c.set(Reg::Ss, 0x2b);
    c.set(Reg::Ds, 0x2b);
    c.set(Reg::Es, 0x2b);
    c.set(Reg::Fs, 0x53);
    c.set(Reg::Gs, 0x2b);
    return c;
}

TEST(RegisterView, X64Block) {
    auto lines = registerBlock(x64());
    ASSERT_EQ(lines.size(), 8u);
    EXPECT_EQ(lines[0], "rax=1111111111111111 rbx=2222222222222222 rcx=3333333333333333");
    EXPECT_EQ(lines[1], "rdx=4444444444444444 rsi=5555555555555555 rdi=6666666666666666");
    EXPECT_EQ(lines[2], "rip=00007ff7a13110d9 rsp=8888888888888888 rbp=7777777777777777");
    EXPECT_EQ(lines[3], " r8=9999999999999999  r9=aaaaaaaaaaaaaaaa r10=bbbbbbbbbbbbbbbb");
    EXPECT_EQ(lines[4], "r11=cccccccccccccccc r12=dddddddddddddddd r13=eeeeeeeeeeeeeeee");
    EXPECT_EQ(lines[5], "r14=ffffffffffffffff r15=1111111111111110");
    EXPECT_EQ(lines[6], "iopl=0         nv up ei pl zr na pe nc");
    EXPECT_EQ(lines[7], "cs=0033  ss=002b  ds=002b  es=002b  fs=0053  gs=002b             efl=00010246");
}

TEST(RegisterView, X86Block) {
    // MSDOCS "debugging an interrupt storm" register values.
    CpuContext c(Machine::X86);
    c.set(Reg::Rax, 0);
    c.set(Reg::Rbx, 0x813f4ff0);
    c.set(Reg::Rcx, 0x10);
    c.set(Reg::Rdx, 0xffdff848);
    c.set(Reg::Rsi, 0x8145d168);
    c.set(Reg::Rdi, 0x813f4fc8);
    c.set(Reg::Rip, 0xbfe33e7b);
    c.set(Reg::Rsp, 0xf714eec4);
    c.set(Reg::Rbp, 0xf714eee0);
    c.set(Reg::Eflags, 0x3246);  // iopl=3
    c.set(Reg::Cs, 0x8);
    c.set(Reg::Ss, 0x10);
    c.set(Reg::Ds, 0x23);
    c.set(Reg::Es, 0x23);
    c.set(Reg::Fs, 0x30);
    c.set(Reg::Gs, 0);
    auto lines = registerBlock(c);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], "eax=00000000 ebx=813f4ff0 ecx=00000010 edx=ffdff848 esi=8145d168 edi=813f4fc8");
    EXPECT_EQ(lines[1], "eip=bfe33e7b esp=f714eec4 ebp=f714eee0 iopl=3         nv up ei pl zr na pe nc");
    EXPECT_EQ(lines[2], "cs=0008  ss=0010  ds=0023  es=0023  fs=0030  gs=0000             efl=00003246");
}

TEST(RegisterView, Arm64Block) {
    // Values of a WinDbg ARM64 register display quoted in a public debugger
    // extension (x8, x9, x10, x11 row; fp/lr/sp row; pc/psr line).
    CpuContext c(Machine::Arm64);
    auto x = [](int i) { return static_cast<Reg>(static_cast<int>(Reg::X0) + i); };
    c.set(x(8), 0x72);
    c.set(x(11), 0xffffffffff817aa9);
    c.set(Reg::Fp, 0x000000293a8ffc10);
    c.set(Reg::Lr, 0x00007ffea80f7388);
    c.set(Reg::Sp, 0x000000293a8ff9e0);
    c.set(Reg::Pc, 0x00007ffea80e30f4);
    c.set(Reg::Cpsr, 0x60000000);
    auto lines = registerBlock(c);
    ASSERT_EQ(lines.size(), 9u);
    EXPECT_EQ(lines[2], " x8=0000000000000072   x9=0000000000000000  x10=0000000000000000  x11=ffffffffff817aa9");
    EXPECT_EQ(lines[7], "x28=0000000000000000   fp=000000293a8ffc10   lr=00007ffea80f7388   sp=000000293a8ff9e0");
    EXPECT_EQ(lines[8], " pc=00007ffea80e30f4  psr=60000000 -ZC- EL0");
}

TEST(RegisterView, SingleRegisterText) {
    CpuContext c = x64();
    EXPECT_EQ(registerValueText(c, "rax"), "rax=1111111111111111");
    EXPECT_EQ(registerValueText(c, "EAX"), "eax=11111111");
    EXPECT_EQ(registerValueText(c, "al"), "al=11");
    EXPECT_EQ(registerValueText(c, "efl"), "efl=00010246");
    EXPECT_EQ(registerValueText(c, "cs"), "cs=0033");
    EXPECT_FALSE(registerValueText(c, "xyz"));
}

TEST(RegisterView, MemoryAnnotation) {
    // A real x86 capture: "690795e5 ffb604040000    push    dword ptr [esi+404h] ds:002b:00a4fca0=00000000"
    // with esi=00a4f89c.
    CpuContext c(Machine::X86);
    c.set(Reg::Rsi, 0x00a4f89c);
    c.set(Reg::Ds, 0x2b);
    Disassembler d(Machine::X86);
    Instruction push = d.decode(0x690795e5, std::vector<uint8_t>{0xff, 0xb6, 0x04, 0x04, 0x00, 0x00}, nullptr);
    ReadFn zeros = [](uint64_t a, std::span<uint8_t> out) -> uint64_t {
        if (a != 0xa4fca0) return 0;
        std::fill(out.begin(), out.end(), 0);
        return out.size();
    };
    EXPECT_EQ(formatInstructionLine(push, false) + " " + memoryAnnotation(push, c, zeros, nullptr),
              "690795e5 ffb604040000    push    dword ptr [esi+404h] ds:002b:00a4fca0=00000000");
    // lea computes an address only: no annotation.
    Instruction lea = d.decode(0, std::vector<uint8_t>{0x8d, 0x46, 0x04}, nullptr);
    EXPECT_EQ(memoryAnnotation(lea, c, zeros, nullptr), "");
    // Missing memory is ?? per byte; x64 addresses carry the backtick.
    CpuContext c64 = x64();
    c64.set(Reg::Rdi, 3);
    Disassembler d64(Machine::Amd64);
    Instruction st = d64.decode(0, std::vector<uint8_t>{0x0f, 0xae, 0x1f}, nullptr);  // stmxcsr dword ptr [rdi]
    ReadFn none = [](uint64_t, std::span<uint8_t>) -> uint64_t { return 0; };
    EXPECT_EQ(st.text(), "stmxcsr dword ptr [rdi]");
    EXPECT_EQ(memoryAnnotation(st, c64, none, nullptr), "ds:002b:00000000`00000003=????????");
}

TEST(RegisterCommands, SigsegvExceptionContextMatchesLldb) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.dmp");
    Engine e(openDump(path));
    e.execute(".ecxr");
    Output o = e.execute("r");
    // Values from `lldb-16 -c sigsegv.dmp -o "register read"`; the faulting
    // instruction from `disassemble -p`: movl $0x0, 0x0 (11 bytes, next 0x7ff7a13110e4).
    const char* expected[] = {
        "Last set context:",
        "rax=0000000000000001 rbx=0000000000000000 rcx=00007ff7a1313010",
        "rdx=000000000000000a rsi=0000000000000000 rdi=0000000000000000",
        "rip=00007ff7a13110d9 rsp=000000addabaf6b0 rbp=0000000000000000",
        " r8=40091eb860000000  r9=00007ff7a1313060 r10=0000000000000000",
        "r11=0000000000000000 r12=0000000000000000 r13=0000000000000000",
        "r14=0000000000000000 r15=0000000000000000",
        "iopl=0         nv up ei pl nz na po nc",
        "cs=0033  ss=002b  ds=002b  es=002b  fs=0053  gs=002b             efl=00010202",
    };
    std::string want;
    for (const char* l : expected) want += std::string(l) + "\n";
    ASSERT_GE(o.text.size(), want.size());
    EXPECT_EQ(o.text.substr(0, want.size()), want);
    EXPECT_NE(o.text.find("\n00007ff7`a13110d9 c704250000000000000000 mov     dword ptr [0],0 ds:002b:00000000`00000000=????????\n"),
              std::string::npos)
        << o.text;
    EXPECT_EQ(o.json["registers"]["rip"], 0x7ff7a13110d9u);
    Output one = e.execute("r rax, @rip, efl");
    EXPECT_EQ(one.text, "rax=0000000000000001 rip=00007ff7a13110d9 efl=00010202\n");
    Output bad = e.execute("r foo");
    EXPECT_TRUE(bad.error);
    Output set = e.execute("r rax=0n10*2");
    EXPECT_FALSE(set.error) << set.text;
    EXPECT_EQ(e.execute("r rax").text, "rax=0000000000000014\n");
    e.execute("r @rbx = rax+1");
    EXPECT_EQ(e.execute("r rbx").text, "rbx=0000000000000015\n");
}

}  // namespace
}  // namespace nt
