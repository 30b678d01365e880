#include "support/kdump_builder/type_layout.h"

#include <stdexcept>
#include <string>

namespace nt::test::kdump {

const types::Type* TypeLayout::complete(types::TypeId id) const {
    const types::Type* t = types_.type(id);
    if (t && t->incomplete && !t->name.empty()) {
        if (auto full = types_.findType(t->name)) t = types_.type(*full);
    }
    return t;
}

std::optional<FieldInfo> TypeLayout::field(std::string_view type, std::string_view path) const {
    auto id = types_.findType(type);
    if (!id) return std::nullopt;
    const types::Type* cur = complete(*id);
    FieldInfo out;
    while (cur && !path.empty()) {
        size_t dot = path.find('.');
        std::string_view part = path.substr(0, dot);
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
        uint64_t index = 0;
        bool indexed = false;
        if (size_t br = part.find('['); br != std::string_view::npos) {
            index = std::stoull(std::string(part.substr(br + 1)));
            indexed = true;
            part = part.substr(0, br);
        }
        const types::Field* hit = nullptr;
        for (const auto& f : cur->fields)
            if (f.name == part) {
                hit = &f;
                break;
            }
        if (!hit) return std::nullopt;
        out.offset += hit->offset;
        out.bitPosition = hit->bitPosition;
        out.bitLength = hit->bitLength;
        const types::Type* ft = complete(hit->type);
        if (!ft) return std::nullopt;
        if (indexed) {
            if (ft->kind != types::TypeKind::Array || index >= ft->count) return std::nullopt;
            const types::Type* el = complete(ft->target);
            if (!el) return std::nullopt;
            out.offset += index * el->size;
            ft = el;
        }
        out.size = ft->size;
        cur = ft;
    }
    if (!path.empty()) return std::nullopt;
    return out;
}

FieldInfo TypeLayout::at(std::string_view type, std::string_view path) const {
    auto f = field(type, path);
    if (!f) throw std::out_of_range("TypeLayout: no " + std::string(type) + "." + std::string(path));
    return *f;
}

uint64_t TypeLayout::sizeOf(std::string_view type) const {
    auto id = types_.findType(type);
    const types::Type* t = id ? complete(*id) : nullptr;
    if (!t) throw std::out_of_range("TypeLayout: no type " + std::string(type));
    return t->size;
}

std::optional<int64_t> TypeLayout::enumValue(std::string_view enumName, std::string_view enumerator) const {
    auto id = types_.findType(enumName);
    const types::Type* t = id ? complete(*id) : nullptr;
    if (!t) return std::nullopt;
    for (const auto& e : t->enumerators)
        if (e.name == enumerator) return e.value;
    return std::nullopt;
}

}  // namespace nt::test::kdump
