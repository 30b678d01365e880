// Stack walking. Given a register context, produce the frames of a call stack.
//
// Every frame says how it was found (FrameTrust), the way rust-minidump does;
// a walker never accepts a caller whose stack pointer does not move towards
// the stack base, and stops at a frame cap. Stack scanning is the last resort
// and only accepts a candidate that points just after a call instruction in
// an executable section of a module, when the code bytes are present.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "arch/context.h"
#include "arch/procedure_frame.h"
#include "arch/x86_frame_data.h"
#include "pe/pe_image.h"
#include "symbols/symbolizer.h"
#include "target/model.h"

namespace nt {

enum class FrameTrust {
    Context,      // frame 0: the register context itself
    UnwindInfo,   // x64/ARM64 .pdata/.xdata unwind codes (or FPO/FrameData later)
    FramePointer, // x86 EBP chain / ARM64 FP chain, validated
    Scan,         // stack scan, return address after a call instruction
};
std::string_view frameTrustName(FrameTrust t);  // "context", "cfi", "frame_pointer", "scan"

struct StackFrame {
    uint64_t ip = 0;          // instruction pointer of this frame
    uint64_t sp = 0;          // stack pointer in this frame (Child-SP for x64)
    uint64_t fp = 0;          // frame base (ChildEBP for x86)
    uint64_t returnAddress = 0;  // the caller's ip (RetAddr column); 0 when unknown
    std::array<uint64_t, 4> args{};  // x86: 4 dwords above the return address; x64: home slots of the callee's caller frame
    uint8_t argsPresent = 0;  // bit k: args[k] was read from the dump (kb prints ? for the rest)
    FrameTrust trust = FrameTrust::Context;
    CpuContext context;       // registers recovered for this frame
    bool isMachineFrame = false;  // x64 UWOP_PUSH_MACHFRAME (trap/exception frame)
    // x64: where the machine frame's rip slot was (the KTRAP_FRAME's Rip
    // field in a kernel trap frame: kv's "(TrapFrame @ ...)"); 0 = none.
    uint64_t machineFrameAt = 0;
    // x86: the frame data (FPO / FrameData / STACK WIN) that unwound this
    // frame to its caller, for kv's "(FPO: ...)" annotation.
    std::optional<X86FrameData> frameData;
    // x86: a task-gate frame (FRAME_TSS) was left through this TSS selector
    // (the current TSS's Backlink): kv's "(FPO: TaskGate 28:0)".
    std::optional<uint16_t> taskGate;
};

// x86 kernels: the task a task gate interrupted (the double fault handler
// runs as its own task): the selector of the previous task's TSS and the
// registers that TSS saved.
struct X86TaskLink {
    uint16_t selector = 0;
    CpuContext context;
};

struct StackWalk {
    std::vector<StackFrame> frames;
    // Set when the walk had to stop or guess, e.g. WinDbg's
    // "Stack unwind information not available. Following frames may be wrong."
    std::string warning;
};

struct WalkOptions {
    unsigned maxFrames = 256;
    bool allowScan = true;
    // Stack bounds when known (from the TEB / MINIDUMP_THREAD), 0 = unknown.
    uint64_t stackLimit = 0;  // lowest address
    uint64_t stackBase = 0;   // highest address (exclusive)
    // x86 frame data from symbol files (PDB FPO/FrameData, Breakpad STACK WIN); nullptr = none.
    X86FrameDataSource* x86FrameData = nullptr;
    // Procedure frames from PDBs (S_FRAMEPROC): x64 frames of modules whose
    // image (and .pdata) is missing; nullptr = none.
    ProcedureFrameSource* procedureFrames = nullptr;
    // x86 kernel dumps: the previous task of the processor being walked
    // (KPCR.TSS -> Backlink -> GDT -> KTSS); empty = no task switching.
    std::function<std::optional<X86TaskLink>()> x86PreviousTask;
};

// An x64 context in compatibility mode (CS 0x23: a WoW64 thread in 32-bit
// code) is walked as x86; the frames then carry x86 contexts.
StackWalk walkStack(const Target& target, ModuleImages& images, const CpuContext& start, const WalkOptions& opts);

}  // namespace nt
