#include "types/dt_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace nt::types {
namespace {

// Pointer chains and arrays of arrays deeper than this are damage (or a
// cycle in a hostile type graph): render a placeholder instead of recursing.
constexpr unsigned kMaxTypeTextDepth = 16;
// Longest string dt shows inline (char arrays, PSTR, _UNICODE_STRING).
constexpr uint64_t kMaxInlineString = 256;

const Type* typeOf(const TypeProvider& tp, TypeId id) {
    return id == kNoType ? nullptr : tp.type(id);
}

std::string typeTextAt(const TypeProvider& tp, TypeId id, unsigned depth) {
    const Type* t = typeOf(tp, id);
    if (!t || depth > kMaxTypeTextDepth) return "??";
    switch (t->kind) {
        case TypeKind::Void: return "Void";
        case TypeKind::Base: return dtBaseName(*t);
        case TypeKind::Pointer:
            return (t->size == 4 ? "Ptr32 " : "Ptr64 ") + typeTextAt(tp, t->target, depth + 1);
        case TypeKind::Array:
            return fmt::format("[{}] ", t->count) + typeTextAt(tp, t->target, depth + 1);
        case TypeKind::Struct:
        case TypeKind::Union:
        case TypeKind::Enum: return t->name;
        case TypeKind::Function: return "<function>";  // the return type is not known here
    }
    return "??";
}

bool printable(uint64_t c) { return c >= 0x20 && c < 0x7f; }

std::string hexSmall(uint64_t v) {  // C's %#x: "0" for zero
    return v == 0 ? "0" : fmt::format("{:#x}", v);
}

std::string hex64(uint64_t v) { return fmt::format("0x{:08x}`{:08x}", v >> 32, v & 0xffffffffu); }

int64_t signExtend(uint64_t v, uint64_t size) {
    if (size >= 8) return static_cast<int64_t>(v);
    const unsigned bits = static_cast<unsigned>(size * 8);
    const uint64_t sign = 1ull << (bits - 1);
    return static_cast<int64_t>((v ^ sign) - sign);
}

std::optional<uint64_t> readUnsigned(const Memory& mem, uint64_t addr, uint64_t size) {
    if (size == 0 || size > 8) return std::nullopt;
    uint8_t buf[8] = {};
    if (!mem.readExact(addr, std::span<uint8_t>(buf, size))) return std::nullopt;
    uint64_t v = 0;
    for (uint64_t i = 0; i < size; ++i) v |= uint64_t(buf[i]) << (8 * i);
    return v;
}

std::optional<std::string> readNarrow(const Memory& mem, uint64_t addr, uint64_t maxLen) {
    return mem.readCString(addr, std::min(maxLen, kMaxInlineString));
}
std::optional<std::string> readWide(const Memory& mem, uint64_t addr, uint64_t maxChars) {
    return mem.readWString(addr, std::min(maxChars, kMaxInlineString));
}

bool isCharKind(BaseKind b) { return b == BaseKind::Char || b == BaseKind::UChar; }
bool isWideKind(BaseKind b) { return b == BaseKind::WChar || b == BaseKind::Char16; }

const Field* fieldNamed(const Type& t, std::string_view name) {
    for (const auto& f : t.fields)
        if (f.name == name) return &f;
    return nullptr;
}

struct Value {
    std::string text;
    std::optional<uint64_t> raw;
};

class Layout {
public:
    Layout(const DtRequest& req) : req_(req), tp_(*req.types), ptr_(tp_.pointerSize() == 4 ? 4 : 8) {}

