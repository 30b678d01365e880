// WinDbg MASM expressions: `poi(@rsp+8)`, `ntdll!RtlUserThreadStart+0x21`,
// `00007ff7`a13110d9`, `0n10 * 2`, `@$teb`, `rip`, `by(@esi) & 0y1010`.
//
// Numbers default to hex; 0x (hex), 0n (decimal), 0t (octal), 0y (binary)
// prefixes; a backtick may split 64-bit numbers. A word that is a valid
// number is a number ("add" is 0xadd); otherwise a register, else a symbol.
// `@name` is always a register or pseudo-register.
//
// Precedence, highest first (WinDbg's MASM table): unary (- + ~ not hi low by
// wo dwo qwo poi), * / % mod, + -, << >> >>>, = == != < > <= >=, & and,
// ^ xor, | or. Comparisons give 1 or 0 and compare signed values.
//
// The evaluator knows nothing about dumps: registers, memory and symbols
// come through ExprEnv. makeEngineExprEnv builds one over an Engine.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace nt {

class Engine;

struct ExprEnv {
    virtual ~ExprEnv() = default;
    // Register or pseudo-register by name without '@' ("rax", "al", "$ip",
    // "$teb"); nullopt when unknown.
    virtual std::optional<uint64_t> reg(std::string_view name) = 0;
    // Little-endian read of size (1, 2, 4, 8) bytes; nullopt when missing.
    virtual std::optional<uint64_t> read(uint64_t addr, unsigned size) = 0;
    // "module!name", "name", or a module name (its base); nullopt when unknown.
    virtual std::optional<uint64_t> symbol(std::string_view name) = 0;
    virtual unsigned pointerSize() const = 0;
    // Largest range, in bytes, a command may ask for without "L?" (WinDbg:
    // 256 MiB). Embedders that must bound work (the fuzzer) lower it.
    virtual uint64_t rangeLimit() const { return 256ull << 20; }
};

// The user's expression is wrong; what() is WinDbg's message, e.g.
// "Syntax error at '+'", "Couldn't resolve error at 'foo'",
// "Memory access error at ') '", "Divide by zero error at '0'".
class ExprError : public UsageError {
public:
    using UsageError::UsageError;
};

// Evaluates the whole text; trailing text is a syntax error.
uint64_t evaluate(std::string_view text, ExprEnv& env);

// Evaluates the longest expression at the start of text (leading blanks
// skipped) and reports where it stopped, so that commands can take more
// arguments after it: `dd esp L4`, `db 1000 2000`.
struct PrefixResult {
    uint64_t value = 0;
    size_t consumed = 0;  // characters of text used, including blanks after the expression
};
PrefixResult evaluatePrefix(std::string_view text, ExprEnv& env);

// An address range argument as the display commands take it:
//   addr            -> default count
//   addr L count    -> count elements (also "Lcount", "L?count", "l?count")
//   addr1 addr2     -> up to and including addr2
struct AddressRange {
    uint64_t start = 0;
    uint64_t count = 0;  // elements
};
// elemSize: bytes per element (for addr1 addr2 and the size cap);
// defaultCount: elements when no length is given. Without '?' a range over
// 256 MiB is refused ("Range error"), as WinDbg does; with "L?" up to 4 GiB.
AddressRange parseRange(std::string_view args, ExprEnv& env, unsigned elemSize, uint64_t defaultCount);

// `?` output: "Evaluate expression: 4198 = 00001066" (32-bit) or
// "Evaluate expression: 140701537849561 = 00007ff7`a13110d9" (64-bit).
// The decimal is the signed value at the target's width.
std::string formatEvaluate(uint64_t value, bool is64);

// ExprEnv over an engine: registers of the current scope context,
// $ip/$csp/$teb/$peb/$tid/$ptrsize/$exentry, target memory, symbols and
// module names. Lives in eval_commands.cpp (it needs the whole engine).
std::unique_ptr<ExprEnv> makeEngineExprEnv(Engine& engine);

}  // namespace nt
