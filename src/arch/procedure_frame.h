// A procedure's stack frame as a PDB's S_FRAMEPROC describes it: when a
// module's image (and its x64 .pdata) is not available, this still says
// where the return address is once the prolog has run.
#pragma once

#include <cstdint>
#include <optional>

namespace nt {

struct ProcedureFrame {
    uint64_t start = 0;       // absolute address of the procedure
    uint32_t codeSize = 0;
    uint32_t prologSize = 0;  // offset where the prolog has finished (S_*PROC32 debug start)
    uint32_t epilogStart = 0; // offset of the epilog (debug end); 0 = unknown
    uint32_t frameSize = 0;   // bytes the prolog allocates below the saved registers (cbFrame)
    uint32_t savedRegsSize = 0;  // bytes of callee-saved registers pushed (cbSaveRegs)
    bool stackPointerBased = true;  // locals addressed from rsp (no frame pointer)
};

class ProcedureFrameSource {
public:
    virtual ~ProcedureFrameSource() = default;
    virtual std::optional<ProcedureFrame> procedureFrameAt(uint64_t address) = 0;
};

}  // namespace nt
