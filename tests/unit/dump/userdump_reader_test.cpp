#include "dump/userdump/userdump_reader.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "base/mapped_file.h"
#include "support/test_support.h"
#include "unit/dump/dump_builder.h"

using namespace nt;
using nt::test::Buf;
using nt::test::view;

namespace {

// A synthetic legacy user dump: 1 thread, 2 modules, 2 memory regions, an
// exception debug event. Layout: header | event | regions | contexts |
// thread states | modules | data.
std::vector<uint8_t> userDump(bool is64) {
    const Machine m = is64 ? Machine::Amd64 : Machine::X86;
    CpuContext c(m);
    c.setIp(0x401000);
    c.setSp(0x12ff00);
    auto ctx = c.serialize();
    auto p = [&](Buf& b, uint64_t v) -> Buf& { return is64 ? b.u64(v) : b.u32(static_cast<uint32_t>(v)); };

    Buf event;
    event.u32(1).u32(0x1234).u32(0x2098);
    if (is64) event.u32(0);
    event.u32(0x80000003).u32(0);
    p(event, 0);
    p(event, 0x401000);
    event.u32(1);
    if (is64) event.u32(0);
    p(event, 0xdead);
    for (int i = 1; i < 15; ++i) p(event, 0);
    event.u32(1);  // dwFirstChance
    while (event.size() % 8) event.u8(0);

    Buf regions;
    for (auto [base, size] : {std::pair<uint64_t, uint64_t>{0x400000, 0x1000}, {0x12f000, 0x1000}}) {
        p(regions, base);
        p(regions, base);
        regions.u32(2);
        if (is64) regions.u32(0);
        p(regions, size);
        regions.u32(0x1000).u32(4).u32(0x20000);
        if (is64) regions.u32(0);
    }
    Buf states;
    states.u32(0x2098).u32(1).u32(0x20).u32(0);
    p(states, 0x7ffde000);
    states.zeros(is64 ? 56 : 28);
    Buf mods;
    for (auto [base, name] : {std::pair<uint64_t, std::string_view>{0x400000, "app.exe"},
                              {0x77000000, "C:\\Windows\\System32\\ntdll.dll"}}) {
        p(mods, base).u32(0x10000).u32(static_cast<uint32_t>(name.size() + 1)).ascii(name).u8(0);
    }
    std::vector<uint8_t> image(0x1000), stack(0x1000);
    image[0] = 'M';
    image[1] = 'Z';
    image[0x3c] = 0x80;
    image[0x80] = 'P';
    image[0x81] = 'E';
    image[0x88] = 0x78;  // TimeDateStamp 0x12345678
    image[0x89] = 0x56;
    image[0x8a] = 0x34;
    image[0x8b] = 0x12;
    stack[0xf00] = 0x42;

    uint64_t hdr = is64 ? 0x60 : 0x40;
    uint64_t evOff = hdr, regOff = evOff + event.size(), thrOff = regOff + regions.size();
    uint64_t stOff = thrOff + ctx.size(), modOff = stOff + states.size(), dataOff = modOff + mods.size();
    Buf f;
    f.ascii(is64 ? "USERDU64" : "USERDUMP").u32(10).u32(0x42ee0000).u32(is64 ? 0x8664 : 0x14c);
    f.u32(1).u32(2).u32(2);
    for (uint64_t v : {thrOff, modOff, dataOff, regOff, evOff, stOff, dataOff + 0x2000, uint64_t{0}}) p(f, v);
    f.zeros(hdr - f.size());
    f.bytes(event.vec()).bytes(regions.vec()).bytes(ctx).bytes(states.vec()).bytes(mods.vec());
    f.bytes(image).bytes(stack);
    return f.vec();
}

std::string errorOf(const std::vector<uint8_t>& bytes) {
    DumpTarget t;
    try {
        readUserDump(view(bytes), t);
    } catch (const FormatError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

class UserDumpSynthetic : public ::testing::TestWithParam<bool> {};

TEST_P(UserDumpSynthetic, ReadsEveryPart) {
    bool is64 = GetParam();
    auto bytes = userDump(is64);
    DumpTarget t;
    readUserDump(view(bytes), t);
    EXPECT_EQ(t.dumpKind, is64 ? "user full dump (USERDU64)" : "user full dump (USERDUMP)");
    EXPECT_EQ(t.machine, is64 ? Machine::Amd64 : Machine::X86);
    EXPECT_EQ(t.system.buildNumber, 17134u);
    ASSERT_EQ(t.threads.size(), 1u);
    EXPECT_EQ(t.threads[0].id, 0x2098u);
    EXPECT_EQ(t.threads[0].suspendCount, 1u);
    EXPECT_EQ(t.threads[0].priorityClass, 0x20u);
    EXPECT_EQ(t.threads[0].teb, 0x7ffde000u);
    ASSERT_TRUE(t.threads[0].context);
    EXPECT_EQ(t.threads[0].context->sp(), 0x12ff00u);
    ASSERT_EQ(t.modules.size(), 2u);
    EXPECT_EQ(t.modules[0].name, "app");
    EXPECT_EQ(t.modules[0].timestamp, 0x12345678u);  // from the PE header in memory
    EXPECT_EQ(t.modules[1].name, "ntdll");
    EXPECT_EQ(t.modules[1].path, "C:\\Windows\\System32\\ntdll.dll");
    ASSERT_EQ(t.memoryRegions.size(), 2u);
    EXPECT_EQ(t.memoryRegions[1].base, 0x12f000u);
    EXPECT_EQ(t.memory().readValue<uint16_t>(0x400000), 0x5a4du);
    EXPECT_EQ(t.memory().readValue<uint8_t>(0x12ff00), 0x42u);
    ASSERT_TRUE(t.exception);
    EXPECT_EQ(t.exception->code, 0x80000003u);
    EXPECT_EQ(t.exception->threadId, 0x2098u);
    EXPECT_EQ(t.exception->address, 0x401000u);
    EXPECT_EQ(t.exception->parameters, std::vector<uint64_t>{0xdead});
    EXPECT_TRUE(t.exception->firstChanceKnown);
    EXPECT_TRUE(t.exception->firstChance);
    ASSERT_TRUE(t.exception->context);
    EXPECT_EQ(t.exception->context->ip(), 0x401000u);
}

TEST_P(UserDumpSynthetic, BadCountsAndOffsetsAreFormatErrors) {
    bool is64 = GetParam();
    auto bytes = userDump(is64);
    auto bad = bytes;
    bad[0x14] = 0xff;  // ThreadCount
    bad[0x15] = 0xff;
    EXPECT_NE(errorOf(bad).find("thread context table"), std::string::npos);
    bad = bytes;
    bad[0x1c] = 0xff;  // MemoryRegionCount
    bad[0x1d] = 0xff;
    EXPECT_NE(errorOf(bad).find("memory region table"), std::string::npos);
    bad = bytes;
    // First module's ImageNameLength runs past the end of the file.
    uint32_t modOff = bad[is64 ? 0x28 : 0x24] | (bad[is64 ? 0x29 : 0x25] << 8);
    bad[modOff + (is64 ? 12 : 8) + 2] = 0x7f;
    EXPECT_NE(errorOf(bad).find("module entry 0"), std::string::npos);
    bad = bytes;
    bad[0x1a] = 0x10;  // ModuleCount 0x100002: more than the file could hold
    EXPECT_NE(errorOf(bad).find("modules cannot fit"), std::string::npos);
    bad = bytes;
    bad[0x10] = 0x99;  // MachineImageType
    EXPECT_NE(errorOf(bad).find("machine type"), std::string::npos);
}

TEST_P(UserDumpSynthetic, TruncatedCopyStillOpensWithLessMemory) {
    // Region data is last in the file: losing its tail loses memory only.
    auto bytes = userDump(GetParam());
    bytes.resize(bytes.size() - 0x800);
    DumpTarget t;
    readUserDump(view(bytes), t);
    EXPECT_EQ(t.memory().readValue<uint16_t>(0x400000), 0x5a4du);
    EXPECT_FALSE(t.memory().readValue<uint8_t>(0x12ff00));
}

INSTANTIATE_TEST_SUITE_P(Bits, UserDumpSynthetic, ::testing::Values(false, true));

// The two real USERDU64 files. Expected values come from the MANIFEST
// (counts, exception code) and from reading the bytes with a hex dump /
// a few lines of Python (thread ids, TEBs, module bases and names, the
// exception address), not from this reader.
namespace {
struct Real {
    DumpTarget t;
    MappedFile f;
};
std::unique_ptr<Real> openReal(const std::string& path) {
    auto r = std::make_unique<Real>();
    r->f = MappedFile::open(path);
    readUserDump(r->f.bytes(), r->t);
    return r;
}
// NT_TIB.Self (TEB+0x30 on x64) must point back at the TEB, and each
// thread's stack pointer must lie in the stack range taken from the TIB.
void expectTebsSelfPointing(const Target& t) {
    for (const auto& th : t.threads) {
        EXPECT_EQ(t.memory().readValue<uint64_t>(th.teb + 0x30), th.teb) << th.id;
        ASSERT_TRUE(th.context);
        EXPECT_GE(th.context->sp(), th.stackStart) << th.id;
        EXPECT_LT(th.context->sp() - th.stackStart, th.stackSize) << th.id;
    }
}
}  // namespace

TEST(UserDumpCorpus, X64Release) {
    NT_REQUIRE_CORPUS_FILE(path, "kdlibcpp/targetapp_stacktest_x64_release/targetapp_stacktest_x64_release.dmp");
    auto r = openReal(path);
    const Target& t = r->t;
    ASSERT_EQ(t.threads.size(), 3u);
    EXPECT_EQ(t.threads[0].id, 0x2098u);
    EXPECT_EQ(t.threads[1].id, 0x2f64u);
    EXPECT_EQ(t.threads[2].id, 0x1cf0u);
    EXPECT_EQ(t.threads[0].teb, 0x8fe21a5000u);
    expectTebsSelfPointing(t);
    ASSERT_EQ(t.modules.size(), 7u);
    EXPECT_EQ(t.memoryRegions.size(), 56u);
    const Module* app = t.moduleByName("targetapp");
    ASSERT_NE(app, nullptr);
    EXPECT_EQ(app->base, 0x7ff7e1450000u);
    EXPECT_EQ(app->size, 0x10000u);
    const Module* nt = t.moduleByName("ntdll");
    ASSERT_NE(nt, nullptr);
    EXPECT_EQ(nt->base, 0x7ffe047c0000u);
    EXPECT_EQ(nt->size, 0x1e1000u);
    for (const auto& m : t.modules) EXPECT_EQ(t.memory().readValue<uint16_t>(m.base), 0x5a4du) << m.name;
    ASSERT_TRUE(t.exception);
    EXPECT_EQ(t.exception->code, 0x80000003u);
    EXPECT_EQ(t.exception->threadId, 0x2098u);
    EXPECT_EQ(t.exception->address, 0x7ff7e1451e65u);
    EXPECT_TRUE(t.exception->firstChance);
    ASSERT_TRUE(t.threads[0].context);
    EXPECT_EQ(t.threads[0].context->ip(), 0x7ff7e1451e65u);  // int3 is where the event thread stands
    EXPECT_EQ(t.memory().readValue<uint8_t>(0x7ff7e1451e65), 0xccu);
}

TEST(UserDumpCorpus, Wow64Release) {
    NT_REQUIRE_CORPUS_FILE(path, "kdlibcpp/targetapp_stacktest_wow64_release/targetapp_stacktest_wow64_release.dmp");
    auto r = openReal(path);
    const Target& t = r->t;
    ASSERT_EQ(t.threads.size(), 3u);
    EXPECT_EQ(t.threads[0].id, 0x34d8u);
    EXPECT_EQ(t.threads[1].id, 0x22f8u);
    EXPECT_EQ(t.threads[2].id, 0x3128u);
    expectTebsSelfPointing(t);
    EXPECT_EQ(t.modules.size(), 11u);
    EXPECT_EQ(t.memoryRegions.size(), 79u);
    for (const auto& m : t.modules) EXPECT_EQ(t.memory().readValue<uint16_t>(m.base), 0x5a4du) << m.name;
    // Both ntdlls: the native one keeps the plain name.
    const Module* nt64 = t.moduleByName("ntdll");
    ASSERT_NE(nt64, nullptr);
    EXPECT_EQ(nt64->base, 0x7ff837b70000u);
    const Module* nt32 = t.moduleByName("ntdll_771d0000");
    ASSERT_NE(nt32, nullptr);
    EXPECT_EQ(nt32->size, 0x190000u);
    ASSERT_TRUE(t.exception);
    EXPECT_EQ(t.exception->code, 0x4000001fu);
    EXPECT_EQ(t.exception->threadId, 0x34d8u);
    EXPECT_EQ(t.exception->address, 0xa81c38u);
}
