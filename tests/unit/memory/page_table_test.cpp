// Page-table walks over hand-built tables in a map-backed physical memory.
// Every expected address is computed by hand from the architecture's index
// split (x64: 9/9/9/9/12, PAE: 2/9/9/12, x86: 10/10/12, ARM64 4 KiB: 9/9/9/9/12).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "memory/page_table.h"
#include "support/kdump_builder/address_space.h"

namespace nt {
namespace {

// Physical memory made of whole 4 KiB pages keyed by pfn. Implements only
// PhysicalMemory's virtuals, so it does not depend on physical_memory.cpp.
class MapPhysicalMemory final : public PhysicalMemory {
public:
    Bytes page(uint64_t pfn) const override {
        auto it = pages_.find(pfn);
        if (it == pages_.end()) return {};
        return Bytes(it->second.data(), it->second.size());
    }
    uint64_t presentPages() const override { return pages_.size(); }
    std::optional<uint64_t> nextPresentPfn(uint64_t pfn) const override {
        auto it = pages_.lower_bound(pfn);
        if (it == pages_.end()) return std::nullopt;
        return it->first;
    }

    // Creates the page (zero-filled) when missing.
    std::vector<uint8_t>& at(uint64_t pfn) {
        auto& p = pages_[pfn];
        if (p.empty()) p.assign(kPageSize, 0);
        return p;
    }
    void put64(uint64_t pa, uint64_t v) {
        auto& p = at(pa >> kPageShift);
        for (unsigned i = 0; i < 8; ++i) p[(pa & 0xfff) + i] = uint8_t(v >> (8 * i));
    }
    void put32(uint64_t pa, uint32_t v) {
        auto& p = at(pa >> kPageShift);
        for (unsigned i = 0; i < 4; ++i) p[(pa & 0xfff) + i] = uint8_t(v >> (8 * i));
    }
    // A data page whose every byte is `fill`.
    void data(uint64_t pfn, uint8_t fill) { at(pfn).assign(kPageSize, fill); }
    void remove(uint64_t pfn) { pages_.erase(pfn); }

private:
    std::map<uint64_t, std::vector<uint8_t>> pages_;
};

// Table-entry helpers. x86-family present+writable = 0x3, PS = 0x80.
constexpr uint64_t kTable = 0x3;
constexpr uint64_t kLarge = 0x83;
// ARM64: bit0 valid, bit1 table/page; a block has bit1 clear. AF (bit 10) set on leaves.
constexpr uint64_t kArmTable = 0x3;
constexpr uint64_t kArmPage = 0x403;
constexpr uint64_t kArmBlock = 0x401;

uint64_t idx(uint64_t va, unsigned shift) { return (va >> shift) & 0x1ff; }

// x64: four tables for one va, entries written by hand.
struct X64Tables {
    static constexpr uint64_t pml4 = 0x10, pdpt = 0x11, pd = 0x12, pt = 0x13;
    static void link(MapPhysicalMemory& m, uint64_t va, uint64_t pml4Pfn = pml4, uint64_t pdptPfn = pdpt,
                     uint64_t pdPfn = pd, uint64_t ptPfn = pt) {
        m.put64((pml4Pfn << 12) + idx(va, 39) * 8, (pdptPfn << 12) | kTable);
        m.put64((pdptPfn << 12) + idx(va, 30) * 8, (pdPfn << 12) | kTable);
        m.put64((pdPfn << 12) + idx(va, 21) * 8, (ptPfn << 12) | kTable);
        m.at(ptPfn);
    }
    static uint64_t pteAddress(uint64_t va, uint64_t ptPfn = pt) { return (ptPfn << 12) + idx(va, 12) * 8; }
};

TEST(PageTableNames, ModesAndStates) {
    EXPECT_EQ(pagingModeName(PagingMode::X86), "x86");
    EXPECT_EQ(pagingModeName(PagingMode::X86Pae), "x86-pae");
    EXPECT_EQ(pagingModeName(PagingMode::X64La57), "x64-la57");
    EXPECT_EQ(pagingModeName(PagingMode::Arm64), "arm64");
    EXPECT_EQ(pteStateName(PteState::PageFile), "paged out");
    EXPECT_EQ(pteStateName(PteState::TableMissing), "page table not in dump");
    EXPECT_EQ(pteStateName(PteState::DemandZero), "demand zero");
}

// ---------------------------------------------------------------- x64

TEST(PageTableX64, FourKilobytePageByHand) {
    MapPhysicalMemory m;
    // va 0x7ff612345678: PML4 0xff, PDPT 0x1d8, PD 0x91, PT 0x145, offset 0x678.
    m.put64(0x10000 + 0xff * 8, 0x11000 | kTable);
    m.put64(0x11000 + 0x1d8 * 8, 0x12000 | kTable);
    m.put64(0x12000 + 0x91 * 8, 0x13000 | kTable);
    m.put64(0x13000 + 0x145 * 8, 0x8000000000050000ull | 0x63);  // NX + dirty/accessed bits ignored
    m.data(0x50, 0xab);
    m.put64(0x50678, 0x1122334455667788ull);

    Translation t = translate(m, PagingMode::X64, 0x10000, 0x7ff612345678ull);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x50678u);
    EXPECT_EQ(t.pageSize, 0x1000u);
    EXPECT_EQ(t.level, 1u);
    EXPECT_EQ(t.entryAddress, 0x13000u + 0x145 * 8);
    EXPECT_EQ(t.entry, 0x8000000000050063ull);

