// Disassembly lines for byte sequences taken from the Wine fixtures
// (tests/fixtures/wine/out/crash-{x64,x86}-clang.exe). Instruction identity
// (length, mnemonic, operands, targets) was read with
// `llvm-objdump-16 -d --x86-asm-syntax=intel`; the line layout and number
// style follow WinDbg (FACTS.md §2.9).
#include "arch/disasm.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace nt {
namespace {

std::string line(Machine m, uint64_t addr, std::vector<uint8_t> bytes, const SymbolizeFn& sym = nullptr) {
    Disassembler d(m);
    Instruction i = d.decode(addr, bytes, sym);
    return formatInstructionLine(i, m == Machine::Amd64);
}

TEST(MasmNumber, WinDbgStyle) {
    EXPECT_EQ(masmNumber(0), "0");
    EXPECT_EQ(masmNumber(9), "9");
    EXPECT_EQ(masmNumber(0x10), "10h");
    EXPECT_EQ(masmNumber(0xa), "0Ah");
    EXPECT_EQ(masmNumber(0x5a4d), "5A4Dh");
    EXPECT_EQ(masmNumber(0xffffffff), "0FFFFFFFFh");
}

TEST(DisasmX64, LayoutAndOperands) {
    // 140001010: 48 83 ec 28   sub rsp, 0x28
    EXPECT_EQ(line(Machine::Amd64, 0x140001010, {0x48, 0x83, 0xec, 0x28}),
              "00000001`40001010 4883ec28        sub     rsp,28h");
    // 14000101d: c7 00 01 00 00 00   mov dword ptr [rax], 0x1
    EXPECT_EQ(line(Machine::Amd64, 0x14000101d, {0xc7, 0x00, 0x01, 0x00, 0x00, 0x00}),
              "00000001`4000101d c70001000000    mov     dword ptr [rax],1");
    // 1400010ae: c3 ret (no trailing blanks)
    EXPECT_EQ(line(Machine::Amd64, 0x1400010ae, {0xc3}), "00000001`400010ae c3              ret");
    // 140001044: 66 81 38 4d 5a   cmp word ptr [rax], 0x5a4d
    EXPECT_EQ(line(Machine::Amd64, 0x140001044, {0x66, 0x81, 0x38, 0x4d, 0x5a}),
              "00000001`40001044 6681384d5a      cmp     word ptr [rax],5A4Dh");
    // 1400010d2: 83 b8 84 00 00 00 0e   cmp dword ptr [rax + 0x84], 0xe
    EXPECT_EQ(line(Machine::Amd64, 0x1400010d2, {0x83, 0xb8, 0x84, 0x00, 0x00, 0x00, 0x0e}),
              "00000001`400010d2 83b8840000000e  cmp     dword ptr [rax+84h],0Eh");
    // 14000104b: 48 63 50 3c   movsxd rdx, dword ptr [rax + 0x3c]
    EXPECT_EQ(line(Machine::Amd64, 0x14000104b, {0x48, 0x63, 0x50, 0x3c}),
              "00000001`4000104b 4863503c        movsxd  rdx,dword ptr [rax+3Ch]");
}

TEST(DisasmX64, LongInstructionRunsOverTheBytesColumn) {
    // 140001001: 66 66 2e 0f 1f 84 00 00 00 00 00  nop word ptr cs:[rax + rax]
    EXPECT_EQ(line(Machine::Amd64, 0x140001001, {0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}),
              "00000001`40001001 66662e0f1f840000000000 nop     word ptr cs:[rax+rax]");
    // c7 04 25 <disp32 0> <imm32 0>: mov dword ptr [0], 0 (11 bytes)
    EXPECT_EQ(line(Machine::Amd64, 0x7ff7a13110d9, {0xc7, 0x04, 0x25, 0, 0, 0, 0, 0, 0, 0, 0}),
              "00007ff7`a13110d9 c704250000000000000000 mov     dword ptr [0],0");
}

TEST(DisasmX64, BranchTargetsUseSymbols) {
    std::map<uint64_t, std::string> syms = {{0x140002480, "crash!nt_args"}};
    SymbolizeFn sym = [&](uint64_t a) {
        auto it = syms.find(a);
        return it == syms.end() ? std::string() : it->second;
    };
    Disassembler d(Machine::Amd64);
    // 14000106d.. 140001072: e8 09 14 00 00   call 0x140002480
    std::vector<uint8_t> call = {0xe8, 0x09, 0x14, 0x00, 0x00};
    Instruction i = d.decode(0x140001072, call, sym);
    EXPECT_TRUE(i.isCall);
    ASSERT_TRUE(i.branchTarget);
    EXPECT_EQ(*i.branchTarget, 0x140002480u);
    EXPECT_EQ(formatInstructionLine(i, true), "00000001`40001072 e809140000      call    crash!nt_args (00000001`40002480)");
    // 1400010ba: eb bb   jmp 0x140001077 (no symbol: bare address)
    EXPECT_EQ(line(Machine::Amd64, 0x1400010ba, {0xeb, 0xbb}, sym), "00000001`400010ba ebbb            jmp     00000001`40001077");
    // 1400010d9: 0f 86 7b ff ff ff   jbe 0x14000105a
    Instruction j = d.decode(0x1400010d9, std::vector<uint8_t>{0x0f, 0x86, 0x7b, 0xff, 0xff, 0xff}, nullptr);
    EXPECT_TRUE(j.isCondJump);
    EXPECT_EQ(j.operands, "00000001`4000105a");
}

TEST(DisasmX64, RipRelativeShowsAbsoluteTarget) {
    SymbolizeFn sym = [](uint64_t a) { return a == 0x140009000 ? std::string("crash!__imp_x") : std::string(); };
    // 140001014: 48 8b 05 e5 7f 00 00   mov rax, qword ptr [rip + 0x7fe5] # 0x140009000
    Disassembler d(Machine::Amd64);
    Instruction i = d.decode(0x140001014, std::vector<uint8_t>{0x48, 0x8b, 0x05, 0xe5, 0x7f, 0, 0}, sym);
    EXPECT_EQ(i.text(), "mov     rax,qword ptr [crash!__imp_x (00000001`40009000)]");
    ASSERT_TRUE(i.memory);
    EXPECT_TRUE(i.memory->ripRelative);
    EXPECT_EQ(i.memory->absolute, 0x140009000u);
    EXPECT_EQ(i.memory->size, 8u);
    // 140001061: 89 0d 99 b0 00 00   mov dword ptr [rip + 0xb099], ecx # 0x14000c100
    Instruction k = d.decode(0x140001061, std::vector<uint8_t>{0x89, 0x0d, 0x99, 0xb0, 0, 0}, sym);
    EXPECT_EQ(k.text(), "mov     dword ptr [00000001`4000c100],ecx");
}

TEST(DisasmX64, NegativeDisplacementAndLea) {
    // 48 8d 4c 24 20  lea rcx, [rsp + 0x20]: no size for lea
    Disassembler d(Machine::Amd64);
    Instruction i = d.decode(0, std::vector<uint8_t>{0x48, 0x8d, 0x4c, 0x24, 0x20}, nullptr);
    EXPECT_EQ(i.text(), "lea     rcx,[rsp+20h]");
    ASSERT_TRUE(i.memory);
    EXPECT_TRUE(i.memory->addressOnly);
    // 48 8b 45 f8  mov rax, qword ptr [rbp - 0x8]
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x48, 0x8b, 0x45, 0xf8}, nullptr).text(), "mov     rax,qword ptr [rbp-8]");
    // 65 48 8b 04 25 30 00 00 00  mov rax, qword ptr gs:[0x30]
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x65, 0x48, 0x8b, 0x04, 0x25, 0x30, 0, 0, 0}, nullptr).text(),
              "mov     rax,qword ptr gs:[30h]");
    // 48 83 e4 f0  and rsp, 0xfffffffffffffff0
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x48, 0x83, 0xe4, 0xf0}, nullptr).text(), "and     rsp,0FFFFFFFFFFFFFFF0h");
    // f3 aa  rep stosb byte ptr es:[rdi], al
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0xf3, 0xaa}, nullptr).text(), "rep stos byte ptr [rdi]");
}

