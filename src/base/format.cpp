#include "base/format.h"

#include <cstdio>

namespace nt {

std::string hexPad(uint64_t v, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v));
    return buf;
}

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string hex0x(uint64_t v) { return "0x" + hex(v); }

std::string addrTick(uint64_t v, bool is64) {
    if (!is64) return hexPad(v & 0xffffffffu, 8);
    return hexPad(v >> 32, 8) + "`" + hexPad(v & 0xffffffffu, 8);
}

std::string addrPlain(uint64_t v, bool is64) {
    return is64 ? hexPad(v, 16) : hexPad(v & 0xffffffffu, 8);
}

}  // namespace nt