    VirtualMemory vm(m, PagingMode::X64, 0x10000);
    EXPECT_EQ(vm.readValue<uint64_t>(0x7ff612345678ull), 0x1122334455667788ull);
    EXPECT_EQ(vm.readValue<uint8_t>(0x7ff612345000ull), 0xab);
    Bytes v = vm.view(0x7ff612345ff0ull, 0x100);
    EXPECT_EQ(v.size(), 0x10u);  // the rest of the page
    EXPECT_EQ(v.data()[0], 0xab);
}

TEST(PageTableX64, PcidBitsOfTheDtbAreIgnored) {
    MapPhysicalMemory m;
    const uint64_t va = 0xfffff80000201000ull;
    X64Tables::link(m, va);
    m.put64(X64Tables::pteAddress(va), 0x77000 | kTable);
    m.data(0x77, 0x5a);
    // PCID 0x123 in bits 0..11 and bit 63 ("no flush") as a CR3 value may carry.
    const uint64_t dtb = (X64Tables::pml4 << 12) | 0x123 | (1ull << 63);
    EXPECT_EQ(translate(m, PagingMode::X64, dtb, va + 0x10).pa, 0x77010u);
    VirtualMemory vm(m, PagingMode::X64, dtb);
    EXPECT_EQ(vm.readValue<uint8_t>(va), 0x5a);
}

TEST(PageTableX64, LargePages) {
    MapPhysicalMemory m;
    const uint64_t dtb = X64Tables::pml4 << 12;
    // 2 MiB page at va 0xfffff80000400000 -> pa 0x40000000 (PDE with PS).
    const uint64_t va2m = 0xfffff80000400000ull;
    m.put64(dtb + idx(va2m, 39) * 8, 0x11000 | kTable);
    m.put64(0x11000 + idx(va2m, 30) * 8, 0x12000 | kTable);
    m.put64(0x12000 + idx(va2m, 21) * 8, 0x40000000 | kLarge);
    m.data(0x40000 + 0x123, 0x2a);  // frame 0x123 of the large page
    Translation t = translate(m, PagingMode::X64, dtb, va2m + 0x123456);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x40123456u);
    EXPECT_EQ(t.pageSize, 2u << 20);
    EXPECT_EQ(t.level, 2u);

    // 1 GiB page at va 0x0000004040000000 (PML4 0, PDPT 0x101) -> pa 0x80000000 (PDPTE with PS).
    const uint64_t va1g = 0x0000004040000000ull;
    m.put64(dtb + idx(va1g, 39) * 8, 0x14000 | kTable);
    m.put64(0x14000 + idx(va1g, 30) * 8, 0x80000000 | kLarge);
    m.data(0x80000 + 0x3fff, 0x3b);  // last frame of the first 64 MiB
    t = translate(m, PagingMode::X64, dtb, va1g + 0x3fff008);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x83fff008u);
    EXPECT_EQ(t.pageSize, 1u << 30);
    EXPECT_EQ(t.level, 3u);

    VirtualMemory vm(m, PagingMode::X64, dtb);
    EXPECT_EQ(vm.readValue<uint8_t>(va2m + 0x123fff), 0x2a);
    EXPECT_EQ(vm.readValue<uint8_t>(va1g + 0x3fff000), 0x3b);
    EXPECT_FALSE(vm.readValue<uint8_t>(va1g));  // frame 0x80000 is not in the dump
}

TEST(PageTableX64, ReadStopsAtAnAbsentPage) {
    MapPhysicalMemory m;
    const uint64_t va = 0x10000ull;  // PT index 0x10; next page 0x11 maps an absent frame
    X64Tables::link(m, va);
    m.put64(X64Tables::pteAddress(va), 0x60000 | kTable);
    m.put64(X64Tables::pteAddress(va + 0x1000), 0x61000 | kTable);
    m.data(0x60, 0x11);
    VirtualMemory vm(m, PagingMode::X64, X64Tables::pml4 << 12);
    std::array<uint8_t, 32> out{};
    EXPECT_EQ(vm.read(va + 0xff0, out), 0x10u);
    EXPECT_EQ(out[15], 0x11);
    // Once the frame is present the same read crosses the boundary.
    m.data(0x61, 0x22);
    VirtualMemory vm2(m, PagingMode::X64, X64Tables::pml4 << 12);
    EXPECT_EQ(vm2.read(va + 0xff0, out), 32u);
    EXPECT_EQ(out[16], 0x22);
    // A zero PTE after the page ends it the same way.
    EXPECT_EQ(vm2.read(va + 0x1ff8, out), 8u);
    EXPECT_EQ(translate(m, PagingMode::X64, X64Tables::pml4 << 12, va + 0x2000).state, PteState::Invalid);
}

TEST(PageTableX64, NonCanonicalAddresses) {
    MapPhysicalMemory m;
    const uint64_t dtb = X64Tables::pml4 << 12;
    // The last user page, so that a read running off it would reach the hole.
    const uint64_t last = 0x00007ffffffff000ull;
    X64Tables::link(m, last);
    m.put64(X64Tables::pteAddress(last), 0x60000 | kTable);
    m.data(0x60, 0x44);
    EXPECT_EQ(translate(m, PagingMode::X64, dtb, 0x0000800000000000ull).state, PteState::NonCanonical);
    EXPECT_EQ(translate(m, PagingMode::X64, dtb, 0xffff7fffffffffffull).state, PteState::NonCanonical);
    EXPECT_EQ(translate(m, PagingMode::X64, dtb, 0x1000000000000000ull).state, PteState::NonCanonical);
    VirtualMemory vm(m, PagingMode::X64, dtb);
    std::array<uint8_t, 16> out{};
    EXPECT_EQ(vm.read(0x00007ffffffffff8ull, out), 8u);
    EXPECT_EQ(vm.read(0x0000800000000000ull, out), 0u);
    // nextPresent from the hole continues at the kernel half: nothing there.
    EXPECT_FALSE(vm.nextPresent(0x0000900000000000ull));
}

