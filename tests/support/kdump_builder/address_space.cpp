#include "support/kdump_builder/address_space.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace nt::test::kdump {

namespace {

constexpr uint64_t kValid = 0x1, kWrite = 0x2, kOwner = 0x4, kAccessed = 0x20, kDirty = 0x40, kLarge = 0x80;
constexpr uint64_t kFrame64 = 0x000FFFFFFFFFF000ull;
constexpr uint64_t kFrame32 = 0xFFFFF000ull;

std::u16string utf8ToUtf16(std::string_view s) {
    std::u16string out;
    for (size_t i = 0; i < s.size();) {
        uint8_t c = static_cast<uint8_t>(s[i]);
        uint32_t cp = 0xFFFD;
        size_t n = 1;
        if (c < 0x80) cp = c;
        else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) cp = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F), n = 2;
        else if ((c & 0xF0) == 0xE0 && i + 2 < s.size())
            cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F), n = 3;
        else if ((c & 0xF8) == 0xF0 && i + 3 < s.size())
            cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F), n = 4;
        i += n;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
            out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
        } else {
            out.push_back(static_cast<char16_t>(cp));
        }
    }
    return out;
}

}  // namespace

struct AddressSpace::Family {
    std::vector<uint64_t> tops;  // top-level table pa of every member
};

AddressSpace::AddressSpace(PhysicalImage& phys, PagingMode mode)
    : AddressSpace(phys, mode, std::make_shared<Family>()) {}

AddressSpace::AddressSpace(PhysicalImage& phys, PagingMode mode, std::shared_ptr<Family> family)
    : phys_(&phys), mode_(mode), family_(std::move(family)) {
    if (mode != PagingMode::X86 && mode != PagingMode::X86Pae && mode != PagingMode::X64)
        throw std::invalid_argument("AddressSpace: only X86, X86Pae and X64 are built");
    top_ = phys.allocPage() << 12;
    dtb_ = top_;
    if (mode == PagingMode::X86Pae && family_->tops.empty()) {
        // The processor loads all four PDPTEs at CR3 load: NT keeps every
        // page directory present.
        for (unsigned i = 0; i < 4; ++i) writeEntry(top_ + 8 * i, (phys.allocPage() << 12) | kValid);
    }
    family_->tops.push_back(top_);
}

AddressSpace AddressSpace::newProcessSpace() {
    AddressSpace child(*phys_, mode_, family_);
    unsigned esize = mode_ == PagingMode::X86 ? 4 : 8;
    unsigned count = mode_ == PagingMode::X86Pae ? 4 : (mode_ == PagingMode::X86 ? 1024 : 512);
    unsigned firstKernel = mode_ == PagingMode::X86Pae ? 2 : count / 2;
    for (unsigned i = 0; i < count; ++i) {
        uint64_t e = 0;
        if (i >= firstKernel) e = readEntry(top_ + uint64_t(esize) * i);
        else if (mode_ == PagingMode::X86Pae) e = (phys_->allocPage() << 12) | kValid;
        if (e) child.writeEntry(child.top_ + uint64_t(esize) * i, e);
    }
    return child;
}

uint64_t AddressSpace::kernelBase() const {
    return mode_ == PagingMode::X64 ? 0xFFFF800000000000ull : 0x80000000ull;
}

unsigned AddressSpace::levels() const {
    switch (mode_) {
        case PagingMode::X64: return 4;
        case PagingMode::X86Pae: return 3;
        default: return 2;
    }
}

unsigned AddressSpace::indexOf(uint64_t va, unsigned level) const {
    if (mode_ == PagingMode::X86) return static_cast<unsigned>((va >> (level == 2 ? 22 : 12)) & 0x3FF);
    if (mode_ == PagingMode::X86Pae && level == 3) return static_cast<unsigned>((va >> 30) & 3);
    return static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 0x1FF);
}

uint64_t AddressSpace::readEntry(uint64_t pa) const {
    return mode_ == PagingMode::X86 ? phys_->readU32Or0(pa) : phys_->readU64Or0(pa);
}

