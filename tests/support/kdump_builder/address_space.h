// Real page tables in a PhysicalImage, built the way the processor reads
// them: x86 (2 levels, 32-bit entries, 4 MiB large pages), x86 PAE (CR3 ->
// 4 PDPTEs -> PD -> PT, 64-bit entries, 2 MiB large pages) and x64 (PML4,
// 2 MiB and 1 GiB large pages). Several address spaces (process DirBases)
// share the kernel half the way NT does: the kernel half of the top-level
// table points at the same lower-level tables in every process, and a new
// kernel top-level entry is copied into every member of the family.
//
// Software (invalid) PTEs for the NT states are written raw with setPte();
// the builders below produce the bit layouts of Windows x64/PAE/x86:
// Valid bit 0, PageFileLow bits 1..4, Prototype bit 10, Transition bit 11,
// PageFileHigh bits 32..63 (x64, PAE) or 12..31 (x86).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "support/kdump_builder/physical_image.h"
#include "memory/page_table.h"

namespace nt::test::kdump {

class AddressSpace {
public:
    // A new address space with its own top-level table.
    AddressSpace(PhysicalImage& phys, PagingMode mode);

    // A new address space (a process) sharing this one's kernel half.
    AddressSpace newProcessSpace();

    PagingMode mode() const { return mode_; }
    unsigned pointerSize() const { return mode_ == PagingMode::X64 ? 8 : 4; }
    // The CR3 / DirectoryTableBase value.
    uint64_t dtb() const { return dtb_; }
    PhysicalImage& phys() const { return *phys_; }
    // First kernel-half address: 0xFFFF800000000000 (x64), 0x80000000 (x86).
    uint64_t kernelBase() const;

    // Maps [va, va+size) onto [pa, pa+size) with 4 KiB pages.
    void map(uint64_t va, uint64_t pa, uint64_t size);
    // Maps fresh zeroed pages; returns the pa of the first page.
    uint64_t mapNew(uint64_t va, uint64_t size);
    // Maps fresh pages for the parts of [va, va+size) not mapped yet.
    void ensureMapped(uint64_t va, uint64_t size);
    // One large page (2 MiB x64/PAE, 4 MiB x86) or, x64 only, a 1 GiB page.
    void mapLarge(uint64_t va, uint64_t pa);
    void mapHuge(uint64_t va, uint64_t pa);
    uint64_t largePageSize() const { return mode_ == PagingMode::X86 ? 0x400000 : 0x200000; }

    // Own walk of the tables (independent of src/memory): pa of va, nullopt
    // when a level is not valid.
    std::optional<uint64_t> translate(uint64_t va) const;
    bool isMapped(uint64_t va) const { return translate(va).has_value(); }

    // Raw last-level entry for va (tables created as needed). For software
    // PTEs and for unmapping (0).
    void setPte(uint64_t va, uint64_t entry);
    // Physical address of the last-level entry for va (tables created).
    uint64_t pteAddress(uint64_t va);

    // Software PTE builders (the mode's layout).
    uint64_t transitionPte(uint64_t pfn, uint32_t protection = 4) const;
    uint64_t pageFilePte(uint32_t pageFile, uint64_t pageOffset /* in pages */, uint32_t protection = 4) const;
    uint64_t prototypePte(uint64_t protoPteAddress) const;
    uint64_t demandZeroPte(uint32_t protection = 4) const;

    // Memory access through the tables (mapped pages only; throws
    // std::out_of_range on an unmapped address).
    void write(uint64_t va, std::span<const uint8_t> bytes);
    std::vector<uint8_t> read(uint64_t va, uint64_t size) const;
    void writeU8(uint64_t va, uint8_t v);
    void writeU16(uint64_t va, uint16_t v);
    void writeU32(uint64_t va, uint32_t v);
    void writeU64(uint64_t va, uint64_t v);
    // Pointer of the mode's width (4 or 8 bytes).
    void writePtr(uint64_t va, uint64_t v);
    uint8_t readU8(uint64_t va) const;
    uint16_t readU16(uint64_t va) const;
    uint32_t readU32(uint64_t va) const;
    uint64_t readU64(uint64_t va) const;
    uint64_t readPtr(uint64_t va) const;
    // UTF-16LE (from UTF-8/ASCII), with a terminating NUL when asked.
    void writeUtf16(uint64_t va, std::string_view text, bool nul = true);
    // A _UNICODE_STRING at va (Length, MaximumLength, Buffer of the mode's
    // pointer width) whose buffer, written at bufferVa, holds text + NUL.
    void writeUnicodeString(uint64_t va, uint64_t bufferVa, std::string_view text);
    // A LIST_ENTRY at va pointing to itself (an empty list head).
    void writeEmptyList(uint64_t va);
    // Inserts entry at the tail of the circular list whose head is at head.
    void insertTailList(uint64_t head, uint64_t entry);

private:
    struct Family;
    AddressSpace(PhysicalImage& phys, PagingMode mode, std::shared_ptr<Family> family);

    // Physical address of the entry for va at `level` (4 = PML4 ... 1 = PT),
    // creating missing tables above it when create is true.
    std::optional<uint64_t> entryAddress(uint64_t va, unsigned level, bool create);
    uint64_t readEntry(uint64_t pa) const;
    void writeEntry(uint64_t pa, uint64_t v);
    unsigned levels() const;
    unsigned indexOf(uint64_t va, unsigned level) const;
    bool isKernel(uint64_t va) const { return va >= kernelBase(); }
    uint64_t tableFlags(uint64_t va) const;
    void setTopEntry(unsigned index, uint64_t value);

    PhysicalImage* phys_;
    PagingMode mode_;
    uint64_t top_ = 0;   // pa of the top-level table (PML4 / PD / PDPT)
    uint64_t dtb_ = 0;
    std::shared_ptr<Family> family_;
};

}  // namespace nt::test::kdump