TEST(PageTableX64, MissingPageTablePage) {
    MapPhysicalMemory m;
    const uint64_t va = 0x00000200001ff000ull;
    // The PDE points to frame 0x99, which the dump does not hold.
    m.put64(0x10000 + idx(va, 39) * 8, 0x11000 | kTable);
    m.put64(0x11000 + idx(va, 30) * 8, 0x12000 | kTable);
    m.put64(0x12000 + idx(va, 21) * 8, 0x99000 | kTable);
    Translation t = translate(m, PagingMode::X64, 0x10000, va);
    EXPECT_EQ(t.state, PteState::TableMissing);
    EXPECT_EQ(t.level, 1u);
    EXPECT_EQ(t.entryAddress, 0x99000u + 0x1ff * 8);
    EXPECT_EQ(t.span, 2u << 20);  // the whole missing PT
    // A missing PML4 (dtb not in the dump).
    t = translate(m, PagingMode::X64, 0x5555000, va);
    EXPECT_EQ(t.state, PteState::TableMissing);
    EXPECT_EQ(t.level, 4u);
    VirtualMemory vm(m, PagingMode::X64, 0x10000);
    EXPECT_FALSE(vm.readValue<uint8_t>(va));
}

TEST(PageTableX64, SoftwarePtes) {
    MapPhysicalMemory m;
    const uint64_t va = 0x7ff700000000ull;
    X64Tables::link(m, va);
    const uint64_t dtb = X64Tables::pml4 << 12;
    auto pte = [&](uint64_t page, uint64_t value) { m.put64(X64Tables::pteAddress(va + page * 0x1000), value); };
    // Transition: Transition bit 11, Prototype 0, frame 0x51, protection 4 (read/write).
    pte(0, (0x51ull << 12) | 0x800 | (4 << 5));
    m.data(0x51, 0x77);
    // Prototype: ProtoAddress 0xffffa00012345670 in bits 16..63.
    pte(1, 0xa000123456700400ull);
    // Prototype with MI_PTE_LOOKUP_NEEDED: the VAD decides.
    pte(2, 0xffffffff00000400ull | (1 << 5));
    // Page file 2, slot 0x1234, protection 4.
    pte(3, (0x1234ull << 32) | (2 << 1) | (4 << 5));
    // Demand zero: protection only.
    pte(4, 4 << 5);
    // pte(5) stays zero.

    Translation t = translate(m, PagingMode::X64, dtb, va + 0x10);
    EXPECT_EQ(t.state, PteState::Transition);
    EXPECT_EQ(t.pa, 0x51010u);
    EXPECT_EQ(t.protection, 4u);
    VirtualMemory vm(m, PagingMode::X64, dtb);
    EXPECT_EQ(vm.readValue<uint32_t>(va + 0x10), 0x77777777u);  // transition pages are readable

    t = translate(m, PagingMode::X64, dtb, va + 0x1000);
    EXPECT_EQ(t.state, PteState::Prototype);
    EXPECT_EQ(t.protoAddress, 0xffffa00012345670ull);
    t = translate(m, PagingMode::X64, dtb, va + 0x2000);
    EXPECT_EQ(t.state, PteState::Prototype);
    EXPECT_EQ(t.protoAddress, 0u);

    t = translate(m, PagingMode::X64, dtb, va + 0x3000);
    EXPECT_EQ(t.state, PteState::PageFile);
    EXPECT_EQ(t.pageFile, 2u);
    EXPECT_EQ(t.pageFileOffset, 0x1234000u);
    EXPECT_EQ(t.protection, 4u);
    EXPECT_EQ(t.level, 1u);

    t = translate(m, PagingMode::X64, dtb, va + 0x4000);
    EXPECT_EQ(t.state, PteState::DemandZero);
    EXPECT_EQ(t.protection, 4u);
    EXPECT_EQ(translate(m, PagingMode::X64, dtb, va + 0x5000).state, PteState::Invalid);
    std::array<uint8_t, 8> out{};
    EXPECT_EQ(vm.read(va + 0x1000, out), 0u);
    EXPECT_EQ(vm.read(va + 0x3000, out), 0u);
}

TEST(PageTableX64, SwizzledPageFilePtesOfWindows10_1809) {
    MapPhysicalMemory m;
    const uint64_t va = 0x7ff700000000ull;
    X64Tables::link(m, va);
    const uint64_t dtb = X64Tables::pml4 << 12;
    // PageFileLow 3 in bits 12..15, SwizzleBit (4) set: PageFileHigh as stored.
    m.put64(X64Tables::pteAddress(va), (0x1234ull << 32) | (3 << 12) | 0x10 | (4 << 5));
    // SwizzleBit clear: PageFileHigh is XORed with InvalidPteMask's upper half.
    m.put64(X64Tables::pteAddress(va + 0x1000), ((0x1234ull ^ 0x80000000ull) << 32) | (1 << 12) | (4 << 5));
    SoftwarePteFormat fmt;
    fmt.pageFileLowAt12 = true;
    fmt.invalidPteMaskHigh = 0x80000000u;
    Translation t = translate(m, PagingMode::X64, dtb, va, fmt);
    EXPECT_EQ(t.state, PteState::PageFile);
    EXPECT_EQ(t.pageFile, 3u);
    EXPECT_EQ(t.pageFileOffset, 0x1234000u);
    VirtualMemory vm(m, PagingMode::X64, dtb);
    vm.setSoftwarePteFormat(fmt);
    t = vm.translate(va + 0x1000);
    EXPECT_EQ(t.state, PteState::PageFile);
    EXPECT_EQ(t.pageFile, 1u);
    EXPECT_EQ(t.pageFileOffset, 0x1234000u);
    // The same entry read with the old layout: bits 1..4 are 0, PageFileHigh is taken as stored.
    t = translate(m, PagingMode::X64, dtb, va + 0x1000);
    EXPECT_EQ(t.pageFile, 0u);
    EXPECT_EQ(t.pageFileOffset, (0x1234ull ^ 0x80000000ull) * 0x1000);
}

