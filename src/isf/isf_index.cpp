#include "isf/isf_index.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <string>

#include "base/error.h"
#include "isf/xz_decode.h"

namespace nt::isf {

// The blob is read with memcpy in the host's order; the cache is a local
// file, and every host we build for is little-endian.
static_assert(std::endian::native == std::endian::little, "the ISF index blob is little-endian");

namespace {

constexpr size_t kSections = static_cast<size_t>(IndexSection::Count);
// Directory: u64 offset[kSections], u64 size[kSections], then the
// metadata and base_types spans as four u32.
constexpr size_t kDirectorySize = kSections * 16 + 16;
constexpr size_t kTypeRecordSize = 16;    // u32 nameRef, u32 nameLength, u32 begin, u32 end
constexpr size_t kSymbolRecordSize = 16;  // u32 nameRef, u32 nameLength, u64 rva
// A nameRef with this bit reads its name in the Names section, else in the document.
constexpr uint32_t kPooledName = 0x80000000u;

uint32_t read32(std::span<const uint8_t> s, size_t at) {
    uint32_t v;
    std::memcpy(&v, s.data() + at, sizeof v);
    return v;
}

uint64_t read64(std::span<const uint8_t> s, size_t at) {
    uint64_t v;
    std::memcpy(&v, s.data() + at, sizeof v);
    return v;
}

void appendBytes(std::vector<uint8_t>& out, const void* data, size_t size) {
    if (size == 0) return;
    const size_t at = out.size();
    out.resize(at + size);
    std::memcpy(out.data() + at, data, size);
}

template <typename T>
void append(std::vector<uint8_t>& out, T v) {
    appendBytes(out, &v, sizeof v);
}

size_t recordSize(IndexSection s) {
    switch (s) {
        case IndexSection::Names: return 1;
        case IndexSection::UserTypes:
        case IndexSection::Enums: return kTypeRecordSize;
        case IndexSection::Symbols: return kSymbolRecordSize;
        default: return 4;
    }
}

bool isHashTable(IndexSection s) {
    return s == IndexSection::UserTypeHash || s == IndexSection::EnumHash || s == IndexSection::SymbolHash;
}

// A name as the builder found it: where its bytes are (document or pool).
struct NameRef {
    uint32_t ref = 0;
    uint32_t length = 0;
};

struct TypeEntry {
    NameRef name;
    JsonSpan span;
};

struct SymbolEntry {
    NameRef name;
    uint64_t rva = 0;
};

// Collects the records while one pass validates the document.
class Builder {
public:
    explicit Builder(std::string_view doc) : doc_(doc) {}
    void scan();
    std::vector<uint8_t> blob(bool withRvaOrder) const;

private:
    NameRef nameOf(std::string_view rawKey);
    size_t scanTypes(size_t at, std::vector<TypeEntry>& out);
    size_t scanSymbols(size_t at);
    std::string_view text(NameRef n) const {
        return (n.ref & kPooledName) ? std::string_view(pool_).substr(n.ref & ~kPooledName, n.length)
                                     : doc_.substr(n.ref, n.length);
    }
    template <typename Entry>
    std::vector<uint32_t> hashTable(const std::vector<Entry>& entries) const;

