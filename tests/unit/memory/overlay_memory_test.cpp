#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "memory/overlay_memory.h"
#include "memory/range_memory.h"

namespace nt {
namespace {

// A layer that hands out its bytes in views of at most 3 bytes, like a
// page-granular VirtualMemory does at page ends: reads must stitch them.
class ChunkyMemory final : public Memory {
public:
    explicit ChunkyMemory(const Memory& inner) : inner_(inner) {}
    uint64_t read(uint64_t addr, std::span<uint8_t> out) const override { return inner_.read(addr, out); }
    Bytes view(uint64_t addr, uint64_t maxLen) const override { return inner_.view(addr, std::min<uint64_t>(maxLen, 3)); }
    std::optional<uint64_t> nextPresent(uint64_t addr) const override { return inner_.nextPresent(addr); }

private:
    const Memory& inner_;
};

struct Layers {
    std::vector<uint8_t> a = std::vector<uint8_t>(0x10, 'A');
    std::vector<uint8_t> b = std::vector<uint8_t>(0x28, 'B');
    RangeMemory top, bottom;
    Layers() {
        top.add(0x1000, Bytes(a.data(), a.size()));      // [0x1000, 0x1010)
        top.finalize();
        bottom.add(0x0ff8, Bytes(b.data(), b.size()));   // [0x0ff8, 0x1020)
        bottom.finalize();
    }
};

TEST(OverlayMemory, FirstLayerWinsAndReadsCrossLayers) {
    Layers l;
    OverlayMemory m;
    m.addRef(l.top);
    m.addRef(l.bottom);
    std::array<uint8_t, 0x40> out{};
    ASSERT_EQ(m.read(0x0ff8, out), 0x28u);  // 8 B, 16 A, 16 B, then nothing
    EXPECT_EQ(std::string(out.begin(), out.begin() + 0x28),
              std::string(8, 'B') + std::string(16, 'A') + std::string(16, 'B'));
    // A view is one layer's run, cut where a higher layer begins.
    EXPECT_EQ(m.view(0x0ff8, 0x100).size(), 8u);
    EXPECT_EQ(m.view(0x0ffc, 2).size(), 2u);
    Bytes v = m.view(0x1004, 0x100);
    EXPECT_EQ(v.size(), 0xcu);
    EXPECT_EQ(v.data()[0], 'A');
    v = m.view(0x1010, 0x100);
    EXPECT_EQ(v.size(), 0x10u);
    EXPECT_EQ(v.data()[0], 'B');
    EXPECT_TRUE(m.view(0x1020, 1).empty());
    EXPECT_EQ(*m.readValue<uint32_t>(0x100e), 0x42424141u);  // "AABB"
}

TEST(OverlayMemory, NextPresentIsTheLowestOverLayers) {
    Layers l;
    std::vector<uint8_t> c(4, 'C');
    RangeMemory far;
    far.add(0x9000, Bytes(c.data(), c.size()));
    far.finalize();
    OverlayMemory m;
    m.addRef(l.top);
    m.addRef(far);
    m.addRef(l.bottom);
    EXPECT_EQ(*m.nextPresent(0), 0x0ff8u);
    EXPECT_EQ(*m.nextPresent(0x1008), 0x1008u);
    EXPECT_EQ(*m.nextPresent(0x1020), 0x9000u);
    EXPECT_FALSE(m.nextPresent(0x9004));
    std::array<uint8_t, 8> out{};
    EXPECT_EQ(m.read(0x1020, out), 0u);  // a hole ends a read
    EXPECT_EQ(m.read(0x9002, out), 2u);
}

TEST(OverlayMemory, StitchesShortViewsAndOwnsLayers) {
    Layers l;
    auto chunkyBottom = std::make_shared<ChunkyMemory>(l.bottom);
    OverlayMemory m;
    m.addRef(l.top);
    m.add(chunkyBottom);
    std::weak_ptr<ChunkyMemory> watch = chunkyBottom;
    chunkyBottom.reset();
    EXPECT_FALSE(watch.expired());  // the overlay keeps it alive
    std::array<uint8_t, 0x28> out{};
    ASSERT_EQ(m.read(0x0ff8, out), 0x28u);
    EXPECT_EQ(out[7], 'B');
    EXPECT_EQ(out[8], 'A');
    EXPECT_EQ(out[0x18], 'B');
    EXPECT_EQ(m.layerCount(), 2u);
}

TEST(OverlayMemory, EmptyOverlayHasNothing) {
    OverlayMemory m;
    std::array<uint8_t, 4> out{};
    EXPECT_EQ(m.read(0, out), 0u);
    EXPECT_TRUE(m.view(0, 4).empty());
    EXPECT_FALSE(m.nextPresent(0));
    m.add(nullptr);  // ignored
    EXPECT_EQ(m.layerCount(), 0u);
}

}  // namespace
}  // namespace nt