TEST(PageTableX64, SoftwarePteFormatByBuild) {
    EXPECT_FALSE(softwarePteFormatForBuild(16299).pageFileLowAt12);  // 1709
    EXPECT_EQ(softwarePteFormatForBuild(16299, 0x1234).invalidPteMaskHigh, 0u);
    EXPECT_TRUE(softwarePteFormatForBuild(17134).pageFileLowAt12);  // 1803 as MemProcFS reads it
    EXPECT_TRUE(softwarePteFormatForBuild(19041).pageFileLowAt12);
    EXPECT_EQ(softwarePteFormatForBuild(19041, 0x1234).invalidPteMaskHigh, 0x1234u);
}

TEST(PageTableX64, TransitionPageTableIsFollowed) {
    MapPhysicalMemory m;
    const uint64_t va = 0x12345000ull;
    X64Tables::link(m, va);
    // The PDE is a transition entry: the PT page (0x13) is on a standby list.
    m.put64(0x12000 + idx(va, 21) * 8, (0x13ull << 12) | 0x800 | (4 << 5));
    m.put64(X64Tables::pteAddress(va), 0x66000 | kTable);
    m.data(0x66, 0x66);
    Translation t = translate(m, PagingMode::X64, 0x10000, va);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x66000u);
}

TEST(PageTableX64, NextPresentSkipsHolesATableAtATime) {
    MapPhysicalMemory m;
    const uint64_t dtb = X64Tables::pml4 << 12;
    // PML4 entry 0 maps va 0x1000; entries 1..4 empty (a 4 * 512 GiB hole);
    // entry 5 maps 5 * 512 GiB + 0x3000.
    X64Tables::link(m, 0x1000);
    m.put64(X64Tables::pteAddress(0x1000), 0x60000 | kTable);
    m.data(0x60, 1);
    const uint64_t far = (5ull << 39) + 0x3000;
    X64Tables::link(m, far, X64Tables::pml4, 0x21, 0x22, 0x23);
    m.put64(X64Tables::pteAddress(far, 0x23), 0x70000 | kTable);
    m.put64(X64Tables::pteAddress(far + 0x1000, 0x23), 0x71000 | kTable);  // absent frame
    m.data(0x70, 2);
    // Kernel half: a 2 MiB page of which only frame 5 is in the dump (PDPT entry 1).
    const uint64_t kva = 0xfffff80040000000ull;
    m.put64(dtb + idx(kva, 39) * 8, 0x31000 | kTable);
    m.put64(0x31000 + idx(kva, 30) * 8, 0x32000 | kTable);
    m.put64(0x32000 + idx(kva, 21) * 8, 0x200000 | kLarge);
    m.data(0x205, 3);
    // PDPT entry 0 points to an absent PD page: skipped as a whole 1 GiB.
    m.put64(0x31000, 0x9999000 | kTable);

    VirtualMemory vm(m, PagingMode::X64, dtb);
    EXPECT_EQ(vm.nextPresent(0), 0x1000u);
    EXPECT_EQ(vm.nextPresent(0x1234), 0x1234u);  // already present: the address itself
    EXPECT_EQ(vm.nextPresent(0x2000), far);
    EXPECT_EQ(vm.nextPresent(far + 0xfff), far + 0xfff);
    EXPECT_EQ(vm.nextPresent(far + 0x1000), kva + 0x5000);  // skips the absent frame and the hole
    EXPECT_EQ(vm.nextPresent(0x0000800000000000ull), kva + 0x5000);
    EXPECT_EQ(vm.nextPresent(kva - 0x40000000ull), kva + 0x5000);  // through the missing PD
    EXPECT_EQ(vm.nextPresent(kva + 0x5008), kva + 0x5008);
    EXPECT_FALSE(vm.nextPresent(kva + 0x6000));
    EXPECT_EQ(vm.readValue<uint8_t>(kva + 0x5000), 3);
}

TEST(PageTableX64, NextPresentIsBoundedOnHostileTables) {
    MapPhysicalMemory m;
    // Every entry of every level is valid and points to the next level's one
    // page; every PTE maps the absent frame 0x999: 2^36 entries, none present.
    for (unsigned i = 0; i < 512; ++i) {
        m.put64(0x10000 + i * 8, 0x11000 | kTable);
        m.put64(0x11000 + i * 8, 0x12000 | kTable);
        m.put64(0x12000 + i * 8, 0x13000 | kTable);
        m.put64(0x13000 + i * 8, 0x999000 | kTable);
    }
    VirtualMemory vm(m, PagingMode::X64, 0x10000);
    EXPECT_FALSE(vm.nextPresent(0));
}

