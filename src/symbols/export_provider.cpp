// Export symbols: each export of the module's PE image, sorted by address.
// WinDbg with export symbols names an address by the nearest export at or
// below it, however far.
#include <algorithm>

#include "symbols/providers.h"
#include "symbols/symbolizer.h"
#include "symbols/undecorate.h"

namespace nt {
namespace {

class ExportProvider final : public SymbolProvider {
public:
    ExportProvider(const PeImage& image, uint64_t moduleSize) {
        for (const auto& e : image.exports()) {
            // Forwarders have no code in this module; rva 0 is an unused slot.
            if (!e.forwarder.empty() || e.rva == 0 || e.rva >= moduleSize) continue;
            syms_.push_back({e.name.empty() ? "Ordinal" + std::to_string(e.ordinal) : e.name, e.rva, 0});
        }
        // Several names can share an address (ntdll's NtXxx/ZwXxx pairs).
        // The first of a group is the one printed: prefer the Nt spelling,
        // as WinDbg shows with ntdll's public symbols; otherwise ordinal order.
        auto zw = [](const std::string& n) { return n.size() > 2 && n[0] == 'Z' && n[1] == 'w'; };
        std::stable_sort(syms_.begin(), syms_.end(), [&](const auto& a, const auto& b) {
            if (a.rva != b.rva) return a.rva < b.rva;
            return !zw(a.name) && zw(b.name);
        });
    }
    bool empty() const { return syms_.empty(); }

    SymbolState state() const override { return SymbolState::ExportSymbols; }
    std::string file() const override { return {}; }

    std::optional<ProviderSymbol> symbolAt(uint32_t rva) override {
        auto it = std::upper_bound(syms_.begin(), syms_.end(), rva,
                                   [](uint32_t a, const ProviderSymbol& s) { return a < s.rva; });
        if (it == syms_.begin()) return std::nullopt;
        --it;
        while (it != syms_.begin() && std::prev(it)->rva == it->rva) --it;
        return *it;
    }
    std::optional<uint32_t> rvaOf(std::string_view name) override {
        for (const auto& s : syms_)
            if (equalsIgnoreCase(s.name, name)) return s.rva;
        return std::nullopt;
    }
    void forEachSymbol(const std::function<bool(const ProviderSymbol&)>& fn) override {
        for (const auto& s : syms_)
            if (!fn(s)) return;
    }

private:
    std::vector<ProviderSymbol> syms_;
};

}  // namespace

std::unique_ptr<SymbolProvider> makeExportProvider(const PeImage& image, uint64_t moduleSize) {
    auto p = std::make_unique<ExportProvider>(image, moduleSize);
    if (p->empty()) return nullptr;
    return p;
}

}  // namespace nt
