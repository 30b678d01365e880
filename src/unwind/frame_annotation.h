// kv's per-frame "(FPO: ...)" suffix, from the frame data that covered the
// frame (StackFrame::frameData).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "unwind/stack_walk.h"

namespace nt {

// Facts about the frame kv may know and the walker does not.
struct FpoAnnotationExtras {
    std::optional<uint64_t> trapFrame;  // KTRAP_FRAME address of a trap frame (type 1)
    std::optional<uint32_t> taskGate;   // TSS selector of a task-gate frame (type 2)
};

// "" when no record covered the frame; otherwise WinDbg's text without the
// leading space:
//   FPO record         (FPO: [params,locals,savedRegs]) in dwords / registers
//                      (FPO: [Uses EBP] [p,l,r]) when it allocates ebp
//                      (FPO: [SEH]) when it has SEH
//   non-FPO            (FPO: [Non-Fpo])
//   trap frame         (FPO: [params,locals] TrapFrame @ 8013eee8)
//   task gate          (FPO: TaskGate 28:0)
// FrameData records (program strings) are shown as WinDbg shows functions of
// modern PDBs, which only have FrameData: [SEH] when the record has SEH,
// [Non-Fpo] when the program finds the return address through ebp
// ("$T0 $ebp = ..."), [Uses EBP] [p,l,r] when it finds it by .raSearch and
// restores ebp from the saved registers, [p,l,r] otherwise.
std::string fpoAnnotation(const StackFrame& frame, const FpoAnnotationExtras& extras = {});

// x64 kernel stacks: a frame unwound through a machine frame inside a
// KTRAP_FRAME (KiSystemServiceCopyEnd, KiPageFault, ...) gets WinDbg's
// "(TrapFrame @ fffff50f`606edc40)"; ktrapFrameRipOffset = offset of
// KTRAP_FRAME.Rip. "" for any other frame.
std::string x64TrapFrameAnnotation(const StackFrame& frame, uint64_t ktrapFrameRipOffset);

}  // namespace nt
