// Field reads and list walks shared by every object reader.
#include <algorithm>
#include <array>
#include <unordered_set>

#include "base/format.h"
#include "nt/objects.h"

namespace nt {

std::optional<uint64_t> readUnsigned(const Memory& mem, uint64_t addr, uint64_t size) {
    switch (size) {
        case 1:
            if (auto v = mem.readValue<uint8_t>(addr)) return *v;
            return std::nullopt;
        case 2:
            if (auto v = mem.readValue<uint16_t>(addr)) return *v;
            return std::nullopt;
        case 4:
            if (auto v = mem.readValue<uint32_t>(addr)) return *v;
            return std::nullopt;
        case 8:
            return mem.readValue<uint64_t>(addr);
        default:
            return std::nullopt;
    }
}

std::optional<std::string> readUnicodeString(const Memory& mem, uint64_t addr, unsigned ptrSize, uint64_t maxChars) {
    auto len = mem.readValue<uint16_t>(addr);
    auto buf = mem.readPointer(addr + ptrSize, ptrSize);  // Buffer follows Length/MaximumLength (+ padding)
    if (!len || !buf) return std::nullopt;
    if (*len == 0) return std::string();
    if (*buf == 0) return std::nullopt;
    uint64_t units = std::min<uint64_t>(*len / 2, maxChars);
    std::vector<uint8_t> raw(static_cast<size_t>(units) * 2);  // Length is 16-bit: at most 64 KiB anyway
    if (!mem.readExact(*buf, raw)) return std::nullopt;
    return utf16ToUtf8(raw.data(), units);
}

std::optional<uint64_t> StructView::fieldAddress(std::string_view path) const {
    auto f = layout_.field(type_, path);
    if (!f) return std::nullopt;
    return address_ + f->offset;
}

std::optional<uint64_t> StructView::u(std::string_view path) const {
    auto f = layout_.field(type_, path);
    if (!f) return std::nullopt;
    auto raw = readUnsigned(mem_, address_ + f->offset, f->size);
    if (!raw) return std::nullopt;
    uint64_t v = *raw;
    if (f->bitLength) {
        if (f->bitPosition >= 64) return std::nullopt;
        v >>= f->bitPosition;
        if (f->bitLength < 64) v &= (uint64_t{1} << f->bitLength) - 1;
    }
    return v;
}

std::optional<int64_t> StructView::s(std::string_view path) const {
    auto f = layout_.field(type_, path);
    if (!f) return std::nullopt;
    auto v = u(path);
    if (!v) return std::nullopt;
    unsigned bits = f->bitLength ? f->bitLength : static_cast<unsigned>(f->size * 8);
    if (!f->isSigned || bits == 0 || bits >= 64) return static_cast<int64_t>(*v);
    uint64_t sign = uint64_t{1} << (bits - 1);
    return static_cast<int64_t>((*v ^ sign) - sign);
}

std::optional<uint64_t> StructView::ptr(std::string_view path) const {
    auto f = layout_.field(type_, path);
    if (!f) return std::nullopt;
    return mem_.readPointer(address_ + f->offset, layout_.pointerSize());
}

std::optional<std::string> StructView::chars(std::string_view path) const {
    auto f = layout_.field(type_, path);
    if (!f || f->size == 0 || f->size > 4096) return std::nullopt;
    std::vector<uint8_t> raw(static_cast<size_t>(f->size));
    uint64_t got = mem_.read(address_ + f->offset, raw);
    if (got == 0) return std::nullopt;
    auto end = std::find(raw.begin(), raw.begin() + static_cast<long>(got), uint8_t{0});
    // Without a NUL inside the bytes present, the name may go on in bytes we lack.
    if (end == raw.begin() + static_cast<long>(got) && got < raw.size()) return std::nullopt;
    return std::string(raw.begin(), end);
}

std::optional<std::string> StructView::unicodeString(std::string_view path) const {
    auto a = fieldAddress(path);
    if (!a) return std::nullopt;
    return readUnicodeString(mem_, *a, layout_.pointerSize());
}

std::string ListWalk::error(unsigned ptrSize) const {
    // WinDbg's words when the kernel's types are not there.
    if (!missing.empty()) return "NT symbols are incorrect, please fix symbols (" + missing + ")";
    if (unreadable) return "Unable to read _LIST_ENTRY @ " + addrPlain(*unreadable, ptrSize == 8);
    if (nullLink) return "Null Flink in list @ " + addrPlain(head, ptrSize == 8);
    if (cycle) return "List @ " + addrPlain(head, ptrSize == 8) + " loops back on itself";
    if (capped) return "List @ " + addrPlain(head, ptrSize == 8) + " has more than " + std::to_string(entries.size()) +
                       " entries; stopped";
    return {};
}

ListWalk unwalkableList(std::optional<uint64_t> head, std::string_view headName, std::optional<uint64_t> linkOffset,
                        std::string_view type, std::string_view field) {
    ListWalk w;
    w.head = head.value_or(0);
    if (!head) w.missing = "the address of nt!" + std::string(headName) + " is unknown";
    else if (!linkOffset) w.missing = "no type information for " + std::string(type) + "." + std::string(field);
    return w;
}

ListWalk walkList(const Memory& mem, uint64_t head, unsigned ptrSize, size_t cap) {
    ListWalk w;
    w.head = head;
    std::unordered_set<uint64_t> seen;
    uint64_t at = head;
    for (;;) {
        auto next = mem.readPointer(at, ptrSize);
        if (!next) {
            w.unreadable = at;
            break;
        }
        if (*next == head) break;
        if (*next == 0) {
            w.nullLink = true;
            break;
        }
        if (!seen.insert(*next).second) {
            w.cycle = true;
            break;
        }
        if (w.entries.size() >= cap) {
            w.capped = true;
            break;
        }
        w.entries.push_back(*next);
        at = *next;
    }
    return w;
}

}  // namespace nt
