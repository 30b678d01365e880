#include "isf/isf_file.h"

#include <algorithm>
#include <charconv>

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
    std::unique_ptr<IsfFile> f(new IsfFile(std::move(text)));
    f->index();
    return f;
}

IsfFile::IsfFile(std::string text) : json_(std::move(text)) {}

void IsfFile::index() {
    const std::string_view doc = json_;
    const size_t rootBegin = skipJsonWhitespace(doc, 0);
    if (rootBegin >= doc.size() || doc[rootBegin] != '{') throw FormatError("ISF: top level is not a JSON object");

    // One pass over the document: it validates every byte, records where
    // each user type and enum lies, and reads the symbol addresses.
    JsonSpan metaSpan{}, baseSpan{};
    bool haveMeta = false, haveBase = false, haveUser = false;
    auto indexSection = [&](size_t at, std::vector<Named>& out) {
        return scanJsonObject(doc, at, [&](std::string_view key, size_t v) {
            const size_t e = skipJsonValue(doc, v);
            if (doc[v] == '{') out.push_back(Named{decodeJsonString(key), JsonSpan{v, e}});
            return e;
        });
    };
    const size_t rootEnd = scanJsonObject(doc, rootBegin, [&](std::string_view key, size_t v) -> size_t {
        const bool isObject = doc[v] == '{';
        if (key == "user_types" && isObject) {
            haveUser = true;
            return indexSection(v, users_);
        }
        if (key == "enums" && isObject) return indexSection(v, enums_);
        if (key == "symbols" && isObject) return indexSymbols(v);
        const size_t e = skipJsonValue(doc, v);
        if (key == "metadata" && isObject) metaSpan = {v, e}, haveMeta = true;
        if (key == "base_types" && isObject) baseSpan = {v, e}, haveBase = true;
        return e;
    });
    if (skipJsonWhitespace(doc, rootEnd) != doc.size()) throw FormatError("ISF: data after the JSON document");
    if (!haveMeta || !haveBase || !haveUser)
        throw FormatError("ISF: missing metadata, base_types or user_types");

    // Metadata and base types are small: parse them now.
    const json meta = parseSpan(doc, metaSpan);
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

    const json bases = parseSpan(doc, baseSpan);
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

    // Maps are built after the vectors stop growing: their keys view the names.
    for (uint32_t i = 0; i < users_.size(); ++i) userByName_.emplace(users_[i].name, i);
    for (uint32_t i = 0; i < enums_.size(); ++i) enumByName_.emplace(enums_[i].name, i);
    for (uint32_t i = 0; i < bases_.size(); ++i) baseByName_.emplace(bases_[i].name, i);
    types_.resize(users_.size() + enums_.size() + bases_.size());
}

// --- types -----------------------------------------------------------------

std::optional<TypeId> IsfFile::findType(std::string_view name) const {
    if (auto it = userByName_.find(name); it != userByName_.end()) return it->second;
    if (auto it = enumByName_.find(name); it != enumByName_.end())
        return static_cast<TypeId>(users_.size() + it->second);
    return std::nullopt;
}

void IsfFile::forEachTypeName(const std::function<bool(std::string_view)>& fn) const {
    for (const auto& u : users_)
        if (!fn(u.name)) return;
    for (const auto& e : enums_)
        if (!fn(e.name)) return;
}

const Type* IsfFile::type(TypeId id) const {
    std::lock_guard lock(mu_);
    return typeLocked(id);
}

