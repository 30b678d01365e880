#include "isf/isf_file.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "isf/xz_decode.h"

namespace nt::isf {

using nlohmann::json;
using types::BaseKind;
using types::Field;
using types::Type;
using types::TypeId;
using types::TypeKind;

namespace {

// Descriptor nesting deeper than this (pointer to pointer to ...) is damage.
constexpr unsigned kMaxDescriptorDepth = 32;
// Array element counts beyond this are damage (and would overflow sizes).
constexpr uint64_t kMaxArrayCount = 1ull << 32;

enum SynthKind { kPointer = 1, kArray, kFunction, kVoid };

json parseSpan(std::string_view doc, JsonSpan span) {
    return json::parse(span.in(doc), nullptr, /*allow_exceptions=*/false);
}

// The "size" member of a type's object. A span from a damaged cache entry
// may not hold an object: no size then, rather than an exception out of
// a type lookup.
bool findSizeMember(std::string_view doc, JsonSpan object, JsonSpan& out) {
    try {
        return findJsonMember(doc, object, "size", out);
    } catch (const FormatError&) {
        return false;
    }
}

std::optional<uint64_t> unsignedOf(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    if (it->is_number_unsigned()) return it->get<uint64_t>();
    const int64_t v = it->get<int64_t>();
    if (v < 0) return std::nullopt;
    return static_cast<uint64_t>(v);
}

std::string stringOf(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

}  // namespace

std::unique_ptr<IsfFile> IsfFile::open(const std::string& path) {
    MappedFile file = MappedFile::open(path);
    Bytes b = file.bytes();
    try {
        return fromBytes(std::span<const uint8_t>(b.data(), b.size()));
    } catch (const FormatError& e) {
        throw FormatError(path + ": " + e.what());
    }
}

std::unique_ptr<IsfFile> IsfFile::fromBytes(std::span<const uint8_t> data) {
    if (looksLikeXz(data)) return fromJson(decodeXz(data));
    if (data.size() > kMaxDecompressedIsf) throw FormatError("ISF: JSON larger than 512 MiB");
    return fromJson(std::string(reinterpret_cast<const char*>(data.data()), data.size()));
}

std::unique_ptr<IsfFile> IsfFile::fromJson(std::string text) {
    auto doc = std::make_shared<IsfDocument>();
    doc->json = std::move(text);
    // Without the RVA order: a session that never asks by address (dt) need not sort.
    doc->index = buildIsfIndex(doc->json, /*withRvaOrder=*/false);
    return fromDocument(std::move(doc));
}

std::unique_ptr<IsfFile> IsfFile::fromDocument(std::shared_ptr<const IsfDocument> doc) {
    auto index = IsfIndex::view(doc->json, doc->index);
    if (!index) throw FormatError("ISF: inconsistent index");
    return fromIndex(*index, std::move(doc));
}

std::unique_ptr<IsfFile> IsfFile::fromIndex(const IsfIndex& index, std::shared_ptr<const void> owner) {
    std::unique_ptr<IsfFile> f(new IsfFile(index, std::move(owner)));
    f->readHeaderSections();
    return f;
}

IsfFile::IsfFile(const IsfIndex& index, std::shared_ptr<const void> owner)
    : owner_(std::move(owner)),
      index_(index),
      json_(index.document()),
      userCount_(index.typeCount(TypeTable::User)),
      enumCount_(index.typeCount(TypeTable::Enum)) {}

// Metadata and base types are small: parsed at open, the rest on demand.
void IsfFile::readHeaderSections() {
    const json meta = parseSpan(json_, index_.metadata());
    const json bases = parseSpan(json_, index_.baseTypes());
    // The builder saw two objects here; anything else is a damaged index.
    if (!meta.is_object() || !bases.is_object()) throw FormatError("ISF: metadata or base_types unreadable");
    meta_.format = stringOf(meta, "format");
    if (auto w = meta.find("windows"); w != meta.end() && w->is_object()) {
        if (auto p = w->find("pdb"); p != w->end() && p->is_object()) {
            meta_.hasPdb = true;
            meta_.pdbName = stringOf(*p, "database");
            meta_.guid = stringOf(*p, "GUID");
            meta_.age = static_cast<uint32_t>(unsignedOf(*p, "age").value_or(0));
            meta_.machine = static_cast<uint32_t>(unsignedOf(*p, "machine_type").value_or(0));
        }
    }

    for (const auto& [name, b] : bases.items()) {
        if (!b.is_object()) continue;
        BaseInfo info;
        info.name = name;
        info.kind = stringOf(b, "kind");
        auto s = b.find("signed");
        info.isSigned = s != b.end() && s->is_boolean() && s->get<bool>();
        info.size = unsignedOf(b, "size").value_or(0);
        bases_.push_back(std::move(info));
    }
    // The "pointer" base type carries the target's pointer size.
    for (const auto& b : bases_)
        if (b.name == "pointer" && (b.size == 4 || b.size == 8)) pointerSize_ = static_cast<unsigned>(b.size);

    // The map is built after the vector stops growing: its keys view the names.
    for (uint32_t i = 0; i < bases_.size(); ++i) baseByName_.emplace(bases_[i].name, i);
    types_.resize(size_t(userCount_) + enumCount_ + bases_.size());
}

// --- types -----------------------------------------------------------------

std::optional<TypeId> IsfFile::findType(std::string_view name) const {
    if (auto u = index_.findType(TypeTable::User, name)) return static_cast<TypeId>(*u);
    if (auto e = index_.findType(TypeTable::Enum, name)) return static_cast<TypeId>(userCount_ + *e);
    return std::nullopt;
}

void IsfFile::forEachTypeName(const std::function<bool(std::string_view)>& fn) const {
    for (uint32_t i = 0; i < userCount_; ++i)
        if (!fn(index_.typeName(TypeTable::User, i))) return;
    for (uint32_t i = 0; i < enumCount_; ++i)
        if (!fn(index_.typeName(TypeTable::Enum, i))) return;
}

const Type* IsfFile::type(TypeId id) const {
    std::lock_guard lock(mu_);
    return typeLocked(id);
}

const Type* IsfFile::typeLocked(TypeId id) const {
    if (id >= types_.size()) return nullptr;
    if (!types_[id]) {
        Type t;
        const size_t u = userCount_, e = enumCount_;
        if (id < u) t = buildUser(id);
        else if (id < u + e) t = buildEnum(static_cast<uint32_t>(id - u));
        else t = buildBase(id - u - e);
        types_[id] = std::make_unique<Type>(std::move(t));
    }
    return types_[id].get();
}

TypeId IsfFile::synth(Type t) const {
    const auto key = std::make_tuple(static_cast<int>(t.kind), t.target, t.count);
    if (t.kind == TypeKind::Pointer || t.kind == TypeKind::Array || t.kind == TypeKind::Function ||
        t.kind == TypeKind::Void) {
        if (auto it = synthIndex_.find(key); it != synthIndex_.end()) return it->second;
    }
    const auto id = static_cast<TypeId>(types_.size());
    types_.push_back(std::make_unique<Type>(std::move(t)));
    if (types_[id]->kind != TypeKind::Struct && types_[id]->kind != TypeKind::Union &&
        types_[id]->kind != TypeKind::Enum)
        synthIndex_.emplace(key, id);
    return id;
}

TypeId IsfFile::voidId() const {
    if (void_ == types::kNoType) {
        Type v;
        v.kind = TypeKind::Void;
        v.base = BaseKind::Void;
        void_ = synth(std::move(v));
    }
    return void_;
}

// Size without building the whole type: user types and enums state their
// size in their own JSON, so arrays of structs need not parse the struct.
uint64_t IsfFile::sizeOf(TypeId id) const {
    if (id >= types_.size()) return 0;
    if (types_[id]) return types_[id]->size;
    const size_t u = userCount_, e = enumCount_;
    if (id < u + e) {
        const auto span = id < u ? index_.typeSpan(TypeTable::User, id)
                                 : index_.typeSpan(TypeTable::Enum, static_cast<uint32_t>(id - u));
        JsonSpan s;
        if (!span || !findSizeMember(json_, *span, s)) return 0;
        uint64_t v = 0;
        const std::string_view text = s.in(json_);
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        return ec == std::errc() && p == text.data() + text.size() ? v : 0;
    }
    return typeLocked(id)->size;  // a base type: cheap
}

IsfFile::Resolved IsfFile::resolve(const void* descriptor, unsigned depth) const {
    const json& d = *static_cast<const json*>(descriptor);
    if (depth > kMaxDescriptorDepth || !d.is_object()) return {voidId()};
    const std::string kind = stringOf(d, "kind");
    const std::string name = stringOf(d, "name");

    if (kind == "base") {
        if (auto it = baseByName_.find(name); it != baseByName_.end())
            return {static_cast<TypeId>(userCount_ + enumCount_ + it->second)};
        return {voidId()};
    }
    if (kind == "struct" || kind == "union" || kind == "class" || kind == "enum") {
        const bool isEnum = kind == "enum";
        if (!isEnum) {
            if (auto u = index_.findType(TypeTable::User, name)) return {static_cast<TypeId>(*u)};
        } else if (auto e = index_.findType(TypeTable::Enum, name)) {
            return {static_cast<TypeId>(userCount_ + *e)};
        }
        // Named but not defined in this file: an incomplete placeholder.
        const std::string key = kind + ":" + name;
        if (auto it = missingNamed_.find(key); it != missingNamed_.end()) return {it->second};
        Type t;
        t.kind = isEnum ? TypeKind::Enum : kind == "union" ? TypeKind::Union : TypeKind::Struct;
        t.name = name;
        t.incomplete = true;
        const TypeId id = synth(std::move(t));
        missingNamed_.emplace(key, id);
        return {id};
    }
    if (kind == "pointer") {
        Type t;
        t.kind = TypeKind::Pointer;
        t.size = pointerSize_;
        auto sub = d.find("subtype");
        t.target = sub != d.end() ? resolve(&*sub, depth + 1).id : voidId();
        return {synth(std::move(t))};
    }
    if (kind == "array") {
        Type t;
        t.kind = TypeKind::Array;
        t.count = std::min(unsignedOf(d, "count").value_or(0), kMaxArrayCount);
        auto sub = d.find("subtype");
        t.target = sub != d.end() ? resolve(&*sub, depth + 1).id : voidId();
        const uint64_t elem = sizeOf(t.target);
        t.size = elem != 0 && t.count > UINT64_MAX / elem ? 0 : elem * t.count;
        return {synth(std::move(t))};
    }
    if (kind == "bitfield") {
        auto sub = d.find("type");
        Resolved r{sub != d.end() ? resolve(&*sub, depth + 1).id : voidId()};
        const uint64_t pos = unsignedOf(d, "bit_position").value_or(0);
        const uint64_t len = unsignedOf(d, "bit_length").value_or(0);
        // A bitfield lies inside its (at most 8-byte) integer.
        if (pos < 64 && len >= 1 && len <= 64 - pos) {
            r.bitPosition = static_cast<uint8_t>(pos);
            r.bitLength = static_cast<uint8_t>(len);
        }
        return r;
    }
    if (kind == "function") {
        Type t;
        t.kind = TypeKind::Function;
        return {synth(std::move(t))};  // ISF does not record the signature
    }
    return {voidId()};
}

Type IsfFile::buildUser(uint32_t index) const {
    Type t;
    t.name = index_.typeName(TypeTable::User, index);
    t.kind = TypeKind::Struct;
    const auto span = index_.typeSpan(TypeTable::User, index);
    const json j = span ? parseSpan(json_, *span) : json();
    if (!j.is_object()) {
        t.incomplete = true;
        return t;
    }
    if (stringOf(j, "kind") == "union") t.kind = TypeKind::Union;
    t.size = unsignedOf(j, "size").value_or(0);
    auto fields = j.find("fields");
    if (fields == j.end() || !fields->is_object()) {
        t.incomplete = true;
        return t;
    }
    for (const auto& [name, f] : fields->items()) {
        if (!f.is_object()) continue;
        auto off = unsignedOf(f, "offset");
        auto ty = f.find("type");
        if (!off || ty == f.end()) continue;
        const Resolved r = resolve(&*ty, 0);
        Field field;
        field.name = name;
        field.offset = *off;
        field.type = r.id;
        field.bitPosition = r.bitPosition;
        field.bitLength = r.bitLength;
        t.fields.push_back(std::move(field));
    }
    // ISF keeps fields in a name-sorted object: declaration order is lost.
    // Offset order, whole members before the bitfields that share their
    // offset (the usual `union { ULONG Flags; struct { ... bits }; }`).
    std::stable_sort(t.fields.begin(), t.fields.end(), [](const Field& a, const Field& b) {
        if (a.offset != b.offset) return a.offset < b.offset;
        if ((a.bitLength != 0) != (b.bitLength != 0)) return a.bitLength == 0;
        return a.bitPosition < b.bitPosition;
    });
    return t;
}

Type IsfFile::buildEnum(uint32_t index) const {
    Type t;
    t.kind = TypeKind::Enum;
    t.name = index_.typeName(TypeTable::Enum, index);
    const auto span = index_.typeSpan(TypeTable::Enum, index);
    const json j = span ? parseSpan(json_, *span) : json();
    if (!j.is_object()) {
        t.incomplete = true;
        return t;
    }
    t.size = unsignedOf(j, "size").value_or(0);
    if (auto it = baseByName_.find(stringOf(j, "base")); it != baseByName_.end())
        t.target = static_cast<TypeId>(userCount_ + enumCount_ + it->second);
    if (auto c = j.find("constants"); c != j.end() && c->is_object()) {
        for (const auto& [name, v] : c->items()) {
            if (!v.is_number_integer()) continue;
            t.enumerators.push_back({name, v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>())
                                                                  : v.get<int64_t>()});
        }
    }
    // Value order (ISF sorts constants by name; declaration order is lost).
    std::stable_sort(t.enumerators.begin(), t.enumerators.end(),
                     [](const auto& a, const auto& b) { return a.value < b.value; });
    return t;
}

Type IsfFile::buildBase(size_t index) const {
    const BaseInfo& b = bases_[index];
    Type t;
    t.kind = TypeKind::Base;
    t.size = b.size;
    if (b.kind == "void" || b.name == "void") {
        t.kind = TypeKind::Void;
        t.base = BaseKind::Void;
        t.size = 0;
    } else if (b.name == "wchar") {
        t.base = BaseKind::WChar;
    } else if (b.name == "HRESULT") {
        t.base = BaseKind::HResult;
    } else if (b.kind == "char") {
        t.base = b.isSigned ? BaseKind::Char : BaseKind::UChar;
    } else if (b.kind == "float") {
        t.base = BaseKind::Float;
    } else if (b.kind == "bool") {
        t.base = BaseKind::Bool;
    } else {
        t.base = b.isSigned ? BaseKind::Int : BaseKind::UInt;
    }
    return t;
}

// --- symbols -----------------------------------------------------------------

// The index's own order when it has one (the cache's), else sorted once here.
std::span<const uint8_t> IsfFile::rvaOrderLocked() const {
    if (!index_.rvaOrderBytes().empty() || index_.symbolCount() == 0) return index_.rvaOrderBytes();
    if (!rvaOrderBuilt_) {
        rvaOrderBuilt_ = true;
        rvaOrder_ = sortSymbolsByRva(index_);
    }
    return {reinterpret_cast<const uint8_t*>(rvaOrder_.data()), rvaOrder_.size() * sizeof(uint32_t)};
}

uint32_t IsfFile::rvaOrderAt(std::span<const uint8_t> order, size_t k) const {
    uint32_t i;
    std::memcpy(&i, order.data() + k * 4, sizeof i);
    return i;  // a damaged entry names no record: symbolRva/symbolName answer 0 and ""
}

std::optional<IsfSymbol> IsfFile::symbolAt(uint64_t rva) const {
    std::lock_guard lock(mu_);
    const std::span<const uint8_t> order = rvaOrderLocked();
    // The first entry whose RVA is above rva (a plain binary search: it
    // stays in bounds even over a damaged, unsorted order).
    size_t lo = 0, hi = order.size() / 4;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (index_.symbolRva(rvaOrderAt(order, mid)) <= rva) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return std::nullopt;
    size_t k = lo - 1;
    // Several names at one address: report the first of them (document order).
    const uint64_t at = index_.symbolRva(rvaOrderAt(order, k));
    while (k > 0 && index_.symbolRva(rvaOrderAt(order, k - 1)) == at) --k;
    return IsfSymbol{index_.symbolName(rvaOrderAt(order, k)), at};
}

std::optional<uint64_t> IsfFile::rvaOf(std::string_view name) const {
    // The hash table is part of the index: no lock, no sorting.
    auto i = index_.findSymbol(name);
    if (!i) return std::nullopt;
    return index_.symbolRva(*i);
}

void IsfFile::forEachSymbol(const std::function<bool(const IsfSymbol&)>& fn) const {
    std::span<const uint8_t> order;
    {
        std::lock_guard lock(mu_);
        order = rvaOrderLocked();
    }
    // Once built the order no longer changes: the callback runs unlocked
    // and may call back into this object.
    for (size_t k = 0; k < order.size() / 4; ++k) {
        const uint32_t i = rvaOrderAt(order, k);
        if (!fn(IsfSymbol{index_.symbolName(i), index_.symbolRva(i)})) return;
    }
}

size_t IsfFile::symbolCount() const { return index_.symbolCount(); }

}  // namespace nt::isf
