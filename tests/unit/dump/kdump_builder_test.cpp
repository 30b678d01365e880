// The synthetic kernel-dump builder checked against the documented layouts
// (FACTS.md §1.4, kdmp-parser, Volatility, rizin) byte by byte, with page
// tables walked by hand here — independently of the project's readers. The
// round-trip tests at the end then parse the same files with
// nt::kdump::KernelDumpFile.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "dump/kernel/kdbg.h"
#include "dump/kernel/kernel_dump_file.h"
#include "memory/page_table.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/test_support.h"

namespace kd = nt::test::kdump;
using nt::PagingMode;

namespace {

const char* kIsf = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

template <class T>
T at(const std::vector<uint8_t>& b, uint64_t off) {
    T v{};
    EXPECT_LE(off + sizeof(T), b.size()) << "read past the file at " << off;
    if (off + sizeof(T) <= b.size()) std::memcpy(&v, b.data() + off, sizeof(T));
    return v;
}

std::string text(const std::vector<uint8_t>& b, uint64_t off, size_t n) {
    return std::string(reinterpret_cast<const char*>(b.data() + off), n);
}

// A machine with pages in two runs (a hole between) and one mapped page
// holding a marker, for every paging mode.
struct SmallMachine {
    kd::PhysicalImage phys;
    kd::AddressSpace as;
    uint64_t va;
    explicit SmallMachine(PagingMode mode)
        : phys(1), as(phys, mode), va(mode == PagingMode::X64 ? 0xfffff80000123000ull : 0x80123000ull) {
        phys.skipPfns(0x20);  // a hole after the page tables
        as.mapNew(va, 0x2000);
        as.writeU32(va, 0xfeedf00d);
        as.writeU32(va + 0x1000, 0x0badcafe);
        // A KDBG block where the header says it is.
        bool is64 = mode == PagingMode::X64;
        uint64_t kdbgVa = is64 ? 0xfffff8047c600b20ull : 0x82f30b20ull;
        as.mapNew(kdbgVa & ~0xfffull, 0x1000);
        kd::KdbgFields k;
        k.is64 = is64;
        k.address = kdbgVa;
        k.kernBase = is64 ? 0xfffff8047ba00000ull : 0x82c00000ull;
        k.psLoadedModuleList = is64 ? 0xfffff8047c62a390ull : 0x82f5a390ull;
        k.psActiveProcessHead = is64 ? 0xfffff8047c61e200ull : 0x82f4e200ull;
        k.sizeEProcess = is64 ? 0xa40 : 0x2e8;
        as.write(kdbgVa, kd::makeKdbgBlock(k));
    }
    kd::HeaderInfo header(bool is64, bool pae) const {
        kd::HeaderInfo h;
        h.is64 = is64;
        h.paeEnabled = pae;
        h.directoryTableBase = as.dtb();
        h.pfnDataBase = is64 ? 0xffffe70000000000ull : 0x84000000ull;
        h.psLoadedModuleList = is64 ? 0xfffff8047c62a390ull : 0x82f5a390ull;
        h.psActiveProcessHead = is64 ? 0xfffff8047c61e200ull : 0x82f4e200ull;
        h.kdDebuggerDataBlock = is64 ? 0xfffff8047c600b20ull : 0x82f30b20ull;
        h.numberProcessors = 2;
        h.bugCheckCode = 0x7e;
        h.bugCheckParameters = {0xc0000005, is64 ? 0xfffff8048b58334cull : 0x8b58334c, 0x1111, 0x2222};
        nt::CpuContext ctx(is64 ? nt::Machine::Amd64 : nt::Machine::X86);
        ctx.set(nt::Reg::Rip, is64 ? 0xfffff8048b58334cull : 0x8b58334c);
        ctx.set(nt::Reg::Rsp, is64 ? 0xffff850429891ee8ull : 0x9e8f1ee8);
        h.context = ctx.serialize();
        h.exception = kd::ExceptionInfo{0xc0000005, 0, 0, is64 ? 0xfffff8048b58334cull : 0x8b58334c, {0, 0x28}};
        return h;
    }
};

// Walks the tables the way the processor does, reading physical memory of
// the image directly (no project code).
std::optional<uint64_t> walk(const kd::PhysicalImage& phys, PagingMode mode, uint64_t dtb, uint64_t va) {
    auto r64 = [&](uint64_t pa) { return phys.readU64Or0(pa); };
    if (mode == PagingMode::X64) {
        uint64_t e = r64((dtb & ~0xfffull) + ((va >> 39) & 0x1ff) * 8);
        if (!(e & 1)) return std::nullopt;
        e = r64((e & 0xffffffffff000ull) + ((va >> 30) & 0x1ff) * 8);
        if (!(e & 1)) return std::nullopt;
        if (e & 0x80) return (e & 0xfffffc0000000ull) | (va & 0x3fffffff);
        e = r64((e & 0xffffffffff000ull) + ((va >> 21) & 0x1ff) * 8);
        if (!(e & 1)) return std::nullopt;
        if (e & 0x80) return (e & 0xfffffffe00000ull) | (va & 0x1fffff);
        e = r64((e & 0xffffffffff000ull) + ((va >> 12) & 0x1ff) * 8);
        if (!(e & 1)) return std::nullopt;
        return (e & 0xffffffffff000ull) | (va & 0xfff);
    }
    if (mode == PagingMode::X86Pae) {
        uint64_t e = r64((dtb & ~0x1full) + ((va >> 30) & 3) * 8);
        if (!(e & 1)) return std::nullopt;
        e = r64((e & 0xffffffffff000ull) + ((va >> 21) & 0x1ff) * 8);
        if (!(e & 1)) return std::nullopt;
        if (e & 0x80) return (e & 0xfffffffe00000ull) | (va & 0x1fffff);
        e = r64((e & 0xffffffffff000ull) + ((va >> 12) & 0x1ff) * 8);
        if (!(e & 1)) return std::nullopt;
        return (e & 0xffffffffff000ull) | (va & 0xfff);
    }
    uint32_t e = phys.readU32Or0((dtb & ~0xfffull) + ((va >> 22) & 0x3ff) * 4);
    if (!(e & 1)) return std::nullopt;
    if (e & 0x80) return uint64_t(e & 0xffc00000u) | (va & 0x3fffff);
    e = phys.readU32Or0((e & 0xfffff000u) + ((va >> 12) & 0x3ff) * 4);
    if (!(e & 1)) return std::nullopt;
    return uint64_t(e & 0xfffff000u) | (va & 0xfff);
}

std::string tempPath(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("ntr_kdump_" + std::to_string(getpid()) + "_" + name)).string();
}

}  // namespace

// ---- page tables ----------------------------------------------------------

TEST(KdumpBuilderPageTables, EveryModeTranslatesByHandWalk) {
    for (PagingMode mode : {PagingMode::X86, PagingMode::X86Pae, PagingMode::X64}) {
        SmallMachine m(mode);
        auto pa = walk(m.phys, mode, m.as.dtb(), m.va + 0x1004);
        ASSERT_TRUE(pa.has_value()) << nt::pagingModeName(mode);
        EXPECT_EQ(m.phys.readU32Or0(*pa - 4), 0x0badcafeu) << nt::pagingModeName(mode);
        EXPECT_EQ(*pa, *m.as.translate(m.va + 0x1004));
        // The project's walker agrees with the tables we built.
        auto t = nt::translate(m.phys, mode, m.as.dtb(), m.va + 0x1004);
        EXPECT_EQ(t.state, nt::PteState::Valid);
        EXPECT_EQ(t.pa, *pa);
        EXPECT_FALSE(walk(m.phys, mode, m.as.dtb(), m.va + 0x5000).has_value());
    }
}

