// Page-table walks for x86 (2-level and PAE), x64 (4 and 5 levels) and ARM64,
// and NT's software PTEs. See page_table.h for the assumptions.
//
// Hardware facts: Intel SDM vol. 3A ch. 4 (CR3 and entry formats: P bit 0,
// PS bit 7, PCID in CR3 bits 0..11, PAE PDPTEs at CR3 & ~0x1f, PSE-36 bits
// 13..20 of a 4 MiB PDE); Arm ARM D8 (VMSAv8-64 descriptors: bit 0 valid,
// bit 1 table/page, level-1/level-2 blocks, output address bits 47..12).
//
// NT software PTE facts (ntdiff/headers, the kernels' own type info):
// - x64 Win10 1709/1803 _MMPTE_SOFTWARE: Valid 0, PageFileLow 1..4,
//   Protection 5..9, Prototype 10, Transition 11, PageFileHigh 32..63;
//   _MMPTE_TRANSITION PageFrameNumber 12..47; _MMPTE_PROTOTYPE ProtoAddress
//   bits 16..63 (signed). Win10 1809+: PageFileLow 12..15, SwizzleBit 4.
// - x86 PAE (Cr4sh/PTBypass-PoC memory.h _MMPTE_SOFTWARE_PAE; MemProcFS
//   mm_win.c MMWINX86PAE_*): PageFileLow 1..4, Prototype 10, Transition 11,
//   PageFileHigh 32..63, ProtoAddress 32..63.
// - x86 non-PAE (same sources): PageFileLow 1..4, Prototype 10,
//   Transition 11, PageFileHigh 12..31, transition frame bits 12..31.
// - ARM64 (ntdiff Win10 19569 ARM64): Protection 1..5, PageFileLow 6..9,
//   Prototype 10, Transition 11, PageFileHigh 32..63, transition
//   PageFrameNumber 12..51, ProtoAddress 16..63 (signed).
// - MI_PTE_LOOKUP_NEEDED: PageFileHigh all ones (0xffffffff on 64-bit
//   entries, 0xfffff on non-PAE x86): "ask the VAD", not a page-file slot.
#include "memory/page_table.h"

#include <algorithm>
#include <cstring>

namespace nt {

std::string_view pagingModeName(PagingMode m) {
    switch (m) {
        case PagingMode::None: return "none";
        case PagingMode::X86: return "x86";
        case PagingMode::X86Pae: return "x86-pae";
        case PagingMode::X64: return "x64";
        case PagingMode::X64La57: return "x64-la57";
        case PagingMode::Arm64: return "arm64";
    }
    return "unknown";
}

std::string_view pteStateName(PteState s) {
    switch (s) {
        case PteState::Valid: return "valid";
        case PteState::Transition: return "transition";
        case PteState::Prototype: return "prototype";
        case PteState::PageFile: return "paged out";
        case PteState::DemandZero: return "demand zero";
        case PteState::Invalid: return "not mapped";
        case PteState::TableMissing: return "page table not in dump";
        case PteState::NonCanonical: return "non-canonical";
    }
    return "unknown";
}

SoftwarePteFormat softwarePteFormatForBuild(uint32_t build, uint32_t invalidPteMaskHigh) {
    SoftwarePteFormat f;
    f.pageFileLowAt12 = build >= 17134;
    if (f.pageFileLowAt12) f.invalidPteMaskHigh = invalidPteMaskHigh;
    return f;
}

namespace {

constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kX64FrameMask = 0x000FFFFFFFFFF000ull;    // bits 12..51 (MAXPHYADDR <= 52)
constexpr uint64_t kArm64FrameMask = 0x0000FFFFFFFFF000ull;  // bits 12..47

// The shape of one paging mode: `levels` tables, the top one at level
// `levels`; level 1 holds PTEs.
struct Geometry {
    unsigned levels = 0;
    unsigned entrySize = 8;
    unsigned vaBits = 0;  // width of the linear (sign-stripped) address space
    bool signExtended = false;

