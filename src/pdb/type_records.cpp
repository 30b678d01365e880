#include "pdb/type_records.h"

namespace nt::pdb::cv {

using types::BaseKind;
using types::TypeKind;

namespace {

enum NumericLeaf : uint16_t {
    LF_NUMERIC = 0x8000,  // also LF_CHAR
    LF_SHORT = 0x8001,
    LF_USHORT = 0x8002,
    LF_LONG = 0x8003,
    LF_ULONG = 0x8004,
    LF_QUADWORD = 0x8009,
    LF_UQUADWORD = 0x800a,
};

constexpr uint8_t kPadFirst = 0xF0;  // LF_PAD0: bytes >= it pad field list members

template <class T>
bool take(Bytes b, uint64_t& off, T& out) {
    auto v = b.get<T>(off);
    if (!v) return false;
    out = *v;
    off += sizeof(T);
    return true;
}

// Name and unique name after the fixed part of a UDT or enum.
void readNames(Bytes b, uint64_t& off, uint32_t props, std::string_view& name, std::string_view& unique) {
    name = readName(b, off);
    if (props & kPropHasUniqueName) unique = readName(b, off);
}

}  // namespace

std::optional<Numeric> readNumeric(Bytes b, uint64_t& off) {
    uint16_t leaf = 0;
    if (!take(b, off, leaf)) return std::nullopt;
    Numeric n;
    if (leaf < LF_NUMERIC) {
        n.value = leaf;
        return n;
    }
    switch (leaf) {
    case LF_NUMERIC: { int8_t v; if (!take(b, off, v)) return std::nullopt; n.value = v; return n; }
    case LF_SHORT: { int16_t v; if (!take(b, off, v)) return std::nullopt; n.value = v; return n; }
    case LF_USHORT: { uint16_t v; if (!take(b, off, v)) return std::nullopt; n.value = v; return n; }
    case LF_LONG: { int32_t v; if (!take(b, off, v)) return std::nullopt; n.value = v; return n; }
    case LF_ULONG: { uint32_t v; if (!take(b, off, v)) return std::nullopt; n.value = v; return n; }
    case LF_QUADWORD: { int64_t v; if (!take(b, off, v)) return std::nullopt; n.value = v; return n; }
    case LF_UQUADWORD: {
        uint64_t v;
        if (!take(b, off, v)) return std::nullopt;
        n.value = static_cast<int64_t>(v);
        n.isUnsigned64 = true;
        return n;
    }
    default:
        return std::nullopt;  // reals, complex and 128-bit values: never a size or an offset
    }
}

std::string_view readName(Bytes b, uint64_t& off) {
    std::string_view s = b.cstring(off, b.size());
    off += s.size() + 1;
    return s;
}

bool isUdtLeaf(uint16_t kind) {
    switch (kind) {
    case LF_CLASS: case LF_STRUCTURE: case LF_INTERFACE: case LF_UNION:
    case LF_CLASS2: case LF_STRUCTURE2: case LF_INTERFACE2: case LF_UNION2:
        return true;
    default:
        return false;
    }
}

std::optional<UdtRecord> parseUdt(const TypeRecord& r) {
    UdtRecord u;
    Bytes b = r.data;
    uint64_t off = 0;
    uint16_t count = 0, props16 = 0;
    uint32_t derived = 0, vshape = 0;
    switch (r.kind) {
    case LF_CLASS: case LF_STRUCTURE: case LF_INTERFACE:
        if (!take(b, off, count) || !take(b, off, props16) || !take(b, off, u.fieldList) ||
            !take(b, off, derived) || !take(b, off, vshape))
            return std::nullopt;
        u.properties = props16;
        break;
    case LF_UNION:
        u.isUnion = true;
        if (!take(b, off, count) || !take(b, off, props16) || !take(b, off, u.fieldList)) return std::nullopt;
        u.properties = props16;
        break;
    // The *2 variants widen the properties to 32 bits and move the member
    // count after the type indices, as a numeric leaf.
    case LF_CLASS2: case LF_STRUCTURE2: case LF_INTERFACE2:
        if (!take(b, off, u.properties) || !take(b, off, u.fieldList) || !take(b, off, derived) ||
            !take(b, off, vshape) || !readNumeric(b, off))
            return std::nullopt;
        break;
    case LF_UNION2:
        u.isUnion = true;
        if (!take(b, off, u.properties) || !take(b, off, u.fieldList) || !readNumeric(b, off)) return std::nullopt;
        break;
    default:
        return std::nullopt;
    }
    auto size = readNumeric(b, off);
    if (!size) return std::nullopt;
    u.size = size->asUnsigned();
    readNames(b, off, u.properties, u.name, u.uniqueName);
    return u;
}

std::optional<EnumRecord> parseEnum(const TypeRecord& r) {
    if (r.kind != LF_ENUM) return std::nullopt;
    EnumRecord e;
    uint64_t off = 0;
    uint16_t count = 0, props = 0;
    if (!take(r.data, off, count) || !take(r.data, off, props) || !take(r.data, off, e.underlying) ||
        !take(r.data, off, e.fieldList))
        return std::nullopt;
    e.properties = props;
    readNames(r.data, off, e.properties, e.name, e.uniqueName);
    return e;
}

unsigned PointerRecord::size() const {
    unsigned s = (attributes >> 13) & 0x3F;
    if (s) return s;
    switch (attributes & 0x1F) {  // CV_ptrtype_e
    case 0x00: return 2;          // near
    case 0x0b: return 6;          // 16:32
    case 0x0c: return 8;          // 64-bit
    default: return 4;
    }
}

std::optional<PointerRecord> parsePointer(const TypeRecord& r) {
    if (r.kind != LF_POINTER) return std::nullopt;
    PointerRecord p;
    uint64_t off = 0;
    if (!take(r.data, off, p.referent) || !take(r.data, off, p.attributes)) return std::nullopt;
    return p;
}

std::optional<ModifierRecord> parseModifier(const TypeRecord& r) {
    if (r.kind != LF_MODIFIER) return std::nullopt;
    ModifierRecord m;
    uint64_t off = 0;
    if (!take(r.data, off, m.referent) || !take(r.data, off, m.modifiers)) return std::nullopt;
    return m;
}

std::optional<ArrayRecord> parseArray(const TypeRecord& r) {
    if (r.kind != LF_ARRAY) return std::nullopt;
    ArrayRecord a;
    uint64_t off = 0;
    if (!take(r.data, off, a.element) || !take(r.data, off, a.indexType)) return std::nullopt;
    auto n = readNumeric(r.data, off);
    if (!n) return std::nullopt;
    a.size = n->asUnsigned();
    return a;
}

std::optional<BitfieldRecord> parseBitfield(const TypeRecord& r) {
    if (r.kind != LF_BITFIELD) return std::nullopt;
    BitfieldRecord f;
    uint64_t off = 0;
    if (!take(r.data, off, f.type) || !take(r.data, off, f.length) || !take(r.data, off, f.position))
        return std::nullopt;
    return f;
}

std::optional<FuncIdRecord> parseFuncId(const TypeRecord& r) {
    if (r.kind != LF_FUNC_ID && r.kind != LF_MFUNC_ID) return std::nullopt;
    FuncIdRecord f;
    uint64_t off = 0;
    if (!take(r.data, off, f.scopeOrParent) || !take(r.data, off, f.type)) return std::nullopt;
    f.name = readName(r.data, off);
    return f;
}

bool forEachMember(Bytes b, const std::function<bool(const FieldMember&)>& fn) {
    uint64_t off = 0;
    // Every member takes at least 2 bytes, so this loop ends.
    while (off < b.size()) {
        FieldMember m;
        uint16_t attr = 0;
        uint32_t skip32 = 0;
        if (!take(b, off, m.kind)) return false;
        bool ok = true;
        switch (m.kind) {
        case LF_MEMBER: {
            ok = take(b, off, attr) && take(b, off, m.type);
            auto v = ok ? readNumeric(b, off) : std::nullopt;
            ok = ok && v;
            if (ok) m.value = *v, m.name = readName(b, off);
            break;
        }
        case LF_BCLASS: {
            ok = take(b, off, attr) && take(b, off, m.type);
            auto v = ok ? readNumeric(b, off) : std::nullopt;
            ok = ok && v;
            if (ok) m.value = *v;
            break;
        }
        case LF_VBCLASS: case LF_IVBCLASS:
            ok = take(b, off, attr) && take(b, off, m.type) && take(b, off, skip32) && readNumeric(b, off) &&
                 readNumeric(b, off);
            break;
        case LF_ENUMERATE: {
            ok = take(b, off, attr);
            auto v = ok ? readNumeric(b, off) : std::nullopt;
            ok = ok && v;
            if (ok) m.value = *v, m.name = readName(b, off);
            break;
        }
        case LF_INDEX: case LF_VFUNCTAB: case LF_FRIENDCLS:
            ok = take(b, off, attr) && take(b, off, m.type);
            break;
        case LF_VFUNCOFF:
            ok = take(b, off, attr) && take(b, off, m.type) && take(b, off, skip32);
            break;
        case LF_STMEMBER: case LF_NESTTYPE: case LF_NESTTYPEEX: case LF_MEMBERMODIFY: case LF_FRIENDFCN:
            ok = take(b, off, attr) && take(b, off, m.type);
            if (ok) m.name = readName(b, off);
            break;
        case LF_METHOD:
            ok = take(b, off, attr) && take(b, off, m.type);  // overload count, method list
            if (ok) m.name = readName(b, off);
            break;
        case LF_ONEMETHOD: {
            ok = take(b, off, attr) && take(b, off, m.type);
            unsigned mprop = (attr >> 2) & 7;  // introducing virtuals carry their vtable offset
            if (ok && (mprop == 4 || mprop == 6)) ok = take(b, off, skip32);
            if (ok) m.name = readName(b, off);
            break;
        }
        default:
            return false;
        }
        if (!ok || off > b.size()) return false;
        if (!fn(m)) return true;
        while (off < b.size()) {
            uint8_t pad = *b.get<uint8_t>(off);
            if (pad < kPadFirst) break;
            off += (pad & 0x0F) ? (pad & 0x0F) : 1;
        }
    }
    return true;
}

std::optional<SimpleType> simpleType(TypeIndex ti) {
    if (ti >= kFirstNonSimpleIndex) return std::nullopt;
    SimpleType s;
    unsigned mode = (ti >> 8) & 0xF;
    uint8_t t = ti & 0xFF;
    if (mode != 0) {
        s.kind = TypeKind::Pointer;
        s.pointee = t;
        switch (mode) {
        case 1: s.size = 2; break;  // near 16
        case 2: case 3: case 4: s.size = 4; break;
        case 5: s.size = 6; break;  // 16:32
        case 6: s.size = 8; break;
        case 7: s.size = 16; break;
        default: return std::nullopt;
        }
        return s;
    }
    auto base = [&](BaseKind k, uint32_t size) {
        s.kind = TypeKind::Base;
        s.base = k;
        s.size = size;
        return s;
    };
    switch (t) {
    case 0x00: case 0x03:  // T_NOTYPE, T_VOID
        s.kind = TypeKind::Void;
        return s;
    case 0x08: return base(BaseKind::HResult, 4);
    case 0x10: case 0x70: return base(BaseKind::Char, 1);   // T_CHAR (signed char), T_RCHAR
    case 0x20: case 0x7c: return base(BaseKind::UChar, 1);  // T_UCHAR, T_CHAR8
    case 0x71: return base(BaseKind::WChar, 2);
    case 0x7a: return base(BaseKind::Char16, 2);
    case 0x7b: return base(BaseKind::Char32, 4);
    case 0x68: return base(BaseKind::Int, 1);
    case 0x69: return base(BaseKind::UInt, 1);
    case 0x11: case 0x72: return base(BaseKind::Int, 2);
    case 0x21: case 0x73: return base(BaseKind::UInt, 2);
    case 0x12: case 0x74: return base(BaseKind::Int, 4);
    case 0x22: case 0x75: return base(BaseKind::UInt, 4);
    case 0x13: case 0x76: return base(BaseKind::Int, 8);
    case 0x23: case 0x77: return base(BaseKind::UInt, 8);
    case 0x14: case 0x78: return base(BaseKind::Int, 16);
    case 0x24: case 0x79: return base(BaseKind::UInt, 16);
    case 0x30: return base(BaseKind::Bool, 1);
    case 0x31: return base(BaseKind::Bool, 2);
    case 0x32: return base(BaseKind::Bool, 4);
    case 0x33: return base(BaseKind::Bool, 8);
    case 0x46: return base(BaseKind::Float, 2);
    case 0x40: return base(BaseKind::Float, 4);
    case 0x44: return base(BaseKind::Float, 6);
    case 0x41: return base(BaseKind::Float, 8);
    case 0x42: return base(BaseKind::Float, 10);
    case 0x43: return base(BaseKind::Float, 16);
    default: return std::nullopt;
    }
}

}  // namespace nt::pdb::cv
