// Breakpad .sym symbols: FUNC (with LINE and INLINE records), PUBLIC, and
// STACK WIN records for the x86 unwinder.
#include "breakpad/x86_frame_data.h"
#include "symbols/providers.h"
#include "symbols/symbolizer.h"
#include "symbols/undecorate.h"

namespace nt {
namespace {

// dump_syms writes C++ FUNC names with their parameter lists
// ("ns::C::f(int *,char) const"); WinDbg's k shows the name alone.
std::string withoutParameters(std::string_view name) {
    std::string_view n = name;
    if (n.size() > 6 && n.substr(n.size() - 6) == " const") n.remove_suffix(6);
    if (n.empty() || n.back() != ')') return std::string(name);
    int depth = 0;
    for (size_t i = n.size(); i-- > 0;) {
        if (n[i] == ')') ++depth;
        else if (n[i] == '(' && --depth == 0) return i == 0 ? std::string(name) : std::string(n.substr(0, i));
    }
    return std::string(name);
}

class BreakpadProvider final : public SymbolProvider {
public:
    BreakpadProvider(std::unique_ptr<breakpad::SymFile> sym, std::string path)
        : sym_(std::move(sym)), path_(std::move(path)), x86_(sym_->module().arch == "x86") {}

    // A .sym with FUNC records carries what a private PDB does (functions and
    // lines); one with only PUBLIC records what a public PDB does.
    SymbolState state() const override {
        return sym_->functions().empty() ? SymbolState::PdbSymbols : SymbolState::PrivatePdbSymbols;
    }
    std::string file() const override { return path_; }

    std::optional<ProviderSymbol> symbolAt(uint32_t rva) override {
        auto h = sym_->functionAt(rva);
        if (!h || h->address > 0xFFFFFFFFu) return std::nullopt;
        std::string name = h->isPublic ? undecorateName(h->name, x86_) : withoutParameters(h->name);
        return ProviderSymbol{std::move(name), static_cast<uint32_t>(h->address), static_cast<uint32_t>(h->size)};
    }

    std::optional<uint32_t> rvaOf(std::string_view name) override {
        std::optional<uint32_t> found;
        forEachSymbol([&](const ProviderSymbol& s) {
            if (!equalsIgnoreCase(s.name, name)) return true;
            found = s.rva;
            return false;
        });
        return found;
    }

    void forEachSymbol(const std::function<bool(const ProviderSymbol&)>& fn) override {
        for (const auto& f : sym_->functions()) {
            if (f.address > 0xFFFFFFFFu) continue;
            if (!fn({withoutParameters(f.name), static_cast<uint32_t>(f.address), static_cast<uint32_t>(f.size)})) return;
        }
        for (const auto& p : sym_->publics()) {
            if (p.address > 0xFFFFFFFFu) continue;
            if (!fn({undecorateName(p.name, x86_), static_cast<uint32_t>(p.address), 0})) return;
        }
    }

    std::optional<ProviderLine> lineAt(uint32_t rva) override {
        auto l = sym_->lineAt(rva);
        if (!l) return std::nullopt;
        return ProviderLine{std::string(l->file), l->line, static_cast<uint32_t>(l->address)};
    }

    std::vector<ProviderInline> inlinesAt(uint32_t rva) override {
        std::vector<ProviderInline> out;
        auto frames = sym_->inlineFramesAt(rva);  // outermost first
        for (auto it = frames.rbegin(); it != frames.rend(); ++it)
            out.push_back({withoutParameters(it->name), {}, 0, std::string(it->callSiteFile), it->callSiteLine});
        return out;
    }

    std::optional<X86FrameData> frameDataAt(uint32_t rva) override { return breakpad::x86FrameDataAt(*sym_, rva); }

private:
    std::unique_ptr<breakpad::SymFile> sym_;
    std::string path_;
    bool x86_;
};

}  // namespace

std::unique_ptr<SymbolProvider> makeBreakpadProvider(std::unique_ptr<breakpad::SymFile> sym, std::string path) {
    return std::make_unique<BreakpadProvider>(std::move(sym), std::move(path));
}

}  // namespace nt