void AddressSpace::writeEntry(uint64_t pa, uint64_t v) {
    if (mode_ == PagingMode::X86) phys_->writeU32(pa, static_cast<uint32_t>(v));
    else phys_->writeU64(pa, v);
}

uint64_t AddressSpace::tableFlags(uint64_t va) const {
    return kValid | kWrite | kAccessed | kDirty | (isKernel(va) ? 0 : kOwner);
}

void AddressSpace::setTopEntry(unsigned index, uint64_t value) {
    unsigned esize = mode_ == PagingMode::X86 ? 4 : 8;
    unsigned count = mode_ == PagingMode::X86 ? 1024 : 512;
    bool kernelHalf = mode_ != PagingMode::X86Pae && index >= count / 2;
    if (!kernelHalf) {
        writeEntry(top_ + uint64_t(esize) * index, value);
        return;
    }
    for (uint64_t t : family_->tops) writeEntry(t + uint64_t(esize) * index, value);
}

std::optional<uint64_t> AddressSpace::entryAddress(uint64_t va, unsigned level, bool create) {
    unsigned esize = mode_ == PagingMode::X86 ? 4 : 8;
    uint64_t frame = mode_ == PagingMode::X86 ? kFrame32 : kFrame64;
    uint64_t table = top_;
    for (unsigned l = levels(); l > level; --l) {
        unsigned idx = indexOf(va, l);
        uint64_t ea = table + uint64_t(esize) * idx;
        uint64_t e = readEntry(ea);
        if (!(e & kValid)) {
            if (!create) return std::nullopt;
            uint64_t pa = phys_->allocPage() << 12;
            e = pa | (mode_ == PagingMode::X86Pae && l == 3 ? kValid : tableFlags(va));
            if (l == levels()) setTopEntry(idx, e);
            else writeEntry(ea, e);
        } else if ((e & kLarge) && l <= 3 && !(mode_ == PagingMode::X86Pae && l == 3)) {
            throw std::logic_error("AddressSpace: address already inside a large page");
        }
        table = e & frame;
    }
    return table + uint64_t(esize) * indexOf(va, level);
}

void AddressSpace::map(uint64_t va, uint64_t pa, uint64_t size) {
    uint64_t first = va & ~(kPageSize - 1);
    uint64_t end = va + size;
    for (uint64_t v = first; v < end; v += kPageSize) {
        uint64_t p = (pa & ~(kPageSize - 1)) + (v - first);
        uint64_t flags = kValid | kWrite | kAccessed | kDirty | (isKernel(v) ? 0 : kOwner);
        writeEntry(*entryAddress(v, 1, true), p | flags);
        if (!phys_->present(p >> 12)) phys_->pageAt(p >> 12);
    }
}

uint64_t AddressSpace::mapNew(uint64_t va, uint64_t size) {
    uint64_t first = va & ~(kPageSize - 1);
    uint64_t end = va + size;
    uint64_t firstPa = 0;
    for (uint64_t v = first; v < end; v += kPageSize) {
        uint64_t pa = phys_->allocPage() << 12;
        if (v == first) firstPa = pa;
        map(v, pa, kPageSize);
    }
    return firstPa + (va - first);
}

void AddressSpace::ensureMapped(uint64_t va, uint64_t size) {
    uint64_t first = va & ~(kPageSize - 1);
    for (uint64_t v = first; v < va + size; v += kPageSize)
        if (!isMapped(v)) mapNew(v, kPageSize);
}

void AddressSpace::mapLarge(uint64_t va, uint64_t pa) {
    uint64_t sz = largePageSize();
    if ((va | pa) & (sz - 1)) throw std::invalid_argument("mapLarge: unaligned");
    uint64_t flags = kValid | kWrite | kAccessed | kDirty | kLarge | (isKernel(va) ? 0 : kOwner);
    uint64_t e = pa | flags;
    if (mode_ == PagingMode::X86 && pa > 0xFFFFFFFFull) {
        // PSE-36: PA bits 39..32 in PDE bits 20..13.
        e = (pa & 0xFFC00000ull) | (((pa >> 32) & 0xFF) << 13) | flags;
    }
    writeEntry(*entryAddress(va, 2, true), e);
    for (uint64_t p = pa; p < pa + sz; p += kPageSize)
        if (!phys_->present(p >> 12)) phys_->pageAt(p >> 12);
}

