// Several address spaces stacked into one: for every byte, the first layer
// (in the order added) that has it wins.
//
// Uses: a small kernel dump's stored blocks alone (nothing underneath yet);
// a full dump's stored blocks over its page-table walk; any "patch" over a
// base image. Reads cross from one layer to another seamlessly; a byte no
// layer has ends the read (Memory's contract).
//
// Cost: a read asks each layer that lacks the current address for its
// nextPresent() once, then trusts that answer until the read passes it, so
// a higher layer's bytes are never hidden by a lower layer's run. A layer
// whose nextPresent() gives up early (VirtualMemory on hostile tables) can
// therefore let a lower layer show through further on.
#pragma once

#include <memory>
#include <vector>

#include "memory/memory.h"

namespace nt {

class OverlayMemory final : public Memory {
public:
    OverlayMemory() = default;

    // Adds a layer below those already added. The owning form keeps the
    // layer alive; the reference form requires it to outlive this object.
    void add(std::shared_ptr<const Memory> layer);
    void addRef(const Memory& layer);

    size_t layerCount() const { return layers_.size(); }

    uint64_t read(uint64_t addr, std::span<uint8_t> out) const override;
    // The run of the layer that owns addr, cut where a higher layer starts.
    Bytes view(uint64_t addr, uint64_t maxLen) const override;
    std::optional<uint64_t> nextPresent(uint64_t addr) const override;

private:
    // What is known about one layer during a read: it has nothing in
    // [from, next) (next == nullopt: nothing at or after `from`).
    struct Absence {
        bool known = false;
        uint64_t from = 0;
        std::optional<uint64_t> next;
        bool covers(uint64_t a) const { return known && a >= from && (!next || a < *next); }
    };

    // The run at addr (at most maxLen bytes) from the highest layer that has
    // addr, clipped to where a higher layer begins. `absences` carries what
    // earlier calls learned (one entry per layer).
    Bytes runAt(uint64_t addr, uint64_t maxLen, std::vector<Absence>& absences) const;

    std::vector<std::shared_ptr<const Memory>> layers_;
};

}  // namespace nt
