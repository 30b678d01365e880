// An address space made of file-backed ranges (minidump MemoryList /
// Memory64List, legacy user dump memory regions).
//
// Ranges are kept sorted by start address; lookup is a binary search. When a
// dump lists overlapping ranges (real minidumps do: a thread stack also
// appears inside a full-memory range), the range added first wins for the
// overlapping bytes, which matches the order readers add them.
#pragma once

#include <vector>

#include "memory/memory.h"

namespace nt {

class RangeMemory final : public Memory {
public:
    struct Range {
        uint64_t start;
        Bytes data;  // size == length of the range
    };

    // Adds a range. Ranges whose end would overflow 2^64 are clipped.
    void add(uint64_t start, Bytes data);
    // Must be called after the last add() and before reads.
    void finalize();

    uint64_t read(uint64_t addr, std::span<uint8_t> out) const override;
    Bytes view(uint64_t addr, uint64_t maxLen) const override;
    std::optional<uint64_t> nextPresent(uint64_t addr) const override;

    const std::vector<Range>& ranges() const { return ranges_; }

private:
    // Index of the range containing addr, or -1.
    long find(uint64_t addr) const;

    std::vector<Range> ranges_;
};

}  // namespace nt