TEST(PageTableX64, TlbDoesNotAliasPagesSharingASlot) {
    MapPhysicalMemory m;
    const uint64_t va = 0x400000ull;
    X64Tables::link(m, va);
    // 17 consecutive pages, each filled with its own index; pages 0 and 16 share a 16-entry TLB slot.
    for (uint64_t i = 0; i <= 16; ++i) {
        m.put64(X64Tables::pteAddress(va + i * 0x1000), ((0x100 + i) << 12) | kTable);
        m.data(0x100 + i, uint8_t(i + 1));
    }
    VirtualMemory vm(m, PagingMode::X64, X64Tables::pml4 << 12);
    for (int round = 0; round < 2; ++round) {
        EXPECT_EQ(vm.readValue<uint8_t>(va), 1);
        EXPECT_EQ(vm.readValue<uint8_t>(va + 16 * 0x1000), 17);
        EXPECT_EQ(vm.readValue<uint8_t>(va + 5 * 0x1000 + 7), 6);
    }
    std::vector<uint8_t> all(17 * 0x1000);
    EXPECT_EQ(vm.read(va, all), all.size());
    EXPECT_EQ(all[16 * 0x1000], 17);
}

// ---------------------------------------------------------------- LA57

TEST(PageTableLa57, FiveLevelsAndTheirCanonicalRange) {
    MapPhysicalMemory m;
    // va 0xff12345678901234: PML5 index = bits 56..48 = 0x112.
    const uint64_t va = 0xff12345678901234ull;
    ASSERT_EQ((va >> 48) & 0x1ff, 0x112u);
    m.put64(0x10000 + ((va >> 48) & 0x1ff) * 8, 0x11000 | kTable);
    m.put64(0x11000 + idx(va, 39) * 8, 0x12000 | kTable);
    m.put64(0x12000 + idx(va, 30) * 8, 0x13000 | kTable);
    m.put64(0x13000 + idx(va, 21) * 8, 0x14000 | kTable);
    m.put64(0x14000 + idx(va, 12) * 8, 0x55000 | kTable);
    m.data(0x55, 0x5e);
    Translation t = translate(m, PagingMode::X64La57, 0x10000, va);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x55234u);
    // Bits 63..56 must equal bit 56.
    EXPECT_EQ(translate(m, PagingMode::X64La57, 0x10000, 0x0100000000000000ull).state, PteState::NonCanonical);
    EXPECT_EQ(translate(m, PagingMode::X64La57, 0x10000, 0xfe00000000000000ull).state, PteState::NonCanonical);
    // 0x0000800000000000 is canonical with 5 levels (not with 4).
    EXPECT_EQ(translate(m, PagingMode::X64La57, 0x10000, 0x0000800000000000ull).state, PteState::Invalid);
    EXPECT_EQ(translate(m, PagingMode::X64, 0x10000, 0x0000800000000000ull).state, PteState::NonCanonical);
    VirtualMemory vm(m, PagingMode::X64La57, 0x10000);
    EXPECT_EQ(vm.readValue<uint8_t>(va), 0x5e);
    EXPECT_EQ(vm.nextPresent(0x0080000000000000ull), va & ~0xfffull);  // rest of the lower half
    EXPECT_EQ(vm.nextPresent(0x0100000000000000ull), va & ~0xfffull);  // from the hole
}

// ---------------------------------------------------------------- x86 PAE

TEST(PageTablePae, FourKilobyteAndTwoMegabytePages) {
    MapPhysicalMemory m;
    // CR3 = 0x3020: the 4 PDPTEs live at 0x3020..0x303f.
    const uint64_t cr3 = 0x3020;
    // va 0x80123456: PDPTE 2, PDE 0x000, PTE 0x123, offset 0x456.
    m.put64(0x3020 + 2 * 8, 0x4000 | 1);
    m.put64(0x4000 + 0x000 * 8, 0x5000 | kTable);
    m.put64(0x5000 + 0x123 * 8, 0x8000000000066000ull | kTable);
    m.data(0x66, 0x60);
    Translation t = translate(m, PagingMode::X86Pae, cr3 | 0x7, 0x80123456);  // low flag bits ignored
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x66456u);
    EXPECT_EQ(t.entryAddress, 0x5000u + 0x123 * 8);
    // va 0xc0600000 (PDPTE 3, PDE 3) -> 2 MiB page at pa 0x12400000 (above 32 bits: 0x1_2400_0000).
    m.put64(0x3020 + 3 * 8, 0x7000 | 1);
    m.put64(0x7000 + 3 * 8, 0x124000000ull | kLarge);
    m.data(0x124000 + 0x10, 0x61);
    t = translate(m, PagingMode::X86Pae, cr3, 0xc0610008);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x124010008ull);
    EXPECT_EQ(t.pageSize, 2u << 20);
    VirtualMemory vm(m, PagingMode::X86Pae, cr3);
    EXPECT_EQ(vm.readValue<uint8_t>(0x80123000), 0x60);
    EXPECT_EQ(vm.readValue<uint8_t>(0xc0610000), 0x61);
    EXPECT_EQ(vm.nextPresent(0x80124000), 0xc0610000u);
    EXPECT_EQ(translate(m, PagingMode::X86Pae, cr3, 0x100000000ull).state, PteState::NonCanonical);
}

