// libFuzzer target: the MASM expression evaluator and range parser must
// answer every input with a value or an ExprError, never crash, hang or
// recurse without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "commands/expression.h"

namespace {

// Registers answer for a few names, memory for a small window, symbols for
// one qualified name: enough to reach every branch of the grammar.
struct FuzzEnv final : nt::ExprEnv {
    std::optional<uint64_t> reg(std::string_view n) override {
        if (n == "rax" || n == "eax" || n == "$ip") return 0x1000;
        if (n == "rsp" || n == "esp") return 0x2000;
        return std::nullopt;
    }
    std::optional<uint64_t> read(uint64_t addr, unsigned size) override {
        if (addr < 0x1000 || addr > 0x3000 || size > 8) return std::nullopt;
        uint64_t v = addr * 0x9e3779b97f4a7c15ull;
        return size == 8 ? v : v & ((uint64_t{1} << (8 * size)) - 1);
    }
    std::optional<uint64_t> symbol(std::string_view n) override {
        if (n == "m!f" || n == "m") return 0x7ff700001000ull;
        return std::nullopt;
    }
    unsigned pointerSize() const override { return 8; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    FuzzEnv env;
    try {
        (void)nt::evaluate(text, env);
    } catch (const nt::ExprError&) {
    }
    try {
        (void)nt::parseRange(text, env, 4, 32);
    } catch (const nt::ExprError&) {
    }
    return 0;
}
