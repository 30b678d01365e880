// The lookup tables of one ISF document as a single flat blob: where each
// user type's and enum's JSON lies, every symbol's name and RVA, and
// open-addressing hash tables over the names. The same bytes serve a session
// that just decoded the document (built in memory) and one that mapped the
// persistent cache (isf_cache.h), so a cached load does no indexing at all:
// a lookup reads a few slots of the mapped file.
//
// A blob read back from disk is hostile input: view() checks its directory
// against the blob and the document, and every record is bounds-checked on
// use (a damaged record reads as an empty name or a missing span).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "isf/json_scan.h"

namespace nt::isf {

// Sections of a blob, laid out in this order after the directory.
enum class IndexSection : uint32_t {
    Names,         // decoded names of keys that had JSON escapes (others are read in the document)
    UserTypes,     // one TypeRecord per user type, document order
    Enums,         // one TypeRecord per enum, document order
    UserTypeHash,  // u32 slots by name: record index + 1, 0 = empty; power-of-two count
    EnumHash,
    Symbols,       // one SymbolRecord per symbol with an integer address, document order
    SymbolHash,
    SymbolsByRva,  // u32 record indices by (RVA, document order); empty when not built
    Count
};

enum class TypeTable { User, Enum };

class IsfIndex {
public:
    // Views blob as the index of doc; nullopt when its directory does not
    // fit (a section outside the blob, a size that is not whole records, a
    // hash table that is not a power of two, a span outside the document).
    static std::optional<IsfIndex> view(std::string_view doc, std::span<const uint8_t> blob);

    std::string_view document() const { return doc_; }
    JsonSpan metadata() const { return metadata_; }
    JsonSpan baseTypes() const { return baseTypes_; }

    uint32_t typeCount(TypeTable t) const { return count(t == TypeTable::User ? IndexSection::UserTypes : IndexSection::Enums); }
    std::string_view typeName(TypeTable t, uint32_t i) const;
    // The type's JSON object; nullopt when the record is damaged.
    std::optional<JsonSpan> typeSpan(TypeTable t, uint32_t i) const;
    std::optional<uint32_t> findType(TypeTable t, std::string_view name) const;

    uint32_t symbolCount() const { return count(IndexSection::Symbols); }
    std::string_view symbolName(uint32_t i) const;
    uint64_t symbolRva(uint32_t i) const;
    std::optional<uint32_t> findSymbol(std::string_view name) const;
    // Record indices by RVA (ties in document order); empty when the blob
    // was built without them. Entries are record indices to be checked.
    std::span<const uint8_t> rvaOrderBytes() const { return section(IndexSection::SymbolsByRva); }

private:
    std::span<const uint8_t> section(IndexSection s) const;
    uint32_t count(IndexSection records) const;
    std::string_view nameAt(uint32_t ref, uint32_t length) const;
    std::optional<uint32_t> find(IndexSection records, IndexSection hash, std::string_view name) const;
    std::string_view recordName(IndexSection records, uint32_t i) const;

    std::string_view doc_;
    std::span<const uint8_t> blob_;
    uint64_t offset_[static_cast<size_t>(IndexSection::Count)] = {};
    uint64_t size_[static_cast<size_t>(IndexSection::Count)] = {};
    JsonSpan metadata_, baseTypes_;
};

// Validates the whole document in one pass (every byte: a cache entry built
// from it inherits that) and builds its blob. withRvaOrder adds the
// SymbolsByRva section (the cache stores it; a session that never asks by
// address need not sort). Throws FormatError.
std::vector<uint8_t> buildIsfIndex(std::string_view doc, bool withRvaOrder);

// Record indices of index's symbols by (RVA, document order): what
// SymbolsByRva holds, for a blob built without it.
std::vector<uint32_t> sortSymbolsByRva(const IsfIndex& index);

// FNV-1a, 64 bits: the hash of the blob's name tables (part of the cache format).
uint64_t isfNameHash(std::string_view name);

}  // namespace nt::isf