TEST(PageTablePae, SoftwarePtesAndMissingTable) {
    MapPhysicalMemory m;
    const uint64_t cr3 = 0x3000;
    m.put64(0x3000, 0x4000 | 1);            // PDPTE 0
    m.put64(0x4000, 0x5000 | kTable);       // PDE 0 (va 0..2 MiB)
    m.put64(0x4008, 0x9000 | kTable);       // PDE 1 -> absent PT
    m.put64(0x5000 + 1 * 8, (0x2345ull << 32) | (1 << 1) | (4 << 5));  // page file 1
    m.put64(0x5000 + 2 * 8, (0x67ull << 12) | 0x800 | (4 << 5));       // transition
    m.put64(0x5000 + 3 * 8, (0xe1234560ull << 32) | 0x400);            // prototype at 0xe1234560
    m.put64(0x5000 + 4 * 8, 1 << 5);                                   // demand zero
    m.data(0x67, 0x67);
    Translation t = translate(m, PagingMode::X86Pae, cr3, 0x1000);
    EXPECT_EQ(t.state, PteState::PageFile);
    EXPECT_EQ(t.pageFile, 1u);
    EXPECT_EQ(t.pageFileOffset, 0x2345000u);
    t = translate(m, PagingMode::X86Pae, cr3, 0x2abc);
    EXPECT_EQ(t.state, PteState::Transition);
    EXPECT_EQ(t.pa, 0x67abcu);
    t = translate(m, PagingMode::X86Pae, cr3, 0x3000);
    EXPECT_EQ(t.state, PteState::Prototype);
    EXPECT_EQ(t.protoAddress, 0xe1234560u);
    EXPECT_EQ(translate(m, PagingMode::X86Pae, cr3, 0x4000).state, PteState::DemandZero);
    t = translate(m, PagingMode::X86Pae, cr3, 0x200000);
    EXPECT_EQ(t.state, PteState::TableMissing);
    EXPECT_EQ(t.entryAddress, 0x9000u);
    VirtualMemory vm(m, PagingMode::X86Pae, cr3);
    EXPECT_EQ(vm.readValue<uint8_t>(0x2000), 0x67);
    EXPECT_EQ(vm.nextPresent(0), 0x2000u);
}

// ---------------------------------------------------------------- x86 (no PAE)

TEST(PageTableX86, FourKilobyteAndFourMegabytePages) {
    MapPhysicalMemory m;
    // va 0x8041a123: PDE 0x201, PTE 0x01a, offset 0x123.
    m.put32(0x20000 + 0x201 * 4, 0x21000 | kTable);
    m.put32(0x21000 + 0x01a * 4, 0x44000 | 0x63);
    m.data(0x44, 0x44);
    Translation t = translate(m, PagingMode::X86, 0x20018, 0x8041a123);  // PCD/PWT flag bits ignored
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x44123u);
    EXPECT_EQ(t.entryAddress, 0x21000u + 0x1a * 4);
    EXPECT_EQ(t.entry, 0x44063u);
    // va 0xc0a12345 -> PDE 0x302 with PS -> 4 MiB page at 0x01000000, offset 0x212345.
    m.put32(0x20000 + 0x302 * 4, 0x01000000 | kLarge);
    m.data(0x1000 + 0x212, 0x4d);
    t = translate(m, PagingMode::X86, 0x20000, 0xc0a12345);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x01212345u);
    EXPECT_EQ(t.pageSize, 4u << 20);
    EXPECT_EQ(t.level, 2u);
    VirtualMemory vm(m, PagingMode::X86, 0x20000);
    EXPECT_EQ(vm.readValue<uint8_t>(0xc0a12000), 0x4d);
    EXPECT_EQ(vm.readValue<uint8_t>(0x8041a000), 0x44);
}

TEST(PageTableX86, ReadsDoNotWrapAtFourGigabytes) {
    MapPhysicalMemory m;
    // The last page (PDE 0x3ff, PTE 0x3ff) and the first page (PDE 0, PTE 0) both mapped.
    m.put32(0x20000 + 0x3ff * 4, 0x21000 | kTable);
    m.put32(0x21000 + 0x3ff * 4, 0x44000 | kTable);
    m.put32(0x20000, 0x22000 | kTable);
    m.put32(0x22000, 0x45000 | kTable);
    m.data(0x44, 0xee);
    m.data(0x45, 0x0f);
    VirtualMemory vm(m, PagingMode::X86, 0x20000);
    std::array<uint8_t, 16> out{};
    EXPECT_EQ(vm.read(0xfffffff8, out), 8u);
    EXPECT_EQ(out[7], 0xee);
    EXPECT_EQ(vm.read(0x100000000ull, out), 0u);
    EXPECT_EQ(translate(m, PagingMode::X86, 0x20000, 0x100000000ull).state, PteState::NonCanonical);
    EXPECT_EQ(vm.nextPresent(0xfffff800), 0xfffff800u);
    EXPECT_FALSE(vm.nextPresent(0x100000000ull));
    EXPECT_EQ(vm.nextPresent(0x1000), 0xfffff000u);
}

