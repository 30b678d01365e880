// The TPI stream as a types::TypeProvider: the type ids are TPI type indices
// (simple types below 0x1000 included), Type records are built on first use
// and cached for the provider's lifetime.
//
// Mapping decisions:
// - LF_MODIFIER (const/volatile) is transparent: type(modifier) is the
//   referent's Type. LF_BITFIELD likewise gives its underlying integer type;
//   a bitfield member's Field carries the position and length.
// - A forward reference resolves to the complete definition (same unique
//   name when the forward reference has one, else the same name): type()
//   of either index gives the definition's Type. Without a definition the
//   Type is a Struct/Union/Enum marked incomplete.
// - Direct non-virtual base classes (LF_BCLASS) become fields named
//   "__BaseClass" at the base's offset, typed as the base class, so that a
//   layout covers the bytes the bases occupy. Virtual bases (their offset is
//   only known at run time), methods, nested types, static members and the
//   vtable pointer record are not fields.
// - LF_PROCEDURE / LF_MFUNCTION are Function types of size 0; LF_ARRAY's
//   count is its byte size over the element's size (0 for a 0-size element).
//
// Hostile input: type() and findType() never throw; a damaged record, a
// field-list cycle through LF_INDEX or a chain deeper than kMaxDepth gives an
// incomplete type; member counts and field-list chains are bounded.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pdb/tpi.h"
#include "types/type_model.h"

namespace nt::pdb {

class PdbTypes : public types::TypeProvider {
public:
    static constexpr int kMaxDepth = 32;                  // nested arrays / modifiers / forward refs
    static constexpr size_t kMaxFieldListRecords = 4096;  // LF_INDEX continuations of one type
    static constexpr size_t kMaxMembers = 1 << 16;        // fields or enumerators of one type

    // machine: IMAGE_FILE_MACHINE_* (decides the pointer size; 0: guessed
    // from the pointer records). Throws FormatError when TPI is unusable.
    PdbTypes(const Msf& msf, uint16_t machine);
    explicit PdbTypes(TypeStream tpi, uint16_t machine);

    std::optional<types::TypeId> findType(std::string_view name) const override;
    const types::Type* type(types::TypeId id) const override;
    void forEachTypeName(const std::function<bool(std::string_view)>& fn) const override;
    unsigned pointerSize() const override { return pointerSize_; }

    const TypeStream& tpi() const { return tpi_; }
    // The definition named name found through the TPI hash alone (no
    // fallback scan): what the tests check the hash with.
    std::optional<TypeIndex> findByHash(std::string_view name) const;
    // The complete definition of a forward reference (ti itself when it is
    // not one; nullopt when no definition exists).
    std::optional<TypeIndex> definitionOf(TypeIndex ti) const;

private:
    struct NameIndex {
        std::unordered_map<std::string, TypeIndex> byName;    // first definition, else first forward ref
        std::unordered_map<std::string, TypeIndex> byUnique;  // definitions only
        std::vector<std::string_view> names;                  // distinct, in index order
    };
    const NameIndex& nameIndex() const;
    std::optional<TypeIndex> findDefinition(uint16_t kind, std::string_view name, std::string_view unique) const;

    const types::Type* build(TypeIndex ti, int depth) const;
    const types::Type* typeAt(TypeIndex ti, int depth) const;
    void buildUdtFields(types::Type& t, TypeIndex fieldList, int depth) const;
    void buildEnumerators(types::Type& t, TypeIndex fieldList) const;
    const types::Type* keep(TypeIndex ti, std::unique_ptr<types::Type> t) const;
    unsigned guessPointerSize() const;

    TypeStream tpi_;
    unsigned pointerSize_ = 8;
    types::Type incomplete_;  // the stable answer for cycles and depth overflows

    mutable std::unordered_map<TypeIndex, std::unique_ptr<types::Type>> owned_;
    mutable std::unordered_map<TypeIndex, const types::Type*> byId_;
    mutable std::unordered_set<TypeIndex> inProgress_;
    mutable std::unique_ptr<NameIndex> names_;
};

}  // namespace nt::pdb
