#include "dump/minidump/minidump_reader.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "unit/dump/dump_builder.h"

using namespace nt;
using nt::test::Buf;
using nt::test::MinidumpBuilder;
using nt::test::view;

namespace {

std::string errorOf(const std::vector<uint8_t>& bytes) {
    DumpTarget t;
    try {
        readMinidump(view(bytes), t);
    } catch (const FormatError& e) {
        return e.what();
    }
    return "";
}

// A small x64 process: one thread whose stack is in the dump, two modules
// named ntdll (System32 and SysWOW64), an exception, one memory range.
std::vector<uint8_t> sampleDump() {
    MinidumpBuilder mb;
    mb.systemInfo(9);
    CpuContext c(Machine::Amd64);
    c.setIp(0x7ff7a13110d9);
    c.setSp(0x1000f8);
    auto ctx = c.serialize();
    uint32_t ctxRva = mb.blob(ctx);
    std::vector<uint8_t> stack(0x100);
    for (size_t i = 0; i < stack.size(); ++i) stack[i] = static_cast<uint8_t>(i);
    uint32_t stackRva = mb.blob(stack);
    Buf th;
    th.u32(1).u32(0x2a6c).u32(0).u32(0x20).u32(0).u64(0x7ffde000);
    th.u64(0x100000).u32(0x100).u32(stackRva).u32(static_cast<uint32_t>(ctx.size())).u32(ctxRva);
    mb.stream(3, th.vec());

    uint32_t n64 = mb.string("C:\\Windows\\System32\\ntdll.dll");
    uint32_t n32 = mb.string("C:\\Windows\\SysWOW64\\NTDLL.DLL");
    Buf mods;
    mods.u32(2);
    for (auto [base, name] : {std::pair<uint64_t, uint32_t>{0x7ffc8d700000, n64}, {0x77cf0000, n32}}) {
        mods.u64(base).u32(0x190000).u32(0).u32(0).u32(name).zeros(52).zeros(16).u64(0).u64(0);
    }
    mb.stream(4, mods.vec());

    uint32_t mem = mb.blob({0x4d, 0x5a, 0x90, 0x00});
    Buf ml;
    ml.u32(1).u64(0x77cf0000).u32(4).u32(mem);
    mb.stream(5, ml.vec());

    Buf ex;
    ex.u32(0x2a6c).u32(0).u32(0xc0000005).u32(0).u64(0).u64(0x7ff7a13110d9).u32(2).u32(0).u64(1).u64(0);
    ex.zeros(13 * 8).u32(static_cast<uint32_t>(ctx.size())).u32(ctxRva);
    mb.stream(6, ex.vec());
    mb.stream(0x4b6b0001, {1, 2, 3});  // Kasko: unknown, listed
    mb.rawEntry(0, 0, 0);              // unused padding entry
    return mb.build(0x5c0b9e05);
}

}  // namespace

TEST(MinidumpReader, BuildsTheTargetModel) {
    auto bytes = sampleDump();
    DumpTarget t;
    readMinidump(view(bytes), t);
    EXPECT_EQ(t.machine, Machine::Amd64);
    EXPECT_EQ(t.dumpKind, "minidump");
    EXPECT_EQ(t.dumpTimestamp, 0x5c0b9e05u);
    ASSERT_EQ(t.threads.size(), 1u);
    EXPECT_EQ(t.threads[0].id, 0x2a6cu);
    ASSERT_TRUE(t.exception);
    EXPECT_EQ(t.exception->code, 0xc0000005u);
    EXPECT_EQ(t.exception->address, 0x7ff7a13110d9u);
    EXPECT_EQ(t.exception->parameters, (std::vector<uint64_t>{1, 0}));
    EXPECT_EQ(t.eventThread, 0u);
}

