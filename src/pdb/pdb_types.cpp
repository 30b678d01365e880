#include "pdb/pdb_types.h"

#include "base/error.h"
#include "pdb/pdb_file.h"
#include "pdb/type_records.h"

namespace nt::pdb {

using types::Type;
using types::TypeKind;

namespace {

constexpr uint32_t kTpiStream = 2;
// How many records the pointer-size guess looks at.
constexpr uint32_t kPointerGuessRecords = 4096;

bool isEnumLeaf(uint16_t kind) { return kind == cv::LF_ENUM; }

// Name, unique name and forward-ness of a UDT or enum record.
struct Named {
    uint16_t kind = 0;
    std::string_view name, unique;
    bool forward = false;
};
std::optional<Named> namedOf(const TypeRecord& r) {
    if (cv::isUdtLeaf(r.kind)) {
        auto u = cv::parseUdt(r);
        if (!u) return std::nullopt;
        return Named{r.kind, u->name, u->uniqueName, u->forwardRef()};
    }
    if (isEnumLeaf(r.kind)) {
        auto e = cv::parseEnum(r);
        if (!e) return std::nullopt;
        return Named{r.kind, e->name, e->uniqueName, e->forwardRef()};
    }
    return std::nullopt;
}

// A forward reference and a definition describe the same kind of thing when
// both are enums or both are UDTs (MSVC may declare `struct` and define
// `class`).
bool sameCategory(uint16_t a, uint16_t b) { return isEnumLeaf(a) == isEnumLeaf(b); }

}  // namespace

PdbTypes::PdbTypes(const Msf& msf, uint16_t machine) : PdbTypes(TypeStream::parse(msf, kTpiStream), machine) {}

PdbTypes::PdbTypes(TypeStream tpi, uint16_t machine) : tpi_(std::move(tpi)) {
    incomplete_.incomplete = true;
    switch (machine) {
    case 0x14c: pointerSize_ = 4; break;           // i386
    case 0x8664: case 0xaa64: pointerSize_ = 8; break;
    default: pointerSize_ = guessPointerSize();
    }
}

unsigned PdbTypes::guessPointerSize() const {
    TypeIndex end = tpi_.end();
    for (TypeIndex ti = tpi_.begin(); ti < end && ti - tpi_.begin() < kPointerGuessRecords; ++ti) {
        auto r = tpi_.record(ti);
        if (!r || r->kind != cv::LF_POINTER) continue;
        auto p = cv::parsePointer(*r);
        if (p && p->mode() == 0 && (p->size() == 4 || p->size() == 8)) return p->size();
    }
    return 8;
}

const PdbTypes::NameIndex& PdbTypes::nameIndex() const {
    if (names_) return *names_;
    names_ = std::make_unique<NameIndex>();
    NameIndex& ix = *names_;
    TypeIndex end = tpi_.end();
    for (TypeIndex ti = tpi_.begin(); ti < end; ++ti) {
        auto r = tpi_.record(ti);
        auto n = r ? namedOf(*r) : std::nullopt;
        if (!n || n->name.empty()) continue;
        std::string name(n->name);
        auto [it, fresh] = ix.byName.try_emplace(name, ti);
        if (fresh) {
            ix.names.push_back(n->name);
        } else if (!n->forward) {
            // A definition wins over a forward reference seen earlier.
            auto prev = tpi_.record(it->second);
            auto pn = prev ? namedOf(*prev) : std::nullopt;
            if (!pn || pn->forward) it->second = ti;
        }
        if (!n->forward && !n->unique.empty()) ix.byUnique.try_emplace(std::string(n->unique), ti);
    }
    return ix;
}

std::optional<TypeIndex> PdbTypes::findDefinition(uint16_t kind, std::string_view name, std::string_view unique) const {
    auto matches = [&](TypeIndex c) {
        auto r = tpi_.record(c);
        auto n = r ? namedOf(*r) : std::nullopt;
        if (!n || n->forward || !sameCategory(kind, n->kind)) return false;
        if (!unique.empty() && !n->unique.empty()) return n->unique == unique;
        return n->name == name;
    };
    // Definitions hash by name, scoped ones by unique name.
    for (std::string_view key : {unique, name}) {
        if (key.empty()) continue;
        for (TypeIndex c : tpi_.candidates(key))
            if (matches(c)) return c;
    }
    const NameIndex& ix = nameIndex();
    if (!unique.empty()) {
        if (auto it = ix.byUnique.find(std::string(unique)); it != ix.byUnique.end() && matches(it->second))
            return it->second;
    }
    if (auto it = ix.byName.find(std::string(name)); it != ix.byName.end() && matches(it->second)) return it->second;
    return std::nullopt;
}

std::optional<TypeIndex> PdbTypes::findByHash(std::string_view name) const {
    for (TypeIndex c : tpi_.candidates(name)) {
        auto r = tpi_.record(c);
        auto n = r ? namedOf(*r) : std::nullopt;
        if (n && !n->forward && n->name == name) return c;
    }
    return std::nullopt;
}

std::optional<TypeIndex> PdbTypes::definitionOf(TypeIndex ti) const {
    auto r = tpi_.record(ti);
    auto n = r ? namedOf(*r) : std::nullopt;
    if (!n) return std::nullopt;
    if (!n->forward) return ti;
    return findDefinition(n->kind, n->name, n->unique);
}

std::optional<types::TypeId> PdbTypes::findType(std::string_view name) const {
    if (name.empty()) return std::nullopt;
    try {
        if (auto ti = findByHash(name)) return *ti;
        const NameIndex& ix = nameIndex();
        auto it = ix.byName.find(std::string(name));
        if (it == ix.byName.end()) return std::nullopt;
        // Only a forward reference: still a (incomplete) type of that name.
        return definitionOf(it->second).value_or(it->second);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

const Type* PdbTypes::type(types::TypeId id) const {
    try {
        return typeAt(id, 0);
    } catch (const std::exception&) {
        inProgress_.clear();
        return nullptr;
    }
}

void PdbTypes::forEachTypeName(const std::function<bool(std::string_view)>& fn) const {
    for (std::string_view n : nameIndex().names)
        if (!fn(n)) return;
}

const Type* PdbTypes::typeAt(TypeIndex ti, int depth) const {
    if (depth > kMaxDepth) return &incomplete_;
    if (auto it = byId_.find(ti); it != byId_.end()) return it->second;
    // Re-entered while building ti: a cycle (an array of itself, a modifier
    // of itself). Not cached, so the outer build decides what ti is.
    if (!inProgress_.insert(ti).second) return &incomplete_;
    const Type* t = build(ti, depth);
    inProgress_.erase(ti);
    byId_[ti] = t;
    return t;
}

const Type* PdbTypes::keep(TypeIndex ti, std::unique_ptr<Type> t) const {
    const Type* p = t.get();
    owned_[ti] = std::move(t);
    return p;
}

const Type* PdbTypes::build(TypeIndex ti, int depth) const {
    auto t = std::make_unique<Type>();
    if (ti < kFirstNonSimpleIndex) {
        auto s = cv::simpleType(ti);
        if (!s) return nullptr;
        t->kind = s->kind;
        t->base = s->base;
        t->size = s->size;
        if (s->kind == TypeKind::Pointer) t->target = s->pointee;
        return keep(ti, std::move(t));
    }
    if (!tpi_.contains(ti)) return nullptr;
    auto r = tpi_.record(ti);
    t->incomplete = true;  // until a decoder succeeds
    switch (r->kind) {
    case cv::LF_MODIFIER: {
        auto m = cv::parseModifier(*r);
        if (!m) break;
        const Type* target = typeAt(m->referent, depth + 1);
        return target ? target : keep(ti, std::move(t));
    }
    case cv::LF_BITFIELD: {
        auto b = cv::parseBitfield(*r);
        if (!b) break;
        const Type* target = typeAt(b->type, depth + 1);
        return target ? target : keep(ti, std::move(t));
    }
    case cv::LF_POINTER: {
        auto p = cv::parsePointer(*r);
        if (!p) break;
        t->kind = TypeKind::Pointer;
        t->size = p->size();
        t->target = p->referent;
        t->incomplete = false;
        break;
    }
    case cv::LF_ARRAY: {
        auto a = cv::parseArray(*r);
        if (!a) break;
        t->kind = TypeKind::Array;
        t->size = a->size;
        t->target = a->element;
        const Type* e = typeAt(a->element, depth + 1);
        t->incomplete = !e || e->incomplete;
        if (e && e->size) t->count = a->size / e->size;
        break;
    }
    case cv::LF_PROCEDURE:
    case cv::LF_MFUNCTION:
        t->kind = TypeKind::Function;
        t->incomplete = false;
        break;
    case cv::LF_ENUM: {
        auto e = cv::parseEnum(*r);
        t->kind = TypeKind::Enum;
        if (!e) break;
        t->name = std::string(e->name);
        t->target = e->underlying;
        if (e->forwardRef()) {
            if (auto def = findDefinition(r->kind, e->name, e->uniqueName); def && *def != ti)
                if (const Type* d = typeAt(*def, depth + 1)) return d;
            break;
        }
        const Type* u = typeAt(e->underlying, depth + 1);
        t->size = u ? u->size : 4;
        t->incomplete = false;
        buildEnumerators(*t, e->fieldList);
        break;
    }
    default: {
        if (!cv::isUdtLeaf(r->kind)) return nullptr;  // field lists, arg lists, ...: not data types
        auto u = cv::parseUdt(*r);
        t->kind = (r->kind == cv::LF_UNION || r->kind == cv::LF_UNION2) ? TypeKind::Union : TypeKind::Struct;
        if (!u) break;
        t->name = std::string(u->name);
        if (u->forwardRef()) {
            if (auto def = findDefinition(r->kind, u->name, u->uniqueName); def && *def != ti)
                if (const Type* d = typeAt(*def, depth + 1)) return d;
            break;
        }
        t->size = u->size;
        t->incomplete = false;
        buildUdtFields(*t, u->fieldList, depth);
        break;
    }
    }
    return keep(ti, std::move(t));
}

void PdbTypes::buildUdtFields(Type& t, TypeIndex fieldList, int depth) const {
    (void)depth;  // member types are ids: they are built when asked for
    std::unordered_set<TypeIndex> seen;
    TypeIndex fl = fieldList;
    while (fl != 0) {
        if (seen.size() >= kMaxFieldListRecords || !seen.insert(fl).second) {
            t.incomplete = true;  // an LF_INDEX cycle or an endless chain
            return;
        }
        auto r = tpi_.record(fl);
        if (!r || r->kind != cv::LF_FIELDLIST) {
            t.incomplete = true;
            return;
        }
        TypeIndex next = 0;
        bool ok = cv::forEachMember(r->data, [&](const cv::FieldMember& m) {
            if (t.fields.size() >= kMaxMembers) return false;
            if (m.kind == cv::LF_MEMBER) {
                types::Field f;
                f.name = std::string(m.name);
                f.offset = m.value.asUnsigned();
                f.type = m.type;
                if (auto br = tpi_.record(m.type); br && br->kind == cv::LF_BITFIELD) {
                    if (auto b = cv::parseBitfield(*br)) {
                        f.type = b->type;
                        f.bitPosition = b->position;
                        f.bitLength = b->length;
                    }
                }
                t.fields.push_back(std::move(f));
            } else if (m.kind == cv::LF_BCLASS) {
                t.fields.push_back(types::Field{"__BaseClass", m.value.asUnsigned(), m.type, 0, 0});
            } else if (m.kind == cv::LF_INDEX) {
                next = m.type;
            }
            return true;
        });
        if (!ok || t.fields.size() >= kMaxMembers) {
            t.incomplete = true;
            return;
        }
        fl = next;
    }
}

void PdbTypes::buildEnumerators(Type& t, TypeIndex fieldList) const {
    std::unordered_set<TypeIndex> seen;
    TypeIndex fl = fieldList;
    while (fl != 0) {
        if (seen.size() >= kMaxFieldListRecords || !seen.insert(fl).second) {
            t.incomplete = true;
            return;
        }
        auto r = tpi_.record(fl);
        if (!r || r->kind != cv::LF_FIELDLIST) {
            t.incomplete = true;
            return;
        }
        TypeIndex next = 0;
        bool ok = cv::forEachMember(r->data, [&](const cv::FieldMember& m) {
            if (t.enumerators.size() >= kMaxMembers) return false;
            if (m.kind == cv::LF_ENUMERATE) t.enumerators.push_back({std::string(m.name), m.value.value});
            else if (m.kind == cv::LF_INDEX) next = m.type;
            return true;
        });
        if (!ok || t.enumerators.size() >= kMaxMembers) {
            t.incomplete = true;
            return;
        }
        fl = next;
    }
}

const types::TypeProvider* PdbFile::types() const {
    if (!typesTried_) {
        typesTried_ = true;
        try {
            types_ = std::make_shared<PdbTypes>(msf_, machine());
        } catch (const FormatError&) {
            // No TPI (or a damaged header): the PDB still symbolizes.
        }
    }
    return types_.get();
}

}  // namespace nt::pdb
