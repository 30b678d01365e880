// Volatility 3 Intermediate Symbol Format (ISF) symbol tables: JSON, often
// xz-compressed, describing one module's types and symbol RVAs (e.g. the
// JPCERT ntkrnlmp.pdb tables). Implements the shared type model so that `dt`
// and the NT object model work from an ISF file exactly as from a PDB.
//
// Loading is lazy: the document is validated once and indexed (isf_index.h:
// where each type's JSON lies, symbol names and RVAs, hash tables by name);
// a type's JSON is parsed the first time the type is asked for. The index
// can come from the persistent cache (isf_cache.h) instead: then nothing is
// decoded or scanned at all.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "isf/isf_index.h"
#include "isf/json_scan.h"
#include "types/type_model.h"

namespace nt::isf {

struct IsfMetadata {
    std::string format;     // "6.1.0"
    bool hasPdb = false;    // metadata.windows.pdb present
    std::string pdbName;    // "ntkrnlmp.pdb"
    std::string guid;       // as written: 32 upper-case hex digits
    uint32_t age = 0;
    uint32_t machine = 0;   // IMAGE_FILE_MACHINE_* (0x8664)
};

struct IsfSymbol {
    std::string_view name;
    uint64_t rva = 0;
};

// A decoded document and its index blob (buildIsfIndex), owned together.
struct IsfDocument {
    std::string json;
    std::vector<uint8_t> index;
};

class IsfFile final : public types::TypeProvider {
public:
    // .json or .json.xz (detected by content, not by name), decoded and
    // indexed now; openIsfCached (isf_cache.h) keeps the result for next time.
    // Throws FormatError.
    static std::unique_ptr<IsfFile> open(const std::string& path);
    // Raw file contents (JSON or xz); copied.
    static std::unique_ptr<IsfFile> fromBytes(std::span<const uint8_t> data);
    static std::unique_ptr<IsfFile> fromJson(std::string json);
    // A document already indexed (what the cache writes, then serves from memory).
    static std::unique_ptr<IsfFile> fromDocument(std::shared_ptr<const IsfDocument> document);
    // A document and its index viewed in memory that owner keeps alive (a
    // mapped cache entry). Throws FormatError when the index does not fit.
    static std::unique_ptr<IsfFile> fromIndex(const IsfIndex& index, std::shared_ptr<const void> owner);

    const IsfMetadata& metadata() const { return meta_; }

    // Nearest symbol at or below rva.
    std::optional<IsfSymbol> symbolAt(uint64_t rva) const;
    std::optional<uint64_t> rvaOf(std::string_view name) const;
    size_t symbolCount() const;
    // Every symbol in address order (`x nt!*`); fn returns false to stop.
    void forEachSymbol(const std::function<bool(const IsfSymbol&)>& fn) const;

    // types::TypeProvider
    std::optional<types::TypeId> findType(std::string_view name) const override;
    const types::Type* type(types::TypeId id) const override;
    void forEachTypeName(const std::function<bool(std::string_view)>& fn) const override;
    unsigned pointerSize() const override { return pointerSize_; }

private:
    IsfFile(const IsfIndex& index, std::shared_ptr<const void> owner);
    void readHeaderSections();

    struct BaseInfo {
        std::string name;
        std::string kind;  // int, char, float, bool, void
        bool isSigned = false;
        uint64_t size = 0;
    };
    struct Resolved {
        types::TypeId id = types::kNoType;
        uint8_t bitPosition = 0;
        uint8_t bitLength = 0;
    };

    // All below run with mu_ held.
    const types::Type* typeLocked(types::TypeId id) const;
    types::Type buildUser(uint32_t index) const;
    types::Type buildEnum(uint32_t index) const;
    types::Type buildBase(size_t index) const;
    Resolved resolve(const void* descriptor, unsigned depth) const;  // descriptor: const nlohmann::json*
    types::TypeId synth(types::Type t) const;
    types::TypeId voidId() const;
    uint64_t sizeOf(types::TypeId id) const;
    std::span<const uint8_t> rvaOrderLocked() const;
    uint32_t rvaOrderAt(std::span<const uint8_t> order, size_t k) const;

    std::shared_ptr<const void> owner_;  // the bytes index_ views: memory or a mapped cache entry
    IsfIndex index_;
    std::string_view json_;  // index_.document()
    uint32_t userCount_ = 0, enumCount_ = 0;
    IsfMetadata meta_;
    unsigned pointerSize_ = 8;

    std::vector<BaseInfo> bases_;
    std::unordered_map<std::string_view, uint32_t> baseByName_;

    mutable std::mutex mu_;
    // Ids: [0, U) user types, [U, U+E) enums, [U+E, U+E+B) base types, then
    // pointers/arrays/placeholders made while resolving descriptors.
    mutable std::vector<std::unique_ptr<types::Type>> types_;
    mutable std::map<std::tuple<int, types::TypeId, uint64_t>, types::TypeId> synthIndex_;
    mutable std::map<std::string, types::TypeId, std::less<>> missingNamed_;
    mutable types::TypeId void_ = types::kNoType;

    // Symbol indices by RVA when the index was built without them (a fresh
    // decode that never went to the cache): sorted on the first lookup by address.
    mutable std::vector<uint32_t> rvaOrder_;
    mutable bool rvaOrderBuilt_ = false;
};

}  // namespace nt::isf
