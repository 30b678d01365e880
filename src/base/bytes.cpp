#include "base/bytes.h"

namespace nt {

namespace {
void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

template <class Get>
std::string convert(uint64_t units, Get unit) {
    std::string out;
    out.reserve(static_cast<size_t>(units));
    for (uint64_t i = 0; i < units; ++i) {
        uint32_t u = unit(i);
        if (u >= 0xD800 && u < 0xDC00 && i + 1 < units) {
            uint32_t lo = unit(i + 1);
            if (lo >= 0xDC00 && lo < 0xE000) {
                appendUtf8(out, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                ++i;
                continue;
            }
        }
        if (u >= 0xD800 && u < 0xE000) u = 0xFFFD;
        appendUtf8(out, u);
    }
    return out;
}
}  // namespace

std::string utf16ToUtf8(const uint8_t* data, uint64_t units) {
    return convert(units, [&](uint64_t i) {
        return static_cast<uint32_t>(data[2 * i] | (data[2 * i + 1] << 8));
    });
}

std::string utf16ToUtf8(std::u16string_view s) {
    return convert(s.size(), [&](uint64_t i) { return static_cast<uint32_t>(s[i]); });
}

}  // namespace nt
