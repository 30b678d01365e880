#include "cli/symbol_session.h"

#include <cctype>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "isf/isf_cache.h"
#include "isf/isf_file.h"
#include "symbols/symbolizer.h"
#include "memory/range_memory.h"
#include "pdb/pdb_file.h"

namespace nt {
namespace {

class SymbolFileTarget final : public Target {
public:
    const Memory& memory() const override { return memory_; }

private:
    RangeMemory memory_;
};

// The kernel's PDB names (ntoskrnl, ntkrnlmp, ntkrnlpa, ntkrpamp, ntkrla57) are module "nt" in WinDbg.
std::string moduleNameFor(std::string pdbName) {
    if (size_t cut = pdbName.find_last_of("\\/"); cut != std::string::npos) pdbName = pdbName.substr(cut + 1);
    if (size_t dot = pdbName.find('.'); dot != std::string::npos) pdbName.resize(dot);
    std::string lower;
    for (char c : pdbName) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower.rfind("ntoskrnl", 0) == 0 || lower.rfind("ntkrnl", 0) == 0 || lower.rfind("ntkrpamp", 0) == 0 ||
        lower.rfind("ntkrla57", 0) == 0)
        return "nt";
    return pdbName;
}

// A holder that keeps the PDB alive for as long as its types are used.
class PdbTypesHolder final : public types::TypeProvider {
public:
    explicit PdbTypesHolder(std::unique_ptr<pdb::PdbFile> pdb) : pdb_(std::move(pdb)), types_(pdb_->types()) {}
    bool usable() const { return types_ != nullptr; }
    std::optional<types::TypeId> findType(std::string_view name) const override { return types_->findType(name); }
    const types::Type* type(types::TypeId id) const override { return types_->type(id); }
    void forEachTypeName(const std::function<bool(std::string_view)>& fn) const override { types_->forEachTypeName(fn); }
    unsigned pointerSize() const override { return types_->pointerSize(); }

private:
    std::unique_ptr<pdb::PdbFile> pdb_;
    const types::TypeProvider* types_;
};

}  // namespace

bool looksLikeSymbolFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char head[32] = {};
    in.read(head, sizeof head);
    size_t n = static_cast<size_t>(in.gcount());
    static const char msf[] = "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS";
    if (n >= sizeof msf - 1 && std::memcmp(head, msf, sizeof msf - 1) == 0) return true;
    static const unsigned char xz[] = {0xFD, '7', 'z', 'X', 'Z', 0x00};
    if (n >= sizeof xz && std::memcmp(head, xz, sizeof xz) == 0) return true;
    for (size_t i = 0; i < n; ++i) {
        if (std::isspace(static_cast<unsigned char>(head[i]))) continue;
        return head[i] == '{';
    }
    return false;
}

std::unique_ptr<Engine> openSymbolSession(const std::string& path) {
    auto target = std::make_unique<SymbolFileTarget>();
    target->dumpPath = path;
    std::shared_ptr<const types::TypeProvider> types;
    std::string module;
    std::ifstream in(path, std::ios::binary);
    char c = 0;
    in.get(c);
    if (c == 'M') {
        auto pdb = pdb::PdbFile::open(path);
        target->dumpKind = "symbol file (PDB)";
        target->machine = pdb->machine() == 0x14c ? Machine::X86 : pdb->machine() == 0xaa64 ? Machine::Arm64 : Machine::Amd64;
        module = moduleNameFor(path);
        auto holder = std::make_shared<PdbTypesHolder>(std::move(pdb));
        if (!holder->usable()) throw FormatError(path + ": the PDB has no type information");
        types = holder;
    } else {
        // The decoded table is cached as for a symbol-path ISF: a second
        // `-z` of the same file maps the entry instead of decoding the xz.
        std::shared_ptr<isf::IsfFile> isf = isf::openIsfCached(path, defaultIsfCacheDirectory());
        target->dumpKind = "symbol file (ISF)";
        const auto& meta = isf->metadata();
        target->machine = meta.machine == 0x14c ? Machine::X86 : meta.machine == 0xaa64 ? Machine::Arm64 : Machine::Amd64;
        if (isf->pointerSize() == 4 && meta.machine == 0) target->machine = Machine::X86;
        module = moduleNameFor(meta.hasPdb ? meta.pdbName : path);
        types = isf;
    }
    auto engine = std::make_unique<Engine>(std::move(target));
    engine->addTypeSource(module, types);
    return engine;
}

}  // namespace nt
