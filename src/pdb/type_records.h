// Decoding of the CodeView type leaves needed to lay out data: UDTs, enums,
// field lists, pointers, modifiers, arrays, bitfields, procedures, simple
// (built-in) types and numeric leaves. Facts: LLVM's CodeView/PDB docs and
// Microsoft's cvinfo.h. Every decoder works on a bounds-checked view of one
// record's payload (the bytes after the leaf kind) and returns nullopt for a
// payload too short for the leaf.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "pdb/tpi.h"
#include "types/type_model.h"

namespace nt::pdb::cv {

// Leaf kinds (cvinfo.h LEAF_ENUM_e), the ones this decoder looks at.
enum Leaf : uint16_t {
    LF_MODIFIER = 0x1001,
    LF_POINTER = 0x1002,
    LF_PROCEDURE = 0x1008,
    LF_MFUNCTION = 0x1009,
    LF_ARGLIST = 0x1201,
    LF_FIELDLIST = 0x1203,
    LF_BITFIELD = 0x1205,
    LF_METHODLIST = 0x1206,
    LF_BCLASS = 0x1400,
    LF_VBCLASS = 0x1401,
    LF_IVBCLASS = 0x1402,
    LF_INDEX = 0x1404,
    LF_VFUNCTAB = 0x1409,
    LF_FRIENDCLS = 0x140a,
    LF_VFUNCOFF = 0x140c,
    LF_ENUMERATE = 0x1502,
    LF_ARRAY = 0x1503,
    LF_CLASS = 0x1504,
    LF_STRUCTURE = 0x1505,
    LF_UNION = 0x1506,
    LF_ENUM = 0x1507,
    LF_FRIENDFCN = 0x150c,
    LF_MEMBER = 0x150d,
    LF_STMEMBER = 0x150e,
    LF_METHOD = 0x150f,
    LF_NESTTYPE = 0x1510,
    LF_ONEMETHOD = 0x1511,
    LF_NESTTYPEEX = 0x1512,
    LF_MEMBERMODIFY = 0x1513,
    LF_MANAGED = 0x1514,
    LF_INTERFACE = 0x1519,
    LF_FUNC_ID = 0x1601,
    LF_MFUNC_ID = 0x1602,
    LF_STRING_ID = 0x1605,
    LF_CLASS2 = 0x1608,
    LF_STRUCTURE2 = 0x1609,
    LF_UNION2 = 0x160a,
    LF_INTERFACE2 = 0x160b,
};

// CV_prop_t bits of a UDT or enum.
inline constexpr uint32_t kPropForwardRef = 0x80;
inline constexpr uint32_t kPropScoped = 0x100;
inline constexpr uint32_t kPropHasUniqueName = 0x200;

// A numeric leaf (a value < 0x8000 inline, else LF_CHAR..LF_UQUADWORD) at
// off; advances off past it. Signed leaves sign-extend into value.
struct Numeric {
    int64_t value = 0;
    bool isUnsigned64 = false;  // LF_UQUADWORD: value holds the bits
    uint64_t asUnsigned() const { return static_cast<uint64_t>(value); }
};
std::optional<Numeric> readNumeric(Bytes b, uint64_t& off);

// A NUL-terminated name at off (to the end of the record when unterminated);
// advances off past the NUL.
std::string_view readName(Bytes b, uint64_t& off);

// LF_CLASS, LF_STRUCTURE, LF_INTERFACE, LF_UNION and their *2 variants.
struct UdtRecord {
    bool isUnion = false;
    uint32_t properties = 0;
    TypeIndex fieldList = 0;
    uint64_t size = 0;
    std::string_view name;
    std::string_view uniqueName;  // empty without kPropHasUniqueName
    bool forwardRef() const { return properties & kPropForwardRef; }
};
bool isUdtLeaf(uint16_t kind);
std::optional<UdtRecord> parseUdt(const TypeRecord& r);

struct EnumRecord {
    uint32_t properties = 0;
    TypeIndex underlying = 0;
    TypeIndex fieldList = 0;
    std::string_view name;
    std::string_view uniqueName;
    bool forwardRef() const { return properties & kPropForwardRef; }
};
std::optional<EnumRecord> parseEnum(const TypeRecord& r);

struct PointerRecord {
    TypeIndex referent = 0;
    uint32_t attributes = 0;
    unsigned mode() const { return (attributes >> 5) & 7; }  // 0 ptr, 1 lref, 2/3 member, 4 rref
    // Bytes of the pointer: the attribute's size field, else from its kind.
    unsigned size() const;
};
std::optional<PointerRecord> parsePointer(const TypeRecord& r);

struct ModifierRecord {
    TypeIndex referent = 0;
    uint16_t modifiers = 0;  // 1 const, 2 volatile, 4 unaligned
};
std::optional<ModifierRecord> parseModifier(const TypeRecord& r);

struct ArrayRecord {
    TypeIndex element = 0;
    TypeIndex indexType = 0;
    uint64_t size = 0;  // bytes of the whole array
};
std::optional<ArrayRecord> parseArray(const TypeRecord& r);

struct BitfieldRecord {
    TypeIndex type = 0;
    uint8_t length = 0;
    uint8_t position = 0;
};
std::optional<BitfieldRecord> parseBitfield(const TypeRecord& r);

// LF_FUNC_ID / LF_MFUNC_ID (IPI): the function's name.
struct FuncIdRecord {
    TypeIndex scopeOrParent = 0;
    TypeIndex type = 0;
    std::string_view name;
};
std::optional<FuncIdRecord> parseFuncId(const TypeRecord& r);

// One member of an LF_FIELDLIST.
struct FieldMember {
    uint16_t kind = 0;        // LF_MEMBER, LF_BCLASS, LF_ENUMERATE, LF_INDEX, ...
    std::string_view name;    // LF_MEMBER, LF_ENUMERATE, LF_NESTTYPE, ...
    TypeIndex type = 0;       // member type, base class, LF_INDEX continuation
    Numeric value;            // LF_MEMBER/LF_BCLASS offset, LF_ENUMERATE value
};
// Walks the members of one field list record; fn returns false to stop.
// Returns false when a member is damaged or of an unknown kind (the members
// before it were delivered).
bool forEachMember(Bytes fieldList, const std::function<bool(const FieldMember&)>& fn);

// A simple (built-in) type index below 0x1000: low byte the type, bits 8..11
// the pointer mode. nullopt for an index this decoder does not know.
struct SimpleType {
    types::TypeKind kind = types::TypeKind::Void;  // Void, Base or Pointer
    types::BaseKind base = types::BaseKind::Void;
    uint32_t size = 0;        // Base: bytes of the value; Pointer: pointer size
    TypeIndex pointee = 0;    // Pointer: the direct simple type
};
std::optional<SimpleType> simpleType(TypeIndex ti);

}  // namespace nt::pdb::cv
