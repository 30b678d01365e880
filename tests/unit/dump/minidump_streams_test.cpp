#include "dump/minidump/minidump_streams.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "dump/minidump/minidump_format.h"
#include "unit/dump/dump_builder.h"

using namespace nt;
using nt::test::Buf;
using nt::test::MinidumpBuilder;
using nt::test::view;

namespace {

std::vector<uint8_t> amd64Context(uint64_t rip, uint64_t rsp) {
    CpuContext c(Machine::Amd64);
    c.setIp(rip);
    c.setSp(rsp);
    return c.serialize();
}

// Parses the dump built by mb and returns the file plus the bytes of the
// stream at `rva` of `size` bytes.
struct Built {
    std::vector<uint8_t> bytes;
    MinidumpFile file;
    Bytes stream(uint32_t type) { return *file.stream(type); }
};
Built build(const MinidumpBuilder& mb) {
    Built b{mb.build(), {}};
    b.file = MinidumpFile::parse(view(b.bytes));
    return b;
}

}  // namespace

TEST(MinidumpStreams, ThreadListFieldsContextAndStack) {
    MinidumpBuilder mb;
    uint32_t ctx = mb.blob(amd64Context(0x7ff7a13110d9, 0xaddabae1e8));
    uint32_t stack = mb.blob(std::vector<uint8_t>(0x40, 0xcc));
    Buf s;
    s.u32(1).u32(0x2a6c).u32(1).u32(0x20).u32(2).u64(0xaddac91000);
    s.u64(0xaddabae1c0).u32(0x40).u32(stack).u32(static_cast<uint32_t>(amd64Context(0, 0).size())).u32(ctx);
    s.u32(0);  // alignment padding real writers leave: must be accepted
    mb.stream(3, s.vec());
    Built b = build(mb);
    auto threads = mdmp::parseThreadList(b.file, b.stream(3), Machine::Amd64, mdmp::thread::kSize);
    ASSERT_EQ(threads.size(), 1u);
    const Thread& t = threads[0].thread;
    EXPECT_EQ(t.id, 0x2a6cu);
    EXPECT_EQ(t.suspendCount, 1u);
    EXPECT_EQ(t.priorityClass, 0x20u);
    EXPECT_EQ(t.priority, 2u);
    EXPECT_EQ(t.teb, 0xaddac91000u);
    EXPECT_EQ(t.stackStart, 0xaddabae1c0u);
    ASSERT_TRUE(t.context);
    EXPECT_EQ(t.context->ip(), 0x7ff7a13110d9u);
    EXPECT_EQ(t.context->sp(), 0xaddabae1e8u);
    ASSERT_EQ(threads[0].stack.size(), 0x40u);
    EXPECT_EQ(threads[0].stack.data()[0x3f], 0xcc);
}

TEST(MinidumpStreams, ThreadListWithZeroStackRvaHasNoStackBytes) {
    // Wine's full dumps: Stack.Memory.Rva = 0, the stack is in Memory64List.
    MinidumpBuilder mb;
    Buf s;
    s.u32(1).u32(7).zeros(12).u64(0x1000).u64(0x1000).u32(0x1000).u32(0).u32(0).u32(0);
    mb.stream(3, s.vec());
    Built b = build(mb);
    auto threads = mdmp::parseThreadList(b.file, b.stream(3), Machine::Amd64, mdmp::thread::kSize);
    ASSERT_EQ(threads.size(), 1u);
    EXPECT_TRUE(threads[0].stack.empty());
    EXPECT_FALSE(threads[0].thread.context);
}

TEST(MinidumpStreams, ThreadCountLargerThanStreamIsFormatError) {
    MinidumpBuilder mb;
    Buf s;
    s.u32(1000).zeros(48);
    mb.stream(3, s.vec());
    Built b = build(mb);
    EXPECT_THROW(mdmp::parseThreadList(b.file, b.stream(3), Machine::Amd64, mdmp::thread::kSize), FormatError);
}

TEST(MinidumpStreams, ThreadContextOutsideFileIsFormatError) {
    MinidumpBuilder mb;
    Buf s;
    s.u32(1).u32(7).zeros(28).u32(0x4d0).u32(0x7ffffff0);
    mb.stream(3, s.vec());
    Built b = build(mb);
    EXPECT_THROW(mdmp::parseThreadList(b.file, b.stream(3), Machine::Amd64, mdmp::thread::kSize), FormatError);
}