TEST(KdumpBuilderPageTables, PaeCr3PointsAtFourPresentPdptes) {
    kd::PhysicalImage phys;
    kd::AddressSpace as(phys, PagingMode::X86Pae);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(phys.readU64Or0(as.dtb() + 8 * i) & 0xfff, 1u) << "PDPTE " << i;
    // Non-PAE x86 entries are 32 bits: the PDE of 0x80000000 is at index 512.
    kd::PhysicalImage p2;
    kd::AddressSpace x86(p2, PagingMode::X86);
    x86.mapNew(0x80000000, 0x1000);
    EXPECT_EQ(p2.readU32Or0(x86.dtb() + 512 * 4) & 1, 1u);
    EXPECT_EQ(p2.readU32Or0(x86.dtb() + 513 * 4), 0u);
}

TEST(KdumpBuilderPageTables, LargeAndHugePages) {
    {
        kd::PhysicalImage phys;
        kd::AddressSpace as(phys, PagingMode::X64);
        uint64_t pfn = phys.allocPages(512, 512);
        as.mapLarge(0xfffff80400000000ull, pfn << 12);
        phys.writeU64((pfn << 12) + 0x123458, 0x1122334455667788ull);
        auto pa = walk(phys, PagingMode::X64, as.dtb(), 0xfffff80400123458ull);
        ASSERT_TRUE(pa);
        EXPECT_EQ(*pa, (pfn << 12) + 0x123458);
        EXPECT_EQ(as.readU64(0xfffff80400123458ull), 0x1122334455667788ull);
        as.mapHuge(0xfffff80440000000ull, 0x40000000ull);
        EXPECT_EQ(*walk(phys, PagingMode::X64, as.dtb(), 0xfffff80440345678ull), 0x40345678ull);
        auto t = nt::translate(phys, PagingMode::X64, as.dtb(), 0xfffff80440345678ull);
        EXPECT_EQ(t.pageSize, 0x40000000ull);
    }
    {
        kd::PhysicalImage phys;
        kd::AddressSpace as(phys, PagingMode::X86);
        uint64_t pfn = phys.allocPages(1024, 1024);
        as.mapLarge(0x80400000, pfn << 12);
        EXPECT_EQ(*walk(phys, PagingMode::X86, as.dtb(), 0x80712345), (pfn << 12) + 0x312345);
    }
    {
        kd::PhysicalImage phys;
        kd::AddressSpace as(phys, PagingMode::X86Pae);
        uint64_t pfn = phys.allocPages(512, 512);
        as.mapLarge(0x80200000, pfn << 12);
        EXPECT_EQ(*walk(phys, PagingMode::X86Pae, as.dtb(), 0x80212345), (pfn << 12) + 0x12345);
    }
}

TEST(KdumpBuilderPageTables, ProcessesShareTheKernelHalf) {
    for (PagingMode mode : {PagingMode::X86, PagingMode::X86Pae, PagingMode::X64}) {
        kd::PhysicalImage phys;
        kd::AddressSpace kernel(phys, mode);
        kd::AddressSpace proc = kernel.newProcessSpace();
        EXPECT_NE(proc.dtb(), kernel.dtb());
        // A kernel mapping made after the process exists is visible from it.
        uint64_t kva = mode == PagingMode::X64 ? 0xffffa00000042000ull : 0xa0042000ull;
        kernel.mapNew(kva, 0x1000);
        kernel.writeU32(kva, 0x4b524e4c);
        EXPECT_EQ(proc.readU32(kva), 0x4b524e4cu) << nt::pagingModeName(mode);
        // User mappings stay private.
        proc.mapNew(0x10000, 0x1000);
        EXPECT_TRUE(proc.isMapped(0x10000));
        EXPECT_FALSE(kernel.isMapped(0x10000));
    }
}

TEST(KdumpBuilderPageTables, SoftwarePtesHaveTheWindowsBitLayout) {
    kd::PhysicalImage phys;
    kd::AddressSpace x64(phys, PagingMode::X64);
    EXPECT_EQ(x64.transitionPte(0x1234), (0x1234ull << 12) | 0x800 | (4 << 5));
    EXPECT_EQ(x64.pageFilePte(2, 0x5678), (0x5678ull << 32) | (2 << 1) | (4 << 5));
    EXPECT_EQ(x64.prototypePte(0xffffc00012345678ull) & 0x400, 0x400u);
    EXPECT_EQ(x64.demandZeroPte(), 4u << 5);
    kd::PhysicalImage p2;
    kd::AddressSpace x86(p2, PagingMode::X86);
    EXPECT_EQ(x86.pageFilePte(1, 0x5678), (0x5678ull << 12) | (1 << 1) | (4 << 5));

    // The project's walker classifies them as NT does.
    uint64_t va = 0xfffff80000300000ull;
    x64.mapNew(va, 0x1000);
    x64.setPte(va + 0x1000, x64.transitionPte(0x777));
    x64.setPte(va + 0x2000, x64.pageFilePte(1, 0x42));
    x64.setPte(va + 0x3000, x64.demandZeroPte());
    x64.setPte(va + 0x4000, x64.prototypePte(0xffffc00012345678ull));
    auto tr = nt::translate(phys, PagingMode::X64, x64.dtb(), va + 0x1010);
    EXPECT_EQ(tr.state, nt::PteState::Transition);
    EXPECT_EQ(tr.pa, 0x777010u);
    auto pf = nt::translate(phys, PagingMode::X64, x64.dtb(), va + 0x2000);
    EXPECT_EQ(pf.state, nt::PteState::PageFile);
    EXPECT_EQ(pf.pageFile, 1u);
    EXPECT_EQ(nt::translate(phys, PagingMode::X64, x64.dtb(), va + 0x3000).state, nt::PteState::DemandZero);
    EXPECT_EQ(nt::translate(phys, PagingMode::X64, x64.dtb(), va + 0x4000).state, nt::PteState::Prototype);
}

// ---- header bytes ----------------------------------------------------------

TEST(KdumpBuilderHeader, X64FieldsAtTheDocumentedOffsets) {
    SmallMachine m(PagingMode::X64);
    auto h = m.header(true, false);
    auto f = kd::DumpWriter(m.phys, h).write(kd::kFull);
    EXPECT_EQ(text(f, 0, 8), "PAGEDU64");
    EXPECT_EQ(at<uint32_t>(f, 0x08), 0xfu);
    EXPECT_EQ(at<uint32_t>(f, 0x0C), 19041u);
    EXPECT_EQ(at<uint64_t>(f, 0x10), m.as.dtb());
    EXPECT_EQ(at<uint64_t>(f, 0x18), 0xffffe70000000000ull);
    EXPECT_EQ(at<uint64_t>(f, 0x20), 0xfffff8047c62a390ull);
    EXPECT_EQ(at<uint64_t>(f, 0x28), 0xfffff8047c61e200ull);
    EXPECT_EQ(at<uint32_t>(f, 0x30), 0x8664u);
    EXPECT_EQ(at<uint32_t>(f, 0x34), 2u);
    EXPECT_EQ(at<uint32_t>(f, 0x38), 0x7eu);
    EXPECT_EQ(at<uint64_t>(f, 0x40), 0xc0000005ull);
    EXPECT_EQ(at<uint64_t>(f, 0x48), 0xfffff8048b58334cull);
    EXPECT_EQ(at<uint64_t>(f, 0x58), 0x2222ull);
    EXPECT_EQ(text(f, 0x60, 4), "PAGE");  // no VersionUser: fill pattern stays
    EXPECT_EQ(at<uint64_t>(f, 0x80), 0xfffff8047c600b20ull);
    EXPECT_EQ(at<uint64_t>(f, 0x348 + 0xF8), 0xfffff8048b58334cull);  // CONTEXT.Rip
    EXPECT_EQ(at<uint64_t>(f, 0x348 + 0x98), 0xffff850429891ee8ull);  // CONTEXT.Rsp
    EXPECT_EQ(at<uint32_t>(f, 0xF00), 0xc0000005u);
    EXPECT_EQ(at<uint64_t>(f, 0xF10), 0xfffff8048b58334cull);
    EXPECT_EQ(at<uint32_t>(f, 0xF18), 2u);
    EXPECT_EQ(at<uint64_t>(f, 0xF28), 0x28ull);
    EXPECT_EQ(at<uint32_t>(f, 0xF98), 1u);
    EXPECT_EQ(at<uint64_t>(f, 0xFA0), f.size());
    EXPECT_EQ(at<uint64_t>(f, 0xFA8), h.systemTime);
    EXPECT_EQ(at<uint64_t>(f, 0x1030), h.systemUpTime);
    EXPECT_EQ(text(f, 0x1100, 4), "PAGE");
    EXPECT_EQ(text(f, 0x1FFC, 4), "PAGE");
}

