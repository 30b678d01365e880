#include "support/kdump_builder/physical_image.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace nt::test::kdump {

PhysicalImage::PhysicalImage(uint64_t firstPfn) : next_(firstPfn) {}

bool PhysicalImage::reserved(uint64_t pfn) const {
    for (const auto& h : holes_)
        if (pfn >= h.basePage && pfn - h.basePage < h.pageCount) return true;
    return false;
}

bool PhysicalImage::isSynthetic(uint64_t pfn) const {
    for (const auto& r : synthetic_)
        if (pfn >= r.basePage && pfn - r.basePage < r.pageCount) return true;
    return false;
}

bool PhysicalImage::present(uint64_t pfn) const { return pages_.count(pfn) != 0 || isSynthetic(pfn); }

void PhysicalImage::reserveHole(uint64_t pfn, uint64_t count) { holes_.push_back({pfn, count}); }

uint64_t PhysicalImage::allocPage() { return allocPages(1, 1); }

uint64_t PhysicalImage::allocPages(uint64_t count, uint64_t alignPages) {
    if (count == 0) throw std::invalid_argument("allocPages: zero pages");
    if (alignPages == 0) alignPages = 1;
    uint64_t start = next_;
    for (;;) {
        start = (start + alignPages - 1) / alignPages * alignPages;
        uint64_t bad = 0;
        bool ok = true;
        for (uint64_t i = 0; i < count; ++i) {
            if (present(start + i) || reserved(start + i)) {
                ok = false;
                bad = start + i;
                break;
            }
        }
        if (ok) break;
        start = bad + 1;
    }
    for (uint64_t i = 0; i < count; ++i) pageAt(start + i);
    next_ = start + count;
    return start;
}

PhysicalImage::Page& PhysicalImage::pageAt(uint64_t pfn) {
    auto& slot = pages_[pfn];
    if (!slot) {
        slot = std::make_unique<Page>();
        slot->fill(0);
        if (isSynthetic(pfn) && pfn % kStampEvery == 0)  // a write makes it real, content kept
            std::memcpy(slot->data(), &pfn, sizeof pfn);
    }
    return *slot;
}

void PhysicalImage::addSyntheticRange(uint64_t pfn, uint64_t count) { synthetic_.push_back({pfn, count}); }

void PhysicalImage::write(uint64_t pa, std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        uint64_t cur = pa + done;
        uint64_t in = cur & (kPageSize - 1);
        size_t n = std::min<uint64_t>(kPageSize - in, bytes.size() - done);
        std::memcpy(pageAt(cur >> 12).data() + in, bytes.data() + done, n);
        done += n;
    }
}

void PhysicalImage::writeU64(uint64_t pa, uint64_t v) {
    uint8_t b[8];
    std::memcpy(b, &v, 8);
    write(pa, b);
}

void PhysicalImage::writeU32(uint64_t pa, uint32_t v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    write(pa, b);
}

uint64_t PhysicalImage::readU64Or0(uint64_t pa) const { return readU64(pa).value_or(0); }
uint32_t PhysicalImage::readU32Or0(uint64_t pa) const { return readU32(pa).value_or(0); }

std::vector<uint64_t> PhysicalImage::presentPfns() const {
    std::vector<uint64_t> out;
    out.reserve(pages_.size());
    for (const auto& [pfn, p] : pages_) out.push_back(pfn);
    for (const auto& r : synthetic_)
        for (uint64_t i = 0; i < r.pageCount; ++i) out.push_back(r.basePage + i);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<PfnRun> PhysicalImage::runs() const {
    std::vector<PfnRun> out;
    for (uint64_t pfn : presentPfns()) {
        if (!out.empty() && out.back().basePage + out.back().pageCount == pfn) ++out.back().pageCount;
        else out.push_back({pfn, 1});
    }
    return out;
}

uint64_t PhysicalImage::highestPfn() const {
    uint64_t h = pages_.empty() ? 0 : pages_.rbegin()->first;
    for (const auto& r : synthetic_)
        if (r.pageCount) h = std::max(h, r.basePage + r.pageCount - 1);
    return h;
}

uint64_t PhysicalImage::spanPages() const {
    uint64_t need = (pages_.empty() && synthetic_.empty()) ? 0 : highestPfn() + 1;
    return std::max(span_, need);
}

std::optional<PhysicalImage::Page> PhysicalImage::contentOf(uint64_t pfn) const {
    auto it = pages_.find(pfn);
    if (it != pages_.end()) return *it->second;
    if (!isSynthetic(pfn)) return std::nullopt;
    Page p{};
    if (pfn % kStampEvery == 0) std::memcpy(p.data(), &pfn, sizeof pfn);
    return p;
}

Bytes PhysicalImage::page(uint64_t pfn) const {
    auto it = pages_.find(pfn);
    if (it != pages_.end()) return Bytes(it->second->data(), kPageSize);
    if (!isSynthetic(pfn)) return {};
    auto& slot = syntheticCache_[pfn];
    if (!slot) slot = std::make_unique<Page>(*contentOf(pfn));
    return Bytes(slot->data(), kPageSize);
}

uint64_t PhysicalImage::presentPages() const { return presentPfns().size(); }

std::optional<uint64_t> PhysicalImage::nextPresentPfn(uint64_t pfn) const {
    std::optional<uint64_t> best;
    auto it = pages_.lower_bound(pfn);
    if (it != pages_.end()) best = it->first;
    for (const auto& r : synthetic_) {
        if (r.pageCount == 0 || r.basePage + r.pageCount <= pfn) continue;
        uint64_t c = std::max(pfn, r.basePage);
        if (!best || c < *best) best = c;
    }
    return best;
}

}  // namespace nt::test::kdump