TEST(MinidumpStreams, ModuleListNameVersionCodeView) {
    MinidumpBuilder mb;
    uint32_t name = mb.string("C:\\Windows\\System32\\ntdll.dll");
    Buf cv;
    cv.u32(0x53445352);
    // GUID 7DD47A9F-C2E8-499A-A78E-C14AE2C965A2 stored as Data1..3 LE + Data4.
    cv.u32(0x7dd47a9f).u16(0xc2e8).u16(0x499a).bytes({0xa7, 0x8e, 0xc1, 0x4a, 0xe2, 0xc9, 0x65, 0xa2});
    cv.u32(1).ascii("ntdll.pdb").u8(0);
    uint32_t cvRva = mb.blob(cv.vec());
    Buf s;
    s.u32(1).u64(0x7ffbddcd0000).u32(0x1e0000).u32(0x1e1d2a).u32(286284905).u32(name);
    s.u32(0xfeef04bd).u32(0x10000).u32(0xa0000).u32(0x3fab0311).u32(0xa0000).u32(0x3fab0311);
    s.u32(0x3f).u32(0).u32(0x40004).u32(2).u32(0).u32(0).u32(0);
    s.u32(static_cast<uint32_t>(cv.size())).u32(cvRva).u32(0).u32(0).u64(0).u64(0);
    mb.stream(4, s.vec());
    Built b = build(mb);
    auto mods = mdmp::parseModuleList(b.file, b.stream(4));
    ASSERT_EQ(mods.size(), 1u);
    EXPECT_EQ(mods[0].base, 0x7ffbddcd0000u);
    EXPECT_EQ(mods[0].size, 0x1e0000u);
    EXPECT_EQ(mods[0].checksum, 0x1e1d2au);
    EXPECT_EQ(mods[0].timestamp, 286284905u);
    EXPECT_EQ(mods[0].path, "C:\\Windows\\System32\\ntdll.dll");
    EXPECT_TRUE(mods[0].version.present);
    EXPECT_EQ(mods[0].version.fileVersionLS, 0x3fab0311u);
    EXPECT_EQ(mods[0].version.fileType, 2u);
    ASSERT_TRUE(mods[0].codeView);
    EXPECT_EQ(mods[0].codeView->guidString(), "7DD47A9FC2E8499AA78EC14AE2C965A2");
    EXPECT_EQ(mods[0].codeView->age, 1u);
    EXPECT_EQ(mods[0].codeView->pdbName, "ntdll.pdb");
}

TEST(MinidumpStreams, CodeViewNb10AndGarbage) {
    Buf nb;
    nb.ascii("NB10").u32(0).u32(0x3a1b2c3d).u32(5).ascii("old.pdb").u8(0);
    auto cv = mdmp::parseCodeView(view(nb.vec()));
    ASSERT_TRUE(cv);
    EXPECT_FALSE(cv->isPdb70);
    EXPECT_EQ(cv->age, 5u);
    EXPECT_EQ(cv->pdbName, "old.pdb");
    EXPECT_EQ(cv->guid[0], 0x3d);
    Buf junk;
    junk.ascii("RSDS").u32(1);  // too short for a GUID
    EXPECT_FALSE(mdmp::parseCodeView(view(junk.vec())));
}

TEST(MinidumpStreams, MemoryListAndClippedRange) {
    MinidumpBuilder mb;
    uint32_t data = mb.blob({1, 2, 3, 4, 5, 6, 7, 8});
    Buf s;
    s.u32(2).u64(0x10000).u32(8).u32(data).u64(0x20000).u32(0x100000).u32(data);
    mb.stream(5, s.vec());
    Built b = build(mb);
    auto r = mdmp::parseMemoryList(b.file, b.stream(5));
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].start, 0x10000u);
    EXPECT_EQ(r[0].data.size(), 8u);
    EXPECT_EQ(r[0].data.data()[7], 8);
    // Second range claims 1 MiB from the same RVA: clipped at the end of the file.
    EXPECT_EQ(r[1].data.size(), b.bytes.size() - data);
}

