// PDB symbols: procedures (with sizes) from the module streams, publics for
// the rest, C13 lines, x86 frame data and TPI types — all read lazily by
// PdbFile. Name lookups that the PDB's own hashes cannot answer (an
// undecorated public name, wildcards) build a name table once.
#include <algorithm>
#include <cctype>

#include "symbols/providers.h"
#include "symbols/symbolizer.h"
#include "symbols/undecorate.h"

namespace nt {
namespace {

// IPI function ids name an anonymous namespace by its mangled tag
// ("?A0xc3a0617d::crash"); WinDbg prints "`anonymous namespace'::crash".
std::string readableScopes(std::string name) {
    for (size_t at = name.find("?A0x"); at != std::string::npos; at = name.find("?A0x", at)) {
        size_t end = at + 4;
        while (end < name.size() && std::isxdigit(static_cast<unsigned char>(name[end]))) ++end;
        const std::string anon = "`anonymous namespace'";
        name.replace(at, end - at, anon);
        at += anon.size();
    }
    return name;
}

class PdbProvider final : public SymbolProvider {
public:
    PdbProvider(std::unique_ptr<pdb::PdbFile> pdb, std::string path) : pdb_(std::move(pdb)), path_(std::move(path)) {
        x86_ = pdb_->machine() == 0x14c;
        // "Private" symbols: the PDB still has module streams (procedures,
        // lines, locals); a stripped public PDB keeps only publics.
        state_ = SymbolState::PdbSymbols;
        if (const pdb::Dbi* d = pdb_->dbi()) {
            for (const auto& m : d->modules())
                if (m.symStream != pdb::kNoStream && m.symByteSize > 4 && pdb_->msf().hasStream(m.symStream)) {
                    state_ = SymbolState::PrivatePdbSymbols;
                    break;
                }
        }
    }

    SymbolState state() const override { return state_; }
    std::string file() const override { return path_; }

    std::optional<ProviderSymbol> symbolAt(uint32_t rva) override {
        auto s = pdb_->symbolAt(rva);
        if (!s) return std::nullopt;
        return ProviderSymbol{s->isProcedure ? s->name : undecorateName(s->name, x86_), s->rva, s->size};
    }

    std::optional<uint32_t> rvaOf(std::string_view name) override {
        if (auto r = pdb_->rvaOf(name)) return r;
        buildNames();
        auto it = std::lower_bound(byName_.begin(), byName_.end(), name, [](const ProviderSymbol& s, std::string_view n) {
            return lessIgnoreCase(s.name, n);
        });
        if (it != byName_.end() && equalsIgnoreCase(it->name, name)) return it->rva;
        return std::nullopt;
    }

    void forEachSymbol(const std::function<bool(const ProviderSymbol&)>& fn) override {
        buildNames();
        for (const auto& s : byName_)
            if (!fn(s)) return;
    }

    std::optional<ProviderLine> lineAt(uint32_t rva) override {
        auto l = pdb_->lineAt(rva);
        if (!l) return std::nullopt;
        return ProviderLine{l->file, l->line, l->rva};
    }
    std::vector<ProviderInline> inlinesAt(uint32_t rva) override {
        std::vector<ProviderInline> out;
        for (auto& f : pdb_->inlineFramesAt(rva))
            out.push_back({readableScopes(f.name), f.file, f.line, f.callFile, f.callLine});
        return out;
    }
    std::optional<X86FrameData> frameDataAt(uint32_t rva) override { return pdb_->frameDataAt(rva); }
    std::optional<ProcedureFrame> procedureFrameAt(uint32_t rva) override { return pdb_->procedureFrameAt(rva); }
    const types::TypeProvider* types() override { return pdb_->types(); }

private:
    static bool lessIgnoreCase(std::string_view a, std::string_view b) {
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
        });
    }

    // Procedures of every module plus the publics, undecorated, sorted by
    // name; a procedure wins over the public at the same address.
    void buildNames() {
        if (namesBuilt_) return;
        namesBuilt_ = true;
        const pdb::Dbi* d = pdb_->dbi();
        if (!d) return;
        std::vector<uint32_t> procRvas;
        for (size_t i = 0; i < d->modules().size() && i < 0xFFFF; ++i) {
            const pdb::ModuleSymbols* ms = pdb_->moduleSymbols(static_cast<uint16_t>(i));
            if (!ms) continue;
            for (const auto& p : ms->procedures())
                if (auto r = d->rvaOf(p.segment, p.offset)) {
                    byName_.push_back({p.name, *r, p.codeSize});
                    procRvas.push_back(*r);
                }
        }
        std::sort(procRvas.begin(), procRvas.end());
        if (const pdb::Publics* pub = pdb_->publics()) {
            for (uint32_t i = 0; i < pub->count(); ++i) {
                auto p = pub->at(i);
                if (!p || !p->rva) continue;
                if (std::binary_search(procRvas.begin(), procRvas.end(), *p->rva)) continue;
                byName_.push_back({undecorateName(p->pub.name, x86_), *p->rva, 0});
            }
        }
        std::stable_sort(byName_.begin(), byName_.end(),
                         [](const ProviderSymbol& a, const ProviderSymbol& b) { return lessIgnoreCase(a.name, b.name); });
    }

    std::unique_ptr<pdb::PdbFile> pdb_;
    std::string path_;
    bool x86_ = false;
    SymbolState state_;
    bool namesBuilt_ = false;
    std::vector<ProviderSymbol> byName_;
};

}  // namespace

std::unique_ptr<SymbolProvider> makePdbProvider(std::unique_ptr<pdb::PdbFile> pdb, std::string path) {
    return std::make_unique<PdbProvider>(std::move(pdb), std::move(path));
}

}  // namespace nt