    unsigned shift(unsigned level) const {
        if (entrySize == 4) return level == 1 ? 12 : 22;  // x86: 10 + 10 + 12
        return 12 + 9 * (level - 1);
    }
    unsigned indexBits(unsigned level) const {
        if (entrySize == 4) return 10;
        if (levels == 3 && level == 3) return 2;  // PAE: 4 PDPTEs
        return 9;
    }
    uint64_t span(unsigned level) const { return uint64_t(1) << shift(level); }
    uint64_t spaceSize() const { return uint64_t(1) << vaBits; }
};

Geometry geometryOf(PagingMode mode) {
    switch (mode) {
        case PagingMode::X86: return {2, 4, 32, false};
        case PagingMode::X86Pae: return {3, 8, 32, false};
        case PagingMode::X64: return {4, 8, 48, true};
        case PagingMode::X64La57: return {5, 8, 57, true};
        case PagingMode::Arm64: return {4, 8, 48, true};
        case PagingMode::None: break;
    }
    return {};
}

uint64_t topTableBase(PagingMode mode, uint64_t dtb) {
    switch (mode) {
        case PagingMode::X86: return dtb & 0xFFFFF000ull;
        case PagingMode::X86Pae: return dtb & 0xFFFFFFE0ull;  // 32-byte aligned PDPT
        case PagingMode::X64:
        case PagingMode::X64La57: return dtb & kX64FrameMask;  // drops PCID (0..11) and bit 63
        case PagingMode::Arm64: return dtb & kArm64FrameMask;  // drops CnP (bit 0) and ASID (63..48)
        case PagingMode::None: break;
    }
    return 0;
}

// va -> linear offset in [0, 2^vaBits), or nullopt when outside the space.
std::optional<uint64_t> linearize(const Geometry& g, uint64_t va) {
    if (!g.signExtended) {
        if (va >= g.spaceSize()) return std::nullopt;
        return va;
    }
    // Bits 63..(vaBits-1) must all be equal.
    uint64_t top = va >> (g.vaBits - 1);
    uint64_t ones = (uint64_t(1) << (65 - g.vaBits)) - 1;
    if (top != 0 && top != ones) return std::nullopt;
    return va & (g.spaceSize() - 1);
}

uint64_t canonicalize(const Geometry& g, uint64_t lin) {
    if (g.signExtended && (lin >> (g.vaBits - 1)) & 1) return lin | ~(g.spaceSize() - 1);
    return lin;
}

std::optional<uint64_t> readEntry(const PhysicalMemory& phys, uint64_t pa, unsigned size) {
    Bytes page = phys.page(pa >> PhysicalMemory::kPageShift);
    if (size == 4) {
        auto v = page.get<uint32_t>(pa & (kPage - 1));
        if (!v) return std::nullopt;
        return *v;
    }
    return page.get<uint64_t>(pa & (kPage - 1));
}

// A valid entry: either the next table or a mapped page (of `size` bytes).
struct HardwareEntry {
    bool valid = false;
    bool leaf = false;
    uint64_t base = 0;  // next table, or page base
    uint64_t size = 0;  // leaf: page size
};

HardwareEntry decodeHardware(PagingMode mode, unsigned level, uint64_t e) {
    HardwareEntry h;
    if (!(e & 1)) return h;
    const bool ps = (e >> 7) & 1;
    switch (mode) {
        case PagingMode::X86:
            if (level == 2 && ps) {
                // 4 MiB page: PA bits 31..22, PSE-36 puts PA bits 39..32 in 20..13.
                return {true, true, (e & 0xFFC00000ull) | (((e >> 13) & 0xFF) << 32), uint64_t(4) << 20};
            }
            return {true, level == 1, e & 0xFFFFF000ull, kPage};
        case PagingMode::X86Pae:
            if (level == 2 && ps) return {true, true, e & 0x000FFFFFFFE00000ull, uint64_t(2) << 20};
            return {true, level == 1, e & kX64FrameMask, kPage};
        case PagingMode::X64:
        case PagingMode::X64La57:
            // PS is reserved in PML4Es/PML5Es; Windows never sets it, ignore it there.
            if (level == 2 && ps) return {true, true, e & 0x000FFFFFFFE00000ull, uint64_t(2) << 20};
            if (level == 3 && ps) return {true, true, e & 0x000FFFFFC0000000ull, uint64_t(1) << 30};
            return {true, level == 1, e & kX64FrameMask, kPage};
        case PagingMode::Arm64: {
            const bool tableOrPage = (e >> 1) & 1;
            // Our level 1..4 are Arm's levels 3..0.
            if (level == 1) {
                if (!tableOrPage) return {};  // reserved encoding at level 3: faults
                return {true, true, e & kArm64FrameMask, kPage};
            }
            if (tableOrPage) return {true, false, e & kArm64FrameMask, 0};
            if (level == 2) return {true, true, e & 0x0000FFFFFFE00000ull, uint64_t(2) << 20};
            if (level == 3) return {true, true, e & 0x0000FFFFC0000000ull, uint64_t(1) << 30};
            return {};  // no level-0 blocks with a 4 KiB granule
        }
        case PagingMode::None: break;
    }
    return {};
}

// Fills t.state (and the fields of that state) for an entry whose valid bit
// is clear. Transition fills t.pa with the frame's base.
void classifySoftware(PagingMode mode, const SoftwarePteFormat& fmt, uint64_t e, Translation& t) {
    if (e == 0) {
        t.state = PteState::Invalid;
        return;
    }
    const bool prototype = (e >> 10) & 1;
    const bool transition = (e >> 11) & 1;
    uint64_t pageFileHigh = 0;
    uint64_t lookupNeeded = 0xFFFFFFFFull;
    if (mode == PagingMode::X86) {
        t.protection = (e >> 5) & 0x1F;
        if (prototype) {
            t.state = PteState::Prototype;  // address split over bits 1..7 and 11..31: left undecoded
            return;
        }
        if (transition) {
            t.state = PteState::Transition;
            t.pa = e & 0xFFFFF000ull;
            return;
        }
        t.pageFile = (e >> 1) & 0xF;
        pageFileHigh = (e >> 12) & 0xFFFFF;
        lookupNeeded = 0xFFFFF;
    } else if (mode == PagingMode::Arm64) {
        t.protection = (e >> 1) & 0x1F;
        if (prototype) {
            t.state = PteState::Prototype;
            if ((e >> 32) != 0xFFFFFFFFull) t.protoAddress = uint64_t(int64_t(e) >> 16);
            return;
        }
        if (transition) {
            t.state = PteState::Transition;
            t.pa = e & kX64FrameMask;  // PageFrameNumber bits 12..51
            return;
        }
        t.pageFile = (e >> 6) & 0xF;
        pageFileHigh = e >> 32;
    } else {  // PAE, x64, LA57
        t.protection = (e >> 5) & 0x1F;
        if (prototype) {
            t.state = PteState::Prototype;
            if ((e >> 32) != 0xFFFFFFFFull) {
                t.protoAddress = mode == PagingMode::X86Pae ? (e >> 32) : uint64_t(int64_t(e) >> 16);
            }
            return;
        }
        if (transition) {
            t.state = PteState::Transition;
            // MMPTE_TRANSITION.PageFrameNumber: 36 bits on x64, 26 on PAE (MemProcFS masks).
            t.pa = e & (mode == PagingMode::X86Pae ? 0x0000003FFFFFF000ull : 0x0000FFFFFFFFF000ull);
            return;
        }
        t.pageFile = fmt.pageFileLowAt12 ? (e >> 12) & 0xF : (e >> 1) & 0xF;
        pageFileHigh = e >> 32;
        if (fmt.pageFileLowAt12 && !(e & 0x10)) pageFileHigh ^= fmt.invalidPteMaskHigh;
    }
    if (pageFileHigh == 0 || pageFileHigh == lookupNeeded) {
        // Only protection bits (never touched), or "the VAD decides": no
        // page-file slot either way.
        t.state = PteState::DemandZero;
        t.pageFile = 0;
        return;
    }
    t.state = PteState::PageFile;
    t.pageFileOffset = pageFileHigh * kPage;
}

Translation walk(const PhysicalMemory& phys, PagingMode mode, uint64_t dtb, uint64_t va,
                 const SoftwarePteFormat& fmt) {
    Translation t;
    const Geometry g = geometryOf(mode);
    if (g.levels == 0) return t;  // PagingMode::None: nothing translates
    auto lin = linearize(g, va);
    if (!lin) {
        t.state = PteState::NonCanonical;
        return t;
    }
    uint64_t table = topTableBase(mode, dtb);
    for (unsigned level = g.levels; level >= 1; --level) {
        const uint64_t index = (*lin >> g.shift(level)) & ((uint64_t(1) << g.indexBits(level)) - 1);
        const uint64_t entryPa = table + index * g.entrySize;
        t = Translation{};
        t.level = level;
        t.entryAddress = entryPa;
        t.span = g.span(level);
        auto e = readEntry(phys, entryPa, g.entrySize);
        if (!e) {
            t.state = PteState::TableMissing;
            t.entry = 0;
            // The whole table is missing: it covers its parent entry's span.
            t.span = level == g.levels ? g.spaceSize() : g.span(level + 1);
            return t;
        }
        t.entry = *e;
        HardwareEntry h = decodeHardware(mode, level, *e);
        if (h.valid && !h.leaf) {
            table = h.base;
            continue;
        }
        if (h.valid) {
            t.state = PteState::Valid;
            t.pa = h.base + (*lin & (h.size - 1));
            t.pageSize = t.span = h.size;
            return t;
        }
        if (*e & 1) {  // valid bit set but an encoding the hardware rejects
            t.state = PteState::Invalid;
            return t;
        }
        classifySoftware(mode, fmt, *e, t);
        if (t.state == PteState::Transition) {
            if (level > 1) {  // a transition page table: its frame still holds the PTEs
                table = t.pa;
                continue;
            }
            t.pa += *lin & (kPage - 1);
            t.pageSize = kPage;
        }
        return t;
    }
    return t;  // not reached: level 1 always decides
}

}  // namespace

Translation translate(const PhysicalMemory& phys, PagingMode mode, uint64_t dtb, uint64_t va) {
    return walk(phys, mode, dtb, va, SoftwarePteFormat{});
}

Translation translate(const PhysicalMemory& phys, PagingMode mode, uint64_t dtb, uint64_t va,
                      const SoftwarePteFormat& format) {
    return walk(phys, mode, dtb, va, format);
}

// ---------------------------------------------------------------------------
// VirtualMemory

VirtualMemory::VirtualMemory(const PhysicalMemory& phys, PagingMode mode, uint64_t dtb)
    : phys_(phys), mode_(mode), dtb_(dtb) {}

Translation VirtualMemory::translate(uint64_t va) const {
    return walk(phys_, mode_, dtb_, va, format_);
}

Bytes VirtualMemory::pageFor(uint64_t va) const {
    const uint64_t vpn = va >> PhysicalMemory::kPageShift;
    const uint64_t key = (vpn << PhysicalMemory::kPageShift) | 1;
    auto& slot = tlb_[vpn % tlb_.size()];
    if (slot.first == key) return phys_.page(slot.second).subClamped(0, kPage);
    Translation t = translate(va);
    // Transition pages are readable: the frame still holds the page's data.
    if (t.state != PteState::Valid && t.state != PteState::Transition) return {};
    const uint64_t pfn = t.pa >> PhysicalMemory::kPageShift;
    Bytes page = phys_.page(pfn).subClamped(0, kPage);
    if (!page.empty()) slot = {key, pfn};
    return page;
}

uint64_t VirtualMemory::read(uint64_t addr, std::span<uint8_t> out) const {
    const Geometry g = geometryOf(mode_);
    uint64_t done = 0;
    while (done < out.size()) {
        if (done > UINT64_MAX - addr) break;  // no wrap at 2^64
        const uint64_t va = addr + done;
        // Leaving the space (2^32 on x86, the canonical hole on x64) ends the read.
        if (g.levels == 0 || !linearize(g, va)) break;
        Bytes page = pageFor(va);
        const uint64_t off = va & (kPage - 1);
        if (page.size() <= off) break;
        const uint64_t n = std::min<uint64_t>(page.size() - off, out.size() - done);
        std::memcpy(out.data() + done, page.data() + off, n);
        done += n;
        if (page.size() < kPage) break;  // a short physical page ends the run
    }
    return done;
}

Bytes VirtualMemory::view(uint64_t addr, uint64_t maxLen) const {
    if (maxLen == 0) return {};
    Bytes page = pageFor(addr);
    return page.subClamped(addr & (kPage - 1), maxLen);
}

namespace {

// Scans one table for the lowest present address >= lin. `spanBase` is the
// linear address the table's first entry maps. Reads at most `budget`
// entries in total; returns nullopt when nothing is found (or the budget ran out).
class PresentScanner {
public:
    PresentScanner(const PhysicalMemory& phys, PagingMode mode, const SoftwarePteFormat& fmt)
        : phys_(phys), mode_(mode), fmt_(fmt), g_(geometryOf(mode)) {}

