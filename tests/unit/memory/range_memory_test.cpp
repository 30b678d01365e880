#include <gtest/gtest.h>

#include <array>

#include "memory/range_memory.h"

namespace nt {
namespace {

TEST(RangeMemory, ReadsStopAtTheFirstMissingByte) {
    std::array<uint8_t, 8> a{1, 2, 3, 4, 5, 6, 7, 8};
    std::array<uint8_t, 4> b{9, 10, 11, 12};
    RangeMemory m;
    m.add(0x1000, Bytes(a.data(), a.size()));
    m.add(0x1008, Bytes(b.data(), b.size()));  // adjacent: reads continue across
    m.add(0x2000, Bytes(b.data(), b.size()));
    m.finalize();
    std::array<uint8_t, 16> out{};
    EXPECT_EQ(m.read(0x1006, out), 6u);  // 7 8 9 10 11 12 then a hole
    EXPECT_EQ(out[0], 7);
    EXPECT_EQ(out[2], 9);
    EXPECT_EQ(out[5], 12);
    EXPECT_EQ(m.read(0x0fff, out), 0u);
    EXPECT_EQ(m.read(0x100c, out), 0u);
    EXPECT_EQ(*m.readValue<uint16_t>(0x2002), 0x0c0b);
    EXPECT_FALSE(m.readValue<uint32_t>(0x2002));
    EXPECT_EQ(*m.nextPresent(0x100c), 0x2000u);
    EXPECT_EQ(*m.nextPresent(0x1001), 0x1001u);
    EXPECT_FALSE(m.nextPresent(0x2004));
}

TEST(RangeMemory, FirstAddedRangeWinsOnOverlap) {
    std::array<uint8_t, 8> a{1, 1, 1, 1, 1, 1, 1, 1};
    std::array<uint8_t, 8> b{2, 2, 2, 2, 2, 2, 2, 2};
    RangeMemory m;
    m.add(0x1004, Bytes(a.data(), a.size()));
    m.add(0x1000, Bytes(b.data(), b.size()));
    m.finalize();
    std::array<uint8_t, 12> out{};
    EXPECT_EQ(m.read(0x1000, out), 12u);
    // b (added second) keeps only its bytes below a's start.
    EXPECT_EQ(out[3], 2);
    EXPECT_EQ(out[4], 1);
    EXPECT_EQ(out[11], 1);
}

TEST(RangeMemory, RangeAtTopOfAddressSpaceIsClipped) {
    std::array<uint8_t, 8> a{};
    RangeMemory m;
    m.add(~uint64_t{0} - 3, Bytes(a.data(), a.size()));
    m.finalize();
    ASSERT_EQ(m.ranges().size(), 1u);
    EXPECT_EQ(m.ranges()[0].data.size(), 3u);
}

TEST(RangeMemory, StringsAreBoundedAndMissingStartIsAbsent) {
    const char text[] = "ntdll.dll\0rest";
    RangeMemory m;
    m.add(0x5000, Bytes(reinterpret_cast<const uint8_t*>(text), sizeof text));
    m.finalize();
    EXPECT_EQ(*m.readCString(0x5000, 100), "ntdll.dll");
    EXPECT_EQ(*m.readCString(0x5000, 5), "ntdll");
    EXPECT_FALSE(m.readCString(0x4000, 10));
}

}  // namespace
}  // namespace nt