const Type* IsfFile::typeLocked(TypeId id) const {
    if (id >= types_.size()) return nullptr;
    if (!types_[id]) {
        Type t;
        const size_t u = users_.size(), e = enums_.size();
        if (id < u) t = buildUser(id);
        else if (id < u + e) t = buildEnum(id - u);
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
    const size_t u = users_.size(), e = enums_.size();
    if (id < u + e) {
        const Named& n = id < u ? users_[id] : enums_[id - u];
        JsonSpan s;
        if (!findJsonMember(json_, n.span, "size", s)) return 0;
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
            return {static_cast<TypeId>(users_.size() + enums_.size() + it->second)};
        return {voidId()};
    }
    if (kind == "struct" || kind == "union" || kind == "class" || kind == "enum") {
        const bool isEnum = kind == "enum";
        if (!isEnum) {
            if (auto it = userByName_.find(name); it != userByName_.end()) return {it->second};
        } else if (auto it = enumByName_.find(name); it != enumByName_.end()) {
            return {static_cast<TypeId>(users_.size() + it->second)};
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

Type IsfFile::buildUser(size_t index) const {
    Type t;
    const Named& n = users_[index];
    t.name = n.name;
    t.kind = TypeKind::Struct;
    const json j = parseSpan(json_, n.span);
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

Type IsfFile::buildEnum(size_t index) const {
    Type t;
    const Named& n = enums_[index];
    t.kind = TypeKind::Enum;
    t.name = n.name;
    const json j = parseSpan(json_, n.span);
    if (!j.is_object()) {
        t.incomplete = true;
        return t;
    }
    t.size = unsignedOf(j, "size").value_or(0);
    if (auto it = baseByName_.find(stringOf(j, "base")); it != baseByName_.end())
        t.target = static_cast<TypeId>(users_.size() + enums_.size() + it->second);
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

size_t IsfFile::indexSymbols(size_t at) {
    const std::string_view doc = json_;
    return scanJsonObject(doc, at, [&](std::string_view key, size_t v) -> size_t {
        if (doc[v] != '{') return skipJsonValue(doc, v);
        std::optional<uint64_t> rva;
        const size_t end = scanJsonObject(doc, v, [&](std::string_view k, size_t av) {
            const size_t ae = skipJsonValue(doc, av);
            if (k == "address") {
                uint64_t r = 0;
                auto [p, ec] = std::from_chars(doc.data() + av, doc.data() + ae, r);
                if (ec == std::errc() && p == doc.data() + ae) rva = r;
            }
            return ae;
        });
        if (rva) {
            symbolNames_.push_back(decodeJsonString(key));
            symbolsByRva_.emplace_back(*rva, static_cast<uint32_t>(symbolsByRva_.size()));
        }
        return end;
    });
}

// Sorting and the name map wait for the first lookup.
void IsfFile::sortSymbols() const {
    if (symbolsIndexed_) return;
    symbolsIndexed_ = true;
    symbolByName_.reserve(symbolsByRva_.size());
    for (const auto& [rva, i] : symbolsByRva_) symbolByName_.emplace(symbolNames_[i], rva);
    // Ties keep file order (names sorted), so the first name wins.
    std::stable_sort(symbolsByRva_.begin(), symbolsByRva_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
}

std::optional<IsfSymbol> IsfFile::symbolAt(uint64_t rva) const {
    std::lock_guard lock(mu_);
    sortSymbols();
    auto it = std::upper_bound(symbolsByRva_.begin(), symbolsByRva_.end(), rva,
                               [](uint64_t r, const auto& e) { return r < e.first; });
    if (it == symbolsByRva_.begin()) return std::nullopt;
    --it;
    // Several names at one address: report the first of them.
    const uint64_t at = it->first;
    while (it != symbolsByRva_.begin() && std::prev(it)->first == at) --it;
    return IsfSymbol{symbolNames_[it->second], it->first};
}

std::optional<uint64_t> IsfFile::rvaOf(std::string_view name) const {
    std::lock_guard lock(mu_);
    sortSymbols();
    auto it = symbolByName_.find(name);
    if (it == symbolByName_.end()) return std::nullopt;
    return it->second;
}

void IsfFile::forEachSymbol(const std::function<bool(const IsfSymbol&)>& fn) const {
    {
        std::lock_guard lock(mu_);
        sortSymbols();
    }
    // After sorting the vectors no longer change: the callback runs unlocked
    // and may call back into this object.
    for (const auto& [rva, i] : symbolsByRva_)
        if (!fn(IsfSymbol{symbolNames_[i], rva})) return;
}

size_t IsfFile::symbolCount() const {
    std::lock_guard lock(mu_);
    sortSymbols();
    return symbolsByRva_.size();
}

}  // namespace nt::isf