TEST(PageTableX86, SoftwarePtes) {
    MapPhysicalMemory m;
    m.put32(0x20000, 0x21000 | kTable);
    m.put32(0x21000 + 1 * 4, (0x345u << 12) | (1 << 1) | (4 << 5));  // page file 1, slot 0x345
    m.put32(0x21000 + 2 * 4, 0x51000 | 0x800 | (4 << 5));            // transition
    m.put32(0x21000 + 3 * 4, 0x12345400);                            // prototype
    m.put32(0x21000 + 4 * 4, 4 << 5);                                // demand zero
    m.put32(0x21000 + 5 * 4, 0xfffff000u | (4 << 5));                // MI_PTE_LOOKUP_NEEDED
    m.put32(0x20000 + 1 * 4, 0x77000 | kTable);                      // PT page absent
    m.data(0x51, 0x51);
    Translation t = translate(m, PagingMode::X86, 0x20000, 0x1000);
    EXPECT_EQ(t.state, PteState::PageFile);
    EXPECT_EQ(t.pageFile, 1u);
    EXPECT_EQ(t.pageFileOffset, 0x345000u);
    t = translate(m, PagingMode::X86, 0x20000, 0x2010);
    EXPECT_EQ(t.state, PteState::Transition);
    EXPECT_EQ(t.pa, 0x51010u);
    EXPECT_EQ(translate(m, PagingMode::X86, 0x20000, 0x3000).state, PteState::Prototype);
    EXPECT_EQ(translate(m, PagingMode::X86, 0x20000, 0x4000).state, PteState::DemandZero);
    EXPECT_EQ(translate(m, PagingMode::X86, 0x20000, 0x5000).state, PteState::DemandZero);
    t = translate(m, PagingMode::X86, 0x20000, 0x400000);
    EXPECT_EQ(t.state, PteState::TableMissing);
    EXPECT_EQ(t.entryAddress, 0x77000u);
    VirtualMemory vm(m, PagingMode::X86, 0x20000);
    EXPECT_EQ(vm.readValue<uint8_t>(0x2000), 0x51);
}

// ---------------------------------------------------------------- ARM64

TEST(PageTableArm64, PagesBlocksAndOneRootForBothHalves) {
    MapPhysicalMemory m;
    // TTBR with ASID 0x42 in bits 63..48 and CnP (bit 0): both ignored.
    const uint64_t root = 0x40000;
    const uint64_t ttbr = (0x42ull << 48) | root | 1;
    // User page va 0x7ff612345678 (L0 0xff, L1 0x1d8, L2 0x91, L3 0x145).
    const uint64_t uva = 0x7ff612345678ull;
    m.put64(root + idx(uva, 39) * 8, 0x41000 | kArmTable);
    m.put64(0x41000 + idx(uva, 30) * 8, 0x42000 | kArmTable);
    m.put64(0x42000 + idx(uva, 21) * 8, 0x43000 | kArmTable);
    m.put64(0x43000 + idx(uva, 12) * 8, 0x00e0000000050000ull | kArmPage);  // UXN/PXN bits ignored
    m.data(0x50, 0x50);
    Translation t = translate(m, PagingMode::Arm64, ttbr, uva);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x50678u);
    EXPECT_EQ(t.level, 1u);
    // Kernel va 0xffff800000201000 uses root entry 256 of the same table;
    // L1 0, L2 1 is a 2 MiB block at 0x80000000.
    const uint64_t kva = 0xffff800000201000ull;
    EXPECT_EQ(idx(kva, 39), 256u);
    m.put64(root + 256 * 8, 0x44000 | kArmTable);
    m.put64(0x44000, 0x45000 | kArmTable);
    m.put64(0x45000 + 1 * 8, 0x80000000 | kArmBlock);
    m.data(0x80001, 0x81);
    t = translate(m, PagingMode::Arm64, ttbr, kva + 0x10);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0x80001010u);
    EXPECT_EQ(t.pageSize, 2u << 20);
    EXPECT_EQ(t.level, 2u);
    // L1 entry 1 of the kernel half: a 1 GiB block at 0xc0000000.
    m.put64(0x44000 + 1 * 8, 0xc0000000 | kArmBlock);
    t = translate(m, PagingMode::Arm64, ttbr, 0xffff800040123456ull);
    EXPECT_EQ(t.state, PteState::Valid);
    EXPECT_EQ(t.pa, 0xc0123456u);
    EXPECT_EQ(t.pageSize, 1u << 30);
    EXPECT_EQ(t.level, 3u);
    // Level-3 descriptor with bit 1 clear is a reserved encoding, not a page.
    m.put64(0x43000 + (idx(uva, 12) + 1) * 8, 0x51000 | kArmBlock);
    EXPECT_EQ(translate(m, PagingMode::Arm64, ttbr, uva + 0x1000).state, PteState::Invalid);
    EXPECT_EQ(translate(m, PagingMode::Arm64, ttbr, 0x0001000000000000ull).state, PteState::NonCanonical);

    VirtualMemory vm(m, PagingMode::Arm64, ttbr);
    EXPECT_EQ(vm.readValue<uint8_t>(uva), 0x50);
    EXPECT_EQ(vm.readValue<uint8_t>(kva), 0x81);
    EXPECT_EQ(vm.nextPresent(uva + 0x1000), kva);
}

TEST(PageTableArm64, SoftwarePtes) {
    MapPhysicalMemory m;
    const uint64_t root = 0x40000, va = 0x10000;
    m.put64(root, 0x41000 | kArmTable);
    m.put64(0x41000, 0x42000 | kArmTable);
    m.put64(0x42000, 0x43000 | kArmTable);
    // Page file 5 (bits 6..9), slot 0x77, protection 3 (bits 1..5).
    m.put64(0x43000 + 0x10 * 8, (0x77ull << 32) | (5 << 6) | (3 << 1));
    m.put64(0x43000 + 0x11 * 8, (0x52ull << 12) | 0x800 | (3 << 1));  // transition
    m.put64(0x43000 + 0x12 * 8, 4 << 1);                              // demand zero
    m.data(0x52, 0x52);
    Translation t = translate(m, PagingMode::Arm64, root, va);
    EXPECT_EQ(t.state, PteState::PageFile);
    EXPECT_EQ(t.pageFile, 5u);
    EXPECT_EQ(t.pageFileOffset, 0x77000u);
    EXPECT_EQ(t.protection, 3u);
    t = translate(m, PagingMode::Arm64, root, va + 0x1000);
    EXPECT_EQ(t.state, PteState::Transition);
    EXPECT_EQ(t.pa, 0x52000u);
    EXPECT_EQ(translate(m, PagingMode::Arm64, root, va + 0x2000).state, PteState::DemandZero);
    VirtualMemory vm(m, PagingMode::Arm64, root);
    EXPECT_EQ(vm.readValue<uint8_t>(va + 0x1000), 0x52);
}