TEST(KdumpBuilderHeader, X86FieldsAtTheDocumentedOffsets) {
    for (bool pae : {false, true}) {
        SmallMachine m(pae ? PagingMode::X86Pae : PagingMode::X86);
        auto f = kd::DumpWriter(m.phys, m.header(false, pae)).write(kd::kFull);
        EXPECT_EQ(text(f, 0, 8), "PAGEDUMP");
        EXPECT_EQ(at<uint32_t>(f, 0x10), m.as.dtb());
        EXPECT_EQ(at<uint32_t>(f, 0x14), 0x84000000u);
        EXPECT_EQ(at<uint32_t>(f, 0x18), 0x82f5a390u);
        EXPECT_EQ(at<uint32_t>(f, 0x1C), 0x82f4e200u);
        EXPECT_EQ(at<uint32_t>(f, 0x20), 0x14cu);
        EXPECT_EQ(at<uint32_t>(f, 0x24), 2u);
        EXPECT_EQ(at<uint32_t>(f, 0x28), 0x7eu);
        EXPECT_EQ(at<uint32_t>(f, 0x2C), 0xc0000005u);
        EXPECT_EQ(at<uint32_t>(f, 0x30), 0x8b58334cu);
        EXPECT_EQ(at<uint8_t>(f, 0x5C), pae ? 1 : 0);
        EXPECT_EQ(at<uint32_t>(f, 0x60), 0x82f30b20u);
        EXPECT_EQ(at<uint32_t>(f, 0x320 + 0xB8), 0x8b58334cu);  // CONTEXT.Eip
        EXPECT_EQ(at<uint32_t>(f, 0x7D0), 0xc0000005u);
        EXPECT_EQ(at<uint32_t>(f, 0x7DC), 0x8b58334cu);  // ExceptionAddress
        EXPECT_EQ(at<uint32_t>(f, 0xF88), 1u);
        EXPECT_EQ(at<uint64_t>(f, 0xFA0), f.size());
        EXPECT_EQ(text(f, 0x900, 4), "PAGE");
    }
}

// ---- physical memory layouts ----------------------------------------------

TEST(KdumpBuilderFull, RunsDescribePresentPagesInRunOrder) {
    kd::PhysicalImage phys(1);
    for (uint64_t pfn : {1, 2, 3, 0x10, 0x11, 0x40}) phys.pageAt(pfn)[0] = static_cast<uint8_t>(pfn);
    kd::HeaderInfo h;
    auto f = kd::DumpWriter(phys, h).write(kd::kFull);
    EXPECT_EQ(at<uint32_t>(f, 0x88), 3u);   // NumberOfRuns
    EXPECT_EQ(at<uint64_t>(f, 0x90), 6u);   // NumberOfPages
    EXPECT_EQ(at<uint64_t>(f, 0x98), 1u);
    EXPECT_EQ(at<uint64_t>(f, 0xA0), 3u);
    EXPECT_EQ(at<uint64_t>(f, 0xA8), 0x10u);
    EXPECT_EQ(at<uint64_t>(f, 0xB0), 2u);
    EXPECT_EQ(at<uint64_t>(f, 0xB8), 0x40u);
    EXPECT_EQ(at<uint64_t>(f, 0xC0), 1u);
    ASSERT_EQ(f.size(), 0x2000u + 6 * 0x1000);
    const uint8_t expect[] = {1, 2, 3, 0x10, 0x11, 0x40};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(f[0x2000 + 0x1000 * i], expect[i]);

    kd::HeaderInfo h32;
    h32.is64 = false;
    auto g = kd::DumpWriter(phys, h32).write(kd::kFull);
    EXPECT_EQ(at<uint32_t>(g, 0x64), 3u);
    EXPECT_EQ(at<uint32_t>(g, 0x68), 6u);
    EXPECT_EQ(at<uint32_t>(g, 0x6C), 1u);
    EXPECT_EQ(at<uint32_t>(g, 0x70), 3u);
    EXPECT_EQ(at<uint32_t>(g, 0x74), 0x10u);
    EXPECT_EQ(g[0x1000 + 0x1000 * 3], 0x10);
}

TEST(KdumpBuilderBitmap, BitsAndPageOrderForTypes2And5And6) {
    kd::PhysicalImage phys(1);
    for (uint64_t pfn : {1, 7, 8, 9, 0x33}) phys.pageAt(pfn)[5] = static_cast<uint8_t>(0xA0 + pfn);
    phys.setSpanPages(0x100);
    for (uint32_t type : {kd::kSummary, kd::kBitmapFull, kd::kBitmapKernel}) {
        for (bool is64 : {true, false}) {
            kd::HeaderInfo h;
            h.is64 = is64;
            auto f = kd::DumpWriter(phys, h).write(type);
            uint64_t b = is64 ? 0x2000 : 0x1000;
            EXPECT_EQ(text(f, b, 8), type == kd::kBitmapFull ? "FDMPDUMP" : "SDMPDUMP");
            uint64_t first = at<uint64_t>(f, b + 0x20);
            EXPECT_EQ(first % 0x1000, 0u);
            EXPECT_EQ(at<uint64_t>(f, b + 0x28), 5u);      // TotalPresentPages
            EXPECT_EQ(at<uint64_t>(f, b + 0x30), 0x100u);  // Pages (bits)
            EXPECT_EQ(at<uint8_t>(f, b + 0x38), 0x82);     // pfns 1 and 7
            EXPECT_EQ(at<uint8_t>(f, b + 0x39), 0x03);     // pfns 8, 9
            EXPECT_EQ(at<uint8_t>(f, b + 0x3E), 0x08);     // pfn 0x33
            ASSERT_EQ(f.size(), first + 5 * 0x1000);
            const uint8_t order[] = {1, 7, 8, 9, 0x33};
            for (int i = 0; i < 5; ++i) EXPECT_EQ(f[first + 0x1000 * i + 5], 0xA0 + order[i]);
            EXPECT_EQ(at<uint32_t>(f, is64 ? 0xF98 : 0xF88), type);
        }
    }
}