void AddressSpace::mapHuge(uint64_t va, uint64_t pa) {
    if (mode_ != PagingMode::X64) throw std::invalid_argument("mapHuge: x64 only");
    constexpr uint64_t sz = 0x40000000;
    if ((va | pa) & (sz - 1)) throw std::invalid_argument("mapHuge: unaligned");
    uint64_t flags = kValid | kWrite | kAccessed | kDirty | kLarge | (isKernel(va) ? 0 : kOwner);
    writeEntry(*entryAddress(va, 3, true), pa | flags);
    // The 262144 pages behind it are not created: tests decide which exist.
}

std::optional<uint64_t> AddressSpace::translate(uint64_t va) const {
    unsigned esize = mode_ == PagingMode::X86 ? 4 : 8;
    uint64_t frame = mode_ == PagingMode::X86 ? kFrame32 : kFrame64;
    uint64_t table = top_;
    for (unsigned l = levels(); l >= 1; --l) {
        uint64_t e = readEntry(table + uint64_t(esize) * indexOf(va, l));
        if (!(e & kValid)) return std::nullopt;
        bool largeOk = !(mode_ == PagingMode::X86Pae && l == 3) && (l == 2 || (l == 3 && mode_ == PagingMode::X64));
        if (largeOk && (e & kLarge)) {
            if (mode_ == PagingMode::X86) return (e & 0xFFC00000ull) | (((e >> 13) & 0xFF) << 32) | (va & 0x3FFFFF);
            uint64_t sz = l == 3 ? 0x40000000ull : 0x200000ull;
            return (e & frame & ~(sz - 1)) | (va & (sz - 1));
        }
        table = e & frame;
    }
    return table | (va & 0xFFF);
}

void AddressSpace::setPte(uint64_t va, uint64_t entry) { writeEntry(*entryAddress(va, 1, true), entry); }

uint64_t AddressSpace::pteAddress(uint64_t va) { return *entryAddress(va, 1, true); }

uint64_t AddressSpace::transitionPte(uint64_t pfn, uint32_t protection) const {
    return (pfn << 12) | (1ull << 11) | (uint64_t(protection & 0x1F) << 5);
}

uint64_t AddressSpace::pageFilePte(uint32_t pageFile, uint64_t pageOffset, uint32_t protection) const {
    uint64_t low = uint64_t(pageFile & 0xF) << 1 | (uint64_t(protection & 0x1F) << 5);
    if (mode_ == PagingMode::X86) return low | ((pageOffset & 0xFFFFF) << 12);
    return low | (pageOffset << 32);
}

uint64_t AddressSpace::prototypePte(uint64_t protoPteAddress) const {
    if (mode_ == PagingMode::X64) return ((protoPteAddress & 0xFFFFFFFFFFFFull) << 16) | (1ull << 10);
    if (mode_ == PagingMode::X86Pae) return ((protoPteAddress & 0xFFFFFFFFull) << 32) | (1ull << 10);
    // x86: ProtoAddressLow bits 1..7, ProtoAddressHigh bits 11..31 (not decoded by readers).
    return (((protoPteAddress >> 2) & 0x7F) << 1) | (1ull << 10) | (((protoPteAddress >> 9) & 0x1FFFFF) << 11);
}

uint64_t AddressSpace::demandZeroPte(uint32_t protection) const { return uint64_t(protection & 0x1F) << 5; }

void AddressSpace::write(uint64_t va, std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        uint64_t cur = va + done;
        auto pa = translate(cur);
        if (!pa) throw std::out_of_range("AddressSpace::write: unmapped address");
        size_t n = std::min<uint64_t>(kPageSize - (cur & 0xFFF), bytes.size() - done);
        phys_->write(*pa, bytes.subspan(done, n));
        done += n;
    }
}