TEST(MinidumpStreams, Memory64ListIsConsecutiveFromBaseRva) {
    MinidumpBuilder mb;
    Buf s;
    s.u64(2).u64(0);  // BaseRva patched below
    s.u64(0x7ffe0000).u64(4).u64(0x7ffe1000).u64(2);
    uint32_t srva = mb.stream(9, s.vec());
    uint32_t base = mb.blob({0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff});
    auto bytes = mb.build();
    std::memcpy(bytes.data() + srva + 8, &base, 4);
    MinidumpFile f = MinidumpFile::parse(view(bytes));
    auto r = mdmp::parseMemory64List(f, *f.stream(9));
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].data.size(), 4u);
    EXPECT_EQ(r[1].start, 0x7ffe1000u);
    ASSERT_EQ(r[1].data.size(), 2u);
    EXPECT_EQ(r[1].data.data()[0], 0xee);
}

TEST(MinidumpStreams, Memory64ListHugeCountIsFormatError) {
    MinidumpBuilder mb;
    Buf s;
    s.u64(0x1000000000000000ull).u64(0).u64(0).u64(0);
    mb.stream(9, s.vec());
    Built b = build(mb);
    EXPECT_THROW(mdmp::parseMemory64List(b.file, b.stream(9)), FormatError);
}

TEST(MinidumpStreams, ExceptionClampsParametersAndReadsContext) {
    MinidumpBuilder mb;
    uint32_t ctx = mb.blob(amd64Context(0x401000, 0x12ff00));
    Buf s;
    s.u32(0x2a6c).u32(0).u32(0xc0000005).u32(1).u64(0).u64(0x7ff7a13110d9).u32(99).u32(0);
    for (int i = 0; i < 15; ++i) s.u64(0x100 + i);
    s.u32(0x4d0).u32(ctx);
    mb.stream(6, s.vec());
    Built b = build(mb);
    ExceptionInfo x = mdmp::parseException(b.file, b.stream(6), Machine::Amd64);
    EXPECT_EQ(x.threadId, 0x2a6cu);
    EXPECT_EQ(x.code, 0xc0000005u);
    EXPECT_EQ(x.flags, 1u);
    EXPECT_EQ(x.address, 0x7ff7a13110d9u);
    ASSERT_EQ(x.parameters.size(), 15u);
    EXPECT_EQ(x.parameters[14], 0x10eu);
    ASSERT_TRUE(x.context);
    EXPECT_EQ(x.context->ip(), 0x401000u);
}

TEST(MinidumpStreams, ExceptionTooShortIsFormatError) {
    MinidumpBuilder mb;
    mb.stream(6, std::vector<uint8_t>(100, 0));
    Built b = build(mb);
    EXPECT_THROW(mdmp::parseException(b.file, b.stream(6), Machine::Amd64), FormatError);
}

TEST(MinidumpStreams, SystemInfoX86VendorAndCsd) {
    MinidumpBuilder mb;
    mb.systemInfo(0, 2, "Service Pack 2");
    Built b = build(mb);
    SystemInfo s = mdmp::parseSystemInfo(b.file, b.stream(7));
    EXPECT_EQ(s.machine, Machine::X86);
    EXPECT_EQ(s.majorVersion, 10u);
    EXPECT_EQ(s.buildNumber, 19041u);
    EXPECT_EQ(s.platformId, 2u);
    EXPECT_EQ(s.numberOfProcessors, 8);
    EXPECT_EQ(s.productType, 1);
    EXPECT_EQ(s.suiteMask, 0x100);
    EXPECT_EQ(s.csdVersion, "Service Pack 2");
    EXPECT_EQ(s.cpuVendor, "GenuineIntel");
    EXPECT_EQ(s.cpuFeatureInformation, 0xbfebfbffu);
}

