#include "memory/memory.h"

#include <vector>

namespace nt {

std::optional<std::string> Memory::readCString(uint64_t addr, uint64_t maxLen) const {
    std::string s;
    uint8_t chunk[256];
    while (s.size() < maxLen) {
        uint64_t want = std::min<uint64_t>(sizeof chunk, maxLen - s.size());
        uint64_t got = read(addr + s.size(), std::span<uint8_t>(chunk, want));
        if (got == 0) break;
        for (uint64_t i = 0; i < got; ++i) {
            if (chunk[i] == 0) return s;
            s.push_back(static_cast<char>(chunk[i]));
        }
        if (got < want) break;
    }
    if (s.empty() && !readValue<uint8_t>(addr)) return std::nullopt;
    return s;
}

std::optional<std::string> Memory::readWString(uint64_t addr, uint64_t maxChars) const {
    std::u16string s;
    while (s.size() < maxChars) {
        auto c = readValue<uint16_t>(addr + 2 * s.size());
        if (!c) {
            if (s.empty()) return std::nullopt;
            break;
        }
        if (*c == 0) break;
        s.push_back(static_cast<char16_t>(*c));
    }
    return utf16ToUtf8(s);
}

}  // namespace nt
