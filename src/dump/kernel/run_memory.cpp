#include "dump/kernel/run_memory.h"

#include <algorithm>

#include "base/error.h"
#include <fmt/format.h>

namespace nt::kdump {

RunMemory::RunMemory(Bytes file, std::vector<Run> runs) : file_(file) {
    constexpr uint64_t kMaxPfn = UINT64_MAX >> kPageShift;  // pfn << 12 must not overflow
    std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.basePfn < b.basePfn; });
    uint64_t prevEnd = 0;
    bool first = true;
    for (const Run& r : runs) {
        if (r.pageCount == 0) continue;
        if (r.basePfn > kMaxPfn || r.pageCount > kMaxPfn - r.basePfn + 1)
            throw FormatError(fmt::format("physical memory run at pfn {:#x} with {:#x} pages is outside the address space",
                                          r.basePfn, r.pageCount));
        if (!first && r.basePfn < prevEnd)
            throw FormatError(fmt::format("physical memory runs overlap at pfn {:#x}", r.basePfn));
        first = false;
        prevEnd = r.basePfn + r.pageCount;
        described_ += r.pageCount;
        // How many of the run's pages are wholly inside the file.
        uint64_t inFile = 0;
        if (r.fileOffset < file.size()) inFile = (file.size() - r.fileOffset) >> kPageShift;
        uint64_t count = std::min(inFile, r.pageCount);
        if (count == 0) continue;
        runs_.push_back({r.basePfn, count, r.fileOffset});
        present_ += count;
    }
}

std::vector<RunMemory::Stored>::const_iterator RunMemory::runAbove(uint64_t pfn) const {
    return std::upper_bound(runs_.begin(), runs_.end(), pfn,
                            [](uint64_t p, const Stored& s) { return p < s.basePfn + s.count; });
}

Bytes RunMemory::page(uint64_t pfn) const {
    auto it = runAbove(pfn);
    if (it == runs_.end() || pfn < it->basePfn) return {};
    uint64_t off = it->fileOffset + ((pfn - it->basePfn) << kPageShift);
    return file_.subClamped(off, kPageSize);  // whole page: checked at construction
}

std::optional<uint64_t> RunMemory::nextPresentPfn(uint64_t pfn) const {
    auto it = runAbove(pfn);
    if (it == runs_.end()) return std::nullopt;
    return std::max(pfn, it->basePfn);
}

}  // namespace nt::kdump
