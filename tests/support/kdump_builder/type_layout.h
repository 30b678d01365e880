// Field offsets by path ("Tcb.ApcState.Process", "Tcb.WaitBlock[2].Object")
// over any types::TypeProvider (ISF or PDB), so that the synthetic NT world
// hard-codes no layout the symbols provide.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "types/type_model.h"

namespace nt::test::kdump {

struct FieldInfo {
    uint64_t offset = 0;  // from the start of the outer type
    uint64_t size = 0;    // bytes of the field (of the underlying integer for bitfields)
    uint8_t bitPosition = 0, bitLength = 0;
};

class TypeLayout {
public:
    explicit TypeLayout(const types::TypeProvider& types) : types_(types) {}

    std::optional<FieldInfo> field(std::string_view type, std::string_view path) const;
    // Throws std::out_of_range naming the missing type/field.
    FieldInfo at(std::string_view type, std::string_view path) const;
    uint64_t offsetOf(std::string_view type, std::string_view path) const { return at(type, path).offset; }
    bool has(std::string_view type, std::string_view path) const { return field(type, path).has_value(); }
    uint64_t sizeOf(std::string_view type) const;
    // Value of an enumerator of a named enum ("_KWAIT_REASON", "WrQueue").
    std::optional<int64_t> enumValue(std::string_view enumName, std::string_view enumerator) const;

    const types::TypeProvider& types() const { return types_; }

private:
    const types::Type* complete(types::TypeId id) const;
    const types::TypeProvider& types_;
};

}  // namespace nt::test::kdump
