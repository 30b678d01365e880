// x86 unwinding from symbol-file frame data (PDB FPO / FrameData, Breakpad
// STACK WIN), the way Breakpad's StackwalkerX86 and DIA do it.
#pragma once

#include <optional>

#include "unwind/unwinders.h"

namespace nt::unwind {

// One step from the frame data covering ctx's ip (`data` belongs to the
// module at moduleBase). nullopt when the record does not apply (trap / TSS
// frames, frame 0 in a prolog the record does not describe) or does not
// produce a plausible caller: the caller's esp must grow (and stay inside the
// stack when its bounds are known), and its eip must be 0 (end of stack) or
// lie in a module's code, after a call instruction when the code bytes are
// present. The caller then falls back to the EBP chain and heuristics.
std::optional<Step> stepX86FrameData(WalkEnv& env, const CpuContext& ctx, bool firstFrame, const X86FrameData& data,
                                     uint64_t moduleBase);

// The program Breakpad synthesizes for an FPO record (no program string):
// the return address is found above the callee's parameters, the saved
// registers and the locals (.raSearchStart); a function that allocates ebp
// for its own use saved the caller's ebp in its saved-register area.
std::string fpoProgram(const X86FrameData& data);

}  // namespace nt::unwind
