#include "commands/expression.h"

#include <cctype>
#include <string>

#include "base/format.h"

namespace nt {

namespace {

// Nesting limit: hostile or fuzzed input must not exhaust the stack.
constexpr int kMaxDepth = 200;

bool isWordChar(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '_' || c == '$' || c == '!' || c == '`' || c == '.';
}

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

int digitValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

// A number in WinDbg's notation, or nullopt when the word is not one.
// `overflow` is set when the digits are valid but do not fit 64 bits.
std::optional<uint64_t> parseNumber(std::string_view w, bool& overflow) {
    overflow = false;
    unsigned radix = 16;
    if (w.size() > 2 && w[0] == '0') {
        char p = static_cast<char>(std::tolower(static_cast<unsigned char>(w[1])));
        if (p == 'x') radix = 16;
        else if (p == 'n') radix = 10;
        else if (p == 't') radix = 8;
        else if (p == 'y') radix = 2;
        if (p == 'x' || p == 'n' || p == 't' || p == 'y') w.remove_prefix(2);
    }
    if (w.empty() || w.front() == '`' || w.back() == '`') return std::nullopt;
    uint64_t v = 0;
    bool any = false;
    for (char c : w) {
        if (c == '`') continue;
        int d = digitValue(c);
        if (d >= static_cast<int>(radix)) return std::nullopt;
        if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / radix) overflow = true;
        v = v * radix + static_cast<uint64_t>(d);
        any = true;
    }
    if (!any) return std::nullopt;
    return v;
}

class Parser {
public:
    Parser(std::string_view text, ExprEnv& env) : s_(text), env_(env) {}

    uint64_t parse() {
        skip();
        uint64_t v = orExpr();
        skip();
        return v;
    }
    size_t pos() const { return pos_; }

private:
    [[noreturn]] void fail(std::string_view kind, size_t at) {
        std::string rest(s_.substr(std::min(at, s_.size())));
        throw ExprError(std::string(kind) + " error at '" + rest + "'");
    }

    void skip() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    bool atEnd() {
        skip();
        return pos_ >= s_.size();
    }
    // The word at pos (letters, digits, _ $ ! ` . and C++ "::").
    std::string_view peekWord() {
        size_t e = pos_;
        while (e < s_.size()) {
            if (s_[e] == '!' && e + 1 < s_.size() && s_[e + 1] == '=') break;  // "1!=2"
            if (isWordChar(s_[e])) {
                ++e;
            } else if (s_[e] == ':' && e + 1 < s_.size() && s_[e + 1] == ':' && e > pos_) {
                e += 2;
            } else {
                break;
            }
        }
        return s_.substr(pos_, e - pos_);
    }
    // Consumes a keyword operator ("and", "mod", "poi"...) when it stands alone.
    bool takeWord(std::string_view kw) {
        skip();
        std::string_view w = peekWord();
        if (!ieq(w, kw)) return false;
        pos_ += w.size();
        return true;
    }
    bool take(std::string_view op) {
        skip();
        if (s_.substr(pos_, op.size()) != op) return false;
        pos_ += op.size();
        return true;
    }
    bool peekIs(std::string_view op) { return s_.substr(pos_, op.size()) == op; }

    uint64_t orExpr() {
        uint64_t v = xorExpr();
        for (;;) {
            skip();
            if ((peekIs("|") && !peekIs("||")) ? take("|") : takeWord("or")) v |= xorExpr();
            else return v;
        }
    }
    uint64_t xorExpr() {
        uint64_t v = andExpr();
        for (;;) {
            if (take("^") || takeWord("xor")) v ^= andExpr();
            else return v;
        }
    }
    uint64_t andExpr() {
        uint64_t v = cmpExpr();
        for (;;) {
            skip();
            if ((peekIs("&") && !peekIs("&&")) ? take("&") : takeWord("and")) v &= cmpExpr();
            else return v;
        }
    }
    uint64_t cmpExpr() {
        uint64_t v = shiftExpr();
        for (;;) {
            skip();
            auto sv = static_cast<int64_t>(v);
            if (take("==") || take("=")) v = v == shiftExpr();
            else if (take("!=")) v = v != shiftExpr();
            else if (peekIs("<<") || peekIs(">>")) return v;
            else if (take("<=")) v = sv <= static_cast<int64_t>(shiftExpr());
            else if (take(">=")) v = sv >= static_cast<int64_t>(shiftExpr());
            else if (take("<")) v = sv < static_cast<int64_t>(shiftExpr());
            else if (take(">")) v = sv > static_cast<int64_t>(shiftExpr());
            else return v;
        }
    }
    uint64_t shiftExpr() {
        uint64_t v = addExpr();
        for (;;) {
            if (take("<<")) {
                uint64_t n = addExpr();
                v = n >= 64 ? 0 : v << n;
            } else if (take(">>>")) {
                uint64_t n = addExpr();
                v = static_cast<uint64_t>(static_cast<int64_t>(v) >> (n >= 64 ? 63 : n));
            } else if (take(">>")) {
                uint64_t n = addExpr();
                v = n >= 64 ? 0 : v >> n;
            } else {
                return v;
            }
        }
    }
    uint64_t addExpr() {
        uint64_t v = mulExpr();
        for (;;) {
            if (take("+")) v += mulExpr();
            else if (take("-")) v -= mulExpr();
            else return v;
        }
    }
    uint64_t mulExpr() {
        uint64_t v = unary();
        for (;;) {
            skip();
            if (take("*")) {
                v *= unary();
            } else if (peekIs("/") || peekIs("%") || ieq(peekWord(), "mod")) {
                bool div = peekIs("/");
                if (!take("/") && !take("%")) takeWord("mod");
                skip();
                size_t at = pos_;
                uint64_t d = unary();
                if (d == 0) fail("Divide by zero", at);
                v = div ? v / d : v % d;
            } else {
                return v;
            }
        }
    }

