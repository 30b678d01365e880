// MASM expression grammar as WinDbg documents it ("MASM Numbers and
// Operators"): radix forms, each operator, precedence, memory operators,
// registers vs. numbers, error messages, and range arguments.
#include "commands/expression.h"

#include <gtest/gtest.h>

#include <map>

namespace nt {
namespace {

struct FakeEnv : ExprEnv {
    std::map<std::string, uint64_t> regs{{"rax", 1}, {"rsp", 0x1000}, {"esi", 0x200}, {"$ip", 0x7ff7a13110d9}, {"$teb", 0x3a1000}};
    std::map<uint64_t, uint8_t> mem;
    std::map<std::string, uint64_t> syms{{"sigsegv!crash", 0x7ff7a1311080}, {"ntdll", 0x7ff966b40000}};
    unsigned ptr = 8;

    std::optional<uint64_t> reg(std::string_view n) override {
        std::string k(n);
        for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto it = regs.find(k);
        if (it == regs.end()) return std::nullopt;
        return it->second;
    }
    std::optional<uint64_t> read(uint64_t a, unsigned size) override {
        uint64_t v = 0;
        for (unsigned i = 0; i < size; ++i) {
            auto it = mem.find(a + i);
            if (it == mem.end()) return std::nullopt;
            v |= uint64_t{it->second} << (8 * i);
        }
        return v;
    }
    std::optional<uint64_t> symbol(std::string_view n) override {
        auto it = syms.find(std::string(n));
        if (it == syms.end()) return std::nullopt;
        return it->second;
    }
    unsigned pointerSize() const override { return ptr; }
    void put64(uint64_t a, uint64_t v) {
        for (int i = 0; i < 8; ++i) mem[a + i] = static_cast<uint8_t>(v >> (8 * i));
    }
};

uint64_t ev(std::string_view s) {
    FakeEnv e;
    return evaluate(s, e);
}

std::string err(std::string_view s, FakeEnv* env = nullptr) {
    FakeEnv local;
    try {
        evaluate(s, env ? *env : local);
    } catch (const ExprError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Expression, RadixForms) {
    EXPECT_EQ(ev("10"), 0x10u);
    EXPECT_EQ(ev("0x10"), 0x10u);
    EXPECT_EQ(ev("0n10"), 10u);
    EXPECT_EQ(ev("0t10"), 8u);
    EXPECT_EQ(ev("0y1010"), 10u);
    EXPECT_EQ(ev("00007ff7`a13110d9"), 0x7ff7a13110d9u);
    EXPECT_EQ(ev("FFFFFFFF"), 0xffffffffu);
    EXPECT_EQ(ev("add"), 0xaddu);  // a valid hex word is a number, not a symbol
}

TEST(Expression, BinaryOperators) {
    EXPECT_EQ(ev("3*4"), 0xcu);
    EXPECT_EQ(ev("10/3"), 5u);
    EXPECT_EQ(ev("10%3"), 1u);
    EXPECT_EQ(ev("10 mod 3"), 1u);
    EXPECT_EQ(ev("10+3"), 0x13u);
    EXPECT_EQ(ev("10-11"), 0xffffffffffffffffu);
    EXPECT_EQ(ev("1<<4"), 0x10u);
    EXPECT_EQ(ev("100>>4"), 0x10u);
    EXPECT_EQ(ev("-10>>>4"), 0xffffffffffffffffu);  // arithmetic shift
    EXPECT_EQ(ev("-10>>4"), 0x0fffffffffffffffu);   // logical shift
    EXPECT_EQ(ev("f0&3c"), 0x30u);
    EXPECT_EQ(ev("f0 and 3c"), 0x30u);
    EXPECT_EQ(ev("f0^ff"), 0xfu);
    EXPECT_EQ(ev("f0 xor ff"), 0xfu);
    EXPECT_EQ(ev("f0|f"), 0xffu);
    EXPECT_EQ(ev("f0 or f"), 0xffu);
    EXPECT_EQ(ev("5=5"), 1u);
    EXPECT_EQ(ev("5==6"), 0u);
    EXPECT_EQ(ev("5!=6"), 1u);
    EXPECT_EQ(ev("5<6"), 1u);
    EXPECT_EQ(ev("5>6"), 0u);
    EXPECT_EQ(ev("6<=6"), 1u);
    EXPECT_EQ(ev("5>=6"), 0u);
    EXPECT_EQ(ev("-1<0"), 1u);  // signed comparison
}

TEST(Expression, UnaryOperators) {
    EXPECT_EQ(ev("-1"), 0xffffffffffffffffu);
    EXPECT_EQ(ev("~0"), 0xffffffffffffffffu);
    EXPECT_EQ(ev("not 0"), 1u);
    EXPECT_EQ(ev("not 5"), 0u);
    EXPECT_EQ(ev("hi 12345678"), 0x1234u);
    EXPECT_EQ(ev("low 12345678"), 0x5678u);
}

TEST(Expression, Precedence) {
    EXPECT_EQ(ev("2+3*4"), 0xeu);
    EXPECT_EQ(ev("(2+3)*4"), 0x14u);
    EXPECT_EQ(ev("1+1<<4"), 0x20u);   // + binds tighter than <<
    EXPECT_EQ(ev("1|2&3"), 3u);       // & binds tighter than |
    EXPECT_EQ(ev("6&3=3"), 0u);       // = binds tighter than &: 6 & (3=3) = 6 & 1
    EXPECT_EQ(ev("1^3|4"), 6u);
    EXPECT_EQ(ev("-2*3"), static_cast<uint64_t>(-6));
}

TEST(Expression, RegistersSymbolsAndPseudoRegisters) {
    EXPECT_EQ(ev("@rax"), 1u);
    EXPECT_EQ(ev("rsp+8"), 0x1008u);     // bare register name (not a hex number)
    EXPECT_EQ(ev("@esi+165"), 0x365u);
    EXPECT_EQ(ev("@$ip"), 0x7ff7a13110d9u);
    EXPECT_EQ(ev("$teb"), 0x3a1000u);
    EXPECT_EQ(ev("$ptrsize"), 8u);
    EXPECT_EQ(ev("sigsegv!crash+0x59"), 0x7ff7a13110d9u);
    EXPECT_EQ(ev("ntdll"), 0x7ff966b40000u);
}

TEST(Expression, MemoryOperators) {
    FakeEnv e;
    e.put64(0x1000, 0x1122334455667788);
    EXPECT_EQ(evaluate("poi(@rsp)", e), 0x1122334455667788u);
    EXPECT_EQ(evaluate("by(rsp)", e), 0x88u);
    EXPECT_EQ(evaluate("wo(rsp)", e), 0x7788u);
    EXPECT_EQ(evaluate("dwo(rsp)", e), 0x55667788u);
    EXPECT_EQ(evaluate("qwo(rsp)", e), 0x1122334455667788u);
    EXPECT_EQ(evaluate("by rsp+1", e), 0x89u);  // unary binds tighter than +
    e.ptr = 4;
    EXPECT_EQ(evaluate("poi(1000)", e), 0x55667788u);
    EXPECT_EQ(err("poi(2000)", &e), "Memory access error at '(2000)'");
}

TEST(Expression, Errors) {
    EXPECT_EQ(err("1+"), "Syntax error at ''");
    EXPECT_EQ(err("foo"), "Couldn't resolve error at 'foo'");
    EXPECT_EQ(err("1+nosuch!sym"), "Couldn't resolve error at 'nosuch!sym'");
    EXPECT_EQ(err("4/0"), "Divide by zero error at '0'");
    EXPECT_EQ(err("(1"), "Syntax error at ''");
    EXPECT_EQ(err("1 2"), "Syntax error at '2'");
    EXPECT_EQ(err("@nosuch"), "Bad register error at '@nosuch'");
    EXPECT_EQ(err("1ffffffffffffffff"), "Overflow error at '1ffffffffffffffff'");
    EXPECT_EQ(err(std::string(1000, '(')), "Syntax error at '" + std::string(800, '(') + "'");
}

TEST(Expression, PrefixStopsBeforeArguments) {
    FakeEnv e;
    e.regs["esp"] = 0x12ff00;
    PrefixResult r = evaluatePrefix("esp L4", e);
    EXPECT_EQ(r.value, 0x12ff00u);
    EXPECT_EQ(r.consumed, 4u);  // "esp " - stops at the length argument
    r = evaluatePrefix("  1000+10 2000", e);
    EXPECT_EQ(r.value, 0x1010u);
    EXPECT_EQ(r.consumed, 10u);
}

TEST(Expression, Ranges) {
    FakeEnv e;
    e.regs["esp"] = 0x12ff00;
    AddressRange r = parseRange("esp L4", e, 4, 32);
    EXPECT_EQ(r.start, 0x12ff00u);
    EXPECT_EQ(r.count, 4u);
    r = parseRange("@esi+165 l1", e, 1, 128);
    EXPECT_EQ(r.start, 0x365u);
    EXPECT_EQ(r.count, 1u);
    r = parseRange("1000 l?0n20", e, 1, 128);
    EXPECT_EQ(r.count, 20u);
    r = parseRange("1000 100f", e, 1, 128);
    EXPECT_EQ(r.start, 0x1000u);
    EXPECT_EQ(r.count, 16u);
    r = parseRange("1000 1007", e, 4, 32);
    EXPECT_EQ(r.count, 2u);
    e.regs["rip"] = 0x401000;
    r = parseRange("rip", e, 1, 8);
    EXPECT_EQ(r.start, 0x401000u);
    EXPECT_EQ(r.count, 8u);
    EXPECT_THROW(parseRange("1000 L20000000", e, 1, 8), ExprError);
    EXPECT_EQ(parseRange("1000 L?20000000", e, 1, 8).count, 0x20000000u);
    EXPECT_THROW(parseRange("2000 1000", e, 1, 8), ExprError);
}

TEST(Expression, EvaluateLine) {
    EXPECT_EQ(formatEvaluate(0x1066, false), "Evaluate expression: 4198 = 00001066");
    EXPECT_EQ(formatEvaluate(0x7ff7a13110d9, true), "Evaluate expression: 140701537997017 = 00007ff7`a13110d9");
    EXPECT_EQ(formatEvaluate(0xffffffffffffffff, true), "Evaluate expression: -1 = ffffffff`ffffffff");
    EXPECT_EQ(formatEvaluate(0xffffffff, false), "Evaluate expression: -1 = ffffffff");
}

}  // namespace
}  // namespace nt
