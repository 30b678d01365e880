// A target's virtual address space.
//
// A read says which bytes exist: missing memory is normal in a dump (a
// minidump holds only some ranges), never an exception. Implementations:
// RangeMemory (minidump / user dump ranges), and in kernel mode page-table
// walkers over physical memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/bytes.h"

namespace nt {

class Memory {
public:
    virtual ~Memory() = default;

    // Copies bytes starting at addr into out, stopping at the first byte that
    // is not present. Returns the number of leading bytes copied (0 when addr
    // itself is missing). Never reads past the end of out.
    virtual uint64_t read(uint64_t addr, std::span<uint8_t> out) const = 0;

    // Zero-copy access: the contiguous present run starting at addr, at most
    // maxLen bytes. Empty when addr is missing.
    virtual Bytes view(uint64_t addr, uint64_t maxLen) const = 0;

    // Lowest present address >= addr, or nullopt. Lets callers skip holes.
    virtual std::optional<uint64_t> nextPresent(uint64_t addr) const = 0;

    bool readExact(uint64_t addr, std::span<uint8_t> out) const {
        return read(addr, out) == out.size();
    }

    template <class T>
    std::optional<T> readValue(uint64_t addr) const {
        static_assert(std::is_trivially_copyable_v<T>);
        T v;
        if (!readExact(addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), sizeof v))) return std::nullopt;
        return v;
    }

    // Reads a pointer of ptrSize (4 or 8) bytes, zero-extended.
    std::optional<uint64_t> readPointer(uint64_t addr, unsigned ptrSize) const {
        if (ptrSize == 4) {
            auto v = readValue<uint32_t>(addr);
            if (!v) return std::nullopt;
            return *v;
        }
        return readValue<uint64_t>(addr);
    }

    // NUL-terminated 8-bit string, at most maxLen bytes; nullopt when the
    // first byte is missing.
    std::optional<std::string> readCString(uint64_t addr, uint64_t maxLen) const;
    // NUL-terminated UTF-16LE string converted to UTF-8, at most maxChars.
    std::optional<std::string> readWString(uint64_t addr, uint64_t maxChars) const;
};

}  // namespace nt