TEST(DisasmX64, MicrosoftConditionNames) {
    // llvm-objdump-16 on crash-x64-clang.exe: 140001049: 75 0f jne; 140001058: 74 66 je.
    Disassembler d(Machine::Amd64);
    EXPECT_EQ(d.decode(0x140001049, std::vector<uint8_t>{0x75, 0x0f}, nullptr).text(), "jne     00000001`4000105a");
    EXPECT_EQ(d.decode(0x140001058, std::vector<uint8_t>{0x74, 0x66}, nullptr).text(), "je      00000001`400010c0");
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x77, 0x00}, nullptr).mnemonic, "ja");
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x73, 0x00}, nullptr).mnemonic, "jae");
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x7d, 0x00}, nullptr).mnemonic, "jge");
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x7f, 0x00}, nullptr).mnemonic, "jg");
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x0f, 0x94, 0xc0}, nullptr).text(), "sete    al");
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x0f, 0x45, 0xc1}, nullptr).text(), "cmovne  eax,ecx");
    // x87 registers in MASM spelling (dd d9 = fstp st(1)), 9b = wait.
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0xdd, 0xd9}, nullptr).text(), "fstp    st(1)");
    EXPECT_EQ(d.decode(0, std::vector<uint8_t>{0x9b}, nullptr).text(), "wait");
    // FACTS.md §2.6: "cc              int     3"
    EXPECT_EQ(formatInstructionLine(d.decode(0xfffff803bb757020, std::vector<uint8_t>{0xcc}, nullptr), true),
              "fffff803`bb757020 cc              int     3");
}

