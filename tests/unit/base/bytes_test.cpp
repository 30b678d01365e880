#include <gtest/gtest.h>

#include <array>

#include "base/bytes.h"
#include "base/format.h"

namespace nt {
namespace {

TEST(Bytes, ReadsAreBoundsCheckedWithoutOverflow) {
    std::array<uint8_t, 8> a{0x4d, 0x44, 0x4d, 0x50, 0x93, 0xa7, 0, 0};
    Bytes b(a.data(), a.size());
    EXPECT_EQ(*b.get<uint32_t>(0), 0x504d444du);  // "MDMP"
    EXPECT_EQ(*b.get<uint16_t>(4), 0xa793u);
    EXPECT_FALSE(b.get<uint32_t>(6));
    EXPECT_FALSE(b.get<uint32_t>(~uint64_t{0} - 1));
    EXPECT_FALSE(b.sub(4, ~uint64_t{0}));
    EXPECT_TRUE(b.sub(8, 0));
    EXPECT_FALSE(b.sub(9, 0));
    EXPECT_EQ(b.subClamped(6, 100).size(), 2u);
    EXPECT_TRUE(b.subClamped(100, 1).empty());
}

TEST(Bytes, Utf16ToUtf8HandlesSurrogatesAndBadInput) {
    std::u16string s = u"ntdll";
    EXPECT_EQ(utf16ToUtf8(s), "ntdll");
    std::u16string pair = {0xD83D, 0xDE00};
    EXPECT_EQ(utf16ToUtf8(pair), "\xF0\x9F\x98\x80");
    std::u16string lone = {0xD800, 'a'};
    EXPECT_EQ(utf16ToUtf8(lone), "\xEF\xBF\xBD" "a");
}

TEST(Format, WinDbgAddressForms) {
    EXPECT_EQ(addrTick(0x7ff7a13110d9, true), "00007ff7`a13110d9");
    EXPECT_EQ(addrTick(0x7ff7a13110d9, false), "a13110d9");
    EXPECT_EQ(addrPlain(0x7ff7a13110d9, true), "00007ff7a13110d9");
    EXPECT_EQ(hexPad(0x1f, 4), "001f");
    EXPECT_EQ(hex(0), "0");
    EXPECT_EQ(hex0x(0x10d9), "0x10d9");
}

}  // namespace
}  // namespace nt