    // Fields of the struct/union `id` at `addr` (value mode when set).
    // sel: selectors split into components; empty = all fields.
    bool fields(TypeId id, std::optional<uint64_t> addr, const std::vector<std::vector<std::string>>& sel,
                unsigned level, std::vector<DtNode>& out) {
        const Type* t = typeOf(tp_, id);
        if (!t || (t->kind != TypeKind::Struct && t->kind != TypeKind::Union)) return false;
        bool any = false;
        for (const Field& f : t->fields) {
            if (nodes_ >= req_.maxNodes) return any;
            // Which selectors name this field, and what they ask below it.
            bool shown = sel.empty();
            bool expandAll = false;
            std::vector<std::vector<std::string>> sub;
            for (const auto& s : sel) {
                if (s.empty() || !dtWildcardMatch(s[0], f.name)) continue;
                shown = true;
                if (s.size() >= 2) {
                    if (s.size() == 2 && s[1].empty()) expandAll = true;
                    else sub.emplace_back(s.begin() + 1, s.end());
                }
            }
            if (!shown) continue;
            any = true;
            ++nodes_;
            DtNode n = node(f, addr);
            const bool recurse = level < req_.recurse;
            if (expandAll || !sub.empty() || recurse) expand(n, f, expandAll ? decltype(sub){} : sub,
                                                             expandAll || !sub.empty(), level + 1);
            out.push_back(std::move(n));
        }
        return any;
    }

private:
    DtNode node(const Field& f, std::optional<uint64_t> base) {
        DtNode n;
        n.offset = f.offset;
        n.name = f.name;
        n.type = f.type;
        n.bitPosition = f.bitPosition;
        n.bitLength = f.bitLength;
        n.typeText = f.bitLength ? fmt::format("Pos {}, {} Bit{}", f.bitPosition, f.bitLength, f.bitLength == 1 ? "" : "s")
                                 : dtTypeText(tp_, f.type);
        if (base && req_.memory) {
            n.address = *base + f.offset;
            Value v = f.bitLength ? bitfield(f, *n.address) : value(f.type, *n.address, 0);
            n.value = std::move(v.text);
            n.raw = v.raw;
        }
        return n;
    }

    // Sub-fields of a field: its struct in place, or (when explicitly
    // selected, `Ldr.`) the struct a pointer points to.
    void expand(DtNode& n, const Field& f, const std::vector<std::vector<std::string>>& sub, bool explicitSel,
                unsigned level) {
        if (f.bitLength) return;
        const Type* t = typeOf(tp_, f.type);
        if (!t) return;
        std::optional<uint64_t> addr = n.address;
        TypeId inner = f.type;
        if (t->kind == TypeKind::Pointer) {
            if (!explicitSel) return;  // -r does not follow pointers
            inner = t->target;
            if (addr) {
                addr = n.raw;
                if (!addr || *addr == 0) return;  // null or unreadable: nothing to show
            }
        }
        const Type* it = typeOf(tp_, inner);
        if (!it || (it->kind != TypeKind::Struct && it->kind != TypeKind::Union)) return;
        fields(inner, addr, sub, level, n.children);
    }

    Value bitfield(const Field& f, uint64_t addr) {
        const Type* t = typeOf(tp_, f.type);
        const uint64_t size = t ? t->size : 0;
        auto v = readUnsigned(*req_.memory, addr, size);
        if (!v || f.bitPosition + f.bitLength > size * 8) return {"??", std::nullopt};
        const uint64_t bits = f.bitLength >= 64 ? *v >> f.bitPosition
                                                : (*v >> f.bitPosition) & ((1ull << f.bitLength) - 1);
        std::string s = "0y";
        for (int i = f.bitLength - 1; i >= 0; --i) s.push_back((bits >> i) & 1 ? '1' : '0');
        if (f.bitLength > 1) s += fmt::format(" ({})", hexSmall(bits));
        return {s, bits};
    }

