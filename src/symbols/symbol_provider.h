// One module's symbols from one kind of symbol file. The symbolizer tries,
// per module: a PDB, a Breakpad .sym, a Volatility ISF table, the PE
// exports — the first that is found answers everything for that module.
// All addresses here are RVAs (module-relative).
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
#include "types/type_model.h"

namespace nt {

enum class SymbolState;

struct ProviderSymbol {
    std::string name;   // undecorated, as WinDbg prints it
    uint32_t rva = 0;
    uint32_t size = 0;  // 0 when unknown (publics, exports)
};

struct ProviderLine {
    std::string file;
    uint32_t line = 0;
    uint32_t rva = 0;  // start of the line's code
};

// A function inlined at an address (lists are innermost first).
struct ProviderInline {
    std::string name;
    std::string file;      // the address's position inside the inlined function, when known
    uint32_t line = 0;
    std::string callFile;  // where the inlined call is (the caller's source position)
    uint32_t callLine = 0;
};

class SymbolProvider {
public:
    virtual ~SymbolProvider() = default;

    virtual SymbolState state() const = 0;
    // The symbol file ("C:\sym\ntdll.pdb\GUID\ntdll.pdb", the .sym path), empty for exports.
    virtual std::string file() const = 0;

    // The symbol covering rva, else the nearest one at or below it that the
    // format considers related (same section for PDB publics).
    virtual std::optional<ProviderSymbol> symbolAt(uint32_t rva) = 0;
    virtual std::optional<uint32_t> rvaOf(std::string_view name) = 0;
    // Every symbol (for `x`); the callback returns false to stop.
    virtual void forEachSymbol(const std::function<bool(const ProviderSymbol&)>& fn) = 0;

    virtual std::optional<ProviderLine> lineAt(uint32_t) { return std::nullopt; }
    virtual std::vector<ProviderInline> inlinesAt(uint32_t) { return {}; }
    virtual std::optional<X86FrameData> frameDataAt(uint32_t) { return std::nullopt; }
    // start is an RVA here.
    virtual std::optional<ProcedureFrame> procedureFrameAt(uint32_t) { return std::nullopt; }
    virtual const types::TypeProvider* types() { return nullptr; }
};

// MSVC-decorated public names as WinDbg shows them: "_main" -> "main",
// "_Sleep@4" -> "Sleep", "@fast@8" -> "fast", "?crash@@YAXXZ" -> "crash",
// "?m@C@ns@@QAEXXZ" -> "ns::C::m", "??0C@@QAE@XZ" -> "C::C". Names it does
// not understand come back unchanged.
std::string undecorateName(std::string_view decorated, bool x86);

}  // namespace nt
