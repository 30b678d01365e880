// Volatility ISF tables as a module's symbols: symbol RVAs and types, no
// lines. The offline source of kernel layouts (JPCERT's ntkrnlmp tables).
#include "isf/isf_file.h"
#include "symbols/providers.h"
#include "symbols/symbolizer.h"

namespace nt {
namespace {

class IsfProvider final : public SymbolProvider {
public:
    IsfProvider(std::unique_ptr<isf::IsfFile> isf, std::string path) : isf_(std::move(isf)), path_(std::move(path)) {}

    // An ISF table carries symbols and types but no lines: what a public PDB with types gives.
    SymbolState state() const override { return SymbolState::PdbSymbols; }
    std::string file() const override { return path_; }

    std::optional<ProviderSymbol> symbolAt(uint32_t rva) override {
        auto s = isf_->symbolAt(rva);
        if (!s || s->rva > 0xFFFFFFFFu) return std::nullopt;
        return ProviderSymbol{std::string(s->name), static_cast<uint32_t>(s->rva), 0};
    }
    std::optional<uint32_t> rvaOf(std::string_view name) override {
        auto r = isf_->rvaOf(name);
        if (!r || *r > 0xFFFFFFFFu) return std::nullopt;
        return static_cast<uint32_t>(*r);
    }
    void forEachSymbol(const std::function<bool(const ProviderSymbol&)>& fn) override {
        bool go = true;
        isf_->forEachSymbol([&](const isf::IsfSymbol& s) {
            if (go && s.rva <= 0xFFFFFFFFu) go = fn({std::string(s.name), static_cast<uint32_t>(s.rva), 0});
            return go;
        });
    }
    const types::TypeProvider* types() override { return isf_.get(); }

private:
    std::unique_ptr<isf::IsfFile> isf_;
    std::string path_;
};

}  // namespace

std::unique_ptr<SymbolProvider> makeIsfProvider(std::unique_ptr<isf::IsfFile> isf, std::string path) {
    return std::make_unique<IsfProvider>(std::move(isf), std::move(path));
}

}  // namespace nt