    std::optional<uint64_t> scan(uint64_t table, unsigned level, uint64_t spanBase, uint64_t lin) {
        const uint64_t entries = uint64_t(1) << g_.indexBits(level);
        const uint64_t span = g_.span(level);
        for (uint64_t index = (lin - spanBase) >> g_.shift(level); index < entries; ++index) {
            if (budget_ == 0) return std::nullopt;
            --budget_;
            const uint64_t entryStart = spanBase + index * span;
            const uint64_t from = std::max(lin, entryStart);
            auto e = readEntry(phys_, table + index * g_.entrySize, g_.entrySize);
            if (!e) return std::nullopt;  // this table is not in the dump: nothing below it
            HardwareEntry h = decodeHardware(mode_, level, *e);
            uint64_t frame = 0, size = 0;
            if (h.valid && !h.leaf) {
                if (auto r = scan(h.base, level - 1, entryStart, from)) return r;
                continue;
            }
            if (h.valid) {
                frame = h.base;
                size = h.size;
            } else {
                if (*e & 1) continue;  // rejected hardware encoding
                Translation t;
                classifySoftware(mode_, fmt_, *e, t);
                if (t.state != PteState::Transition) continue;
                if (level > 1) {
                    if (auto r = scan(t.pa, level - 1, entryStart, from)) return r;
                    continue;
                }
                frame = t.pa;
                size = kPage;
            }
            // A mapped page (or large page): the first present frame in it.
            const uint64_t firstPfn = (frame + (from - entryStart)) >> PhysicalMemory::kPageShift;
            const uint64_t lastPfn = (frame + size - 1) >> PhysicalMemory::kPageShift;
            auto pfn = phys_.nextPresentPfn(firstPfn);
            if (pfn && *pfn <= lastPfn) {
                if (*pfn == firstPfn) return from;
                return entryStart + ((*pfn << PhysicalMemory::kPageShift) - frame);
            }
        }
        return std::nullopt;
    }

private:
    const PhysicalMemory& phys_;
    PagingMode mode_;
    const SoftwarePteFormat& fmt_;
    Geometry g_;
    uint64_t budget_ = VirtualMemory::kMaxScanEntries;
};

}  // namespace

std::optional<uint64_t> VirtualMemory::nextPresent(uint64_t addr) const {
    const Geometry g = geometryOf(mode_);
    if (g.levels == 0) return std::nullopt;
    uint64_t lin;
    if (auto l = linearize(g, addr)) {
        lin = *l;
    } else if (g.signExtended && (addr >> 63) == 0) {
        lin = g.spaceSize() / 2;  // in the non-canonical hole: continue at the upper half
    } else {
        return std::nullopt;  // above the x86 4 GiB end
    }
    PresentScanner scanner(phys_, mode_, format_);
    auto r = scanner.scan(topTableBase(mode_, dtb_), g.levels, 0, lin);
    if (!r) return std::nullopt;
    return canonicalize(g, *r);
}

}  // namespace nt
