// Physical memory of a kernel dump: 4 KiB pages by page frame number.
//
// Which pages exist depends on the dump type (full dumps hold runs, bitmap
// dumps a bitmap, small dumps none). A page that is not in the dump is an
// empty view, never an error: a missing page is normal in every kernel dump
// except a complete one. Implementations live with their formats
// (dump/kernel/); page-table walkers (memory/page_table.h) read through this.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "base/bytes.h"

namespace nt {

class PhysicalMemory {
public:
    static constexpr uint64_t kPageSize = 0x1000;
    static constexpr unsigned kPageShift = 12;

    virtual ~PhysicalMemory() = default;

    // The 4 KiB of page `pfn`, or an empty view when the dump lacks it.
    // Must be O(1) or O(log n) in the number of runs/pages: it is called for
    // every page-table level of every virtual read.
    virtual Bytes page(uint64_t pfn) const = 0;

    // Number of pages the dump holds.
    virtual uint64_t presentPages() const = 0;

    // Lowest present pfn >= pfn, or nullopt.
    virtual std::optional<uint64_t> nextPresentPfn(uint64_t pfn) const = 0;

    // Copies bytes from physical address pa, stopping at the first absent
    // page. Returns the number of bytes copied.
    uint64_t read(uint64_t pa, std::span<uint8_t> out) const;

    std::optional<uint64_t> readU64(uint64_t pa) const;
    std::optional<uint32_t> readU32(uint64_t pa) const;
};

}  // namespace nt
