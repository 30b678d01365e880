// x86 / x64 disassembly in WinDbg's layout (Zydis decodes; we render).
//
// WinDbg prints MASM-flavoured Intel syntax with its own conventions:
// operands joined by "," without a space, numbers as `8`, `10h`, `0FFh`
// (decimal below 10, else upper-case hex with an `h` suffix and a leading 0
// before a letter), `qword ptr [rax+10h]`, and branch / RIP-relative targets
// as `module!sym+0x16 (00007ff7`a1311096)`. Zydis' formatter differs in
// several of these, so operands are rendered here from Zydis' decoded
// operand structures, and only the mnemonic text comes from Zydis.
//
// A line looks like
//   00007ff7`a13110d9 c7042500000000000000 mov     dword ptr [0],0
// address, space, instruction bytes padded to 16 columns (longer runs over),
// space, mnemonic padded to 7 columns, space, operands.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "arch/machine.h"

namespace nt {

// Returns "module!function+0xoff" for an address, or "" when unknown.
using SymbolizeFn = std::function<std::string(uint64_t)>;
// Reads target memory: copies the present leading bytes, returns their count.
using ReadFn = std::function<uint64_t(uint64_t addr, std::span<uint8_t> out)>;
// Register value by WinDbg name ("rax", "ebp", "rip"); nullopt when unknown.
using RegFn = std::function<std::optional<uint64_t>(std::string_view)>;

// The memory operand of an instruction, enough to compute its effective
// address from a register set (for `r`'s "ds:addr=value" annotation).
struct MemOperand {
    std::string segment;  // "ds", "ss", "es", "fs", "gs", "cs"
    std::string base;     // register name, "" when none
    std::string index;    // register name, "" when none
    unsigned scale = 0;
    int64_t disp = 0;
    bool ripRelative = false;  // then `absolute` is the target
    uint64_t absolute = 0;
    unsigned size = 0;         // bytes accessed
    bool addressOnly = false;  // lea / nop-like: no access, no annotation
};

struct Instruction {
    uint64_t address = 0;
    unsigned length = 0;          // 0 when undecodable
    std::array<uint8_t, 15> bytes{};
    unsigned byteCount = 0;       // bytes shown (length, or 1 for an invalid byte)
    bool readable = true;         // false: first byte not in the dump ("??  ???")
    std::string mnemonic;         // "mov", "rep stos", "???" when invalid
    std::string operands;         // "qword ptr [rax+10h],rcx"
    bool isCall = false, isRet = false, isJump = false, isCondJump = false;
    std::optional<uint64_t> branchTarget;  // direct call/jmp target
    std::optional<MemOperand> memory;

    bool valid() const { return length != 0; }
    uint64_t next() const { return address + (length ? length : 1); }
    // "mov     rcx,qword ptr [rax+10h]" (mnemonic padded to 7 + space; no
    // trailing blanks when there are no operands).
    std::string text() const;
};

class Disassembler {
public:
    explicit Disassembler(Machine m);
    // x86 and x64 only for now.
    bool supported() const { return supported_; }
    Machine machine() const { return machine_; }
    static std::string unsupportedMessage(Machine m);

    // Decodes one instruction from `code` (at most 15 bytes are looked at).
    // Undecodable bytes give an invalid instruction of length 0.
    Instruction decode(uint64_t address, std::span<const uint8_t> code, const SymbolizeFn& sym) const;
    // Reads and decodes the instruction at address; unreadable memory gives a
    // `readable == false` instruction.
    Instruction decodeAt(uint64_t address, const ReadFn& read, const SymbolizeFn& sym) const;

    // The start address for `ub`: `count` instructions that end exactly at
    // `address`. Tries candidate starts far enough back and prefers the one
    // whose decoding lands on address through valid instructions. Falls back
    // to address - count when nothing aligns.
    uint64_t backwardStart(uint64_t address, unsigned count, const ReadFn& read) const;

private:
    Machine machine_;
    bool supported_ = false;
};

// The full WinDbg line: address, bytes column, instruction text.
std::string formatInstructionLine(const Instruction& insn, bool is64);

// WinDbg's number style inside disassembly: "8", "10h", "0FFFFFFFFh".
std::string masmNumber(uint64_t v);

// Effective address of a memory operand with the given registers
// (nullopt when a register is unknown).
std::optional<uint64_t> effectiveAddress(const MemOperand& m, const RegFn& reg, uint64_t nextIp, bool is64);

}  // namespace nt
