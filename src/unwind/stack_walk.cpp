// The walk loop shared by all machines: one unwinder step per frame, a
// stack scan when the step fails, and the rules that keep a walk honest
// (the caller's sp must be above the callee's, a frame cap, stop at ip 0).
#include "unwind/stack_walk.h"

#include "unwind/unwinders.h"

namespace nt {

std::string_view frameTrustName(FrameTrust t) {
    switch (t) {
        case FrameTrust::Context: return "context";
        case FrameTrust::UnwindInfo: return "cfi";
        case FrameTrust::FramePointer: return "frame_pointer";
        case FrameTrust::Scan: return "scan";
    }
    return "";
}

namespace unwind {

uint64_t readCode(WalkEnv& env, uint64_t addr, std::span<uint8_t> out) {
    if (const Module* m = env.target.moduleAt(addr)) {
        if (const PeImage* img = env.images.image(*m)) {
            uint64_t rva = addr - m->base;
            if (rva <= 0xffffffffull) {
                uint64_t n = img->source().readRva(static_cast<uint32_t>(rva), out);
                if (n == out.size()) return n;
            }
        }
    }
    return env.target.memory().read(addr, out);
}

bool inModuleCode(WalkEnv& env, uint64_t addr) {
    const Module* m = env.target.moduleAt(addr);
    if (!m) return false;
    const PeImage* img = env.images.image(*m);
    if (!img) return true;  // no section table to check against
    return img->isExecutableRva(static_cast<uint32_t>(addr - m->base));
}

}  // namespace unwind

namespace {

// A WoW64 thread stopped in 32-bit code has an x64 context in compatibility
// mode (CS 0x23) whose registers hold the x86 state. WinDbg walks it as x86
// (effective machine x86), and so do we.
constexpr uint64_t kWow64CompatCs = 0x23;

}  // namespace

StackWalk walkStack(const Target& target, ModuleImages& images, const CpuContext& start, const WalkOptions& options) {
    using namespace unwind;
    StackWalk w;
    CpuContext ctx = start;
    if (start.machine() == Machine::Amd64 && (start.get(Reg::Cs) & 0xffff) == kWow64CompatCs) ctx = start.narrowedToX86();
    WalkOptions opts = options;
    // Bounds that do not contain the starting sp describe another stack (the
    // 64-bit stack of a WoW64 thread): ignore them rather than reject every frame.
    if (opts.stackBase && !(ctx.sp() >= opts.stackLimit && ctx.sp() < opts.stackBase)) opts.stackLimit = opts.stackBase = 0;
    WalkEnv env{target, images, opts};
    const Machine m = ctx.machine();
    const unsigned ps = pointerSize(m);
    const Memory& mem = target.memory();
    FrameTrust trust = FrameTrust::Context;
    bool ipIsReturnAddress = false;
    for (unsigned i = 0; i < opts.maxFrames; ++i) {
        const bool first = i == 0;
        StackFrame f;
        f.ip = ctx.ip();
        f.sp = ctx.sp();
        f.fp = ctx.fp();
        f.trust = trust;
        f.context = ctx;

        StepError err = StepError::Failed;
        std::optional<Step> step;
        switch (m) {
            case Machine::Amd64:
                step = stepX64(env, ctx, ipIsReturnAddress, err);
                if (!step && err == StepError::NoUnwindInfo) step = stepX64ProcedureFrame(env, ctx, ipIsReturnAddress);
                break;
            case Machine::X86: step = stepX86(env, ctx, first, err); break;
            case Machine::Arm64: step = stepArm64(env, ctx, first, ipIsReturnAddress, err); break;
            default: break;
        }
        // A step that does not move the stack pointer up is not a step. One
        // exception: ARM64 frame 0 in a leaf (or before its prolog stored
        // anything) returns through lr with sp unchanged.
        auto grows = [&](const Step& s) {
            if (s.caller.sp() > ctx.sp()) return true;
            // A machine frame resumes the interrupted code on its own stack:
            // user mode below a kernel stack, or a thread stack below a DPC
            // or ISR stack. The frame cap bounds a loop of such frames.
            if (s.machineFrame && (s.caller.sp() != ctx.sp() || s.caller.ip() != ctx.ip())) return true;
            return m == Machine::Arm64 && first && s.trust == FrameTrust::UnwindInfo && s.caller.sp() == ctx.sp() &&
                   s.caller.ip() != ctx.ip();
        };
        if (step && !grows(*step)) step.reset();
        // x86 does not fall back to a generic scan: once the EBP chain breaks,
        // stale return addresses on the stack are indistinguishable from live
        // ones without FPO data (Breakpad's scan invents frames exactly
        // there). The frameless-function search inside stepX86 is bounded by
        // esp..ebp and stays.
        if (!step && opts.allowScan && m != Machine::X86) {
            step = stepScan(env, ctx, first);
            // Said whenever a module's x64 unwind data was missing, whether or
            // not the scan then found a caller: a stack that ends here may not
            // really end here. Code outside every module (JIT code; user code
            // in a kernel dump before .reload /user) is printed as a bare
            // address without the warning, as WinDbg does (seed 001).
            if (err == StepError::NoUnwindInfo && m == Machine::Amd64 && w.warning.empty() &&
                target.moduleAt(ctx.ip()))
                w.warning = "Stack unwind information not available. Following frames may be wrong.";
        }
        if (step && !grows(*step)) step.reset();

        if (step) {
            f.returnAddress = step->caller.ip();
            f.isMachineFrame = step->machineFrame;
            f.machineFrameAt = step->machineFrameAt;
            f.frameData = step->frameData;
            f.taskGate = step->taskGate;
        }
        if (m == Machine::X86) {
            // Args to Child: the 4 dwords above the saved ebp and return
            // address; above the return address (the caller's esp) when
            // frame data unwound a frame that has no frame pointer.
            uint64_t ebp = f.fp & 0xffffffff;
            uint64_t argsAt = ebp + 8;
            // A task-gate frame's ebp is the new task's (0 in KiTrap08's TSS):
            // WinDbg still reads its args at ebp+8 (seed 002: the real-mode
            // vectors at linear 8).
            bool taskGate = step && step->taskGate;
            bool viaRecord = step && step->trust == FrameTrust::UnwindInfo && step->frameData &&
                             step->frameData->type != X86FrameData::Type::Standard && !taskGate;
            if (viaRecord) argsAt = step->caller.sp() & 0xffffffff;
            if (viaRecord || taskGate || ebp >= (f.sp & 0xffffffff)) {
                for (unsigned k = 0; k < 4; ++k) {
                    if (auto v = mem.readValue<uint32_t>(argsAt + 4 * k)) {
                        f.args[k] = *v;
                        f.argsPresent |= static_cast<uint8_t>(1u << k);
                    }
                }
            }
        } else if (ps == 8) {
            // x64 home space: [Child-SP+8 .. Child-SP+0x20].
            for (unsigned k = 0; k < 4; ++k) {
                if (auto v = mem.readValue<uint64_t>(f.sp + 8 + 8 * k)) {
                    f.args[k] = *v;
                    f.argsPresent |= static_cast<uint8_t>(1u << k);
                }
            }
        }
        w.frames.push_back(std::move(f));
        if (!step || step->caller.ip() == 0) break;
        ctx = step->caller;
        trust = step->trust;
        env.x86CalleeParamsSize = step->frameData ? step->frameData->paramsSize : 0;
        ipIsReturnAddress = !step->machineFrame;
    }
    return w;
}

}  // namespace nt
