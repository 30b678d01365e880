#include "memory/range_memory.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>

namespace nt {

void RangeMemory::add(uint64_t start, Bytes data) {
    if (data.empty()) return;
    uint64_t maxLen = ~uint64_t{0} - start;  // keep start+len representable
    if (data.size() > maxLen) data = data.subClamped(0, maxLen);
    if (data.empty()) return;
    ranges_.push_back({start, data});
}

void RangeMemory::finalize() {
    // Insert ranges in the order they were added; each keeps only the bytes no
    // earlier range covers, so the first added wins on overlap.
    std::map<uint64_t, Range> placed;  // start -> range, non-overlapping
    for (const Range& r : ranges_) {
        uint64_t start = r.start;
        uint64_t end = r.start + r.data.size();
        while (start < end) {
            // The placed range at or below start, if it covers start, skips us past it.
            auto it = placed.upper_bound(start);
            if (it != placed.begin()) {
                auto prev = std::prev(it);
                uint64_t prevEnd = prev->first + prev->second.data.size();
                if (prevEnd > start) {
                    start = prevEnd;
                    continue;
                }
            }
            // Free from start up to the next placed range (or end).
            uint64_t freeEnd = end;
            if (it != placed.end() && it->first < freeEnd) freeEnd = it->first;
            placed.emplace(start, Range{start, r.data.subClamped(start - r.start, freeEnd - start)});
            start = freeEnd;
        }
    }
    std::vector<Range> out;
    out.reserve(placed.size());
    for (auto& [s, r] : placed) out.push_back(r);
    ranges_ = std::move(out);
}

long RangeMemory::find(uint64_t addr) const {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                               [](uint64_t a, const Range& r) { return a < r.start; });
    if (it == ranges_.begin()) return -1;
    --it;
    if (addr - it->start < it->data.size()) return static_cast<long>(it - ranges_.begin());
    return -1;
}

uint64_t RangeMemory::read(uint64_t addr, std::span<uint8_t> out) const {
    uint64_t done = 0;
    long i = find(addr);
    while (i >= 0 && done < out.size()) {
        const Range& r = ranges_[static_cast<size_t>(i)];
        uint64_t off = addr + done - r.start;
        uint64_t n = std::min<uint64_t>(r.data.size() - off, out.size() - done);
        std::memcpy(out.data() + done, r.data.data() + off, n);
        done += n;
        // Continue into an adjacent range if it starts exactly where this ends.
        size_t next = static_cast<size_t>(i) + 1;
        if (done < out.size() && next < ranges_.size() && ranges_[next].start == addr + done)
            i = static_cast<long>(next);
        else
            break;
    }
    return done;
}

Bytes RangeMemory::view(uint64_t addr, uint64_t maxLen) const {
    long i = find(addr);
    if (i < 0) return {};
    const Range& r = ranges_[static_cast<size_t>(i)];
    return r.data.subClamped(addr - r.start, maxLen);
}

std::optional<uint64_t> RangeMemory::nextPresent(uint64_t addr) const {
    if (find(addr) >= 0) return addr;
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                               [](uint64_t a, const Range& r) { return a < r.start; });
    if (it == ranges_.end()) return std::nullopt;
    return it->start;
}

}  // namespace nt
