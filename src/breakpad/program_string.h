// Postfix "program strings": the little stack language of Microsoft FrameData
// (STACK WIN type 4 in Breakpad files) and of Breakpad STACK CFI rules, e.g.
//   $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =
//
// Tokens are separated by whitespace:
//   number            decimal literal (a leading '-' wraps, as in Breakpad)
//   name              a variable ($eip, $T0, .cbSavedRegs, .cfa, x29 ...)
//   + - * / %         binary arithmetic, wrapping at the value width
//   @                 align: a b @ = a & ~(b-1)
//   ^                 dereference: replaces the address on top with the
//                     width-sized little-endian value read through the callback
//   =                 assignment: name value =  (the name must start with '$')
//
// Assignments are visible to the rest of the program immediately (sequential
// semantics, as in dbghelp and Breakpad's PostfixEvaluator), which the
// standard FrameData programs rely on ($T0 is assigned, then read).
//
// Input is hostile (it comes from symbol files): the program length, token
// count, stack depth and number of variables are bounded, and every failure is
// returned as a ProgramError value; nothing throws.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nt::breakpad {

// Reads `size` (4 or 8) bytes at addr from the target; nullopt when unreadable.
using ProgramMemoryRead = std::function<std::optional<uint64_t>(uint64_t addr, unsigned size)>;

// Variable name -> value. A flat vector: programs use a handful of names.
class ProgramVariables {
public:
    static constexpr size_t kMaxVariables = 128;
    static constexpr size_t kMaxNameLength = 64;

    std::optional<uint64_t> get(std::string_view name) const;
    // False when the table is full or the name too long.
    bool set(std::string_view name, uint64_t value);
    bool has(std::string_view name) const { return get(name).has_value(); }
    size_t size() const { return vars_.size(); }
    const std::vector<std::pair<std::string, uint64_t>>& entries() const { return vars_; }

private:
    std::vector<std::pair<std::string, uint64_t>> vars_;
};

struct ProgramError {
    std::string message;  // one line, names the token when there is one
    size_t tokenIndex = 0;  // 0-based index of the failing token
};

struct ProgramLimits {
    size_t maxLength = 4096;  // bytes of program text
    size_t maxTokens = 1024;
    size_t maxStackDepth = 64;
};

// Value width in bytes: 4 for x86 FrameData (arithmetic wraps at 32 bits and
// '^' reads 32-bit values), 8 for 64-bit CFI.
enum class ProgramWidth : unsigned { k32 = 4, k64 = 8 };

// Runs an assignment program against vars (which supplies the initial
// registers and .cb* constants and receives the assignments). The operand
// stack must be empty at the end. On error vars may hold the assignments made
// before the failing token.
std::optional<ProgramError> evaluateProgram(std::string_view program, ProgramVariables& vars,
                                            const ProgramMemoryRead& read,
                                            ProgramWidth width = ProgramWidth::k32,
                                            const ProgramLimits& limits = {});

// Evaluates an expression that leaves exactly one value and assigns nothing
// (a CFI rule such as ".cfa 8 - ^", or .raSearchStart in FrameData).
struct ExpressionResult {
    std::optional<uint64_t> value;
    std::optional<ProgramError> error;  // set exactly when value is not
};
ExpressionResult evaluateExpression(std::string_view expression, const ProgramVariables& vars,
                                    const ProgramMemoryRead& read,
                                    ProgramWidth width = ProgramWidth::k32,
                                    const ProgramLimits& limits = {});

}  // namespace nt::breakpad
