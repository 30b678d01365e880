// A PDB opened for symbolization: the facade over the MSF container, the
// info, DBI and publics streams and the module symbol streams.
//
// Lazy: open() parses only the superblock, the stream directory and the info
// stream; DBI, publics, globals and each module's symbols are read on first
// use. Not thread-safe (the lazy state is filled by const lookups).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arch/procedure_frame.h"
#include "arch/x86_frame_data.h"
#include "base/mapped_file.h"
#include "pdb/dbi.h"
#include "pdb/gsi.h"
#include "pdb/module_symbols.h"
#include "pdb/msf.h"
#include "pdb/pdb_info.h"
#include "pdb/publics.h"
#include "pdb/string_table.h"
#include "types/type_model.h"

namespace nt::pdb {

struct Symbol {
    std::string name;
    uint32_t rva = 0;
    uint32_t size = 0;         // code size of a procedure; 0 for a public
    bool isProcedure = false;  // from a module's S_*PROC32, else a public
};

// One inlined call covering an address (PdbFile::inlineFramesAt).
struct InlineFrame {
    std::string name;      // the inlined function
    std::string file;      // where the address is inside it
    uint32_t line = 0;
    std::string callFile;  // where its caller inlined it
    uint32_t callLine = 0;
};

struct SourceLine {
    std::string file;
    uint32_t line = 0;
    uint32_t rva = 0;  // start of the code of this line
};

class PdbFile {
public:
    // Throws FormatError with a one-line message when the file cannot be
    // read or is not a PDB.
    static std::unique_ptr<PdbFile> open(const std::string& path);
    // The same over bytes the caller keeps alive.
    static std::unique_ptr<PdbFile> openBytes(Bytes bytes);

    const Guid& guid() const { return info_.guid; }
    uint32_t age() const { return info_.age; }  // the info stream's age (what llvm-pdbutil prints)
    // DBI's age, which the linker writes equal to the PE's CodeView (RSDS)
    // age. It differs from age() in stripped Microsoft PDBs (ntdll.pdb:
    // info age 3, DBI age 1); which one a symbol store path uses for those
    // is unverified here (no PE in the corpus references them). Falls back
    // to age() without a DBI.
    uint32_t matchAge() const;
    uint32_t signature() const { return info_.signature; }
    const PdbInfo& info() const { return info_; }
    const Msf& msf() const { return msf_; }

    // IMAGE_FILE_MACHINE_* from DBI; 0 when DBI is absent or damaged.
    uint16_t machine() const;
    // nullptr when DBI is absent or damaged.
    const Dbi* dbi() const;
    const Publics* publics() const;

    // The procedure covering rva, else the nearest public at or below it in
    // the same section; nullopt outside every section.
    std::optional<Symbol> symbolAt(uint32_t rva) const;
    // A public (decorated or not, exact) or a global procedure by name.
    std::optional<uint32_t> rvaOf(std::string_view name) const;
    // The procedure covering rva with its S_FRAMEPROC frame (start is an RVA here).
    std::optional<ProcedureFrame> procedureFrameAt(uint32_t rva) const;
    // The source line whose code holds rva.
    std::optional<SourceLine> lineAt(uint32_t rva) const;

    // A module's symbols (parsed and cached on first use); nullptr for a
    // module without a symbol stream.
    const ModuleSymbols* moduleSymbols(uint16_t module) const;

    // The inlined calls covering rva, innermost first (empty when none).
    // Defined in inline_sites.cpp.
    std::vector<InlineFrame> inlineFramesAt(uint32_t rva) const;

    // The TPI types as a TypeProvider (built lazily; nullptr when the PDB has
    // no usable TPI stream). Defined in pdb_types.cpp.
    const types::TypeProvider* types() const;

    // x86 frame data covering rva: FrameData records first (they carry
    // program strings), then FPO records. Defined in frame_data.cpp.
    std::optional<X86FrameData> frameDataAt(uint32_t rva) const;

private:
    PdbFile() = default;
    void init(Bytes bytes);
    // The module stream and section:offset holding the code at rva.
    struct CodeAt {
        const Dbi* dbi;
        const ModuleSymbols* module;
        uint16_t segment;
        uint32_t offset;
    };
    std::optional<CodeAt> codeAt(uint32_t rva) const;
    const StringTable& names() const;

    MappedFile file_;
    Msf msf_;
    PdbInfo info_;

    mutable bool dbiTried_ = false;
    mutable std::optional<Dbi> dbi_;
    mutable bool publicsTried_ = false;
    mutable std::optional<Publics> publics_;
    mutable bool globalsTried_ = false;
    mutable std::optional<GsiHash> globals_;
    mutable std::optional<StringTable> names_;
    mutable std::map<uint16_t, ModuleSymbols> modules_;
    // Lazily built parts owned by other files of this folder (shared_ptr so
    // that this header needs only their declarations).
    mutable std::shared_ptr<class PdbTypes> types_;
    mutable bool typesTried_ = false;
    mutable std::shared_ptr<class InlineTable> inlines_;
    mutable std::shared_ptr<class FrameDataTable> frameData_;
    mutable bool frameDataTried_ = false;
};

}  // namespace nt::pdb