    uint64_t unary() {
        if (++depth_ > kMaxDepth) fail("Syntax", pos_);
        uint64_t v = unaryInner();
        --depth_;
        return v;
    }
    uint64_t unaryInner() {
        skip();
        size_t at = pos_;
        if (take("-")) return static_cast<uint64_t>(0) - unary();
        if (take("+")) return unary();
        if (take("~")) return ~unary();
        if (takeWord("not")) return unary() == 0 ? 1 : 0;
        if (takeWord("hi")) return (unary() >> 16) & 0xffff;
        if (takeWord("low")) return unary() & 0xffff;
        static const struct {
            std::string_view name;
            unsigned size;  // 0 = pointer size
        } kReads[] = {{"poi", 0}, {"by", 1}, {"wo", 2}, {"dwo", 4}, {"qwo", 8}};
        for (const auto& r : kReads) {
            if (takeWord(r.name)) {
                skip();
                size_t argAt = pos_;
                uint64_t addr = unary();
                unsigned size = r.size ? r.size : env_.pointerSize();
                auto val = env_.read(addr, size);
                if (!val) fail("Memory access", argAt);
                return *val;
            }
        }
        return primary(at);
    }

    uint64_t primary(size_t at) {
        skip();
        if (pos_ >= s_.size()) fail("Syntax", at);
        if (take("(")) {
            uint64_t v = orExpr();
            if (!take(")")) fail("Syntax", pos_);
            return v;
        }
        if (take("[")) {
            uint64_t v = orExpr();
            if (!take("]")) fail("Syntax", pos_);
            return v;
        }
        if (s_[pos_] == '@') {
            ++pos_;
            std::string_view w = peekWord();
            if (w.empty()) fail("Syntax", at);
            auto v = env_.reg(w);
            if (!v) fail("Bad register", at);
            pos_ += w.size();
            return *v;
        }
        std::string_view w = peekWord();
        if (w.empty()) fail("Syntax", at);
        // Number first: in radix 16 "add" or "beef" are numbers, as in WinDbg.
        if (w.find('!') == std::string_view::npos) {
            bool overflow = false;
            if (auto n = parseNumber(w, overflow)) {
                if (overflow) fail("Overflow", at);
                pos_ += w.size();
                return *n;
            }
            if (std::isdigit(static_cast<unsigned char>(w[0]))) fail("Syntax", at);
            if (ieq(w, "$ptrsize")) {
                pos_ += w.size();
                return env_.pointerSize();
            }
            if (auto r = env_.reg(w)) {
                pos_ += w.size();
                return *r;
            }
        }
        if (auto sym = env_.symbol(w)) {
            pos_ += w.size();
            return *sym;
        }
        fail("Couldn't resolve", at);
    }

    std::string_view s_;
    ExprEnv& env_;
    size_t pos_ = 0;
    int depth_ = 0;
};

}  // namespace

uint64_t evaluate(std::string_view text, ExprEnv& env) {
    Parser p(text, env);
    uint64_t v = p.parse();
    if (p.pos() < text.size()) throw ExprError("Syntax error at '" + std::string(text.substr(p.pos())) + "'");
    return v;
}

PrefixResult evaluatePrefix(std::string_view text, ExprEnv& env) {
    Parser p(text, env);
    PrefixResult r;
    r.value = p.parse();
    r.consumed = p.pos();
    return r;
}

AddressRange parseRange(std::string_view args, ExprEnv& env, unsigned elemSize, uint64_t defaultCount) {
    if (elemSize == 0) elemSize = 1;
    AddressRange r;
    PrefixResult first = evaluatePrefix(args, env);
    r.start = first.value;
    r.count = defaultCount;
    std::string_view rest = args.substr(first.consumed);
    if (rest.empty()) return r;
    const uint64_t kPlainLimit = env.rangeLimit();  // WinDbg: 256 MiB without "L?"
    const uint64_t kHugeLimit = std::max<uint64_t>(kPlainLimit, std::min<uint64_t>(4ull << 30, kPlainLimit * 16));
    if (rest[0] == 'l' || rest[0] == 'L') {
        rest.remove_prefix(1);
        bool huge = !rest.empty() && rest[0] == '?';
        if (huge) rest.remove_prefix(1);
        size_t at = static_cast<size_t>(rest.data() - args.data());
        if (rest.find_first_not_of(" \t") == std::string_view::npos)
            throw ExprError("Syntax error at '" + std::string(args.substr(at)) + "'");
        uint64_t n = evaluate(rest, env);
        uint64_t limit = huge ? kHugeLimit : kPlainLimit;
        if (n > limit / elemSize) throw ExprError("Range error in '" + std::string(args.substr(at)) + "'");
        r.count = n;
        return r;
    }
    size_t at = static_cast<size_t>(rest.data() - args.data());
    uint64_t end = evaluate(rest, env);
    if (end < r.start) throw ExprError("Range error in '" + std::string(args.substr(at)) + "'");
    uint64_t bytes = end - r.start + 1;
    if (bytes == 0 || bytes > kPlainLimit) throw ExprError("Range error in '" + std::string(args.substr(at)) + "'");
    r.count = (bytes + elemSize - 1) / elemSize;
    return r;
}

std::string formatEvaluate(uint64_t value, bool is64) {
    if (is64) {
        return "Evaluate expression: " + std::to_string(static_cast<int64_t>(value)) + " = " + addrTick(value, true);
    }
    auto v32 = static_cast<uint32_t>(value);
    return "Evaluate expression: " + std::to_string(static_cast<int32_t>(v32)) + " = " + hexPad(v32, 8);
}

}  // namespace nt