TEST(DisasmX86, AbsoluteOperandsAndBranches) {
    // 40101e: c7 05 c4 c0 40 00 01 00 00 00   mov dword ptr [0x40c0c4], 0x1
    EXPECT_EQ(line(Machine::X86, 0x40101e, {0xc7, 0x05, 0xc4, 0xc0, 0x40, 0x00, 0x01, 0, 0, 0}),
              "0040101e c705c4c0400001000000 mov     dword ptr ds:[0040C0C4h],1");
    SymbolizeFn sym = [](uint64_t a) { return a == 0x40c0d0 ? std::string("crash!nt_null_ptr") : std::string(); };
    // 40105b: a1 d0 c0 40 00   mov eax, dword ptr [0x40c0d0]
    EXPECT_EQ(line(Machine::X86, 0x40105b, {0xa1, 0xd0, 0xc0, 0x40, 0x00}, sym),
              "0040105b a1d0c04000      mov     eax,dword ptr [crash!nt_null_ptr (0040c0d0)]");
    // 40106b: e8 30 13 00 00   call 0x4023a0
    EXPECT_EQ(line(Machine::X86, 0x40106b, {0xe8, 0x30, 0x13, 0x00, 0x00}), "0040106b e830130000      call    004023a0");
    // 401010: 83 ec 1c  sub esp, 0x1c
    EXPECT_EQ(line(Machine::X86, 0x401010, {0x83, 0xec, 0x1c}), "00401010 83ec1c          sub     esp,1Ch");
    // 401044: 81 ba 00 00 40 00 50 45 00 00  cmp dword ptr [edx + 0x400000], 0x4550
    EXPECT_EQ(line(Machine::X86, 0x401044, {0x81, 0xba, 0, 0, 0x40, 0, 0x50, 0x45, 0, 0}),
              "00401044 81ba0000400050450000 cmp     dword ptr [edx+400000h],4550h");
    // 64 a1 18 00 00 00  mov eax, dword ptr fs:[0x18]
    EXPECT_EQ(line(Machine::X86, 0x401000, {0x64, 0xa1, 0x18, 0, 0, 0}), "00401000 64a118000000    mov     eax,dword ptr fs:[00000018h]");
}

