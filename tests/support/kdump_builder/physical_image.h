// The physical memory of a synthetic machine: 4 KiB pages by pfn, held
// sparsely. Pages are handed out by a bump allocator that tests can steer
// (skip, reserve holes) so that the present pages form runs with gaps, as
// real machines' memory maps do.
//
// Besides real pages (bytes held in memory) an image can hold "synthetic"
// ranges: pages that are present but whose content is generated: zeros,
// except that a page whose pfn is a multiple of kStampEvery holds its pfn in
// its first 8 bytes. They let benchmarks write dumps of many GiB of present
// memory without holding it, and the file writer leaves the zero pages as
// holes of a sparse file (a stamp in every page would allocate every block).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "memory/physical_memory.h"

namespace nt::test::kdump {

inline constexpr uint64_t kPageSize = 0x1000;
inline constexpr uint64_t kStampEvery = 256;  // synthetic pages: one stamped page per MiB

struct PfnRun {
    uint64_t basePage = 0;
    uint64_t pageCount = 0;
    bool operator==(const PfnRun&) const = default;
};

class PhysicalImage final : public nt::PhysicalMemory {
public:
    using Page = std::array<uint8_t, kPageSize>;

    // Allocation starts at firstPfn (pfn 0 is left out by default: the RDMP
    // format cannot describe it and real machines reserve it).
    explicit PhysicalImage(uint64_t firstPfn = 1);

    // A fresh zeroed page at the allocation cursor (skipping reserved and
    // already present pfns).
    uint64_t allocPage();
    // `count` contiguous fresh pages whose first pfn is a multiple of
    // alignPages (for large pages: 512 for 2 MiB, 1024 for 4 MiB).
    uint64_t allocPages(uint64_t count, uint64_t alignPages = 1);
    // Moves the allocation cursor forward by `count`, leaving a hole.
    void skipPfns(uint64_t count) { next_ += count; }
    void setNextPfn(uint64_t pfn) { next_ = pfn; }
    uint64_t nextPfn() const { return next_; }
    // Pfns the allocator never hands out (and that stay absent).
    void reserveHole(uint64_t pfn, uint64_t count);

    // Creates the page when absent (zeroed); explicit placement.
    Page& pageAt(uint64_t pfn);
    // Marks [pfn, pfn+count) present with generated content (see above).
    void addSyntheticRange(uint64_t pfn, uint64_t count);
    bool isSynthetic(uint64_t pfn) const;

    bool present(uint64_t pfn) const;
    // True when the page's bytes are held (written or allocated), false for
    // absent and for untouched synthetic pages.
    bool hasStoredPage(uint64_t pfn) const { return pages_.count(pfn) != 0; }
    // Writes/reads at a physical address (pages created on write).
    void write(uint64_t pa, std::span<const uint8_t> bytes);
    void writeU64(uint64_t pa, uint64_t v);
    void writeU32(uint64_t pa, uint32_t v);
    uint64_t readU64Or0(uint64_t pa) const;
    uint32_t readU32Or0(uint64_t pa) const;

    // Present pfns in increasing order, and the maximal runs they form.
    std::vector<uint64_t> presentPfns() const;
    std::vector<PfnRun> runs() const;
    uint64_t highestPfn() const;  // 0 when empty

    // Size of the physical address space in pages: the bitmap length of
    // bitmap dumps. Default: highestPfn() + 1.
    void setSpanPages(uint64_t pages) { span_ = pages; }
    uint64_t spanPages() const;

    // Content of a present page (generated for synthetic pages); nullopt
    // when absent.
    std::optional<Page> contentOf(uint64_t pfn) const;

    // nt::PhysicalMemory (lets tests run the project's translate() over the
    // image before any file is written).
    Bytes page(uint64_t pfn) const override;
    uint64_t presentPages() const override;
    std::optional<uint64_t> nextPresentPfn(uint64_t pfn) const override;

private:
    bool reserved(uint64_t pfn) const;

    std::map<uint64_t, std::unique_ptr<Page>> pages_;
    std::vector<PfnRun> synthetic_;
    std::vector<PfnRun> holes_;
    uint64_t next_;
    uint64_t span_ = 0;
    mutable std::map<uint64_t, std::unique_ptr<Page>> syntheticCache_;
};

}  // namespace nt::test::kdump
