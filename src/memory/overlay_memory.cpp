#include "memory/overlay_memory.h"

#include <algorithm>
#include <cstring>

namespace nt {

void OverlayMemory::add(std::shared_ptr<const Memory> layer) {
    if (layer) layers_.push_back(std::move(layer));
}

void OverlayMemory::addRef(const Memory& layer) {
    // Non-owning: an aliasing shared_ptr with no control block.
    layers_.push_back(std::shared_ptr<const Memory>(std::shared_ptr<const Memory>(), &layer));
}

Bytes OverlayMemory::runAt(uint64_t addr, uint64_t maxLen, std::vector<Absence>& absences) const {
    for (size_t i = 0; i < layers_.size(); ++i) {
        if (absences[i].covers(addr)) continue;
        Bytes run = layers_[i]->view(addr, maxLen);
        if (run.empty()) {
            absences[i] = {true, addr, layers_[i]->nextPresent(addr)};
            continue;
        }
        // Every layer above i lacks addr; its next present byte cuts the run.
        uint64_t len = run.size();
        for (size_t j = 0; j < i; ++j) {
            if (absences[j].next) len = std::min(len, *absences[j].next - addr);
        }
        return run.subClamped(0, len);
    }
    return {};
}

uint64_t OverlayMemory::read(uint64_t addr, std::span<uint8_t> out) const {
    std::vector<Absence> absences(layers_.size());
    uint64_t done = 0;
    while (done < out.size()) {
        if (done > UINT64_MAX - addr) break;  // no wrap at 2^64
        Bytes run = runAt(addr + done, out.size() - done, absences);
        if (run.empty()) break;
        std::memcpy(out.data() + done, run.data(), run.size());
        done += run.size();
    }
    return done;
}

Bytes OverlayMemory::view(uint64_t addr, uint64_t maxLen) const {
    if (maxLen == 0) return {};
    std::vector<Absence> absences(layers_.size());
    return runAt(addr, maxLen, absences);
}

std::optional<uint64_t> OverlayMemory::nextPresent(uint64_t addr) const {
    std::optional<uint64_t> best;
    for (const auto& layer : layers_) {
        auto n = layer->nextPresent(addr);
        if (n && (!best || *n < *best)) best = n;
        if (best && *best == addr) break;  // cannot do better
    }
    return best;
}

}  // namespace nt