    Value value(TypeId id, uint64_t addr, unsigned depth) {
        const Type* t = typeOf(tp_, id);
        const Memory& mem = *req_.memory;
        if (!t || depth > kMaxTypeTextDepth) return {"??", std::nullopt};
        switch (t->kind) {
            case TypeKind::Void:
            case TypeKind::Function: return {"", std::nullopt};
            case TypeKind::Base: {
                auto v = readUnsigned(mem, addr, t->size);
                if (!v) return {"??", std::nullopt};
                return {baseValue(*t, *v), *v};
            }
            case TypeKind::Enum: {
                auto v = readUnsigned(mem, addr, t->size);
                if (!v) return {"??", std::nullopt};
                const int64_t sv = signExtend(*v, t->size);
                for (const auto& e : t->enumerators)
                    if (e.value == sv || static_cast<uint64_t>(e.value) == *v)
                        return {fmt::format("{:x} ( {} )", *v, e.name), *v};
                return {fmt::format("{:x}", *v), *v};
            }
            case TypeKind::Pointer: {
                auto p = readUnsigned(mem, addr, t->size == 4 ? 4 : 8);
                if (!p) return {"??", std::nullopt};
                if (*p == 0) return {"(null) ", 0};
                std::string s = dtPointer(*p, t->size == 4 ? 4 : 8);
                const Type* target = typeOf(tp_, t->target);
                const bool narrow = target && target->kind == TypeKind::Base && isCharKind(target->base);
                const bool wide = target && target->kind == TypeKind::Base && isWideKind(target->base);
                if (narrow || wide) {
                    auto str = narrow ? readNarrow(mem, *p, kMaxInlineString) : readWide(mem, *p, kMaxInlineString);
                    return {s + "  \"" + (str ? *str : readError(*p)) + "\"", *p};
                }
                return {s + " " + dtTypeText(tp_, t->target), *p};
            }
            case TypeKind::Array: {
                const Type* elem = typeOf(tp_, t->target);
                const std::string prefix = fmt::format("[{}] ", t->count);
                if (elem && elem->kind == TypeKind::Base && isCharKind(elem->base)) {
                    auto str = readNarrow(mem, addr, t->count);
                    return {prefix + " \"" + (str ? *str : readError(addr)) + "\"", std::nullopt};
                }
                if (elem && elem->kind == TypeKind::Base && isWideKind(elem->base)) {
                    auto str = readWide(mem, addr, t->count);
                    return {prefix + " \"" + (str ? *str : readError(addr)) + "\"", std::nullopt};
                }
                if (t->count == 0) return {prefix, std::nullopt};
                Value first = value(t->target, addr, depth + 1);
                return {prefix + first.text, first.raw};
            }
            case TypeKind::Struct:
            case TypeKind::Union: return {structValue(*t, addr), std::nullopt};
        }
        return {"??", std::nullopt};
    }

    std::string baseValue(const Type& t, uint64_t v) {
        switch (t.base) {
            case BaseKind::Int:
            case BaseKind::HResult: return fmt::format("0n{}", signExtend(v, t.size));
            case BaseKind::UInt: return t.size == 8 ? hex64(v) : hexSmall(v);
            case BaseKind::Char:
                return fmt::format("{} '{}'", signExtend(v, t.size), printable(v) ? std::string(1, char(v)) : "");
            case BaseKind::UChar:
            case BaseKind::WChar:
            case BaseKind::Char16:
            case BaseKind::Char32:
                return fmt::format("{} '{}'", hexSmall(v), printable(v) ? std::string(1, char(v)) : "");
            case BaseKind::Float:
                if (t.size == 4) {
                    float f;
                    uint32_t u = static_cast<uint32_t>(v);
                    std::memcpy(&f, &u, 4);
                    return fmt::format("{}", f);
                }
                if (t.size == 8) {
                    double d;
                    std::memcpy(&d, &v, 8);
                    return fmt::format("{}", d);
                }
                return hexSmall(v);
            case BaseKind::Bool: return hexSmall(v);
            case BaseKind::Void: return "";
        }
        return hexSmall(v);
    }