std::vector<uint8_t> AddressSpace::read(uint64_t va, uint64_t size) const {
    std::vector<uint8_t> out(size);
    uint64_t done = 0;
    while (done < size) {
        uint64_t cur = va + done;
        auto pa = translate(cur);
        if (!pa) throw std::out_of_range("AddressSpace::read: unmapped address");
        uint64_t n = std::min<uint64_t>(kPageSize - (cur & 0xFFF), size - done);
        if (phys_->nt::PhysicalMemory::read(*pa, std::span<uint8_t>(out.data() + done, n)) != n)
            throw std::out_of_range("AddressSpace::read: page not present");
        done += n;
    }
    return out;
}

void AddressSpace::writeU8(uint64_t va, uint8_t v) { write(va, std::span<const uint8_t>(&v, 1)); }
void AddressSpace::writeU16(uint64_t va, uint16_t v) {
    uint8_t b[2];
    std::memcpy(b, &v, 2);
    write(va, b);
}
void AddressSpace::writeU32(uint64_t va, uint32_t v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    write(va, b);
}
void AddressSpace::writeU64(uint64_t va, uint64_t v) {
    uint8_t b[8];
    std::memcpy(b, &v, 8);
    write(va, b);
}
void AddressSpace::writePtr(uint64_t va, uint64_t v) {
    if (pointerSize() == 8) writeU64(va, v);
    else writeU32(va, static_cast<uint32_t>(v));
}

uint8_t AddressSpace::readU8(uint64_t va) const { return read(va, 1)[0]; }
uint16_t AddressSpace::readU16(uint64_t va) const {
    auto b = read(va, 2);
    uint16_t v;
    std::memcpy(&v, b.data(), 2);
    return v;
}
uint32_t AddressSpace::readU32(uint64_t va) const {
    auto b = read(va, 4);
    uint32_t v;
    std::memcpy(&v, b.data(), 4);
    return v;
}
uint64_t AddressSpace::readU64(uint64_t va) const {
    auto b = read(va, 8);
    uint64_t v;
    std::memcpy(&v, b.data(), 8);
    return v;
}
uint64_t AddressSpace::readPtr(uint64_t va) const { return pointerSize() == 8 ? readU64(va) : readU32(va); }

void AddressSpace::writeUtf16(uint64_t va, std::string_view text, bool nul) {
    std::u16string w = utf8ToUtf16(text);
    if (nul) w.push_back(u'\0');
    std::vector<uint8_t> b(w.size() * 2);
    for (size_t i = 0; i < w.size(); ++i) {
        b[2 * i] = static_cast<uint8_t>(w[i] & 0xFF);
        b[2 * i + 1] = static_cast<uint8_t>(w[i] >> 8);
    }
    write(va, b);
}

void AddressSpace::writeUnicodeString(uint64_t va, uint64_t bufferVa, std::string_view text) {
    uint16_t len = static_cast<uint16_t>(utf8ToUtf16(text).size() * 2);
    writeUtf16(bufferVa, text, true);
    writeU16(va, len);
    writeU16(va + 2, static_cast<uint16_t>(len + 2));
    if (pointerSize() == 8) {
        writeU32(va + 4, 0);
        writeU64(va + 8, bufferVa);
    } else {
        writeU32(va + 4, static_cast<uint32_t>(bufferVa));
    }
}

void AddressSpace::writeEmptyList(uint64_t va) {
    writePtr(va, va);
    writePtr(va + pointerSize(), va);
}

void AddressSpace::insertTailList(uint64_t head, uint64_t entry) {
    unsigned ps = pointerSize();
    uint64_t blink = readPtr(head + ps);
    writePtr(entry, head);
    writePtr(entry + ps, blink);
    writePtr(blink, entry);  // old tail's Flink (the head's own Flink when empty)
    writePtr(head + ps, entry);
}

}  // namespace nt::test::kdump
