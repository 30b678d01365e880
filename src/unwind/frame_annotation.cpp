// The format is dbgeng's (x86 PrintStackCallSite): FRAME_FPO prints [SEH]
// when fHasSEH, else the optional EBP part and [cdwParams,cdwLocals,cbRegs];
// FRAME_NONFPO [Non-Fpo]; FRAME_TRAP [cdwParams,cdwLocals] TrapFrame @ addr;
// FRAME_TSS TaskGate sel:0. Current WinDbg prints "[Uses EBP]" where old
// dbgeng printed "[EBP 0x<saved ebp>]" (seen in published kv output:
// "ntdll!_EH4_CallFilterFunc+0x12 (FPO: [Uses EBP] [0,0,4])").
//
// Unverified: how dbghelp turns a FrameData record (which has no frame type)
// into the FPO_DATA that dbgeng prints. The rule below matches published kv
// output of Windows 10 system DLLs, whose PDBs carry only FrameData:
// "ntdll!NtWaitForSingleObject+0xc (FPO: [3,0,0])" (a .raSearch program with
// 12 bytes of params), "KERNELBASE!WaitForSingleObjectEx+0x99 (FPO: [SEH])",
// "KERNEL32!BaseThreadInitThunk+0x24 (FPO: [Non-Fpo])" (ebp-based program).
#include "unwind/frame_annotation.h"

#include <fmt/format.h>

namespace nt {

namespace {

// The program locates the frame from ebp ("$T0 $ebp = ..." or clang's
// "$T0 $ebp 4 + = ..."): a conventional frame.
bool ebpFramed(const std::string& p) {
    auto t = p.find("$T0 $ebp");
    auto r = p.find(".raSearch");
    return t != std::string::npos && (r == std::string::npos || t < r);
}

// The program restores ebp from the stack (by name, or by CodeView number 22).
bool restoresEbp(const std::string& p) {
    for (std::string_view name : {"$ebp ", "$22 "}) {
        for (size_t at = p.find(name); at != std::string::npos; at = p.find(name, at + 1)) {
            bool tokenStart = at == 0 || p[at - 1] == ' ' || p[at - 1] == '=';
            if (!tokenStart) continue;
            // An assignment target is followed by an expression ending in '^ ='.
            auto eq = p.find('=', at);
            if (eq != std::string::npos && eq > 0 && p.find('^', at) < eq) return true;
        }
    }
    return false;
}

std::string counts(const X86FrameData& d, bool withRegs) {
    if (!withRegs) return fmt::format("[{},{}]", d.paramsSize / 4, d.localsSize / 4);
    return fmt::format("[{},{},{}]", d.paramsSize / 4, d.localsSize / 4, d.savedRegsSize / 4);
}

}  // namespace

std::string fpoAnnotation(const StackFrame& frame, const FpoAnnotationExtras& extras) {
    if (!frame.frameData) return {};
    const X86FrameData& d = *frame.frameData;
    using Type = X86FrameData::Type;
    switch (d.type) {
        case Type::Standard: return "(FPO: [Non-Fpo])";
        case Type::Trap:
            if (extras.trapFrame) return fmt::format("(FPO: {} TrapFrame @ {:08x})", counts(d, false), *extras.trapFrame);
            return fmt::format("(FPO: {})", counts(d, false));
        case Type::Tss: {
            // The selector is the previous task's: the Backlink of the TSS
            // the task gate switched to (KPCR.TSS), which the walker read
            // when it left the frame (StackFrame::taskGate). Without it the
            // selector is left out rather than invented.
            std::optional<uint32_t> selector = extras.taskGate;
            if (!selector && frame.taskGate) selector = *frame.taskGate;
            if (selector) return fmt::format("(FPO: TaskGate {:x}:0)", *selector);
            return "(FPO: TaskGate)";
        }
        case Type::Fpo:
        case Type::FrameData:
            break;
    }
    if (d.hasSeh) return "(FPO: [SEH])";
    if (d.type == Type::FrameData || !d.program.empty()) {
        if (ebpFramed(d.program)) return "(FPO: [Non-Fpo])";
        if (restoresEbp(d.program)) return fmt::format("(FPO: [Uses EBP] {})", counts(d, true));
        return fmt::format("(FPO: {})", counts(d, true));
    }
    if (d.allocatesBasePointer) return fmt::format("(FPO: [Uses EBP] {})", counts(d, true));
    return fmt::format("(FPO: {})", counts(d, true));
}

std::string x64TrapFrameAnnotation(const StackFrame& frame, uint64_t ktrapFrameRipOffset) {
    if (!frame.isMachineFrame || frame.machineFrameAt < ktrapFrameRipOffset) return {};
    uint64_t t = frame.machineFrameAt - ktrapFrameRipOffset;
    return fmt::format("(TrapFrame @ {:08x}`{:08x})", t >> 32, t & 0xffffffff);
}

}  // namespace nt