TEST(KdumpBuilderRdmp, HeaderRangesAndPages) {
    kd::PhysicalImage phys(1);
    for (uint64_t pfn : {3, 4, 5, 0x20}) phys.pageAt(pfn)[9] = static_cast<uint8_t>(pfn);
    for (uint32_t type : {kd::kKernelMemory, kd::kKernelAndUserMemory, kd::kCompleteMemory}) {
        kd::HeaderInfo h;
        auto f = kd::DumpWriter(phys, h).write(type);
        EXPECT_EQ(at<uint32_t>(f, 0x2000), 0x40u);
        EXPECT_EQ(text(f, 0x2004, 8), "RDMPDUMP");
        EXPECT_EQ(at<uint32_t>(f, 0x2004), 0x504D4452u);
        uint64_t meta = at<uint64_t>(f, 0x2010), first = at<uint64_t>(f, 0x2018);
        EXPECT_EQ(meta - 0x20, first - 0x2040);  // kdmp-parser's consistency check
        if (type == kd::kCompleteMemory) {
            EXPECT_EQ(at<uint32_t>(f, 0x2020), 2u);
            EXPECT_EQ(at<uint64_t>(f, 0x2028), 4u);
        }
        EXPECT_EQ(at<uint64_t>(f, 0x2030), 3u);
        EXPECT_EQ(at<uint64_t>(f, 0x2038), 3u);
        EXPECT_EQ(at<uint64_t>(f, 0x2040), 0x20u);
        EXPECT_EQ(at<uint64_t>(f, 0x2048), 1u);
        EXPECT_EQ(at<uint64_t>(f, 0x2050), 0u);  // the list ends with pfn 0
        ASSERT_EQ(f.size(), first + 4 * 0x1000);
        EXPECT_EQ(f[first + 9], 3);
        EXPECT_EQ(f[first + 3 * 0x1000 + 9], 0x20);
    }
    kd::PhysicalImage withZero(0);
    withZero.pageAt(0);
    EXPECT_THROW(kd::DumpWriter(withZero, kd::HeaderInfo{}).write(kd::kKernelMemory), std::invalid_argument);
}

TEST(KdumpBuilderCorrupt, CutAndOverclaimedBitmap) {
    kd::PhysicalImage phys(1);
    for (uint64_t pfn : {1, 2, 3}) phys.pageAt(pfn);
    kd::DumpWriter w(phys, kd::HeaderInfo{});
    auto cut = w.write(kd::kBitmapFull, kd::Corruption{0x2100, 0});
    EXPECT_EQ(cut.size(), 0x2100u);
    auto over = w.write(kd::kBitmapFull, kd::Corruption{std::nullopt, 5});
    uint64_t first = at<uint64_t>(over, 0x2020);
    EXPECT_EQ(at<uint64_t>(over, 0x2028), 8u);              // claims 8 pages
    EXPECT_EQ(over.size(), first + 3 * 0x1000);             // holds 3
    EXPECT_EQ(at<uint8_t>(over, 0x2038), 0xFE);             // pfns 1..7
    auto full = w.write(kd::kFull, kd::Corruption{std::nullopt, 4});
    EXPECT_EQ(at<uint32_t>(full, 0x88), 2u);
    EXPECT_EQ(full.size(), 0x2000u + 3 * 0x1000);
}

TEST(KdumpBuilderSparse, SixteenGiBBitmapWithFewPages) {
    kd::PhysicalImage phys(1);
    phys.setSpanPages(16ull << 30 >> 12);  // 16 GiB of physical address space
    phys.pageAt(0x1)[0] = 1;
    phys.pageAt(0x3ffff0)[0] = 2;
    auto f = kd::DumpWriter(phys, kd::HeaderInfo{}).write(kd::kBitmapFull);
    EXPECT_EQ(at<uint64_t>(f, 0x2030), 0x400000u);            // 4 Mi bits = 512 KiB bitmap
    uint64_t first = at<uint64_t>(f, 0x2020);
    EXPECT_EQ(first, 0x2000u + 0x1000 + 0x80000);             // 0x2038 + 0x80000 rounded up
    EXPECT_EQ(f.size(), first + 2 * 0x1000);
    EXPECT_EQ(f[first + 0x1000], 2);

    // 1 GiB of present (synthetic) pages written as a sparse file.
    kd::PhysicalImage big(1);
    big.addSyntheticRange(0x100, 0x40000);
    std::string path = tempPath("sparse.dmp");
    kd::DumpWriter bw(big, kd::HeaderInfo{});
    bw.writeFile(path, kd::kBitmapFull);
    struct stat st{};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    uint64_t firstBig = bw.layout().firstPageOffset;
    EXPECT_EQ(uint64_t(st.st_size), firstBig + 0x40000ull * 0x1000);
    EXPECT_LT(uint64_t(st.st_blocks) * 512, uint64_t(st.st_size) / 2) << "the file should be sparse";
    FILE* fp = std::fopen(path.c_str(), "rb");
    ASSERT_TRUE(fp);
    uint64_t stamp = 0, plain = 1;
    std::fseek(fp, static_cast<long>(firstBig + 0x1200ull * 0x1000), SEEK_SET);  // pfn 0x1300
    ASSERT_EQ(std::fread(&stamp, 8, 1, fp), 1u);
    std::fseek(fp, static_cast<long>(firstBig + 0x1201ull * 0x1000), SEEK_SET);
    ASSERT_EQ(std::fread(&plain, 8, 1, fp), 1u);
    std::fclose(fp);
    EXPECT_EQ(stamp, 0x1300u);
    EXPECT_EQ(plain, 0u);
    std::remove(path.c_str());
}