    std::string_view doc_;
    std::string pool_;
    std::vector<TypeEntry> users_, enums_;
    std::vector<SymbolEntry> symbols_;
    JsonSpan metadata_{}, baseTypes_{};
};

NameRef Builder::nameOf(std::string_view rawKey) {
    // A key without escapes is its own name: point at it in the document.
    if (rawKey.find('\\') == std::string_view::npos)
        return {static_cast<uint32_t>(rawKey.data() - doc_.data()), static_cast<uint32_t>(rawKey.size())};
    const std::string decoded = decodeJsonString(rawKey);
    if (pool_.size() + decoded.size() >= kPooledName) throw FormatError("ISF: too many escaped names");
    NameRef n{static_cast<uint32_t>(pool_.size()) | kPooledName, static_cast<uint32_t>(decoded.size())};
    pool_ += decoded;
    return n;
}

size_t Builder::scanTypes(size_t at, std::vector<TypeEntry>& out) {
    return scanJsonObject(doc_, at, [&](std::string_view key, size_t v) {
        const size_t e = skipJsonValue(doc_, v);
        if (doc_[v] == '{') out.push_back({nameOf(key), JsonSpan{v, e}});
        return e;
    });
}

size_t Builder::scanSymbols(size_t at) {
    return scanJsonObject(doc_, at, [&](std::string_view key, size_t v) -> size_t {
        if (doc_[v] != '{') return skipJsonValue(doc_, v);
        std::optional<uint64_t> rva;
        const size_t end = scanJsonObject(doc_, v, [&](std::string_view k, size_t av) {
            const size_t ae = skipJsonValue(doc_, av);
            if (k == "address") {
                // Only a plain non-negative integer is an address (not -1, 1.5 or 1e3).
                uint64_t r = 0;
                auto [p, ec] = std::from_chars(doc_.data() + av, doc_.data() + ae, r);
                if (ec == std::errc() && p == doc_.data() + ae) rva = r;
            }
            return ae;
        });
        if (rva) symbols_.push_back({nameOf(key), *rva});
        return end;
    });
}

void Builder::scan() {
    // Record offsets are 32-bit; decodeXz already bounds what it produces.
    if (doc_.size() > kMaxDecompressedIsf) throw FormatError("ISF: JSON larger than 512 MiB");
    const size_t rootBegin = skipJsonWhitespace(doc_, 0);
    if (rootBegin >= doc_.size() || doc_[rootBegin] != '{') throw FormatError("ISF: top level is not a JSON object");

    // One pass over the document: it validates every byte, records where
    // each user type and enum lies, and reads the symbol addresses.
    bool haveMeta = false, haveBase = false, haveUser = false;
    const size_t rootEnd = scanJsonObject(doc_, rootBegin, [&](std::string_view key, size_t v) -> size_t {
        const bool isObject = doc_[v] == '{';
        if (key == "user_types" && isObject) {
            haveUser = true;
            return scanTypes(v, users_);
        }
        if (key == "enums" && isObject) return scanTypes(v, enums_);
        if (key == "symbols" && isObject) return scanSymbols(v);
        const size_t e = skipJsonValue(doc_, v);
        if (key == "metadata" && isObject) metadata_ = {v, e}, haveMeta = true;
        if (key == "base_types" && isObject) baseTypes_ = {v, e}, haveBase = true;
        return e;
    });
    if (skipJsonWhitespace(doc_, rootEnd) != doc_.size()) throw FormatError("ISF: data after the JSON document");
    if (!haveMeta || !haveBase || !haveUser) throw FormatError("ISF: missing metadata, base_types or user_types");
}

// Slots hold record index + 1 (0 = empty); at most half full, so a probe
// always ends. The first record of a name wins, as a JSON reader keeping
// the first duplicate key would.
template <typename Entry>
std::vector<uint32_t> Builder::hashTable(const std::vector<Entry>& entries) const {
    const size_t slots = std::bit_ceil(std::max<size_t>(entries.size() * 2, 1));
    std::vector<uint32_t> table(slots, 0);
    for (uint32_t i = 0; i < entries.size(); ++i) {
        const std::string_view name = text(entries[i].name);
        for (size_t s = isfNameHash(name) & (slots - 1);; s = (s + 1) & (slots - 1)) {
            if (table[s] == 0) {
                table[s] = i + 1;
                break;
            }
            if (text(entries[table[s] - 1].name) == name) break;
        }
    }
    return table;
}

std::vector<uint8_t> Builder::blob(bool withRvaOrder) const {
    std::vector<uint8_t> out(kDirectorySize, 0);
    auto begin = [&](IndexSection s) {
        out.resize((out.size() + 7) & ~size_t(7));
        const size_t i = static_cast<size_t>(s);
        const uint64_t at = out.size();
        std::memcpy(out.data() + i * 8, &at, 8);
        return at;
    };
    auto end = [&](IndexSection s, uint64_t at) {
        const uint64_t size = out.size() - at;
        std::memcpy(out.data() + (kSections + static_cast<size_t>(s)) * 8, &size, 8);
    };
    auto put = [&](IndexSection s, auto&& fill) {
        const uint64_t at = begin(s);
        fill();
        end(s, at);
    };
    put(IndexSection::Names, [&] { appendBytes(out, pool_.data(), pool_.size()); });
    auto putTypes = [&](const std::vector<TypeEntry>& v) {
        for (const auto& t : v) {
            append(out, t.name.ref);
            append(out, t.name.length);
            append(out, static_cast<uint32_t>(t.span.begin));
            append(out, static_cast<uint32_t>(t.span.end));
        }
    };
    auto putSlots = [&](const std::vector<uint32_t>& v) {
        for (uint32_t x : v) append(out, x);
    };
    put(IndexSection::UserTypes, [&] { putTypes(users_); });
    put(IndexSection::Enums, [&] { putTypes(enums_); });
    put(IndexSection::UserTypeHash, [&] { putSlots(hashTable(users_)); });
    put(IndexSection::EnumHash, [&] { putSlots(hashTable(enums_)); });
    put(IndexSection::Symbols, [&] {
        for (const auto& s : symbols_) {
            append(out, s.name.ref);
            append(out, s.name.length);
            append(out, s.rva);
        }
    });
    put(IndexSection::SymbolHash, [&] { putSlots(hashTable(symbols_)); });
    put(IndexSection::SymbolsByRva, [&] {
        if (!withRvaOrder) return;
        std::vector<std::pair<uint64_t, uint32_t>> order;
        order.reserve(symbols_.size());
        for (uint32_t i = 0; i < symbols_.size(); ++i) order.emplace_back(symbols_[i].rva, i);
        std::sort(order.begin(), order.end());
        for (const auto& [rva, i] : order) append(out, i);
    });
    const uint32_t spans[4] = {static_cast<uint32_t>(metadata_.begin), static_cast<uint32_t>(metadata_.end),
                               static_cast<uint32_t>(baseTypes_.begin), static_cast<uint32_t>(baseTypes_.end)};
    std::memcpy(out.data() + kSections * 16, spans, sizeof spans);
    return out;
}

}  // namespace

uint64_t isfNameHash(std::string_view name) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

std::vector<uint8_t> buildIsfIndex(std::string_view doc, bool withRvaOrder) {
    Builder b(doc);
    b.scan();
    return b.blob(withRvaOrder);
}

std::optional<IsfIndex> IsfIndex::view(std::string_view doc, std::span<const uint8_t> blob) {
    if (blob.size() < kDirectorySize || doc.size() > kMaxDecompressedIsf) return std::nullopt;
    IsfIndex x;
    x.doc_ = doc;
    x.blob_ = blob;
    for (size_t i = 0; i < kSections; ++i) {
        const auto s = static_cast<IndexSection>(i);
        const uint64_t at = read64(blob, i * 8), size = read64(blob, (kSections + i) * 8);
        if (at < kDirectorySize || at > blob.size() || size > blob.size() - at) return std::nullopt;
        if (size % recordSize(s) != 0 || size / recordSize(s) > UINT32_MAX) return std::nullopt;
        if (isHashTable(s) && !std::has_single_bit(size / 4)) return std::nullopt;
        x.offset_[i] = at;
        x.size_[i] = size;
    }
    const uint64_t byRva = x.size_[static_cast<size_t>(IndexSection::SymbolsByRva)] / 4;
    if (byRva != 0 && byRva != x.symbolCount()) return std::nullopt;
    const uint32_t m0 = read32(blob, kSections * 16), m1 = read32(blob, kSections * 16 + 4);
    const uint32_t b0 = read32(blob, kSections * 16 + 8), b1 = read32(blob, kSections * 16 + 12);
    if (m0 >= m1 || m1 > doc.size() || b0 >= b1 || b1 > doc.size()) return std::nullopt;
    x.metadata_ = {m0, m1};
    x.baseTypes_ = {b0, b1};
    return x;
}

std::span<const uint8_t> IsfIndex::section(IndexSection s) const {
    const size_t i = static_cast<size_t>(s);
    return blob_.subspan(offset_[i], size_[i]);
}

uint32_t IsfIndex::count(IndexSection records) const {
    return static_cast<uint32_t>(size_[static_cast<size_t>(records)] / recordSize(records));
}

std::string_view IsfIndex::nameAt(uint32_t ref, uint32_t length) const {
    if (ref & kPooledName) {
        const std::span<const uint8_t> pool = section(IndexSection::Names);
        const uint32_t at = ref & ~kPooledName;
        if (at > pool.size() || length > pool.size() - at) return {};
        return {reinterpret_cast<const char*>(pool.data()) + at, length};
    }
    if (ref > doc_.size() || length > doc_.size() - ref) return {};
    return doc_.substr(ref, length);
}

std::string_view IsfIndex::recordName(IndexSection records, uint32_t i) const {
    if (i >= count(records)) return {};
    const std::span<const uint8_t> r = section(records).subspan(size_t(i) * recordSize(records), 8);
    return nameAt(read32(r, 0), read32(r, 4));
}

std::string_view IsfIndex::typeName(TypeTable t, uint32_t i) const {
    return recordName(t == TypeTable::User ? IndexSection::UserTypes : IndexSection::Enums, i);
}

std::optional<JsonSpan> IsfIndex::typeSpan(TypeTable t, uint32_t i) const {
    const IndexSection records = t == TypeTable::User ? IndexSection::UserTypes : IndexSection::Enums;
    if (i >= count(records)) return std::nullopt;
    const std::span<const uint8_t> r = section(records).subspan(size_t(i) * kTypeRecordSize, kTypeRecordSize);
    const uint32_t begin = read32(r, 8), end = read32(r, 12);
    // The builder only records objects; anything else is damage.
    if (begin >= end || end > doc_.size() || doc_[begin] != '{') return std::nullopt;
    return JsonSpan{begin, end};
}

std::optional<uint32_t> IsfIndex::find(IndexSection records, IndexSection hash, std::string_view name) const {
    const std::span<const uint8_t> slots = section(hash);
    const size_t n = slots.size() / 4;  // a power of two (view checked it)
    size_t s = isfNameHash(name) & (n - 1);
    // At most n probes even when a damaged table has no empty slot.
    for (size_t probe = 0; probe < n; ++probe, s = (s + 1) & (n - 1)) {
        const uint32_t v = read32(slots, s * 4);
        if (v == 0) return std::nullopt;
        if (v - 1 < count(records) && recordName(records, v - 1) == name) return v - 1;
    }
    return std::nullopt;
}

std::optional<uint32_t> IsfIndex::findType(TypeTable t, std::string_view name) const {
    return t == TypeTable::User ? find(IndexSection::UserTypes, IndexSection::UserTypeHash, name)
                                : find(IndexSection::Enums, IndexSection::EnumHash, name);
}

std::string_view IsfIndex::symbolName(uint32_t i) const { return recordName(IndexSection::Symbols, i); }

uint64_t IsfIndex::symbolRva(uint32_t i) const {
    if (i >= symbolCount()) return 0;
    return read64(section(IndexSection::Symbols), size_t(i) * kSymbolRecordSize + 8);
}

std::optional<uint32_t> IsfIndex::findSymbol(std::string_view name) const {
    return find(IndexSection::Symbols, IndexSection::SymbolHash, name);
}

std::vector<uint32_t> sortSymbolsByRva(const IsfIndex& index) {
    std::vector<std::pair<uint64_t, uint32_t>> order;
    order.reserve(index.symbolCount());
    for (uint32_t i = 0; i < index.symbolCount(); ++i) order.emplace_back(index.symbolRva(i), i);
    std::sort(order.begin(), order.end());
    std::vector<uint32_t> out;
    out.reserve(order.size());
    for (const auto& [rva, i] : order) out.push_back(i);
    return out;
}

}  // namespace nt::isf