    // Structures print their type name; a few well-known ones add their content.
    std::string structValue(const Type& t, uint64_t addr) {
        const Memory& mem = *req_.memory;
        if (t.name == "_LIST_ENTRY" || t.name == "_LIST_ENTRY64" || t.name == "_LIST_ENTRY32") {
            const unsigned ps = t.name == "_LIST_ENTRY64" ? 8 : t.name == "_LIST_ENTRY32" ? 4 : ptr_;
            auto flink = readUnsigned(mem, addr, ps);
            auto blink = readUnsigned(mem, addr + ps, ps);
            auto show = [&](const std::optional<uint64_t>& p) {
                return p ? (ps == 8 ? hex64(*p) : fmt::format("{:#x}", *p)) : std::string("??");
            };
            return fmt::format("{} [ {} - {} ]", t.name, show(flink), show(blink));
        }
        if (t.name == "_UNICODE_STRING") {
            const Field* len = fieldNamed(t, "Length");
            const Field* buf = fieldNamed(t, "Buffer");
            if (!len || !buf) return t.name;
            auto n = readUnsigned(mem, addr + len->offset, 2);
            auto p = readUnsigned(mem, addr + buf->offset, ptr_);
            if (!n || !p) return t.name + " ??";
            if (*n == 0) return t.name + " \"\"";
            auto s = mem.readWString(*p, std::min<uint64_t>(*n / 2, kMaxInlineString));
            if (!s) return t.name + " \"" + readError(*p) + "\"";
            return t.name + " \"" + *s + "\"";
        }
        if (t.name == "_LARGE_INTEGER" || t.name == "_ULARGE_INTEGER") {
            auto v = readUnsigned(mem, addr, 8);
            return t.name + " " + (v ? hex64(*v) : std::string("??"));
        }
        return t.name;
    }

    // What dt shows in place of a string it cannot read.
    std::string readError(uint64_t at) const { return "--- memory read error at address " + dtPointer(at, ptr_) + " ---"; }

    const DtRequest& req_;
    const TypeProvider& tp_;
    unsigned ptr_;
    size_t nodes_ = 0;
};

std::vector<std::string> splitPath(const std::string& s) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        size_t dot = s.find('.', start);
        parts.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return parts;
}

void textLines(const std::vector<DtNode>& nodes, unsigned level, std::vector<std::string>& out) {
    const std::string indent(3 * (level + 1), ' ');
    for (const auto& n : nodes) {
        out.push_back(fmt::format("{}+{:#05x} {:<16} : {}", indent, n.offset, n.name, n.value ? *n.value : n.typeText));
        textLines(n.children, level + 1, out);
    }
}

}  // namespace

std::string dtBaseName(const Type& t) {
    switch (t.base) {
        case BaseKind::Int: return fmt::format("Int{}B", t.size);
        case BaseKind::UInt: return fmt::format("Uint{}B", t.size);
        case BaseKind::Char: return "Char";
        case BaseKind::UChar: return "UChar";
        case BaseKind::WChar:
        case BaseKind::Char16: return "Wchar";
        case BaseKind::Char32: return "Uint4B";
        case BaseKind::Float: return t.size == 8 ? "Double" : "Float";
        case BaseKind::Bool: return "Bool";
        case BaseKind::HResult: return "Int4B";
        case BaseKind::Void: return "Void";
    }
    return "??";
}

std::string dtTypeText(const TypeProvider& types, TypeId id) { return typeTextAt(types, id, 0); }

std::string dtPointer(uint64_t v, unsigned ptrSize) {
    return ptrSize == 8 ? hex64(v) : fmt::format("0x{:08x}", v & 0xffffffffu);
}

std::optional<std::vector<DtNode>> dtLayout(const DtRequest& req) {
    std::vector<std::vector<std::string>> sel;
    for (const auto& f : req.fields) sel.push_back(splitPath(f));
    std::vector<DtNode> out;
    Layout layout(req);
    const bool any = layout.fields(req.type, req.memory ? req.address : std::nullopt, sel, 0, out);
    if (!any && !sel.empty()) return std::nullopt;
    return out;
}

std::vector<std::string> dtText(const std::vector<DtNode>& nodes) {
    std::vector<std::string> out;
    textLines(nodes, 0, out);
    return out;
}

std::vector<std::string> dtEnumText(const Type& t) {
    std::vector<std::string> out;
    for (const auto& e : t.enumerators) out.push_back(fmt::format("   {} = 0n{}", e.name, e.value));
    return out;
}

bool dtWildcardMatch(std::string_view p, std::string_view s) {
    // Iterative glob with single-star backtracking: linear in practice, no recursion.
    size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
    while (si < s.size()) {
        if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
            ++pi;
            ++si;
        } else if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

}  // namespace nt::types