TEST(KdumpBuilderTriage, X64PartsAtTheirOffsets) {
    kd::PhysicalImage phys;
    kd::HeaderInfo h;
    h.bugCheckCode = 0x1000007e;
    kd::TriageInfo t;
    t.prcb.assign(0xaf00, 0xC1);
    t.process.assign(0xa40, 0xC2);
    t.thread.assign(0x898, 0xC3);
    t.topOfStack = 0xffff850429890ee8ull;
    t.callStack.assign(0x2118, 0xC4);
    t.drivers = {{"\\SystemRoot\\system32\\ntoskrnl.exe", 0xfffff8047ba00000ull, 0x1046000, 0x0d8333e6, 0xa5938c, 0},
                 {"\\SystemRoot\\system32\\drivers\\amdppm.sys", 0xfffff8048b580000ull, 0x3b000, 0x1234, 0, 0}};
    t.unloadedDrivers = {{"dam.sys", 0xfffff80487de0000ull, 0xfffff80487dfc000ull}};
    t.debuggerData.assign(0x380, 0);
    std::memcpy(t.debuggerData.data() + 0x10, "KDBG", 4);
    t.dataBlocks = {{0xfffff8047ba00000ull, std::vector<uint8_t>(0x1000, 0x4d)}};
    kd::DumpWriter w(phys, h);
    w.setTriage(t);
    auto f = w.write(kd::kTriage);
    const auto& L = w.layout();
    EXPECT_EQ(at<uint32_t>(f, 0xF98), 4u);
    EXPECT_EQ(at<uint32_t>(f, 0x1038), 0xcffu);
    EXPECT_EQ(at<uint32_t>(f, 0x2000 + 0x0C), 0x348u);
    EXPECT_EQ(at<uint32_t>(f, 0x2000 + 0x10), 0xF00u);
    EXPECT_EQ(at<uint32_t>(f, 0x2000 + 0x1C), L.prcbOffset);
    EXPECT_EQ(f[L.prcbOffset], 0xC1);
    EXPECT_EQ(f[at<uint32_t>(f, 0x2020)], 0xC2);
    EXPECT_EQ(f[at<uint32_t>(f, 0x2024)], 0xC3);
    EXPECT_EQ(at<uint32_t>(f, 0x202C), 0x2118u);
    EXPECT_EQ(f[at<uint32_t>(f, 0x2028) + 0x2117], 0xC4);
    EXPECT_EQ(at<uint64_t>(f, 0x2048), 0xffff850429890ee8ull);
    EXPECT_EQ(at<uint32_t>(f, 0x2034), 2u);
    uint32_t list = at<uint32_t>(f, 0x2030);
    // DUMP_DRIVER_ENTRY64 is 0x90 bytes: name offset, then the LDR entry at +8.
    EXPECT_EQ(at<uint64_t>(f, list + 0x90 + 0x38), 0xfffff8048b580000ull);
    EXPECT_EQ(at<uint32_t>(f, list + 0x90 + 0x48), 0x3b000u);
    EXPECT_EQ(at<uint32_t>(f, list + 0x88), 0x0d8333e6u);
    EXPECT_EQ(at<uint32_t>(f, list + 0x80), 0xa5938cu);
    uint32_t name = at<uint32_t>(f, list + 0x90);
    EXPECT_EQ(at<uint32_t>(f, name), 39u);  // characters
    EXPECT_EQ(at<uint16_t>(f, name + 4 + 2 * 29), uint16_t('a'));
    EXPECT_EQ(at<uint16_t>(f, name + 4 + 2 * 39), 0u);
    EXPECT_EQ(name % 8, 0u);
    EXPECT_EQ(at<uint32_t>(f, 0x2038), at<uint32_t>(f, list));  // pool starts with the first name
    uint32_t ul = at<uint32_t>(f, 0x2018);
    EXPECT_EQ(at<uint64_t>(f, ul), 1u);
    EXPECT_EQ(at<uint16_t>(f, ul + 8), 14u);
    EXPECT_EQ(at<uint16_t>(f, ul + 8 + 0x10), uint16_t('d'));
    EXPECT_EQ(at<uint64_t>(f, ul + 8 + 0x28), 0xfffff80487de0000ull);
    EXPECT_EQ(text(f, at<uint32_t>(f, 0x2070) + 0x10, 4), "KDBG");
    EXPECT_EQ(at<uint32_t>(f, 0x2074), 0x380u);
    uint32_t blocks = at<uint32_t>(f, 0x2078);
    EXPECT_EQ(at<uint32_t>(f, 0x207C), 1u);
    EXPECT_EQ(at<uint64_t>(f, blocks), 0xfffff8047ba00000ull);
    EXPECT_EQ(f[at<uint32_t>(f, blocks + 8)], 0x4d);
    EXPECT_EQ(at<uint32_t>(f, blocks + 12), 0x1000u);
    uint32_t valid = at<uint32_t>(f, 0x2008);
    EXPECT_EQ(text(f, valid, 4), "TRGD");
    EXPECT_EQ(at<uint32_t>(f, 0x2004), valid + 4);
    EXPECT_EQ(f.size(), valid + 4u);
}

// ---- the NT world ------------------------------------------------------------

TEST(KdumpBuilderNtWorld, KernelImageKdbgAndProcessesAtIsfOffsets) {
    NT_REQUIRE_CORPUS_FILE(isf, kIsf);
    kd::NtWorldBuilder w(isf, kd::NtWorldOptions{.processors = 2});
    auto& k = w.kernel();
    const uint64_t kb = 0xfffff8047ba00000ull;
    // PE header with the CodeView record the symbol path needs.
    EXPECT_EQ(k.readU16(kb), 0x5a4du);
    uint32_t pe = k.readU32(kb + 0x3c);
    EXPECT_EQ(k.readU32(kb + pe), 0x4550u);
    uint32_t debugRva = k.readU32(kb + pe + 24 + 112 + 6 * 8);
    uint32_t rsdsRva = k.readU32(kb + debugRva + 20);
    EXPECT_EQ(k.readU32(kb + debugRva + 12), 2u);
    EXPECT_EQ(k.readU32(kb + rsdsRva), 0x53445352u);  // "RSDS"
    auto guid = k.read(kb + rsdsRva + 4, 16);
    const uint8_t expectGuid[] = {0xF8, 0xAF, 0x78, 0x52, 0x34, 0x6C, 0x77, 0x16,
                                  0xD7, 0xD7, 0x83, 0x5C, 0x85, 0xB7, 0xB8, 0x44};
    EXPECT_EQ(std::memcmp(guid.data(), expectGuid, 16), 0);
    EXPECT_EQ(k.readU32(kb + rsdsRva + 20), 1u);
    auto pdb = k.read(kb + rsdsRva + 24, 13);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(pdb.data())), "ntkrnlmp.pdb");

    // KDBG at KernBase + the ISF's RVA (0xc00b20), clear text.
    uint64_t kdbg = kb + 0xc00b20;
    EXPECT_EQ(w.symbol("KdDebuggerDataBlock"), kdbg);
    EXPECT_EQ(k.readU32(kdbg + 0x10), 0x4742444bu);
    EXPECT_EQ(k.readU32(kdbg + 0x14), 0x380u);
    EXPECT_EQ(k.readU64(kdbg + 0x18), kb);
    EXPECT_EQ(k.readU64(kdbg + 0x48), kb + 0xc2a390);  // PsLoadedModuleList
    EXPECT_EQ(k.readU16(kdbg + 0x2a8), 0xa40u);       // SizeEProcess
    EXPECT_EQ(k.readU16(kdbg + 0x2aa), 0x550u);       // OffsetEprocessPeb

    uint64_t smss = w.addProcess("smss.exe", 0x1a4, 4);
    uint64_t t = w.addThread(smss, 0x1a8, kd::Waiting, 6, kd::UserMode);
    // Walk PsActiveProcessHead by hand with the ISF offsets (0x448 links, 0x440 pid, 0x5a8 name).
    uint64_t head = kb + 0xc1e200;
    std::vector<std::pair<uint64_t, std::string>> seen;
    for (uint64_t e = k.readU64(head); e != head && seen.size() < 10; e = k.readU64(e)) {
        uint64_t ep = e - 0x448;
        auto n = k.read(ep + 0x5a8, 15);
        seen.push_back({k.readU64(ep + 0x440), std::string(reinterpret_cast<const char*>(n.data()))});
    }
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].first, 4u);
    EXPECT_EQ(seen[0].second, "System");
    EXPECT_EQ(seen[1].first, 0x1a4u);
    EXPECT_EQ(seen[1].second, "smss.exe");
    EXPECT_EQ(k.readU64(smss + 0x540), 4u);                  // InheritedFromUniqueProcessId
    EXPECT_EQ(k.readU8(smss), 3u);                           // Pcb.Header.Type
    uint64_t dtb = k.readU64(smss + 0x28);
    EXPECT_NE(dtb, k.dtb());
    EXPECT_EQ(k.readU64(w.systemProcess() + 0x28), k.dtb());
    EXPECT_EQ(k.readU64(w.systemProcess() + 0x558), 0u);     // System has no session
    // Thread: Cid at 0x478, ApcState.Process at 0x98+0x20, State 0x184, on the process's list.
    EXPECT_EQ(k.readU64(t + 0x478), 0x1a4u);
    EXPECT_EQ(k.readU64(t + 0x480), 0x1a8u);
    EXPECT_EQ(k.readU64(t + 0xb8), smss);
    EXPECT_EQ(k.readU8(t + 0x184), 5u);
    EXPECT_EQ(k.readU64(smss + 0x5e0), t + 0x4e8);           // ThreadListHead -> ThreadListEntry
    EXPECT_EQ(k.readU64(smss + 0x30), t + 0x2f8);            // Pcb.ThreadListHead -> Tcb.ThreadListEntry

    // Object header: TypeIndex decodes to "Process" through the cookie.
    uint64_t hdr = smss - 0x30;
    uint8_t stored = k.readU8(hdr + 0x18);
    uint8_t cookie = k.readU8(kb + 0xcfc71c);
    uint8_t real = stored ^ cookie ^ static_cast<uint8_t>((hdr >> 8) & 0xff);
    uint64_t typeObj = k.readU64(kb + 0xcfce10 + 8 * real);
    uint16_t nameLen = k.readU16(typeObj + 0x10);
    auto nameBytes = k.read(k.readU64(typeObj + 0x18), nameLen);
    std::string typeName;
    for (size_t i = 0; i < nameBytes.size(); i += 2) typeName.push_back(static_cast<char>(nameBytes[i]));
    EXPECT_EQ(typeName, "Process");

    // Processors: KiProcessorBlock[i] = &KPCR.Prcb, Prcb.Number = i.
    for (unsigned i = 0; i < 2; ++i) {
        uint64_t prcb = k.readU64(kb + 0xcfdc80 + 8 * i);
        EXPECT_EQ(prcb, w.kpcr(i) + 0x180);
        EXPECT_EQ(k.readU32(prcb + 0x24), i);
        EXPECT_EQ(k.readU64(w.kpcr(i) + 0x18), w.kpcr(i));
        EXPECT_EQ(k.readU64(prcb + 0x18), w.idleThread(i));
    }
}

