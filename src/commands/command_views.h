// Pure renderers behind the memory, disassembly, symbol and register
// commands. Each takes plain inputs (a Memory, a CpuContext, symbol
// callbacks) and returns WinDbg's lines plus the same facts as JSON, so they
// are testable without an engine; the registered command handlers are thin
// wrappers that parse arguments and call these.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/context.h"
#include "arch/disasm.h"
#include "memory/memory.h"

namespace nt {

struct Rendered {
    std::vector<std::string> lines;
    nlohmann::json json = nlohmann::json::object();
    uint64_t next = 0;  // where a repeated command without arguments continues
};

// ---- memory_commands.cpp -------------------------------------------------

enum class MemStyle {
    Bytes,     // db: 16 bytes, '-' between the 8th and 9th, ASCII column
    Words,     // dw: 8 per line
    Dwords,    // dd: 4 per line
    Qwords,    // dq: 2 per line, 00000000`00000000
    DwordSym,  // dds: one per line + symbol
    QwordSym,  // dqs
    Ascii,     // da: "text", up to 48 characters per line
    Unicode,   // du
};
unsigned elementSize(MemStyle s);
// count: elements (bytes for db, characters for da/du). Missing bytes print
// as ?? (db), ???????? (dd), and '?' in the ASCII column.
Rendered dumpMemory(const Memory& mem, uint64_t start, uint64_t count, MemStyle style, bool is64,
                    const SymbolizeFn& sym);

// ---- disasm_commands.cpp -------------------------------------------------

// `count` instructions from `start`, with a "module!func+0xoff:" header
// before the first line and whenever the symbol changes.
Rendered disassembleLines(const Disassembler& d, uint64_t start, unsigned count, const ReadFn& read,
                          const SymbolizeFn& sym, bool is64);
// `uf`: the instructions of [begin, end) (from .pdata) or, without bounds,
// following the code from begin until a ret/jmp with no later branch
// target, at most maxInsns.
Rendered disassembleFunction(const Disassembler& d, uint64_t begin, std::optional<uint64_t> end, const ReadFn& read,
                             const SymbolizeFn& sym, bool is64, unsigned maxInsns = 4096);

// ---- register_commands.cpp -----------------------------------------------

// "nv up ei pl nz na pe nc" for an EFLAGS value.
std::string flagsText(uint32_t efl);
// The register block of `r` (x86, x64, ARM64), without the symbol and
// instruction lines.
std::vector<std::string> registerBlock(const CpuContext& ctx);
// "rax=0000000000000001" (width from the register); nullopt for unknown names.
std::optional<std::string> registerValueText(const CpuContext& ctx, std::string_view name);
// "ds:002b:00000000`00000000=????????" for the instruction's memory operand
// ("" when it has none or it only computes an address).
std::string memoryAnnotation(const Instruction& insn, const CpuContext& ctx, const ReadFn& read, const SymbolizeFn& sym);

// ---- symbol_commands.cpp -------------------------------------------------

// `ln`: "(00007ff7`a1311080)   sigsegv!crash+0x59   |  (00007ff7`a1311100)   sigsegv!main"
// prev/next: nearest symbols (name, address) around addr.
struct NearSymbol {
    std::string name;  // "sigsegv!crash"
    uint64_t address = 0;
};
std::string lnLine(uint64_t addr, const std::optional<NearSymbol>& prev, const std::optional<NearSymbol>& next, bool is64);
// `x`: "00007ff9`66b7c203 ntdll!RtlReportCriticalFailure (<no parameter info>)"
std::string xLine(uint64_t addr, const std::string& qualifiedName, bool is64);

}  // namespace nt
