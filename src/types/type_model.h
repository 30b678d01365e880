// The type model shared by every type source (PDB TPI, Volatility ISF):
// what `dt` and the NT object model need to lay out a structure in target
// memory. A source hands out Type records by a small integer id; records are
// built on first use and stay valid (stable addresses) for the provider's
// lifetime.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nt::types {

using TypeId = uint32_t;
inline constexpr TypeId kNoType = 0xFFFFFFFFu;

enum class TypeKind : uint8_t {
    Void,
    Base,      // integers, characters, floats, bool (see BaseKind)
    Pointer,   // target = pointee
    Array,     // target = element, count = elements
    Struct,    // also C++ classes
    Union,
    Enum,      // target = underlying integer type
    Function,  // a function type (only ever seen behind a pointer)
};

// How `dt` names a base type: Int4B, Uint2B, Char, UChar, Wchar, Float, Double, Bool...
enum class BaseKind : uint8_t { Int, UInt, Char, UChar, WChar, Char16, Char32, Float, Bool, HResult, Void };

struct Field {
    std::string name;
    uint64_t offset = 0;      // bytes from the start of the enclosing type
    TypeId type = kNoType;    // for a bitfield: the underlying integer type
    uint8_t bitPosition = 0;  // meaningful when bitLength != 0
    uint8_t bitLength = 0;    // 0: not a bitfield
};

struct Enumerator {
    std::string name;
    int64_t value = 0;
};

struct Type {
    TypeKind kind = TypeKind::Void;
    std::string name;            // Struct/Union/Enum name ("_EPROCESS"); empty for Pointer/Array/Base
    uint64_t size = 0;           // bytes; Pointer: 4 or 8
    BaseKind base = BaseKind::Void;  // Base only
    TypeId target = kNoType;     // Pointer: pointee; Array: element; Enum: underlying
    uint64_t count = 0;          // Array: element count
    bool incomplete = false;     // a forward declaration whose definition the source does not have
    std::vector<Field> fields;             // Struct/Union, in declaration order (offset order for ISF)
    std::vector<Enumerator> enumerators;   // Enum
};

class TypeProvider {
public:
    virtual ~TypeProvider() = default;
    // A named struct/union/enum (exact, case-sensitive: "_EPROCESS"); a
    // forward reference resolves to the complete definition when there is one.
    virtual std::optional<TypeId> findType(std::string_view name) const = 0;
    // nullptr for an id the source does not know. Never throws: damaged
    // records come back as incomplete types.
    virtual const Type* type(TypeId id) const = 0;
    // Every named struct/union/enum, for wildcard listings (`dt nt!_KT*`).
    // The callback returns false to stop.
    virtual void forEachTypeName(const std::function<bool(std::string_view)>& fn) const = 0;
    // Pointer size of the target the types describe (4 or 8).
    virtual unsigned pointerSize() const = 0;
};

}  // namespace nt::types
