// x64 unwinding from a PDB's procedure frames when the image, and with it
// .pdata, is not in the dump nor on the image path. An MSVC x64 prolog
// pushes the callee-saved registers (cbSaveRegs bytes) and then allocates
// cbFrame bytes; once the prolog has run (the procedure's "debug start")
// and until its epilog ("debug end"), the return address sits at
// rsp + cbFrame + cbSaveRegs. Only procedures that address their locals
// from rsp qualify: with a frame pointer the allocation may be dynamic.
#include "unwind/unwinders.h"

namespace nt::unwind {

std::optional<Step> stepX64ProcedureFrame(WalkEnv& env, const CpuContext& ctx, bool ipIsReturnAddress) {
    if (!env.opts.procedureFrames) return std::nullopt;
    const uint64_t ip = ctx.ip();
    auto pf = env.opts.procedureFrames->procedureFrameAt(ipIsReturnAddress ? ip - 1 : ip);
    if (!pf || !pf->stackPointerBased || ip < pf->start) return std::nullopt;
    const uint64_t offset = ip - pf->start;
    uint64_t retAt;
    if (offset == 0) {
        retAt = ctx.sp();  // at the entry nothing is pushed yet
    } else if (offset >= pf->prologSize && (pf->epilogStart == 0 || offset <= pf->epilogStart) &&
               pf->prologSize != 0) {
        retAt = ctx.sp() + pf->frameSize + pf->savedRegsSize;
    } else {
        return std::nullopt;  // inside the prolog or the epilog: how much has run is unknown
    }
    auto ret = env.target.memory().readValue<uint64_t>(retAt);
    if (!ret || *ret == 0) return std::nullopt;
    // The caller must be code, and a call must precede the return address
    // when the code bytes are there to check (the 7 bytes the longest call
    // form takes; minidumps often hold only part of them).
    if (!inModuleCode(env, *ret)) return std::nullopt;
    uint8_t before[7];
    if (readCode(env, *ret - sizeof before, before) == sizeof before && !precededByCall(env, Machine::Amd64, *ret))
        return std::nullopt;
    Step s;
    s.caller = ctx;
    s.caller.setIp(*ret);
    s.caller.setSp(retAt + 8);
    s.trust = FrameTrust::UnwindInfo;
    return s;
}

}  // namespace nt::unwind
