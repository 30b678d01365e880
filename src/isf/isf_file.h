// Volatility 3 Intermediate Symbol Format (ISF) symbol tables: JSON, often
// xz-compressed, describing one module's types and symbol RVAs (e.g. the
// JPCERT ntkrnlmp.pdb tables). Implements the shared type model so that `dt`
// and the NT object model work from an ISF file exactly as from a PDB.
//
// Loading is lazy: open() decompresses and validates the JSON once, then
// indexes user_types and enums by byte range; a type's JSON is parsed the
// first time the type is asked for. Symbols are indexed on first lookup.
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

class IsfFile final : public types::TypeProvider {
public:
    // .json or .json.xz (detected by content, not by name). Throws FormatError.
    static std::unique_ptr<IsfFile> open(const std::string& path);
    // Raw file contents (JSON or xz); copied.
    static std::unique_ptr<IsfFile> fromBytes(std::span<const uint8_t> data);
    static std::unique_ptr<IsfFile> fromJson(std::string json);

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
    explicit IsfFile(std::string json);
    void index();

    struct Named {
        std::string name;
        JsonSpan span;
    };
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
    types::Type buildUser(size_t index) const;
    types::Type buildEnum(size_t index) const;
    types::Type buildBase(size_t index) const;
    Resolved resolve(const void* descriptor, unsigned depth) const;  // descriptor: const nlohmann::json*
    types::TypeId synth(types::Type t) const;
    types::TypeId voidId() const;
    uint64_t sizeOf(types::TypeId id) const;
    size_t indexSymbols(size_t at);  // during index(): returns the end of the section
    void sortSymbols() const;

    std::string json_;
    IsfMetadata meta_;
    unsigned pointerSize_ = 8;

    std::vector<Named> users_;
    std::vector<Named> enums_;
    std::vector<BaseInfo> bases_;
    std::unordered_map<std::string_view, uint32_t> userByName_;
    std::unordered_map<std::string_view, uint32_t> enumByName_;
    std::unordered_map<std::string_view, uint32_t> baseByName_;

    mutable std::mutex mu_;
    // Ids: [0, U) user types, [U, U+E) enums, [U+E, U+E+B) base types, then
    // pointers/arrays/placeholders made while resolving descriptors.
    mutable std::vector<std::unique_ptr<types::Type>> types_;
    mutable std::map<std::tuple<int, types::TypeId, uint64_t>, types::TypeId> synthIndex_;
    mutable std::map<std::string, types::TypeId, std::less<>> missingNamed_;
    mutable types::TypeId void_ = types::kNoType;

    mutable bool symbolsIndexed_ = false;
    std::vector<std::string> symbolNames_;
    mutable std::vector<std::pair<uint64_t, uint32_t>> symbolsByRva_;  // rva, name index
    mutable std::unordered_map<std::string_view, uint64_t> symbolByName_;
};

}  // namespace nt::isf
