// Internal interface between walkStack and the per-machine unwinders.
//
// Each unwinder computes one step: from a frame's registers to its caller's.
// walkStack owns the loop, the frame cap, the "stack pointer must grow" rule,
// and the fallback to stack scanning.
#pragma once

#include <optional>

#include "unwind/stack_walk.h"

namespace nt::unwind {

struct Step {
    CpuContext caller;
    FrameTrust trust = FrameTrust::UnwindInfo;
    bool machineFrame = false;  // the step popped a machine (trap/exception) frame
    uint64_t machineFrameAt = 0;  // ...whose rip slot is at this address
    std::optional<X86FrameData> frameData;  // x86: the FPO/FrameData record covering the callee
    std::optional<uint16_t> taskGate;       // x86: left a FRAME_TSS frame through this TSS selector
};

enum class StepError {
    None,
    NoUnwindInfo,  // no image / no .pdata for the module: fall back to scanning, with the warning
    Failed,        // unwind data present but the step could not be computed (memory missing, bad data)
};

// Per-walk facts the unwinders need.
struct WalkEnv {
    const Target& target;
    ModuleImages& images;
    const WalkOptions& opts;
    // x86: bytes of parameters the previous (callee) frame's record declared;
    // they sit on this frame's stack below its locals (Breakpad's .cbCalleeParams).
    uint32_t x86CalleeParamsSize = 0;
};

// Reads code bytes at an absolute address: from the module image when one
// is known (covers minidumps without code memory), else from target memory.
uint64_t readCode(WalkEnv& env, uint64_t addr, std::span<uint8_t> out);
// True when addr is inside an executable section of a module whose image is
// known; when the module has no image, true if addr lies in the module.
bool inModuleCode(WalkEnv& env, uint64_t addr);

// ipIsReturnAddress: the frame's ip came from a return address (not from a
// register context or a machine frame), so its call is at ip - 1.
std::optional<Step> stepX64(WalkEnv& env, const CpuContext& ctx, bool ipIsReturnAddress, StepError& err);
std::optional<Step> stepX86(WalkEnv& env, const CpuContext& ctx, bool firstFrame, StepError& err);
std::optional<Step> stepArm64(WalkEnv& env, const CpuContext& ctx, bool firstFrame, bool ipIsReturnAddress,
                              StepError& err);
// x64 without unwind data: the PDB's procedure frame (S_FRAMEPROC) of the
// function, when the ip is past its prolog and before its epilog.
std::optional<Step> stepX64ProcedureFrame(WalkEnv& env, const CpuContext& ctx, bool ipIsReturnAddress);
// Stack scan from the frame's sp upward; nullopt when no candidate passes.
std::optional<Step> stepScan(WalkEnv& env, const CpuContext& ctx, bool firstFrame);

// True when the bytes just before `ret` decode as a call ending at `ret`.
bool precededByCall(WalkEnv& env, Machine m, uint64_t ret);

}  // namespace nt::unwind
