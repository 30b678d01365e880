#include <gtest/gtest.h>

#include <cstring>

#include "arch/context.h"

namespace nt {
namespace {

template <class T>
void put(std::vector<uint8_t>& b, size_t off, T v) { std::memcpy(b.data() + off, &v, sizeof v); }

TEST(CpuContext, ParsesX64RecordAtWinntOffsets) {
    std::vector<uint8_t> raw(CpuContext::kAmd64Size, 0);
    put<uint32_t>(raw, 0x30, 0x10000b);         // CONTEXT_AMD64 | CONTROL | INTEGER | FLOATING
    put<uint16_t>(raw, 0x38, 0x33);             // cs
    put<uint32_t>(raw, 0x44, 0x10246);          // eflags
    put<uint64_t>(raw, 0x78, 0x1122334455667788);  // rax
    put<uint64_t>(raw, 0x98, 0x000000e5c60ff7a8);  // rsp
    put<uint64_t>(raw, 0xb8, 0x8888);              // r8
    put<uint64_t>(raw, 0xf8, 0x7ff7a13110d9);      // rip
    auto c = CpuContext::parse(Machine::Amd64, Bytes(raw.data(), raw.size()));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->ip(), 0x7ff7a13110d9u);
    EXPECT_EQ(c->sp(), 0x000000e5c60ff7a8u);
    EXPECT_EQ(*c->getByName("rax"), 0x1122334455667788u);
    EXPECT_EQ(*c->getByName("eax"), 0x55667788u);
    EXPECT_EQ(*c->getByName("ax"), 0x7788u);
    EXPECT_EQ(*c->getByName("al"), 0x88u);
    EXPECT_EQ(*c->getByName("ah"), 0x77u);
    EXPECT_EQ(*c->getByName("@R8"), 0x8888u);
    EXPECT_EQ(*c->getByName("r8d"), 0x8888u);
    EXPECT_EQ(*c->getByName("efl"), 0x10246u);
    EXPECT_EQ(*c->getByName("cs"), 0x33u);
    EXPECT_EQ(*c->getByName("$ip"), 0x7ff7a13110d9u);
    EXPECT_FALSE(c->getByName("eip2"));
    EXPECT_TRUE(c->hasControl());
    EXPECT_TRUE(c->hasInteger());
}

TEST(CpuContext, RejectsShortRecords) {
    std::vector<uint8_t> raw(0x40, 0);
    EXPECT_FALSE(CpuContext::parse(Machine::Amd64, Bytes(raw.data(), raw.size())));
    EXPECT_FALSE(CpuContext::parse(Machine::X86, Bytes(raw.data(), raw.size())));
    EXPECT_FALSE(CpuContext::parse(Machine::Arm64, Bytes(raw.data(), raw.size())));
    EXPECT_FALSE(CpuContext::parse(Machine::Unknown, Bytes(raw.data(), raw.size())));
}

TEST(CpuContext, ParsesX86RecordAndRoundTrips) {
    std::vector<uint8_t> raw(CpuContext::kX86Size, 0);
    put<uint32_t>(raw, 0, 0x1003f);
    put<uint32_t>(raw, 0xb0, 0xdeadbeef);  // eax
    put<uint32_t>(raw, 0xb4, 0x0019ff70);  // ebp
    put<uint32_t>(raw, 0xb8, 0x00401000);  // eip
    put<uint32_t>(raw, 0xc4, 0x0019ff60);  // esp
    put<uint32_t>(raw, 0xbc, 0x23);        // cs
    auto c = CpuContext::parse(Machine::X86, Bytes(raw.data(), raw.size()));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->ip(), 0x401000u);
    EXPECT_EQ(c->sp(), 0x19ff60u);
    EXPECT_EQ(c->fp(), 0x19ff70u);
    EXPECT_EQ(*c->getByName("eax"), 0xdeadbeefu);
    EXPECT_EQ(*c->getByName("ah"), 0xbeu);
    EXPECT_FALSE(c->getByName("rax"));  // no 64-bit names on x86
    auto back = c->serialize();
    auto c2 = CpuContext::parse(Machine::X86, Bytes(back.data(), back.size()));
    ASSERT_TRUE(c2);
    EXPECT_EQ(*c2->getByName("eax"), 0xdeadbeefu);
    EXPECT_EQ(c2->ip(), 0x401000u);
}

TEST(CpuContext, ParsesArm64Record) {
    std::vector<uint8_t> raw(CpuContext::kArm64Size, 0);
    put<uint32_t>(raw, 0, 0x400003);
    put<uint64_t>(raw, 8 + 8 * 3, 0x33);     // x3
    put<uint64_t>(raw, 0xf0, 0xfff0);         // fp
    put<uint64_t>(raw, 0xf8, 0x140001234);    // lr
    put<uint64_t>(raw, 0x100, 0xffe0);        // sp
    put<uint64_t>(raw, 0x108, 0x140001000);   // pc
    auto c = CpuContext::parse(Machine::Arm64, Bytes(raw.data(), raw.size()));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->ip(), 0x140001000u);
    EXPECT_EQ(c->sp(), 0xffe0u);
    EXPECT_EQ(c->fp(), 0xfff0u);
    EXPECT_EQ(*c->getByName("x3"), 0x33u);
    EXPECT_EQ(*c->getByName("x29"), 0xfff0u);
    EXPECT_EQ(*c->getByName("lr"), 0x140001234u);
    EXPECT_EQ(*c->getByName("w3"), 0x33u);
}

TEST(CpuContext, WritingEaxZeroExtendsOnX64) {
    CpuContext c(Machine::Amd64);
    c.set(Reg::Rax, 0xffffffffffffffffull);
    ASSERT_TRUE(c.setByName("eax", 1));
    EXPECT_EQ(c.get(Reg::Rax), 1u);
    ASSERT_TRUE(c.setByName("al", 0x22));
    EXPECT_EQ(c.get(Reg::Rax), 0x22u);
    ASSERT_TRUE(c.setByName("ah", 0x11));
    EXPECT_EQ(c.get(Reg::Rax), 0x1122u);
}

TEST(Machine, ConvertsFileValues) {
    EXPECT_EQ(machineFromImageType(0x8664), Machine::Amd64);
    EXPECT_EQ(machineFromImageType(0x14c), Machine::X86);
    EXPECT_EQ(machineFromImageType(0xaa64), Machine::Arm64);
    EXPECT_EQ(machineFromImageType(0x1c4), Machine::Arm);
    EXPECT_EQ(machineFromProcessorArchitecture(9), Machine::Amd64);
    EXPECT_EQ(machineFromProcessorArchitecture(0), Machine::X86);
    EXPECT_EQ(machineFromProcessorArchitecture(12), Machine::Arm64);
    EXPECT_EQ(machineFromName("amd64"), Machine::Amd64);
    EXPECT_EQ(machineFromName("X86"), Machine::X86);
    EXPECT_EQ(machineFromName("sparc"), Machine::Unknown);
}

}  // namespace
}  // namespace nt
