#include "breakpad/program_string.h"

#include <fmt/format.h>

namespace nt::breakpad {

std::optional<uint64_t> ProgramVariables::get(std::string_view name) const {
    for (const auto& [n, v] : vars_)
        if (n == name) return v;
    return std::nullopt;
}

bool ProgramVariables::set(std::string_view name, uint64_t value) {
    for (auto& [n, v] : vars_) {
        if (n == name) {
            v = value;
            return true;
        }
    }
    if (name.size() > kMaxNameLength || vars_.size() >= kMaxVariables) return false;
    vars_.emplace_back(std::string(name), value);
    return true;
}

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Printable excerpt of a hostile token for error messages.
std::string shown(std::string_view tok) {
    std::string s;
    for (char c : tok.substr(0, 40)) s += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (tok.size() > 40) s += "...";
    return s;
}

// Decimal literal, optionally negative (wrapping like Breakpad's istream
// parse into an unsigned type). Nullopt when tok is not a number at all;
// overflow is reported through `overflow`.
std::optional<uint64_t> parseLiteral(std::string_view tok, bool& overflow) {
    overflow = false;
    bool neg = false;
    if (!tok.empty() && tok[0] == '-') {
        neg = true;
        tok.remove_prefix(1);
    }
    if (tok.empty()) return std::nullopt;
    uint64_t v = 0;
    for (char c : tok) {
        if (c < '0' || c > '9') return std::nullopt;
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) {
            overflow = true;
            return std::nullopt;
        }
        v = v * 10 + d;
    }
    return neg ? (0 - v) : v;
}

class Evaluator {
public:
    Evaluator(ProgramVariables& vars, const ProgramMemoryRead& read, ProgramWidth width,
              const ProgramLimits& limits, bool allowAssign)
        : vars_(vars), read_(read), width_(width), limits_(limits), allowAssign_(allowAssign) {}

    std::optional<ProgramError> run(std::string_view text) {
        if (text.size() > limits_.maxLength)
            return ProgramError{fmt::format("program string too long ({} bytes, limit {})",
                                            text.size(), limits_.maxLength),
                                0};
        size_t i = 0;
        size_t index = 0;
        while (true) {
            while (i < text.size() && isSpace(text[i])) ++i;
            if (i >= text.size()) break;
            size_t start = i;
            while (i < text.size() && !isSpace(text[i])) ++i;
            // Microsoft's tools write some programs with the assignment glued
            // to the next name ("$T0 $ebp 204 + =$eip $T0 4 + ^ =..."; in
            // symbolic/crash.sym); Breakpad splits them the same way.
            if (text[start] == '=' && i - start > 1) i = start + 1;
            if (index >= limits_.maxTokens)
                return ProgramError{fmt::format("too many tokens (limit {})", limits_.maxTokens),
                                    index};
            if (auto err = token(text.substr(start, i - start), index)) return err;
            ++index;
        }
        tokens_ = index;
        return std::nullopt;
    }

    size_t depth() const { return stack_.size(); }
    std::string_view topName() const { return stack_.empty() ? std::string_view{} : stack_.back().name; }
    size_t tokens() const { return tokens_; }
    // The top entry as a value (resolving a name); only after a clean run.
    std::optional<uint64_t> topValue() {
        if (stack_.empty()) return std::nullopt;
        uint64_t v = 0;
        if (!valueOf(stack_.back(), v)) return std::nullopt;
        return v;
    }

private:
    // An operand is kept unresolved while it might be an assignment target:
    // '=' needs the name, everything else its value.
    struct Operand {
        bool isName = false;
        std::string_view name;
        uint64_t value = 0;
    };

    uint64_t mask(uint64_t v) const {
        return width_ == ProgramWidth::k32 ? (v & 0xffffffffull) : v;
    }

    bool valueOf(const Operand& o, uint64_t& out) const {
        if (!o.isName) {
            out = o.value;
            return true;
        }
        auto v = vars_.get(o.name);
        if (!v) return false;
        out = mask(*v);
        return true;
    }

    ProgramError err(size_t index, std::string msg) const { return ProgramError{std::move(msg), index}; }

    std::optional<ProgramError> push(Operand o, size_t index) {
        if (stack_.size() >= limits_.maxStackDepth)
            return err(index, fmt::format("stack overflow (depth limit {})", limits_.maxStackDepth));
        stack_.push_back(o);
        return std::nullopt;
    }

    std::optional<ProgramError> pop(uint64_t& v, std::string_view tok, size_t index) {
        if (stack_.empty())
            return err(index, fmt::format("stack underflow at '{}'", shown(tok)));
        Operand o = stack_.back();
        stack_.pop_back();
        if (!valueOf(o, v))
            return err(index, fmt::format("undefined variable '{}'", shown(o.name)));
        return std::nullopt;
    }

