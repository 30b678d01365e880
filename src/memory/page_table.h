// Virtual-to-physical translation over a kernel dump's physical memory, the
// way the processor and the NT memory manager define it: x86 without PAE
// (2 levels, 4 MiB large pages), x86 PAE (3 levels, 2 MiB), x64 with 4 or
// 5 levels (2 MiB / 1 GiB), ARM64 (4 levels, 4 KiB granule, blocks).
//
// An entry that is not valid is classified as NT does (transition,
// prototype, page file, demand zero) so that commands can say why a page is
// missing instead of printing garbage.
//
// Assumptions worth knowing:
// - ARM64: 4 KiB granule, 48-bit VA, 4 levels. Windows points TTBR0 and TTBR1
//   at the same top-level table (its self-map covers both halves), so one
//   root is walked for every address: the index is VA bits 47..39 whatever
//   the sign, user addresses use entries 0..255 and kernel ones 256..511.
//   Top-byte-ignore is not modelled: bits 63..48 must all equal bit 47.
// - Transition pages are read as present (their frame still holds the data;
//   WinDbg and Volatility do the same), and a transition entry above the PTE
//   level is followed as a page table for the same reason.
// - The software-PTE layout differs between Windows builds; see
//   SoftwarePteFormat. The default is the layout of Windows 10 up to 1803
//   as released (bits 1..4 for the page-file number).
#pragma once

#include <cstdint>
#include <array>
#include <memory>
#include <optional>
#include <string>

#include "memory/memory.h"
#include "memory/physical_memory.h"

namespace nt {

enum class PagingMode : uint8_t {
    None,     // no translation (small dumps: only the stored blocks exist)
    X86,      // 32-bit, 2 levels
    X86Pae,   // 32-bit, 3 levels
    X64,      // 4 levels (PML4)
    X64La57,  // 5 levels
    Arm64,    // 4 levels, 4 KiB granule, 48-bit VA
};

std::string_view pagingModeName(PagingMode m);

enum class PteState : uint8_t {
    Valid,         // translated: pa is set
    Transition,    // NT software PTE: the page is on a standby/modified list (pa of the frame is set)
    Prototype,     // NT software PTE: refers to a prototype PTE (pteAddress holds its address when known)
    PageFile,      // NT software PTE: paged out (pageFile, pageFileOffset)
    DemandZero,    // NT software PTE: never touched
    Invalid,       // zero entry / not mapped
    TableMissing,  // a page-table page itself is not in the dump
    NonCanonical,  // address outside the mode's virtual range
};

std::string_view pteStateName(PteState s);

// How NT encodes page-file PTEs (x86 PAE and x64; non-PAE x86 and ARM64
// have one layout each). Sources: ntdiff/headers _MMPTE_SOFTWARE for x64
// Win10 1709/1803 (PageFileLow bits 1..4) and 1809 and later (PageFileReserved,
// PageFileAllocated, ColdPage, SwizzleBit in bits 1..4, PageFileLow bits
// 12..15); MemProcFS vmm/mm_win.c switches to bits 12..15 from build 17134
// (a 1803 servicing update: the L1TF mitigation) and XORs PageFileHigh with
// the upper 32 bits of nt!MiState.Hardware.InvalidPteMask when SwizzleBit
// (bit 4) is clear. The mask is only known from the kernel's data, so it is
// a parameter; 0 makes the XOR a no-op.
struct SoftwarePteFormat {
    bool pageFileLowAt12 = false;     // Windows 10 1809+ (and patched 1803) layout
    uint32_t invalidPteMaskHigh = 0;  // XORed into PageFileHigh when SwizzleBit is clear
};

// The layout for a kernel build, following MemProcFS (bits 12..15 from build
// 17134 on). The type info of the 1803 GA kernel (ntdiff) still shows bits
// 1..4, so a dump of an unpatched 1803 may be read wrongly; 1809 (17763) and
// later are certain. Only x86 PAE and x64 entries are affected.
SoftwarePteFormat softwarePteFormatForBuild(uint32_t build, uint32_t invalidPteMaskHigh = 0);

struct Translation {
    PteState state = PteState::Invalid;
    uint64_t pa = 0;              // Valid/Transition: physical address of the byte
    uint64_t pageSize = 0x1000;   // 4 KiB, 2/4 MiB or 1 GiB for Valid
    unsigned level = 0;           // level of the deciding entry (1 = PTE, 2 = PDE, 3 = PDPTE, 4 = PML4E, 5 = PML5E)
    uint64_t entry = 0;           // raw value of that entry
    uint64_t entryAddress = 0;    // physical address of that entry
    uint32_t pageFile = 0;        // PageFile
    uint64_t pageFileOffset = 0;  // PageFile: byte offset in the page file
    // Prototype: virtual address of the prototype PTE (x64, PAE, ARM64); 0
    // when the VAD must be consulted (ProtoAddress == MI_PTE_LOOKUP_NEEDED)
    // or the layout hides it (non-PAE x86).
    uint64_t protoAddress = 0;
    unsigned protection = 0;      // software PTEs: NT's 5-bit MM protection
    // Not Valid: the span of virtual addresses the deciding entry (or the
    // missing table) covers, so a scan can skip it whole. Valid: pageSize.
    uint64_t span = 0x1000;
};

// Translates va under the table whose physical base is dtb (CR3/TTBR value;
// low flag bits such as the x64 PCID are ignored).
Translation translate(const PhysicalMemory& phys, PagingMode mode, uint64_t dtb, uint64_t va);
Translation translate(const PhysicalMemory& phys, PagingMode mode, uint64_t dtb, uint64_t va,
                      const SoftwarePteFormat& format);

// A virtual address space: Memory over physical memory through page tables.
// Reads cross page boundaries; a page that does not translate to a present
// physical page ends the read (Memory's contract). Small per-instance cache
// of recent translations; thread-compatible (not thread-safe).
class VirtualMemory final : public Memory {
public:
    VirtualMemory(const PhysicalMemory& phys, PagingMode mode, uint64_t dtb);

    uint64_t read(uint64_t addr, std::span<uint8_t> out) const override;
    Bytes view(uint64_t addr, uint64_t maxLen) const override;
    // Skips unmapped regions a page-table level at a time (a 1 GiB hole costs
    // one PDPTE read), bounded so a hostile table cannot make it run long.
    std::optional<uint64_t> nextPresent(uint64_t addr) const override;

    Translation translate(uint64_t va) const;
    PagingMode mode() const { return mode_; }
    uint64_t directoryTableBase() const { return dtb_; }

    void setSoftwarePteFormat(const SoftwarePteFormat& f) { format_ = f; }
    const SoftwarePteFormat& softwarePteFormat() const { return format_; }

    // Upper bound on page-table entries one nextPresent() call reads; when
    // it is reached nextPresent() gives up with nullopt.
    static constexpr uint64_t kMaxScanEntries = uint64_t(1) << 22;

private:
    // The present physical page backing va (through the TLB), or empty.
    Bytes pageFor(uint64_t va) const;

    const PhysicalMemory& phys_;
    PagingMode mode_;
    uint64_t dtb_;
    SoftwarePteFormat format_{};
    mutable std::array<std::pair<uint64_t, uint64_t>, 16> tlb_{};  // (va page | 1, pfn) pairs
};

}  // namespace nt