TEST(KdumpBuilderNtWorld, EncodedKdbgDecodesTheWindowsWay) {
    NT_REQUIRE_CORPUS_FILE(isf, kIsf);
    kd::NtWorldOptions o;
    o.encodeKdbg = true;
    kd::NtWorldBuilder w(isf, o);
    auto& k = w.kernel();
    uint64_t va = w.symbol("KdDebuggerDataBlock");
    auto enc = k.read(va, 0x380);
    uint64_t never = k.readU64(w.symbol("KiWaitNever")), always = k.readU64(w.symbol("KiWaitAlways"));
    EXPECT_EQ(never, o.kiWaitNever);
    // The salt is the address of KdpDataBlockEncoded (Volatility 2's decode_kdbg).
    const uint64_t salt = w.symbol("KdpDataBlockEncoded") | 0xffff000000000000ull;
    // Decode by hand (Volatility's algorithm): the tag and KernBase come back.
    auto word = [&](size_t off) {
        uint64_t e;
        std::memcpy(&e, enc.data() + off, 8);
        uint64_t t = e ^ never;
        unsigned r = static_cast<unsigned>(never & 0xff) % 64;
        t = r ? (t << r) | (t >> (64 - r)) : t;
        return __builtin_bswap64(t ^ salt) ^ always;
    };
    EXPECT_EQ(word(0x10) & 0xffffffffu, 0x4742444bu);
    EXPECT_EQ(word(0x18), w.kernBase());
    EXPECT_NE(k.readU32(va + 0x10), 0x4742444bu);
    // The project's decoder agrees.
    auto dec = nt::kdbg::decode(nt::Bytes(enc.data(), enc.size()), salt, never, always);
    auto parsed = nt::kdbg::parse(nt::Bytes(dec.data(), dec.size()), va);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->kernBase, w.kernBase());
    EXPECT_EQ(parsed->psActiveProcessHead, w.symbol("PsActiveProcessHead"));
}

TEST(KdumpBuilderNtWorld, WaitBlocksLinkThreadsAndObjects) {
    NT_REQUIRE_CORPUS_FILE(isf, kIsf);
    kd::NtWorldBuilder w(isf);
    auto& k = w.kernel();
    uint64_t p = w.addProcess("csrss.exe", 0x230, 0x1a4);
    uint64_t t = w.addThread(p, 0x234, kd::Waiting, 13, kd::UserMode);
    uint64_t ev = w.addEvent(false, false, "BaseNamedObjects");
    uint64_t mu = w.addMutant(t);
    w.waitOn(t, {ev, mu});
    uint64_t wb0 = k.readU64(t + 0xd0);                     // Tcb.WaitBlockList
    EXPECT_EQ(wb0, t + 0x140);                              // = &Tcb.WaitBlock[0]
    EXPECT_EQ(k.readU64(wb0 + 0x20), ev);                   // Object
    EXPECT_EQ(k.readU64(wb0 + 0x18), t);                    // Thread
    EXPECT_EQ(k.readU8(wb0 + 0x10), 1u);                    // WaitAny
    EXPECT_EQ(k.readU64(wb0 + 0x30 + 0x20), mu);
    EXPECT_EQ(k.readU8(t + 0x24b), 2u);                     // WaitBlockCount
    EXPECT_EQ(k.readU64(ev + 0x8), wb0);                    // event's WaitListHead -> block 0
    EXPECT_EQ(k.readU64(mu + 0x8), wb0 + 0x30);
    EXPECT_EQ(k.readU64(mu + 0x28), t);                     // OwnerThread
    // The named event has a NAME_INFO before its header (InfoMask 0x2).
    EXPECT_EQ(k.readU8(ev - 0x30 + 0x1a), 0x2u);
    uint64_t ni = ev - 0x30 - 0x20;
    EXPECT_EQ(k.readU16(ni + 0x8), 2u * 16);
}

TEST(KdumpBuilderNtWorld, ResourcesSemaphoresAndUnloadedDrivers) {
    NT_REQUIRE_CORPUS_FILE(isf, kIsf);
    kd::NtWorldBuilder w(isf);
    auto& k = w.kernel();
    uint64_t p = w.addProcess("svchost.exe", 0x300, 0x260);
    uint64_t t1 = w.addThread(p, 0x304, kd::Running, 0, kd::KernelMode);
    uint64_t t2 = w.addThread(p, 0x308, kd::Ready, 0, kd::KernelMode);
    uint64_t t3 = w.addThread(p, 0x30c, kd::Waiting, 27 /*WrResource*/, kd::KernelMode);
    EXPECT_EQ(w.layout().enumValue("_KWAIT_REASON", "WrResource"), 27);
    uint64_t r = w.addResource({{t1, t2}, false, {}, {t3}, 5});
    uint64_t head = w.symbol("ExpSystemResourcesList");
    EXPECT_EQ(k.readU64(head), r);                            // SystemResourcesList at +0
    EXPECT_EQ(k.readU16(r + 0x18), 2u);                       // ActiveCount
    EXPECT_EQ(k.readU16(r + 0x1a), 0u);                       // Flag: shared
    EXPECT_EQ(k.readU64(r + 0x30), t1);                       // OwnerEntry.OwnerThread
    EXPECT_EQ(k.readU32(r + 0x38) >> 3, 1u);                  // OwnerEntry.OwnerCount (bits 3..31)
    uint64_t table = k.readU64(r + 0x10);
    EXPECT_EQ(k.readU32(table + 0x8), 3u);                    // OwnerTable[0].TableSize
    EXPECT_EQ(k.readU64(table + 0x10), t2);                   // OwnerTable[1].OwnerThread
    EXPECT_EQ(k.readU32(r + 0x44), 5u);                       // ContentionCount
    EXPECT_EQ(k.readU32(r + 0x4c), 1u);                       // NumberOfExclusiveWaiters
    uint64_t ev = k.readU64(r + 0x28);
    EXPECT_EQ(k.readU64(k.readU64(t3 + 0xd0) + 0x20), ev);    // the waiter waits on ExclusiveWaiters
    uint64_t sem = w.addSemaphore(10, 3);
    EXPECT_EQ(k.readU8(sem), 5u);
    EXPECT_EQ(k.readU32(sem + 4), 3u);
    EXPECT_EQ(k.readU32(sem + 0x18), 10u);
    w.addUnloadedDriver("dam.sys", 0xfffff80487de0000ull, 0xfffff80487dfc000ull);
    EXPECT_EQ(k.readU32(w.symbol("MmLastUnloadedDriver")), 1u);
    uint64_t arr = k.readU64(w.symbol("MmUnloadedDrivers"));
    EXPECT_EQ(k.readU16(arr), 14u);
    EXPECT_EQ(k.readU64(arr + 0x10), 0xfffff80487de0000ull);
}

