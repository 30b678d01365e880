// Physical memory of bitmap dumps (summary, bitmap full/kernel): one bit per
// page frame, the present pages stored in pfn order from a file offset.
//
// page(pfn) needs the rank of the bit (how many set bits precede it). A rank
// index holds the cumulative popcount at each 512-bit block, so page(pfn)
// costs one index read plus at most eight popcounts: O(1).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "memory/physical_memory.h"

namespace nt::kdump {

class BitmapMemory : public PhysicalMemory {
public:
    // `bitmap` covers `bits` page frames (its size must be >= ceil(bits/8);
    // the caller checks it against the file). Pages start at firstPage in
    // `file`; those past the end of the file are absent.
    BitmapMemory(Bytes file, Bytes bitmap, uint64_t bits, uint64_t firstPage);

    Bytes page(uint64_t pfn) const override;
    uint64_t presentPages() const override { return stored_; }
    std::optional<uint64_t> nextPresentPfn(uint64_t pfn) const override;

    // Set bits in the bitmap (what the dump describes, cut file or not).
    uint64_t setBits() const { return setBits_; }

private:
    static constexpr uint64_t kWordsPerBlock = 8;
    uint64_t word(uint64_t i) const;  // 64 bits of the bitmap, bits past `bits_` cleared
    bool test(uint64_t pfn) const { return (word(pfn >> 6) >> (pfn & 63)) & 1; }
    uint64_t rank(uint64_t pfn) const;  // set bits below pfn

    Bytes file_, bitmap_;
    uint64_t bits_, words_, firstPage_;
    std::vector<uint64_t> blockRank_;  // set bits before each 512-bit block
    uint64_t setBits_ = 0;
    uint64_t stored_ = 0;  // pages wholly in the file: ranks [0, stored_)
};

}  // namespace nt::kdump
