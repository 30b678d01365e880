// Physical memory stored as runs of consecutive page frames, each run's pages
// written one after the other in the file: the full dump's
// PHYSICAL_MEMORY_DESCRIPTOR runs and the RDMP dumps' {Pfn, NumberOfPages}
// ranges. page(pfn) is a binary search over the runs sorted by pfn.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "memory/physical_memory.h"

namespace nt::kdump {

class RunMemory : public PhysicalMemory {
public:
    struct Run {
        uint64_t basePfn = 0;
        uint64_t pageCount = 0;   // as described by the dump
        uint64_t fileOffset = 0;  // of the run's first page
    };

    // Runs in file order; the caller has computed fileOffset cumulatively.
    // Throws FormatError when runs overlap or a pfn range overflows. Pages
    // whose bytes lie past the end of `file` are absent (a cut file).
    RunMemory(Bytes file, std::vector<Run> runs);

    Bytes page(uint64_t pfn) const override;
    uint64_t presentPages() const override { return present_; }
    std::optional<uint64_t> nextPresentPfn(uint64_t pfn) const override;

    // Pages described by the runs but missing from the file.
    uint64_t missingPages() const { return described_ - present_; }

private:
    struct Stored {
        uint64_t basePfn, count, fileOffset;  // count = pages actually in the file
    };
    // First stored run whose end is above pfn.
    std::vector<Stored>::const_iterator runAbove(uint64_t pfn) const;

    Bytes file_;
    std::vector<Stored> runs_;  // sorted by basePfn, non-empty, non-overlapping
    uint64_t present_ = 0, described_ = 0;
};

}  // namespace nt::kdump