TEST(KdumpBuilderNtWorld, BitmapFileHoldsTheWorld) {
    NT_REQUIRE_CORPUS_FILE(isf, kIsf);
    kd::NtWorldBuilder w(isf);
    w.setBugcheck(0x1000007e, {0xffffffffc0000005ull, 0xfffff8048b58334cull, 1, 2});
    auto f = w.build(kd::kBitmapKernel);
    EXPECT_EQ(at<uint64_t>(f, 0x10), w.kernel().dtb());
    EXPECT_EQ(at<uint64_t>(f, 0x28), 0xfffff8047ba00000ull + 0xc1e200);
    EXPECT_EQ(at<uint64_t>(f, 0x80), 0xfffff8047ba00000ull + 0xc00b20);
    EXPECT_EQ(at<uint32_t>(f, 0x38), 0x1000007eu);
    EXPECT_EQ(at<uint32_t>(f, 0x0C), 19041u);
    EXPECT_EQ(at<uint32_t>(f, 0x348 + 0x30), 0x10001fu);   // ContextFlags
    // Every present page is in the file once, in pfn order.
    uint64_t first = at<uint64_t>(f, 0x2020);
    EXPECT_EQ(at<uint64_t>(f, 0x2028), w.phys().presentPages());
    EXPECT_EQ(f.size(), first + w.phys().presentPages() * 0x1000);
}

// ---- round trips through the project's reader --------------------------------

namespace {

std::unique_ptr<nt::kdump::KernelDumpFile> parseBytes(const std::vector<uint8_t>& f) {
    return nt::kdump::KernelDumpFile::parse(nt::Bytes(f.data(), f.size()));
}

}  // namespace

TEST(KdumpBuilderRoundTrip, PhysicalTypesOnX64AndX86) {
    struct Case {
        PagingMode mode;
        bool is64, pae;
    };
    for (Case c : {Case{PagingMode::X64, true, false}, Case{PagingMode::X86Pae, false, true},
                   Case{PagingMode::X86, false, false}}) {
        SmallMachine m(c.mode);
        kd::DumpWriter w(m.phys, m.header(c.is64, c.pae));
        std::vector<uint32_t> types = {kd::kFull, kd::kSummary, kd::kBitmapFull, kd::kBitmapKernel};
        if (c.is64) types.insert(types.end(), {kd::kKernelMemory, kd::kKernelAndUserMemory, kd::kCompleteMemory});
        for (uint32_t type : types) {
            SCOPED_TRACE(std::string(nt::pagingModeName(c.mode)) + " type " + std::to_string(type));
            auto f = w.write(type);
            std::unique_ptr<nt::kdump::KernelDumpFile> d;
            ASSERT_NO_THROW(d = parseBytes(f));
            const auto& h = d->header();
            EXPECT_EQ(h.is64, c.is64);
            EXPECT_EQ(h.dumpType, type);
            EXPECT_EQ(h.directoryTableBase, m.as.dtb());
            EXPECT_EQ(h.bugCheckCode, 0x7eu);
            EXPECT_EQ(h.bugCheckParameters[0], 0xc0000005u);
            EXPECT_EQ(h.numberProcessors, 2u);
            EXPECT_EQ(h.paeEnabled, c.pae);
            EXPECT_EQ(h.exception.code, 0xc0000005u);
            ASSERT_TRUE(d->physical());
            EXPECT_EQ(d->physical()->presentPages(), m.phys.presentPages());
            nt::VirtualMemory vm(*d->physical(), c.mode, h.directoryTableBase);
            uint32_t v = 0;
            EXPECT_EQ(vm.read(m.va + 0x1000, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 4)), 4u);
            EXPECT_EQ(v, 0x0badcafeu);
            EXPECT_TRUE(d->warnings().empty()) << d->warnings().front();
            // The KDBG block reads back through the dump's page tables.
            std::vector<uint8_t> kdbg(0x380);
            ASSERT_EQ(vm.read(h.kdDebuggerDataBlock, kdbg), 0x380u);
            auto kd64 = nt::kdbg::parse(nt::Bytes(kdbg.data(), kdbg.size()), h.kdDebuggerDataBlock);
            ASSERT_TRUE(kd64);
            EXPECT_EQ(kd64->kernBase, c.is64 ? 0xfffff8047ba00000ull : 0xffffffff82c00000ull);
            EXPECT_EQ(kd64->sizeEProcess, c.is64 ? 0xa40 : 0x2e8);
        }
    }
}

// RDMP with a 32-bit header is our extrapolation; the reader keeps the
// header and says it does not read the pages.
TEST(KdumpBuilderRoundTrip, RdmpOn32BitIsHeaderOnly) {
    SmallMachine m(PagingMode::X86Pae);
    auto f = kd::DumpWriter(m.phys, m.header(false, true)).write(kd::kKernelMemory);
    auto d = parseBytes(f);
    EXPECT_EQ(d->header().dumpType, 8u);
    EXPECT_EQ(d->header().directoryTableBase, m.as.dtb());
    EXPECT_EQ(d->physical(), nullptr);
    EXPECT_FALSE(d->warnings().empty());
}

TEST(KdumpBuilderRoundTrip, SmallDumpsOnX64AndX86) {
    for (bool is64 : {true, false}) {
        SCOPED_TRACE(is64 ? "x64" : "x86");
        kd::PhysicalImage phys;
        kd::HeaderInfo h;
        h.is64 = is64;
        h.paeEnabled = !is64;
        h.bugCheckCode = 0xd1;
        h.bugCheckParameters = {0x28, 2, 0, is64 ? 0xfffff8048b58334cull : 0x8b58334c};
        nt::CpuContext ctx(is64 ? nt::Machine::Amd64 : nt::Machine::X86);
        uint64_t sp = is64 ? 0xffff850429890ee8ull : 0x9e8f0ee8;
        ctx.set(nt::Reg::Rsp, sp);
        h.context = ctx.serialize();
        kd::TriageInfo t;
        t.prcb.assign(is64 ? 0xaf00 : 0x3c00, 0x11);
        t.process.assign(is64 ? 0xa40 : 0x2e8, 0x22);
        t.thread.assign(is64 ? 0x898 : 0x3b8, 0x33);
        t.topOfStack = sp;
        t.callStack.assign(0x800, 0x44);
        t.drivers = {{"\\SystemRoot\\system32\\ntoskrnl.exe", is64 ? 0xfffff8047ba00000ull : 0x82c00000, 0x800000, 0x5a5a5a5a, 0x1234, 0},
                     {"\\SystemRoot\\system32\\drivers\\acpi.sys", is64 ? 0xfffff8048b580000ull : 0x8b580000, 0x3b000, 0x11223344, 0, 0}};
        t.unloadedDrivers = {{"dam.sys", is64 ? 0xfffff80487de0000ull : 0x87de0000, is64 ? 0xfffff80487dfc000ull : 0x87dfc000}};
        kd::KdbgFields kf;
        kf.is64 = is64;
        kf.kernBase = t.drivers[0].base;
        t.debuggerData = kd::makeKdbgBlock(kf);
        t.dataBlocks = {{is64 ? 0xfffff8047ba00000ull : 0x82c00000, std::vector<uint8_t>(0x200, 0x4d)}};
        kd::DumpWriter w(phys, h);
        w.setTriage(t);
        auto f = w.write(kd::kTriage);
        std::unique_ptr<nt::kdump::KernelDumpFile> d;
        ASSERT_NO_THROW(d = parseBytes(f));
        EXPECT_EQ(d->header().dumpType, 4u);
        EXPECT_EQ(d->header().bugCheckCode, 0xd1u);
        EXPECT_EQ(d->physical(), nullptr);
        const auto* tr = d->triage();
        ASSERT_TRUE(tr);
        ASSERT_EQ(tr->drivers.size(), 2u);
        EXPECT_EQ(tr->drivers[1].name, "acpi.sys");  // the reader keeps the base name
        EXPECT_EQ(tr->drivers[1].base, t.drivers[1].base);
        EXPECT_EQ(tr->drivers[1].size, 0x3b000u);
        EXPECT_EQ(tr->drivers[1].timestamp, 0x11223344u);
        EXPECT_EQ(tr->drivers[0].checksum, 0x1234u);
        ASSERT_EQ(tr->unloadedDrivers.size(), 1u);
        EXPECT_EQ(tr->unloadedDrivers[0].name, "dam.sys");
        EXPECT_EQ(tr->unloadedDrivers[0].start, t.unloadedDrivers[0].start);
        EXPECT_EQ(tr->unloadedDrivers[0].end, t.unloadedDrivers[0].end);
        EXPECT_EQ(tr->topOfStack, sp);
        EXPECT_EQ(tr->callStack.size(), 0x800u);
        EXPECT_EQ(tr->prcb.size(), t.prcb.size());
        EXPECT_EQ(tr->process.size(), t.process.size());
        EXPECT_EQ(tr->thread.size(), t.thread.size());
        EXPECT_EQ(tr->thread.getOr<uint8_t>(0, 0), 0x33);
        EXPECT_EQ(tr->debuggerData.getOr<uint32_t>(0x10, 0), 0x4742444bu);
        EXPECT_FALSE(tr->context.empty());
        bool sawBlock = false;
        for (const auto& b : tr->blocks)
            if (b.address == t.dataBlocks[0].address && b.bytes.size() == 0x200) sawBlock = true;
        EXPECT_TRUE(sawBlock);
        EXPECT_TRUE(d->warnings().empty()) << d->warnings().front();
    }
}