TEST(MinidumpStreams, MiscInfoVersionFollowsSize) {
    Buf v1;
    v1.u32(24).u32(3).u32(0x1234).u32(0x5c0b9e00).u32(7).u32(9);
    MiscInfo m1 = mdmp::parseMiscInfo(view(v1.vec()));
    EXPECT_EQ(m1.version, 1u);
    EXPECT_EQ(m1.processId, 0x1234u);
    EXPECT_EQ(m1.processCreateTime, 0x5c0b9e00u);
    EXPECT_FALSE(m1.maxMhz);

    Buf v4;
    v4.u32(832).u32(0x1 | 0x4 | 0x40 | 0x100).u32(42).zeros(12).u32(3400).u32(3300).zeros(44 - 32);
    v4.zeros(56 - 44).u32(2).zeros(232 - 60);
    v4.utf16("17763.1.amd64fre.rs5_release.180914-1434").zeros(752 - 232 - 80);
    v4.utf16("dbg").zeros(832 - 752 - 6);
    ASSERT_EQ(v4.size(), 832u);
    MiscInfo m4 = mdmp::parseMiscInfo(view(v4.vec()));
    EXPECT_EQ(m4.version, 4u);
    EXPECT_EQ(m4.processId, 42u);
    EXPECT_FALSE(m4.processCreateTime);  // flag 2 not set
    EXPECT_EQ(m4.maxMhz, 3400u);
    EXPECT_EQ(m4.currentMhz, 3300u);
    EXPECT_EQ(m4.timeZoneId, 2u);
    EXPECT_EQ(m4.buildString, "17763.1.amd64fre.rs5_release.180914-1434");
    EXPECT_EQ(m4.dbgBuildString, "dbg");
}

TEST(MinidumpStreams, HandleData) {
    MinidumpBuilder mb;
    uint32_t type = mb.string("Event");
    uint32_t name = mb.string("\\BaseNamedObjects\\x");
    Buf s;
    s.u32(16).u32(40).u32(1).u32(0);
    s.u64(0x44).u32(type).u32(name).u32(0).u32(0x1f0003).u32(1).u32(32770).u32(0).u32(0);
    mb.stream(12, s.vec());
    Built b = build(mb);
    auto h = mdmp::parseHandleData(b.file, b.stream(12));
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].handle, 0x44u);
    EXPECT_EQ(h[0].typeName, "Event");
    EXPECT_EQ(h[0].objectName, "\\BaseNamedObjects\\x");
    EXPECT_EQ(h[0].grantedAccess, 0x1f0003u);
    EXPECT_EQ(h[0].pointerCount, 32770u);
}

TEST(MinidumpStreams, UnloadedModulesAndMemoryInfo) {
    MinidumpBuilder mb;
    uint32_t name = mb.string("old.dll");
    Buf u;
    u.u32(12).u32(24).u32(1).u64(0x10000000).u32(0x5000).u32(0xabc).u32(0x5a5a5a5a).u32(name);
    mb.stream(14, u.vec());
    Buf mi;
    mi.u32(16).u32(48).u64(1).u64(0x7ffe0000).u64(0x7ffe0000).u32(2).u32(0).u64(0x1000).u32(0x1000).u32(2).u32(0x20000).u32(0);
    mb.stream(16, mi.vec());
    Built b = build(mb);
    auto un = mdmp::parseUnloadedModuleList(b.file, b.stream(14));
    ASSERT_EQ(un.size(), 1u);
    EXPECT_EQ(un[0].name, "old.dll");
    EXPECT_EQ(un[0].base, 0x10000000u);
    EXPECT_EQ(un[0].size, 0x5000u);
    EXPECT_EQ(un[0].timestamp, 0x5a5a5a5au);
    auto regions = mdmp::parseMemoryInfoList(b.stream(16));
    ASSERT_EQ(regions.size(), 1u);
    EXPECT_EQ(regions[0].base, 0x7ffe0000u);
    EXPECT_EQ(regions[0].size, 0x1000u);
    EXPECT_EQ(regions[0].state, 0x1000u);
    EXPECT_EQ(regions[0].type, 0x20000u);
}

