// Address <-> name, as WinDbg prints it: "module!function+0xoff", or
// "module+0xoff" when the module has no symbol covering the address, or a
// bare hex address outside every module.
//
// Providers are tried per module. This part-1 version knows PE exports; the
// PDB, ISF and Breakpad providers plug in behind the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pe/pe_image.h"
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

class Symbolizer {
public:
    Symbolizer(const Target& target, ModuleImages& images) : target_(target), images_(images) {}

    // The nearest symbol at or below addr within its module.
    std::optional<SymbolHit> lookup(uint64_t addr);
    // "ntdll!RtlUserThreadStart+0x21", "sigsegv+0x10d9", or "" outside modules.
    std::string format(uint64_t addr);
    // Like format but for a call site column: falls back to "0x" + hex address.
    std::string formatOrAddress(uint64_t addr);

    // "module!name" or "name" (searched in all modules) -> address.
    std::optional<uint64_t> resolve(std::string_view qualifiedName);
    // Symbols matching a wildcard pattern ("kernel32!Create*") for `x`.
    struct Named {
        uint64_t address;
        std::string module;
        std::string name;
    };
    std::vector<Named> match(std::string_view modulePattern, std::string_view namePattern);

    SymbolState state(const Module& m);

private:
    struct ModSyms {
        bool loaded = false;
        SymbolState state = SymbolState::Deferred;
        std::vector<std::pair<uint64_t, std::string>> byAddr;  // absolute address, name; sorted
    };
    ModSyms& symsFor(const Module& m);

    const Target& target_;
    ModuleImages& images_;
    std::vector<std::pair<uint64_t, ModSyms>> mods_;  // by module base
};

// Case-insensitive wildcard match supporting '*' and '?' (WinDbg `x`, `lm m`).
bool wildcardMatch(std::string_view pattern, std::string_view text);

}  // namespace nt