    std::optional<ProgramError> token(std::string_view tok, size_t index) {
        if (tok.size() == 1) {
            char c = tok[0];
            switch (c) {
                case '+': case '-': case '*': case '/': case '%': case '@': {
                    uint64_t b = 0, a = 0;
                    if (auto e = pop(b, tok, index)) return e;
                    if (auto e = pop(a, tok, index)) return e;
                    uint64_t r = 0;
                    switch (c) {
                        case '+': r = a + b; break;
                        case '-': r = a - b; break;
                        case '*': r = a * b; break;
                        case '/':
                        case '%':
                            if (b == 0) return err(index, fmt::format("division by zero at '{}'", c));
                            r = c == '/' ? a / b : a % b;
                            break;
                        // Breakpad: operand1 & (~0 ^ (operand2 - 1)).
                        default: r = a & ~(b - 1); break;
                    }
                    return push(Operand{false, {}, mask(r)}, index);
                }
                case '^': {
                    uint64_t addr = 0;
                    if (auto e = pop(addr, tok, index)) return e;
                    unsigned size = static_cast<unsigned>(width_);
                    std::optional<uint64_t> v = read_ ? read_(addr, size) : std::nullopt;
                    if (!v)
                        return err(index, fmt::format("cannot read {} bytes at {:#x}", size, addr));
                    return push(Operand{false, {}, mask(*v)}, index);
                }
                case '=': {
                    if (!allowAssign_) return err(index, "assignment in an expression");
                    uint64_t v = 0;
                    if (auto e = pop(v, tok, index)) return e;
                    if (stack_.empty()) return err(index, "assignment without a target");
                    Operand target = stack_.back();
                    stack_.pop_back();
                    // Only '$' names are assignable, as in Breakpad: the '.'
                    // names are the record's constants.
                    if (!target.isName || target.name.empty() || target.name[0] != '$')
                        return err(index, "assignment target is not a $variable");
                    if (!vars_.set(target.name, v))
                        return err(index, fmt::format("too many variables at '{}'", shown(target.name)));
                    return std::nullopt;
                }
                default:
                    break;
            }
        }
        bool overflow = false;
        if (auto lit = parseLiteral(tok, overflow)) return push(Operand{false, {}, mask(*lit)}, index);
        if (overflow) return err(index, fmt::format("number out of range '{}'", shown(tok)));
        char c0 = tok[0];
        bool digitStart = (c0 >= '0' && c0 <= '9') || c0 == '-';
        if (digitStart || tok.size() > ProgramVariables::kMaxNameLength)
            return err(index, fmt::format("bad token '{}'", shown(tok)));
        return push(Operand{true, tok, 0}, index);
    }

    ProgramVariables& vars_;
    const ProgramMemoryRead& read_;
    ProgramWidth width_;
    ProgramLimits limits_;
    bool allowAssign_;
    std::vector<Operand> stack_;
    size_t tokens_ = 0;
};

}  // namespace

std::optional<ProgramError> evaluateProgram(std::string_view program, ProgramVariables& vars,
                                            const ProgramMemoryRead& read, ProgramWidth width,
                                            const ProgramLimits& limits) {
    Evaluator ev(vars, read, width, limits, true);
    if (auto e = ev.run(program)) return e;
    if (ev.depth() != 0)
        return ProgramError{fmt::format("{} value(s) left on the stack at the end", ev.depth()),
                            ev.tokens()};
    return std::nullopt;
}

ExpressionResult evaluateExpression(std::string_view expression, const ProgramVariables& vars,
                                    const ProgramMemoryRead& read, ProgramWidth width,
                                    const ProgramLimits& limits) {
    // The evaluator takes a mutable table for assignments; an expression
    // assigns nothing (rejected above), so a copy-free const_cast would also
    // do, but a copy keeps the contract obvious and tables are tiny.
    ProgramVariables scratch = vars;
    Evaluator ev(scratch, read, width, limits, false);
    if (auto e = ev.run(expression)) return {std::nullopt, std::move(e)};
    if (ev.depth() != 1)
        return {std::nullopt,
                ProgramError{fmt::format("expression leaves {} values (expected 1)", ev.depth()),
                             ev.tokens()}};
    auto v = ev.topValue();
    if (!v)
        return {std::nullopt, ProgramError{fmt::format("undefined variable '{}'", shown(ev.topName())),
                                           ev.tokens() - 1}};
    return {v, std::nullopt};
}

}  // namespace nt::breakpad