TEST(MinidumpStreams, ThreadInfoAndNamesMatchById) {
    MinidumpBuilder mb;
    uint32_t nm = mb.string("main thread");
    Buf ti;
    ti.u32(12).u32(64).u32(1).u32(0x19a4).u32(0).u32(0).u32(0x103);
    ti.u64(1).u64(0).u64(2).u64(3).u64(0x401000).u64(0xff);
    mb.stream(17, ti.vec());
    Buf tn;
    tn.u32(2).u32(0x19a4).u64(nm).u32(0x9999).u64(nm);  // second id has no thread
    mb.stream(24, tn.vec());
    Built b = build(mb);
    std::vector<Thread> threads(2);
    threads[0].id = 0xce0;
    threads[1].id = 0x19a4;
    mdmp::applyThreadInfoList(b.stream(17), threads);
    mdmp::applyThreadNames(b.file, b.stream(24), threads);
    EXPECT_FALSE(threads[0].hasInfo);
    EXPECT_TRUE(threads[1].hasInfo);
    EXPECT_EQ(threads[1].exitStatus, 0x103u);
    EXPECT_EQ(threads[1].startAddress, 0x401000u);
    EXPECT_EQ(threads[1].affinity, 0xffu);
    EXPECT_EQ(threads[1].name, "main thread");
    EXPECT_EQ(threads[0].name, "");
}

TEST(MinidumpStreams, Comments) {
    Buf a;
    a.ascii("hello").u8(0).ascii("junk");
    EXPECT_EQ(mdmp::parseCommentA(view(a.vec())), "hello");
    Buf w;
    w.utf16("wide").u16(0);
    EXPECT_EQ(mdmp::parseCommentW(view(w.vec())), "wide");
}

TEST(MinidumpStreams, SystemMemoryInfoBasicInfo) {
    Buf s;
    s.u16(1).u16(0xf).u32(156250).u32(0x1000).u32(0xffa307).u32(1).u32(0x102ffff).u32(0x10000);
    s.u64(0x10000).u64(0x7ffffffeffff).u64(0xffffffffffff).u32(48);
    auto m = mdmp::parseSystemMemoryInfo(view(s.vec()));
    EXPECT_EQ(m.pageSize, 0x1000u);
    EXPECT_EQ(m.numberOfPhysicalPages, 0xffa307u);
    EXPECT_EQ(m.allocationGranularity, 0x10000u);
    EXPECT_EQ(m.minimumUserAddress, 0x10000u);
    EXPECT_EQ(m.maximumUserAddress, 0x7ffffffeffffu);
    EXPECT_EQ(m.numberOfProcessors, 48u);
    EXPECT_THROW(mdmp::parseSystemMemoryInfo(view(std::vector<uint8_t>(40))), FormatError);
}

TEST(MinidumpStreams, ProcessVmCountersRevisions) {
    Buf v2;
    v2.u16(2).u16(0x1f).u32(0x1e0);
    for (uint64_t i = 1; i <= 18; ++i) v2.u64(i * 0x1000);
    auto c2 = mdmp::parseProcessVmCounters(view(v2.vec()));
    EXPECT_EQ(c2.pageFaultCount, 0x1e0u);
    EXPECT_EQ(c2.peakWorkingSetSize, 0x1000u);
    EXPECT_EQ(c2.peakPagefileUsage, 0x8000u);
    EXPECT_EQ(c2.peakVirtualSize, 0x9000u);
    EXPECT_EQ(c2.virtualSize, 0xa000u);
    EXPECT_EQ(c2.privateUsage, 0xb000u);
    Buf v1;
    v1.u16(1).u16(0).u32(7);
    for (uint64_t i = 1; i <= 9; ++i) v1.u64(i);
    auto c1 = mdmp::parseProcessVmCounters(view(v1.vec()));
    EXPECT_EQ(c1.privateUsage, 9u);
    EXPECT_FALSE(c1.virtualSize);
    v2.vec().resize(100);
    EXPECT_THROW(mdmp::parseProcessVmCounters(view(v2.vec())), FormatError);
}

TEST(MinidumpStreams, ZeroSizeStreamsAreEmptyLists) {
    MinidumpBuilder mb;
    mb.rawEntry(3, 0, 0);
    mb.rawEntry(16, 0, 0);
    Built b = build(mb);
    EXPECT_TRUE(mdmp::parseThreadList(b.file, b.stream(3), Machine::X86, mdmp::thread::kSize).empty());
    EXPECT_TRUE(mdmp::parseMemoryInfoList(b.stream(16)).empty());
    // ...but a header cut short is not.
    EXPECT_THROW(mdmp::parseMemoryInfoList(view(std::vector<uint8_t>(8))), FormatError);
}