TEST(PageTableNone, NothingTranslates) {
    MapPhysicalMemory m;
    m.data(0, 1);
    VirtualMemory vm(m, PagingMode::None, 0);
    std::array<uint8_t, 4> out{};
    EXPECT_EQ(vm.read(0, out), 0u);
    EXPECT_FALSE(vm.nextPresent(0));
    EXPECT_EQ(translate(m, PagingMode::None, 0, 0).state, PteState::Invalid);
}


// ---------------------------------------------------------------- cross-check

// The kdump builder writes page tables with its own, independent walker
// (tests/support/kdump_builder): both must agree on every address.
class PageTableAgainstBuilder : public ::testing::TestWithParam<PagingMode> {};

TEST_P(PageTableAgainstBuilder, SameTranslationsReadsAndSoftwarePtes) {
    using namespace nt::test::kdump;
    const PagingMode mode = GetParam();
    PhysicalImage phys;
    AddressSpace kernel(phys, mode);
    const uint64_t kbase = kernel.kernelBase();
    kernel.mapNew(kbase + 0x10000, 5 * 0x1000);
    kernel.mapNew(0x7ff0000, 3 * 0x1000);
    const uint64_t largePages = kernel.largePageSize() / 0x1000;
    const uint64_t largeVa = kbase + 0x2000000;
    kernel.mapLarge(largeVa, phys.allocPages(largePages, largePages) << 12);
    AddressSpace process = kernel.newProcessSpace();
    process.mapNew(0x10000, 2 * 0x1000);
    // Kernel entries added after the process was created reach it too.
    kernel.mapNew(kbase + 0x40000000, 0x1000);

    std::vector<uint64_t> mapped = {kbase + 0x10000, kbase + 0x14000, 0x7ff0000, 0x7ff2000,
                                    largeVa,         largeVa + kernel.largePageSize() - 0x1000,
                                    kbase + 0x40000000};
    for (uint64_t va : mapped) kernel.writeU64(va + 0x120, va ^ 0x5a5a5a5a5a5a5a5aull);

    for (AddressSpace* space : {&kernel, &process}) {
        VirtualMemory vm(phys, mode, space->dtb());
        std::vector<uint64_t> probes = mapped;
        probes.insert(probes.end(), {0x10000, 0x11000, 0x12000, kbase, kbase + 0x15000, 0x7ff3000, largeVa - 0x1000});
        for (uint64_t va : probes) {
            SCOPED_TRACE(::testing::Message() << std::hex << "va " << va << " dtb " << space->dtb());
            auto expected = space->translate(va + 0x120);
            Translation t = translate(phys, mode, space->dtb(), va + 0x120);
            if (expected) {
                EXPECT_EQ(t.state, PteState::Valid);
                EXPECT_EQ(t.pa, *expected);
                EXPECT_EQ(vm.read(va, std::span<uint8_t>()), 0u);
                std::vector<uint8_t> mine(0x20);
                ASSERT_EQ(vm.read(va + 0x110, mine), mine.size());
                EXPECT_EQ(mine, space->read(va + 0x110, 0x20));
            } else {
                EXPECT_NE(t.state, PteState::Valid);
                EXPECT_FALSE(vm.readValue<uint8_t>(va + 0x120));
            }
        }
        // The process sees kernel data written through the kernel's tables.
        EXPECT_EQ(vm.readValue<uint64_t>(kbase + 0x40000120), (kbase + 0x40000000) ^ 0x5a5a5a5a5a5a5a5aull);
    }

    // Software PTEs in the builder's layout.
    const uint64_t soft = kbase + 0x60000;
    kernel.setPte(soft, kernel.pageFilePte(3, 0x1234));
    kernel.setPte(soft + 0x1000, kernel.transitionPte(phys.allocPage()));
    kernel.setPte(soft + 0x2000, kernel.prototypePte(mode == PagingMode::X64 ? 0xffffa00012345670ull : 0xe1234560));
    kernel.setPte(soft + 0x3000, kernel.demandZeroPte());
    Translation t = translate(phys, mode, kernel.dtb(), soft);
    EXPECT_EQ(t.state, PteState::PageFile);
    EXPECT_EQ(t.pageFile, 3u);
    EXPECT_EQ(t.pageFileOffset, 0x1234000u);
    t = translate(phys, mode, kernel.dtb(), soft + 0x1000);
    EXPECT_EQ(t.state, PteState::Transition);
    t = translate(phys, mode, kernel.dtb(), soft + 0x2000);
    EXPECT_EQ(t.state, PteState::Prototype);
    if (mode != PagingMode::X86) {  // non-PAE x86 splits the address: left undecoded
        EXPECT_EQ(t.protoAddress, mode == PagingMode::X64 ? 0xffffa00012345670ull : 0xe1234560u);
    }
    EXPECT_EQ(translate(phys, mode, kernel.dtb(), soft + 0x3000).state, PteState::DemandZero);
}

INSTANTIATE_TEST_SUITE_P(Modes, PageTableAgainstBuilder,
                         ::testing::Values(PagingMode::X86, PagingMode::X86Pae, PagingMode::X64),
                         [](const ::testing::TestParamInfo<PagingMode>& param) {
                             std::string name(pagingModeName(param.param));
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

}  // namespace
}  // namespace nt
