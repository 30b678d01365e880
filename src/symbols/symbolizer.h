// Address <-> name, as WinDbg prints it: "module!function+0xoff", or
// "module+0xoff" when the module has no symbol covering the address, or a
// bare hex address outside every module.
//
// Each module's symbols come from one provider, found on first use (WinDbg's
// deferred loading): a PDB, a Breakpad .sym, or the PE exports, searched on
// the symbol path (symsrv/). The symbolizer is also the x86 unwinder's
// source of frame data.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arch/procedure_frame.h"
#include "arch/x86_frame_data.h"
#include "pe/pe_image.h"
#include "symbols/symbol_provider.h"
#include "symsrv/symbol_locator.h"
#include "target/model.h"

namespace nt {

struct SymbolHit {
    const Module* module = nullptr;
    std::string function;        // empty when only the module is known
    uint64_t functionStart = 0;  // absolute address of the function/symbol
    uint64_t displacement = 0;   // addr - functionStart (or addr - module base when no function)
};

// Symbol state of a module as lm prints it.
enum class SymbolState { Deferred, NoSymbols, ExportSymbols, PdbSymbols, PrivatePdbSymbols };
std::string_view symbolStateText(SymbolState s);  // "(deferred)", "(export symbols)", ...

class Symbolizer : public X86FrameDataSource, public ProcedureFrameSource {
public:
    Symbolizer(const Target& target, ModuleImages& images);
    ~Symbolizer() override;

    // --- where symbols come from -------------------------------------------
    // Replaces the symbol path (WinDbg grammar) and forgets loaded symbols.
    void setSymbolPath(std::string_view path);
    const std::string& symbolPathText() const { return pathText_; }
    void setLocatorOptions(symsrv::LocatorOptions options);
    const symsrv::LocatorOptions& locatorOptions() const { return options_; }
    // Where ISF tables found on the path are cached decoded (isf/isf_cache.h;
    // chosen by setSymbolPath); "" = not cached.
    const std::string& isfCacheDirectory() const { return isfCacheDir_; }
    // !sym noisy: every probe of every symbol search is logged.
    void setNoisy(bool noisy) { noisy_ = noisy; }
    bool noisy() const { return noisy_; }
    // Where load messages go (the engine points this at the running command's output).
    void setLog(std::function<void(std::string_view)> log) { log_ = std::move(log); }
    // .reload: forget one module's symbols (nullptr: all); `force` loads them now.
    void reload(const Module* module, bool force);

    // The module's image file on the symbol path (store layout
    // name/TIMESTAMPSIZE/name, servers included); nullopt without a path.
    std::optional<std::string> findImageFile(const Module& m);

    // The module's provider, searched for on first use; nullptr when the
    // module has no symbols at all.
    SymbolProvider* provider(const Module& m);
    SymbolState state(const Module& m);  // Deferred until the module's symbols were looked for
    std::string symbolFile(const Module& m);

    // --- lookups ------------------------------------------------------------
    // The nearest symbol at or below addr within its module.
    std::optional<SymbolHit> lookup(uint64_t addr);
    // "ntdll!RtlUserThreadStart+0x21", "sigsegv+0x10d9", or "" outside modules.
    std::string format(uint64_t addr);
    // Like format but for a call site column: falls back to "0x" + hex address.
    std::string formatOrAddress(uint64_t addr);
    // Source line of the code at addr.
    struct Line {
        std::string file;
        uint32_t line = 0;
        uint64_t address = 0;  // start of the line's code
    };
    std::optional<Line> lineAt(uint64_t addr);
    // Functions inlined at addr, innermost first.
    std::vector<ProviderInline> inlinesAt(uint64_t addr);

    // "module!name" or "name" (searched in all modules) -> address.
    std::optional<uint64_t> resolve(std::string_view qualifiedName);
    // Symbols matching a wildcard pattern ("kernel32!Create*") for `x`.
    struct Named {
        uint64_t address;
        std::string module;
        std::string name;
        uint32_t size = 0;
    };
    std::vector<Named> match(std::string_view modulePattern, std::string_view namePattern);

    std::optional<Hit> x86FrameDataAt(uint64_t address) override;
    std::optional<ProcedureFrame> procedureFrameAt(uint64_t address) override;

private:
    struct ModSyms {
        bool loaded = false;
        std::unique_ptr<SymbolProvider> provider;
        SymbolState state = SymbolState::Deferred;
    };
    ModSyms& symsFor(const Module& m);
    void load(const Module& m, ModSyms& s);
    std::unique_ptr<SymbolProvider> findKernelIsfByRva(const Module& m, std::vector<symsrv::Probe>& probes);
    void logLine(std::string_view s) {
        if (log_) log_(s);
    }

    const Target& target_;
    ModuleImages& images_;
    std::string pathText_;
    std::string isfCacheDir_;  // where decoded ISF tables are kept; "" = nowhere
    symsrv::LocatorOptions options_;
    std::unique_ptr<symsrv::SymbolLocator> locator_;
    bool noisy_ = false;
    std::function<void(std::string_view)> log_;
    std::vector<std::pair<uint64_t, ModSyms>> mods_;  // by module base
};

// Case-insensitive wildcard match supporting '*' and '?' (WinDbg `x`, `lm m`).
bool wildcardMatch(std::string_view pattern, std::string_view text);

// Where decoded ISF tables are kept when no symbol path names a downstream
// store ($NTRIAGE_CACHE, ..., ~/.cache/ntriage/isf; "" = nowhere): what a
// `-z file.json.xz` session, which has no symbol path yet, uses.
std::string defaultIsfCacheDirectory();

}  // namespace nt
