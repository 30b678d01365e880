// KernelDumpFile on small dumps written byte by byte here: one builder per
// layout (PAGEDU64/PAGEDUMP header, runs, bitmap, RDMP ranges), pages whose
// first 8 bytes hold their own pfn so page(pfn) is checked by content.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/error.h"
#include "dump/kernel/kernel_dump_file.h"

namespace nt::kdump {
namespace {

constexpr uint64_t kPage = 0x1000;

struct DumpBytes {
    std::vector<uint8_t> b;
    void grow(uint64_t n) {
        if (b.size() < n) b.resize(n, 0);
    }
    template <class T>
    void put(uint64_t off, T v) {
        grow(off + sizeof v);
        std::memcpy(b.data() + off, &v, sizeof v);
    }
    void put32(uint64_t off, uint32_t v) { put(off, v); }
    void put64(uint64_t off, uint64_t v) { put(off, v); }
    // A page whose first u64 is its pfn and whose other bytes are a pfn-derived pattern.
    void page(uint64_t off, uint64_t pfn) {
        grow(off + kPage);
        std::memset(b.data() + off, static_cast<int>(pfn * 7 + 1), kPage);
        put64(off, pfn);
    }
    Bytes bytes() const { return Bytes(b.data(), b.size()); }
};

DumpBytes header64(uint32_t dumpType, uint32_t machine = 0x8664) {
    DumpBytes d;
    d.grow(0x2000);
    std::memcpy(d.b.data(), "PAGEDU64", 8);
    d.put32(0x08, 15);
    d.put32(0x0c, 19041);
    d.put64(0x10, 0x1ad000);
    d.put32(0x30, machine);
    d.put32(0x34, 2);
    d.put32(0x38, 0xd1);
    d.put64(0x40, 0x11);
    d.put64(0x58, 0x44);
    d.put64(0x80, 0xfffff80000001000ull);
    std::memcpy(d.b.data() + 0x60, "15.19041", 8);
    d.put32(0x88, 0x45474150);  // PhysicalMemoryBlock unset ("PAGE") unless a full dump writes runs
    d.put32(0xf00, 0xc0000005);
    d.put64(0xf10, 0xfffff80012345678ull);
    d.put32(0xf18, 2);
    d.put64(0xf20, 1);
    d.put64(0xf28, 0xdeadbeef);
    d.put32(0xf98, dumpType);
    d.put64(0xfa8, 0x1d707f23dbb3399ull);
    std::memcpy(d.b.data() + 0xfb0, "a comment", 9);
    return d;
}

DumpBytes header32(uint32_t dumpType, uint32_t machine = 0x14c) {
    DumpBytes d;
    d.grow(0x1000);
    std::memcpy(d.b.data(), "PAGEDUMP", 8);
    d.put32(0x08, 15);
    d.put32(0x0c, 7601);
    d.put32(0x10, 0x185000);
    d.put32(0x20, machine);
    d.put32(0x24, 1);
    d.put32(0x28, 0x7f);
    d.put32(0x2c, 8);
    d.b[0x5c] = 1;  // PaeEnabled
    d.put32(0x60, 0x82945c28);
    d.put32(0x64, 0x45474150);
    d.put32(0x7d0, 0x80000003);
    d.put32(0x7dc, 0x82812345);
    d.put32(0xf88, dumpType);
    d.put64(0xfc0, 0x1cb0000aaaabbbbull);
    return d;
}

struct RunSpec {
    uint64_t base, count;
};

// Full dump: runs in the header, pages in run order right after it.
DumpBytes full64(const std::vector<RunSpec>& runs) {
    DumpBytes d = header64(1);
    uint64_t total = 0;
    d.put32(0x88, static_cast<uint32_t>(runs.size()));
    d.put32(0x8c, 0);
    for (size_t i = 0; i < runs.size(); ++i) {
        d.put64(0x98 + 16 * i, runs[i].base);
        d.put64(0xa0 + 16 * i, runs[i].count);
        total += runs[i].count;
    }
    d.put64(0x90, total);
    uint64_t off = 0x2000;
    for (const auto& r : runs)
        for (uint64_t p = 0; p < r.count; ++p, off += kPage) d.page(off, r.base + p);
    d.put64(0xfa0, off);
    return d;
}

// Bitmap header (SDMP/FDMP) at `base`, the pages after the bitmap (page aligned).
void bitmapBody(DumpBytes& d, uint64_t base, const char* sig, uint64_t bits, const std::vector<uint64_t>& set) {
    d.grow(base + 0x38);
    std::memcpy(d.b.data() + base, sig, 4);
    std::memcpy(d.b.data() + base + 4, "DUMP", 4);
    uint64_t bitmapOff = base + 0x38;
    uint64_t firstPage = (bitmapOff + (bits + 7) / 8 + kPage - 1) / kPage * kPage;
    d.put64(base + 0x20, firstPage);
    d.put64(base + 0x28, set.size());
    d.put64(base + 0x30, bits);
    d.grow(bitmapOff + (bits + 7) / 8);
    for (uint64_t pfn : set) d.b[bitmapOff + pfn / 8] |= static_cast<uint8_t>(1u << (pfn % 8));
    uint64_t off = firstPage;
    for (uint64_t pfn = 0; pfn < bits; ++pfn) {
        if (!(d.b[bitmapOff + pfn / 8] & (1u << (pfn % 8)))) continue;
        d.page(off, pfn);
        off += kPage;
    }
}

// RDMP (types 8/9/10): header at 0x2000, ranges at 0x2030, pages from FirstPageOffset.
DumpBytes rdmp64(uint32_t type, const std::vector<RunSpec>& ranges, uint64_t totalPages = 0) {
    DumpBytes d = header64(type);
    d.grow(0x2030);
    d.put32(0x2000, 0x40);
    std::memcpy(d.b.data() + 0x2004, "RDMPDUMP", 8);
    uint64_t metadataSize = 0x10 + 16 * (ranges.size() + 1);  // + a zero terminator
    uint64_t firstPage = 0x2020 + metadataSize;
    d.put64(0x2010, metadataSize);
    d.put64(0x2018, firstPage);
    if (type == 10) {
        d.put32(0x2020, static_cast<uint32_t>(ranges.size()));
        d.put64(0x2028, totalPages);
    }
    for (size_t i = 0; i < ranges.size(); ++i) {
        d.put64(0x2030 + 16 * i, ranges[i].base);
        d.put64(0x2038 + 16 * i, ranges[i].count);
    }
    d.grow(firstPage);
    uint64_t off = firstPage;
    for (const auto& r : ranges)
        for (uint64_t p = 0; p < r.count; ++p, off += kPage) d.page(off, r.base + p);
    return d;
}

uint64_t pfnOf(Bytes page) { return page.getOr<uint64_t>(0, ~0ull); }

void expectFormatError(const DumpBytes& d, const std::string& part) {
    try {
        KernelDumpFile::parse(d.bytes());
        ADD_FAILURE() << "no FormatError; expected one mentioning \"" << part << "\"";
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

TEST(KernelDumpFile, FullDump64Runs) {
    // Runs out of pfn order: the file holds them in run order.
    DumpBytes d = full64({{0x10, 3}, {0x100, 2}, {0x20, 1}});
    auto dump = KernelDumpFile::parse(d.bytes());
    const Header& h = dump->header();
    EXPECT_TRUE(h.is64);
    EXPECT_EQ(h.headerSize, 0x2000u);
    EXPECT_EQ(h.machine, Machine::Amd64);
    EXPECT_EQ(h.minorVersion, 19041u);
    EXPECT_EQ(h.numberProcessors, 2u);
    EXPECT_EQ(h.bugCheckCode, 0xd1u);
    EXPECT_EQ(h.bugCheckParameters[0], 0x11u);
    EXPECT_EQ(h.bugCheckParameters[3], 0x44u);
    EXPECT_EQ(h.versionUser, "15.19041");
    EXPECT_EQ(h.comment, "a comment");
    EXPECT_EQ(h.kdDebuggerDataBlock, 0xfffff80000001000ull);
    EXPECT_EQ(h.exception.code, 0xc0000005u);
    EXPECT_EQ(h.exception.address, 0xfffff80012345678ull);
    ASSERT_EQ(h.exception.parameters.size(), 2u);
    EXPECT_EQ(h.exception.parameters[1], 0xdeadbeefu);
    EXPECT_EQ(h.contextRecord.size(), 3000u);
    EXPECT_EQ(h.physicalPages, 6u);
    ASSERT_EQ(h.physicalRuns.size(), 3u);
    EXPECT_EQ(h.firstPageOffset, 0x2000u);
    EXPECT_FALSE(dump->truncated());
    EXPECT_TRUE(dump->warnings().empty());
    EXPECT_EQ(dump->triage(), nullptr);

    const PhysicalMemory* pm = dump->physical();
    ASSERT_NE(pm, nullptr);
    EXPECT_EQ(pm->presentPages(), 6u);
    for (uint64_t pfn : {0x10u, 0x11u, 0x12u, 0x20u, 0x100u, 0x101u}) {
        Bytes p = pm->page(pfn);
        ASSERT_EQ(p.size(), kPage) << pfn;
        EXPECT_EQ(pfnOf(p), pfn);
    }
    // File order: run 0 (3 pages), run 1 (2 pages), run 2 (1 page).
    EXPECT_EQ(pm->page(0x20).data(), d.b.data() + 0x2000 + 5 * kPage);
    for (uint64_t pfn : {0x0u, 0xfu, 0x13u, 0x1fu, 0x21u, 0xffu, 0x102u}) EXPECT_TRUE(pm->page(pfn).empty()) << pfn;
    EXPECT_TRUE(pm->page(~0ull).empty());
    EXPECT_EQ(pm->nextPresentPfn(0), 0x10u);
    EXPECT_EQ(pm->nextPresentPfn(0x11), 0x11u);
    EXPECT_EQ(pm->nextPresentPfn(0x13), 0x20u);
    EXPECT_EQ(pm->nextPresentPfn(0x21), 0x100u);
    EXPECT_FALSE(pm->nextPresentPfn(0x102));

    // Reads across pages: 0x10→0x11 continues, 0x12→0x13 stops at the hole.
    uint8_t buf[16];
    EXPECT_EQ(pm->read(0x10ff8, buf), 16u);
    EXPECT_EQ(buf[8], 0x11);  // pfn 0x11's first byte
    EXPECT_EQ(pm->read(0x12ff8, buf), 8u);
    EXPECT_EQ(pm->read(0x13000, buf), 0u);
    EXPECT_EQ(pm->readU64(0x100000), 0x100u);
    EXPECT_EQ(pm->readU32(0x101000), 0x101u);
    EXPECT_FALSE(pm->readU64(0x12ffc));
    EXPECT_FALSE(pm->readU64(~0ull - 3));
}

TEST(KernelDumpFile, FullDump32X86) {
    DumpBytes d = header32(1);
    d.put32(0x64, 2);  // NumberOfRuns
    d.put32(0x68, 3);  // NumberOfPages
    d.put32(0x6c, 1);
    d.put32(0x70, 2);
    d.put32(0x74, 0x9f);
    d.put32(0x78, 1);
    d.page(0x1000, 1);
    d.page(0x2000, 2);
    d.page(0x3000, 0x9f);
    auto dump = KernelDumpFile::parse(d.bytes());
    const Header& h = dump->header();
    EXPECT_FALSE(h.is64);
    EXPECT_EQ(h.headerSize, 0x1000u);
    EXPECT_EQ(h.machine, Machine::X86);
    EXPECT_EQ(h.minorVersion, 7601u);
    EXPECT_EQ(h.bugCheckCode, 0x7fu);
    EXPECT_EQ(h.bugCheckParameters[0], 8u);
    EXPECT_TRUE(h.paeEnabled);
    EXPECT_EQ(h.kdDebuggerDataBlock, 0x82945c28u);
    EXPECT_EQ(h.exception.code, 0x80000003u);
    EXPECT_EQ(h.exception.address, 0x82812345u);
    EXPECT_EQ(h.systemTime, 0x1cb0000aaaabbbbull);
    EXPECT_EQ(h.contextRecord.size(), 1200u);
    const PhysicalMemory* pm = dump->physical();
    ASSERT_NE(pm, nullptr);
    EXPECT_EQ(pm->presentPages(), 3u);
    EXPECT_EQ(pfnOf(pm->page(1)), 1u);
    EXPECT_EQ(pfnOf(pm->page(2)), 2u);
    EXPECT_EQ(pfnOf(pm->page(0x9f)), 0x9fu);
    EXPECT_TRUE(pm->page(0).empty());
    EXPECT_TRUE(pm->page(3).empty());
    EXPECT_EQ(pm->nextPresentPfn(3), 0x9fu);
}

TEST(KernelDumpFile, FullDumpCutMidPageIsTruncatedNotAnError) {
    DumpBytes d = full64({{0x10, 4}});
    d.b.resize(0x2000 + 2 * kPage + 0x800);  // half of the third page remains
    auto dump = KernelDumpFile::parse(d.bytes());
    EXPECT_TRUE(dump->truncated());
    ASSERT_FALSE(dump->warnings().empty());
    EXPECT_NE(dump->warnings()[0].find("cut"), std::string::npos) << dump->warnings()[0];
    const PhysicalMemory* pm = dump->physical();
    EXPECT_EQ(pm->presentPages(), 2u);
    EXPECT_EQ(pfnOf(pm->page(0x11)), 0x11u);
    EXPECT_TRUE(pm->page(0x12).empty());
    EXPECT_TRUE(pm->page(0x13).empty());
    EXPECT_FALSE(pm->nextPresentPfn(0x12));

    // Header only, all pages gone.
    d.b.resize(0x2000);
    auto bare = KernelDumpFile::parse(d.bytes());
    EXPECT_TRUE(bare->truncated());
    EXPECT_EQ(bare->physical()->presentPages(), 0u);
    EXPECT_FALSE(bare->physical()->nextPresentPfn(0));
}

TEST(KernelDumpFile, BitmapDumps64) {
    const std::vector<uint64_t> set = {1, 2, 3, 63, 64, 65, 130, 511, 512, 199 + 400};
    for (uint32_t type : {2u, 5u, 6u}) {
        DumpBytes d = header64(type);
        bitmapBody(d, 0x2000, type == 5 ? "FDMP" : "SDMP", 700, set);
        auto dump = KernelDumpFile::parse(d.bytes());
        EXPECT_EQ(dump->header().dumpType, type);
        EXPECT_TRUE(dump->warnings().empty()) << dump->warnings().front();
        const PhysicalMemory* pm = dump->physical();
        ASSERT_NE(pm, nullptr);
        EXPECT_EQ(pm->presentPages(), set.size());
        for (uint64_t pfn : set) EXPECT_EQ(pfnOf(pm->page(pfn)), pfn) << type << " " << pfn;
        for (uint64_t pfn : {0ull, 4ull, 62ull, 66ull, 510ull, 513ull, 699ull, 700ull, 1ull << 40, ~0ull})
            EXPECT_TRUE(pm->page(pfn).empty()) << pfn;
        EXPECT_EQ(pm->nextPresentPfn(0), 1u);
        EXPECT_EQ(pm->nextPresentPfn(4), 63u);
        EXPECT_EQ(pm->nextPresentPfn(66), 130u);
        EXPECT_EQ(pm->nextPresentPfn(131), 511u);
        EXPECT_EQ(pm->nextPresentPfn(513), 599u);
        EXPECT_FALSE(pm->nextPresentPfn(600));
        EXPECT_FALSE(pm->nextPresentPfn(~0ull));
    }
}

TEST(KernelDumpFile, AutomaticDumpWithABitmapIsRead) {
    DumpBytes d = header64(7);
    bitmapBody(d, 0x2000, "SDMP", 64, {5});
    auto dump = KernelDumpFile::parse(d.bytes());
    ASSERT_NE(dump->physical(), nullptr);
    EXPECT_EQ(pfnOf(dump->physical()->page(5)), 5u);
    // Without one: header only, with a warning.
    auto bare = KernelDumpFile::parse(header64(7).bytes());
    EXPECT_EQ(bare->physical(), nullptr);
    EXPECT_EQ(bare->warnings().size(), 1u);
}

TEST(KernelDumpFile, BitmapRankIndexAcrossManyBlocks) {
    // Every third pfn of 5000: ranks cross ten 512-bit index blocks.
    std::vector<uint64_t> set;
    for (uint64_t p = 0; p < 5000; p += 3) set.push_back(p);
    DumpBytes d = header64(5);
    bitmapBody(d, 0x2000, "FDMP", 5000, set);
    auto dump = KernelDumpFile::parse(d.bytes());
    const PhysicalMemory* pm = dump->physical();
    EXPECT_EQ(pm->presentPages(), set.size());
    for (uint64_t p = 0; p < 5000; ++p) {
        Bytes pg = pm->page(p);
        if (p % 3 == 0) EXPECT_EQ(pfnOf(pg), p);
        else EXPECT_TRUE(pg.empty()) << p;
    }
    EXPECT_EQ(pm->nextPresentPfn(4997), 4998u);
    EXPECT_FALSE(pm->nextPresentPfn(4999));

    // Cut after 100 stored pages: the rest is absent, not an error.
    uint64_t firstPage = d.bytes().getOr<uint64_t>(0x2020, 0);
    d.b.resize(firstPage + 100 * kPage);
    auto cut = KernelDumpFile::parse(d.bytes());
    EXPECT_TRUE(cut->truncated());
    EXPECT_EQ(cut->physical()->presentPages(), 100u);
    EXPECT_EQ(pfnOf(cut->physical()->page(99 * 3)), 99u * 3);
    EXPECT_TRUE(cut->physical()->page(100 * 3).empty());
    EXPECT_EQ(cut->physical()->nextPresentPfn(296), 297u);
    EXPECT_FALSE(cut->physical()->nextPresentPfn(298));
}

TEST(KernelDumpFile, SummaryDump32) {
    DumpBytes d = header32(2);
    bitmapBody(d, 0x1000, "SDMP", 40, {0, 9, 39});
    auto dump = KernelDumpFile::parse(d.bytes());
    EXPECT_FALSE(dump->header().is64);
    const PhysicalMemory* pm = dump->physical();
    ASSERT_NE(pm, nullptr);
    EXPECT_EQ(pm->presentPages(), 3u);
    EXPECT_EQ(pfnOf(pm->page(0)), 0u);
    EXPECT_EQ(pfnOf(pm->page(9)), 9u);
    EXPECT_EQ(pfnOf(pm->page(39)), 39u);
    EXPECT_TRUE(pm->page(40).empty());
    EXPECT_EQ(dump->header().firstPageOffset, 0x2000u);
}

TEST(KernelDumpFile, BitmapPresentCountMismatchIsAWarning) {
    DumpBytes d = header64(5);
    bitmapBody(d, 0x2000, "FDMP", 16, {3, 4});
    d.put64(0x2028, 7);
    auto dump = KernelDumpFile::parse(d.bytes());
    ASSERT_EQ(dump->warnings().size(), 1u);
    EXPECT_NE(dump->warnings()[0].find("TotalPresentPages"), std::string::npos);
    EXPECT_EQ(dump->physical()->presentPages(), 2u);
}

TEST(KernelDumpFile, RdmpKernelMemoryDump) {
    for (uint32_t type : {8u, 9u}) {
        DumpBytes d = rdmp64(type, {{0x50, 2}, {0x10, 1}, {0x1000, 3}});
        auto dump = KernelDumpFile::parse(d.bytes());
        EXPECT_TRUE(dump->warnings().empty()) << dump->warnings().front();
        const PhysicalMemory* pm = dump->physical();
        ASSERT_NE(pm, nullptr);
        EXPECT_EQ(pm->presentPages(), 6u);
        EXPECT_EQ(dump->header().physicalRuns.size(), 3u);
        for (uint64_t pfn : {0x50u, 0x51u, 0x10u, 0x1000u, 0x1002u}) EXPECT_EQ(pfnOf(pm->page(pfn)), pfn);
        EXPECT_TRUE(pm->page(0x52).empty());
        EXPECT_TRUE(pm->page(0x11).empty());
        EXPECT_EQ(pm->nextPresentPfn(0), 0x10u);
        EXPECT_EQ(pm->nextPresentPfn(0x11), 0x50u);
        EXPECT_EQ(pm->nextPresentPfn(0x52), 0x1000u);
        EXPECT_EQ(pm->page(0x10).data(), d.b.data() + dump->header().firstPageOffset + 2 * kPage);
    }
}

TEST(KernelDumpFile, RdmpCompleteMemoryDumpStopsAtTotalPages) {
    // TotalNumberOfPages = 3 ends the list after the second range (2 + 1).
    DumpBytes d = rdmp64(10, {{0x1, 2}, {0x40, 1}, {0x80, 1}}, 3);
    auto dump = KernelDumpFile::parse(d.bytes());
    const PhysicalMemory* pm = dump->physical();
    ASSERT_NE(pm, nullptr);
    EXPECT_EQ(pm->presentPages(), 3u);
    EXPECT_EQ(pfnOf(pm->page(0x40)), 0x40u);
    EXPECT_TRUE(pm->page(0x80).empty());
}

TEST(KernelDumpFile, RejectsDamagedHeaders) {
    DumpBytes empty;
    expectFormatError(empty, "not a Windows kernel dump");
    DumpBytes notDump = header64(1);
    std::memcpy(notDump.b.data(), "MDMP", 4);
    expectFormatError(notDump, "not a Windows kernel dump");
    DumpBytes badValid = header64(1);
    std::memcpy(badValid.b.data() + 4, "DU32", 4);
    expectFormatError(badValid, "not a Windows kernel dump");
    DumpBytes cut = header64(4);
    cut.b.resize(0x1800);
    expectFormatError(cut, "header is cut");
    DumpBytes cut32 = header32(1);
    cut32.b.resize(0x400);
    expectFormatError(cut32, "PAGEDUMP header needs 0x1000");

    DumpBytes noDescriptor = header64(1);
    expectFormatError(noDescriptor, "without a physical memory descriptor");
    DumpBytes tooManyRuns = full64({{1, 1}});
    tooManyRuns.put32(0x88, 1000);
    expectFormatError(tooManyRuns, "NumberOfRuns 1000");
    expectFormatError(full64({{0x10, 4}, {0x12, 1}}), "overlap");
    DumpBytes hugeRun = full64({{1, 1}});
    hugeRun.put64(0xa0, ~0ull);
    expectFormatError(hugeRun, "overflows");
    DumpBytes pfnOverflow = full64({{1, 1}});
    pfnOverflow.put64(0x98, ~0ull);
    expectFormatError(pfnOverflow, "outside the address space");

    DumpBytes bitmapTooBig = header64(5);
    bitmapBody(bitmapTooBig, 0x2000, "FDMP", 64, {1});
    bitmapTooBig.put64(0x2030, 1ull << 40);  // 2^40 pages: a 128 GiB bitmap
    expectFormatError(bitmapTooBig, "needs 0x2000000000 bytes");
    DumpBytes bitmapSig = header64(6);
    bitmapBody(bitmapSig, 0x2000, "XDMP", 64, {1});
    expectFormatError(bitmapSig, "no SDMP/FDMP bitmap header");
    DumpBytes bitmapFirst = header64(5);
    bitmapBody(bitmapFirst, 0x2000, "FDMP", 64, {1});
    bitmapFirst.put64(0x2020, 0x2010);
    expectFormatError(bitmapFirst, "FirstPage 0x2010");
    DumpBytes bitmapCut = header64(5);
    expectFormatError(bitmapCut, "bitmap header at 0x2000 is cut");

    DumpBytes rdmpMarker = rdmp64(8, {{1, 1}});
    rdmpMarker.put32(0x2000, 0x41);
    expectFormatError(rdmpMarker, "no RDMP header");
    DumpBytes rdmpFirst = rdmp64(8, {{1, 1}});
    rdmpFirst.put64(0x2018, 0x2008);
    expectFormatError(rdmpFirst, "FirstPageOffset 0x2008");

    DumpBytes triageCut = header64(4);
    expectFormatError(triageCut, "TRIAGE_DUMP at 0x2000 is cut");
}

TEST(KernelDumpFile, UnknownDumpTypeKeepsTheHeader) {
    DumpBytes d = header64(0x42);
    auto dump = KernelDumpFile::parse(d.bytes());
    EXPECT_EQ(dump->header().bugCheckCode, 0xd1u);
    EXPECT_EQ(dump->physical(), nullptr);
    EXPECT_EQ(dump->triage(), nullptr);
    ASSERT_EQ(dump->warnings().size(), 1u);
    EXPECT_NE(dump->warnings()[0].find("DumpType 0x42"), std::string::npos);
    EXPECT_EQ(dumpTypeName(kBitmapKernel), "BitmapKernel");
}

TEST(KernelDumpFile, DamagedTriagePartsAreWarnings) {
    // A small dump whose TRIAGE_DUMP points everywhere and nowhere.
    DumpBytes d = header64(4);
    d.grow(0x3000);
    const uint64_t t = 0x2000;
    d.put32(t + 0x04, 0x3000);       // SizeOfDump
    d.put32(t + 0x08, 0x2ffc);       // ValidOffset (no marker there)
    d.put32(t + 0x18, 0x2f00);       // UnloadedDriversOffset
    d.put32(0x2f00, 0xffffffff);     // absurd unloaded count
    d.put32(t + 0x28, 0x2800);       // CallStackOffset
    d.put32(t + 0x2c, 0x7fffffff);   // SizeOfCallStack past the end
    d.put32(t + 0x30, 0x2100);       // DriverListOffset
    d.put32(t + 0x34, 0xffffffff);   // DriverCount
    d.put32(t + 0x38, 0x2a00);       // StringPoolOffset
    d.put32(t + 0x3c, 0x10);         // StringPoolSize
    d.put32(t + 0x78, 0x2e00);       // DataBlocksOffset
    d.put32(t + 0x7c, 0x10000000);   // DataBlocksCount
    d.put64(0x2e00, 0xfffff80000000000ull);
    d.put32(0x2e08, 0x2100);
    d.put32(0x2e0c, 0x20);           // one valid block
    d.put32(0x2e18, 0xfffffff0);     // then one pointing past the file
    d.put32(0x2e1c, 0x100);
    // One well-formed driver name in the pool: "a.sys".
    d.put32(0x2100, 0x2a00);
    d.put64(0x2100 + 0x38, 0xfffff80011110000ull);
    d.put32(0x2100 + 0x48, 0x5000);
    d.put32(0x2a00, 5);
    for (int i = 0; i < 5; ++i) d.put<uint16_t>(0x2a04 + 2 * i, static_cast<uint16_t>("a.sys"[i]));
    auto dump = KernelDumpFile::parse(d.bytes());
    const Triage* tr = dump->triage();
    ASSERT_NE(tr, nullptr);
    EXPECT_FALSE(tr->complete);
    ASSERT_FALSE(tr->drivers.empty());
    EXPECT_EQ(tr->drivers[0].name, "a.sys");
    EXPECT_EQ(tr->drivers[0].base, 0xfffff80011110000ull);
    EXPECT_EQ(tr->drivers[0].size, 0x5000u);
    EXPECT_LE(tr->drivers.size(), (0x3000u - 0x2100u) / 0x90u);
    EXPECT_LE(tr->unloadedDrivers.size(), 5u);
    EXPECT_TRUE(tr->callStack.empty());
    ASSERT_FALSE(tr->blocks.empty());
    EXPECT_EQ(tr->blocks[0].what, "data block");
    EXPECT_EQ(tr->blocks[0].address, 0xfffff80000000000ull);
    EXPECT_EQ(tr->blocks[0].bytes.size(), 0x20u);
    EXPECT_FALSE(dump->warnings().empty());
    EXPECT_LE(dump->warnings().size(), 33u);  // bounded
}

}  // namespace
}  // namespace nt::kdump
