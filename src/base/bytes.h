// Bounds-checked, non-owning views over little-endian bytes.
//
// Every read from a dump or symbol file goes through Bytes: a read that would
// leave the view returns std::nullopt instead of touching memory it does not
// own. Offsets are 64-bit and all arithmetic is overflow-safe, because offsets
// come from hostile files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace nt {

class Bytes {
public:
    Bytes() = default;
    Bytes(const uint8_t* data, uint64_t size) : data_(data), size_(data ? size : 0) {}

    const uint8_t* data() const { return data_; }
    uint64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    // True when [off, off+len) lies inside the view (no overflow possible).
    bool contains(uint64_t off, uint64_t len) const {
        return off <= size_ && len <= size_ - off;
    }

    // Reads a trivially copyable T at off; nullopt when it does not fit.
    template <class T>
    std::optional<T> get(uint64_t off) const {
        static_assert(std::is_trivially_copyable_v<T>);
        if (!contains(off, sizeof(T))) return std::nullopt;
        T v;
        std::memcpy(&v, data_ + off, sizeof(T));
        return v;
    }

    template <class T>
    T getOr(uint64_t off, T fallback) const {
        auto v = get<T>(off);
        return v ? *v : fallback;
    }

    // Sub-view [off, off+len); nullopt when it does not fit.
    std::optional<Bytes> sub(uint64_t off, uint64_t len) const {
        if (!contains(off, len)) return std::nullopt;
        return Bytes(data_ + off, len);
    }

    // Sub-view clamped to the end of this view (empty when off is past it).
    Bytes subClamped(uint64_t off, uint64_t len) const {
        if (off >= size_) return {};
        uint64_t avail = size_ - off;
        return Bytes(data_ + off, len < avail ? len : avail);
    }

    // Bytes up to (not including) the first NUL, at most maxLen.
    std::string_view cstring(uint64_t off, uint64_t maxLen) const {
        Bytes b = subClamped(off, maxLen);
        const void* nul = b.empty() ? nullptr : std::memchr(b.data(), 0, b.size());
        uint64_t n = nul ? static_cast<const uint8_t*>(nul) - b.data() : b.size();
        return {reinterpret_cast<const char*>(b.data()), static_cast<size_t>(n)};
    }

    std::string_view asString() const {
        return {reinterpret_cast<const char*>(data_), static_cast<size_t>(size_)};
    }

private:
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
};

// Overflow-safe a + b <= limit.
inline bool fitsWithin(uint64_t a, uint64_t b, uint64_t limit) {
    return a <= limit && b <= limit - a;
}

// Converts UTF-16LE code units to UTF-8 (unpaired surrogates become U+FFFD).
std::string utf16ToUtf8(const uint8_t* data, uint64_t units);
std::string utf16ToUtf8(std::u16string_view s);

}  // namespace nt