TEST(KdumpBuilderRoundTrip, NtWorldPhysicalTypesWalkTheProcessList) {
    NT_REQUIRE_CORPUS_FILE(isf, kIsf);
    kd::NtWorldBuilder w(isf);
    w.addProcess("smss.exe", 0x1a4, 4);
    w.addProcess("csrss.exe", 0x230, 0x1a4);
    for (uint32_t type : {kd::kFull, kd::kSummary, kd::kBitmapFull, kd::kBitmapKernel, kd::kKernelMemory,
                          kd::kCompleteMemory}) {
        SCOPED_TRACE("type " + std::to_string(type));
        auto f = w.build(type);
        auto d = parseBytes(f);
        ASSERT_TRUE(d->physical());
        EXPECT_TRUE(d->warnings().empty()) << d->warnings().front();
        nt::VirtualMemory vm(*d->physical(), PagingMode::X64, d->header().directoryTableBase);
        uint64_t head = d->header().psActiveProcessHead;
        std::vector<std::string> names;
        uint64_t e = 0;
        ASSERT_EQ(vm.read(head, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&e), 8)), 8u);
        while (e != head && names.size() < 10) {
            char n[16] = {};
            vm.read(e - 0x448 + 0x5a8, std::span<uint8_t>(reinterpret_cast<uint8_t*>(n), 15));
            names.push_back(n);
            if (vm.read(e, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&e), 8)) != 8) break;
        }
        EXPECT_EQ(names, (std::vector<std::string>{"System", "smss.exe", "csrss.exe"}));
    }
}

TEST(KdumpBuilderRoundTrip, DamagedFilesAreReadableOrRejected) {
    SmallMachine m(PagingMode::X64);
    kd::DumpWriter w(m.phys, m.header(true, false));
    auto over = w.write(kd::kBitmapFull, kd::Corruption{std::nullopt, 3});
    auto d = parseBytes(over);
    ASSERT_TRUE(d->physical());
    EXPECT_EQ(d->physical()->presentPages(), m.phys.presentPages());
    EXPECT_TRUE(d->truncated());
    auto cut = w.write(kd::kFull, kd::Corruption{0x1800, 0});
    EXPECT_THROW(parseBytes(cut), nt::FormatError);
}

TEST(KdumpBuilderRoundTrip, NtWorldSmallDump) {
    NT_REQUIRE_CORPUS_FILE(isf, kIsf);
    kd::NtWorldBuilder w(isf);
    uint64_t p = w.addProcess("crash.exe", 0x1000, 4);
    kd::ThreadSpec s;
    s.tid = 0x1004;
    s.state = kd::Running;
    kd::ThreadInfo ti = w.addThread(p, s);
    w.setCurrentThread(0, ti.ethread);
    nt::CpuContext ctx(nt::Machine::Amd64);
    ctx.set(nt::Reg::Rsp, ti.stackBase - 0x400);
    ctx.set(nt::Reg::Rip, 0xfffff8048b58334cull);
    w.setContext(ctx);
    w.kernel().writeU64(ti.stackBase - 0x400, 0xfffff8047ba01234ull);
    w.addDriver("amdppm.sys", 0xfffff8048b580000ull, 0x3b000, 0x5e3b2d1a);
    w.addUnloadedDriver("dam.sys", 0xfffff80487de0000ull, 0xfffff80487dfc000ull);
    w.setBugcheck(0x1000007e, {0xffffffffc0000005ull, 0xfffff8048b58334cull, 0, 0});
    auto f = w.build(kd::kTriage);
    auto d = parseBytes(f);
    const auto* t = d->triage();
    ASSERT_TRUE(t);
    EXPECT_EQ(d->header().bugCheckCode, 0x1000007eu);
    ASSERT_EQ(t->drivers.size(), 3u);
    EXPECT_EQ(t->drivers[2].base, 0xfffff8048b580000ull);
    EXPECT_EQ(t->drivers[2].size, 0x3b000u);
    EXPECT_NE(t->drivers[2].name.find("amdppm.sys"), std::string::npos);
    ASSERT_EQ(t->unloadedDrivers.size(), 1u);
    EXPECT_EQ(t->unloadedDrivers[0].name, "dam.sys");
    EXPECT_EQ(t->topOfStack, ti.stackBase - 0x400);
    EXPECT_EQ(t->callStack.size(), 0x400u);
    EXPECT_EQ(t->callStack.getOr<uint64_t>(0, 0), 0xfffff8047ba01234ull);
    EXPECT_EQ(t->thread.getOr<uint64_t>(0x480, 0), 0x1004u);   // Cid.UniqueThread
    EXPECT_EQ(t->process.getOr<uint64_t>(0x440, 0), 0x1000u);  // UniqueProcessId
    EXPECT_EQ(t->prcb.getOr<uint64_t>(0x8, 0), ti.ethread);    // CurrentThread
    EXPECT_EQ(t->debuggerData.getOr<uint32_t>(0x10, 0), 0x4742444bu);
    bool sawNtHeader = false;  // nt's PE header page travels as a data block
    for (const auto& b : t->blocks)
        if (b.address == 0xfffff8047ba00000ull && b.bytes.getOr<uint16_t>(0, 0) == 0x5a4d) sawNtHeader = true;
    EXPECT_TRUE(sawNtHeader);
    // KPRCB.ProcessorState.ContextFrame (0x100 + 0xf0) holds the context.
    EXPECT_EQ(t->prcb.getOr<uint64_t>(0x1f0 + 0x98, 0), ti.stackBase - 0x400);
}
