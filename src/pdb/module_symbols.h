// One module's symbol stream: its procedures (S_[GL]PROC32[_ID|_DPC]) with
// code ranges, and its C13 line information (DEBUG_S_LINES blocks whose
// files come from DEBUG_S_FILECHKSMS and the /names table).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pdb/dbi.h"
#include "pdb/msf.h"
#include "pdb/symbol_records.h"

namespace nt::pdb {

struct Procedure {
    std::string name;
    uint16_t kind = 0;
    uint16_t segment = 0;
    uint32_t offset = 0;
    uint32_t codeSize = 0;
    uint32_t recordOffset = 0;  // in the module stream (what S_PROCREF points at)
    uint32_t debugStart = 0;    // prolog end, from the procedure start
    uint32_t debugEnd = 0;      // epilog start
    std::optional<FrameProc> frame;  // its S_FRAMEPROC
};

struct LineHit {
    uint32_t line = 0;
    uint32_t fileNameOffset = 0;  // into /names
    uint16_t segment = 0;
    uint32_t offset = 0;          // where this line's code starts
};

class ModuleSymbols {
public:
    // Reads the module stream; a damaged stream yields what could be read.
    static ModuleSymbols parse(const StreamReader& stream, const ModuleInfo& info);

    // Sorted by (segment, offset).
    const std::vector<Procedure>& procedures() const { return procs_; }
    // The procedure whose [offset, offset+codeSize) holds segment:offset.
    const Procedure* procedureAt(uint16_t segment, uint32_t offset) const;
    const Procedure* procedureAtRecord(uint32_t recordOffset) const;
    // The line entry at or before segment:offset in the block covering it.
    std::optional<LineHit> lineAt(uint16_t segment, uint32_t offset) const;

private:
    struct LineBlock {
        uint16_t segment = 0;
        uint32_t start = 0;     // code range of the DEBUG_S_LINES subsection
        uint32_t size = 0;
        uint32_t fileNameOffset = 0;
        std::vector<std::pair<uint32_t, uint32_t>> lines;  // (offset from start, line), as stored
    };
    void parseC13(Bytes c13);

    std::vector<Procedure> procs_;
    std::vector<LineBlock> blocks_;
};

}  // namespace nt::pdb