TEST(Disasm, InvalidAndUnreadable) {
    Disassembler d(Machine::Amd64);
    // 0x06 (push es) is invalid in 64-bit mode.
    Instruction i = d.decode(0x1000, std::vector<uint8_t>{0x06}, nullptr);
    EXPECT_FALSE(i.valid());
    EXPECT_EQ(i.next(), 0x1001u);
    EXPECT_EQ(formatInstructionLine(i, true), "00000000`00001000 06              ???");
    ReadFn none = [](uint64_t, std::span<uint8_t>) -> uint64_t { return 0; };
    Instruction u = d.decodeAt(0x2000, none, nullptr);
    EXPECT_FALSE(u.readable);
    EXPECT_EQ(formatInstructionLine(u, true), "00000000`00002000 ??              ???");
    EXPECT_FALSE(Disassembler(Machine::Arm64).supported());
    EXPECT_EQ(Disassembler::unsupportedMessage(Machine::Arm64), "disassembly not supported for ARM64 yet");
}

TEST(Disasm, BackwardStartFindsInstructionBoundary) {
    // 140001077..1400010ae from crash-x64-clang.exe (objdump boundaries:
    // ...097 call, 09c mov, 0a3 cmp, 0a6 je, 0a8 xor, 0aa add, 0ae ret).
    std::vector<uint8_t> code = {
        0xe8, 0x84, 0x13, 0x00, 0x00,                     // 140001077 call
        0x48, 0x8b, 0x15, 0xcd, 0x7f, 0x00, 0x00,         // 14000107c mov
        0x8b, 0x12,                                       // 140001083
        0x89, 0x10,                                       // 140001085
        0xe8, 0x84, 0x13, 0x00, 0x00,                     // 140001087
        0x48, 0x8b, 0x15, 0xcd, 0x7f, 0x00, 0x00,         // 14000108c
        0x8b, 0x12,                                       // 140001093
        0x89, 0x10,                                       // 140001095
        0xe8, 0xf4, 0x09, 0x00, 0x00,                     // 140001097
        0x48, 0x8b, 0x05, 0xcd, 0x7f, 0x00, 0x00,         // 14000109c
        0x83, 0x38, 0x01,                                 // 1400010a3
        0x74, 0x50,                                       // 1400010a6
        0x31, 0xc0,                                       // 1400010a8
        0x48, 0x83, 0xc4, 0x28,                           // 1400010aa
        0xc3,                                             // 1400010ae
    };
    const uint64_t base = 0x140001077;
    ReadFn read = [&](uint64_t a, std::span<uint8_t> out) -> uint64_t {
        if (a < base || a >= base + code.size()) return 0;
        uint64_t n = std::min<uint64_t>(out.size(), base + code.size() - a);
        std::copy_n(code.begin() + static_cast<long>(a - base), n, out.begin());
        return n;
    };
    Disassembler d(Machine::Amd64);
    EXPECT_EQ(d.backwardStart(0x1400010ae, 4, read), 0x1400010a3u);
    EXPECT_EQ(d.backwardStart(0x1400010ae, 1, read), 0x1400010aau);
    EXPECT_EQ(d.backwardStart(0x1400010a3, 3, read), 0x140001095u);
    // More instructions asked than the readable bytes hold: start at the
    // earliest boundary that still lands on the address.
    uint64_t s = d.backwardStart(0x14000107c, 8, read);
    EXPECT_EQ(s, 0x140001077u);
    // A huge count costs bounded work and still lands on a boundary.
    EXPECT_EQ(d.backwardStart(0x1400010ae, 100000, read), 0x140001077u);
    // Unreadable bytes before the address: one byte per instruction.
    EXPECT_EQ(d.backwardStart(0x140001077, 2, read), 0x140001075u);
}

}  // namespace
}  // namespace nt