TEST(MinidumpReader, WowNtdllGetsBaseSuffixAndModulesSortByBase) {
    auto bytes = sampleDump();
    DumpTarget t;
    readMinidump(view(bytes), t);
    ASSERT_EQ(t.modules.size(), 2u);
    // Sorted by base after finalize(): the SysWOW64 copy (second in load order) first.
    EXPECT_EQ(t.modules[0].base, 0x77cf0000u);
    EXPECT_EQ(t.modules[0].name, "NTDLL_77cf0000");
    EXPECT_EQ(t.modules[1].name, "ntdll");
    ASSERT_NE(t.moduleAt(0x77cf1234), nullptr);
    EXPECT_EQ(t.moduleAt(0x77cf1234)->name, "NTDLL_77cf0000");
}

TEST(MinidumpReader, MemoryHasRangesAndStacks) {
    auto bytes = sampleDump();
    DumpTarget t;
    readMinidump(view(bytes), t);
    EXPECT_EQ(t.memory().readValue<uint16_t>(0x77cf0000), 0x5a4du);  // "MZ"
    EXPECT_EQ(t.memory().readValue<uint8_t>(0x1000f8), 0xf8u);       // stack byte at rsp
    EXPECT_FALSE(t.memory().readValue<uint8_t>(0x100100));            // one past the stack
}

TEST(MinidumpReader, StreamsListedIncludingUnknown) {
    auto bytes = sampleDump();
    DumpTarget t;
    readMinidump(view(bytes), t);
    ASSERT_EQ(t.streams.size(), 6u);  // the unused padding entry is not listed
    EXPECT_EQ(t.streams[0].name, "SystemInfoStream");
    EXPECT_EQ(t.streams[5].type, 0x4b6b0001u);
    EXPECT_EQ(t.streams[5].name, "");
    EXPECT_EQ(t.streams[5].size, 3u);
}

TEST(MinidumpReader, RejectsNonWindowsPlatforms) {
    MinidumpBuilder mb;
    mb.systemInfo(9, 0x8201);
    EXPECT_EQ(errorOf(mb.build()), "not a Windows minidump: platform Linux");
    MinidumpBuilder mac;
    mac.systemInfo(9, 0x8101);
    EXPECT_EQ(errorOf(mac.build()), "not a Windows minidump: platform macOS");
}

TEST(MinidumpReader, RejectsBreakpadLinuxStreams) {
    MinidumpBuilder mb;
    mb.systemInfo(9, 2);
    mb.stream(0x47670003, {'c', 'p', 'u'});
    EXPECT_NE(errorOf(mb.build()).find("platform Linux"), std::string::npos);
}

TEST(MinidumpReader, RequiresSystemInfo) {
    MinidumpBuilder mb;
    mb.stream(3, {0, 0, 0, 0});
    EXPECT_NE(errorOf(mb.build()).find("no SystemInfoStream"), std::string::npos);
}

TEST(MinidumpReader, TruncatedCopiesFailCleanly) {
    // Every prefix of a valid dump either opens or fails with FormatError
    // (under ASan this also proves no read leaves the buffer); prefixes
    // shorter than the header say "truncated", and prefixes that lose the
    // SystemInfo stream at the start of the data area cannot open.
    auto bytes = sampleDump();
    size_t opened = 0;
    for (size_t n = 0; n < bytes.size(); n += 7) {
        std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
        std::string err = errorOf(cut);
        if (n < 32) {
            EXPECT_NE(err.find("truncated"), std::string::npos) << n;
        }
        if (n < MinidumpBuilder::kDataStart) {
            EXPECT_FALSE(err.empty()) << n;
        }
        if (err.empty()) ++opened;
    }
    EXPECT_TRUE(errorOf(bytes).empty());
    EXPECT_LT(opened, bytes.size() / 7);
}

TEST(MinidumpReader, PlatformNames) {
    EXPECT_EQ(minidumpPlatformName(2), "Windows NT");
    EXPECT_EQ(minidumpPlatformName(0x8102), "iOS");
    EXPECT_EQ(minidumpPlatformName(0x9999), "platform 0x9999");
}
