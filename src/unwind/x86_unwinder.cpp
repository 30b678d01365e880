// x86 unwinding by the EBP chain (no FPO data yet: that needs the PDB).
//
// frame:  [ebp] = caller's ebp, [ebp+4] = return address, caller esp = ebp+8.
// Each step is validated: the caller's ebp must be above this one (or 0 at
// the end of the chain), inside the stack when its bounds are known, and the
// return address must point into executable code of a module. Frame 0 may be
// stopped in a prolog before `push ebp; mov ebp, esp` has run; the bytes at
// eip tell, as they do when it stopped in an epilog (leave/pop ebp/ret).
// A function without a frame pointer is recognised by its return address
// between esp and ebp (see framelessReturnSlot); that frame counts as Scan.
#include <algorithm>
#include <cstring>

#include "unwind/unwinders.h"
#include "unwind/x86_frame_data_unwind.h"

namespace nt::unwind {

namespace {

bool inStack(const WalkOptions& o, uint64_t a) {
    if (o.stackBase == 0) return true;
    return a >= o.stackLimit && a < o.stackBase;
}

// Largest distance from a call target to the ip we accept as "the same
// function" when checking a direct call.
constexpr uint32_t kMaxFunctionSpan = 0x10000;
constexpr unsigned kMaxFramelessScanWords = 2048;

// Target of the call instruction ending at ret: `E8 rel32` or
// `FF 15 [abs32]` (import-table call), nullopt for other forms.
std::optional<uint32_t> directCallTarget(WalkEnv& env, uint32_t ret) {
    uint8_t b[6];
    if (ret < 6 || readCode(env, ret - 6, b) != 6) return std::nullopt;
    if (b[1] == 0xe8) {
        int32_t rel;
        std::memcpy(&rel, &b[2], 4);
        return static_cast<uint32_t>(ret + rel);
    }
    if (b[0] == 0xff && b[1] == 0x15) {
        uint32_t slot;
        std::memcpy(&slot, &b[2], 4);
        if (auto t = env.target.memory().readValue<uint32_t>(slot)) return *t;
    }
    return std::nullopt;
}

// A function without a frame pointer (FPO, hand-written stubs, libgcc) leaves
// ebp pointing at an ancestor's frame, so the EBP chain would skip it and
// its callers up to that ancestor. Its return address then lies between esp
// and ebp, which in a frame-pointer function holds only locals. Find it: a
// word after a direct call whose target is at most kMaxFunctionSpan below eip
// (the call that entered the current function). Stale return addresses of
// calls the current function itself made earlier lie in [target, eip] and
// are refused (which also gives up frameless self-recursion). With `above`
// (the entry the EBP chain's call points at), only a nearer entry counts:
// no function starts between the current function's entry and eip.
std::optional<uint64_t> framelessReturnSlot(WalkEnv& env, uint64_t eip, uint64_t esp, uint64_t ebp,
                                            std::optional<uint32_t> above) {
    const Memory& mem = env.target.memory();
    uint64_t end = ebp > esp ? std::min<uint64_t>(ebp, esp + 4ull * kMaxFramelessScanWords) : esp;
    for (uint64_t a = esp; a + 4 <= end; a += 4) {
        auto v = mem.readValue<uint32_t>(a);
        if (!v || !inModuleCode(env, *v)) continue;
        auto t = directCallTarget(env, *v);
        if (t && *t <= eip && eip - *t < kMaxFunctionSpan && !(*v >= *t && *v <= eip) && (!above || *t > *above))
            return a;
    }
    return std::nullopt;
}

// The EBP chain and the frame-0 / frameless heuristics, without frame data.
std::optional<Step> stepX86Heuristics(WalkEnv& env, const CpuContext& ctx, bool firstFrame, StepError& err) {
    err = StepError::Failed;
    const Memory& mem = env.target.memory();
    uint64_t eip = ctx.ip(), esp = ctx.sp() & 0xffffffff, ebp = ctx.fp() & 0xffffffff;
    Step s;
    s.trust = FrameTrust::FramePointer;
    CpuContext c = ctx;

    if (firstFrame) {
        uint8_t code[4] = {};
        uint64_t n = readCode(env, eip, code);
        bool atPush = n >= 1 && code[0] == 0x55;
        bool atMov = n >= 2 && ((code[0] == 0x8b && code[1] == 0xec) || (code[0] == 0x89 && code[1] == 0xe5));
        // Frame 0 in an epilog: `leave; ret`, `pop ebp; ret`, or `ret [imm16]`.
        bool atLeave = n >= 2 && code[0] == 0xc9 && (code[1] == 0xc3 || code[1] == 0xc2);
        bool atPopRet = n >= 2 && code[0] == 0x5d && (code[1] == 0xc3 || code[1] == 0xc2);
        bool atRet = n >= 1 && (code[0] == 0xc3 || code[0] == 0xc2);
        if (atLeave || atPopRet || atRet) {
            uint64_t sp = atLeave ? ebp : esp;
            std::optional<uint32_t> newEbp;
            if (atLeave || atPopRet) {
                newEbp = mem.readValue<uint32_t>(sp);
                sp += 4;
            }
            auto ret = mem.readValue<uint32_t>(sp);
            // `ret imm16` also pops the stdcall arguments.
            size_t retAt = atRet ? 0 : 1;
            uint32_t popped = code[retAt] == 0xc2 && n >= retAt + 3 ? code[retAt + 1] | (code[retAt + 2] << 8) : 0;
            if (ret && (!(atLeave || atPopRet) || newEbp) && inModuleCode(env, *ret)) {
                if (newEbp) c.set(Reg::Rbp, *newEbp);
                c.setIp(*ret);
                c.setSp(sp + 4 + popped);
                s.caller = c;
                s.trust = FrameTrust::UnwindInfo;
                return s;
            }
        }
        if (atPush || atMov) {
            // Before push ebp: ret at [esp]. Between push and mov: saved ebp at [esp], ret at [esp+4].
            uint64_t retAt = atPush ? esp : esp + 4;
            auto ret = mem.readValue<uint32_t>(retAt);
            if (ret && inModuleCode(env, *ret)) {
                if (atMov) {
                    auto saved = mem.readValue<uint32_t>(esp);
                    if (!saved) return std::nullopt;
                    c.set(Reg::Rbp, *saved);
                }
                c.setIp(*ret);
                c.setSp(retAt + 4);
                s.caller = c;
                s.trust = FrameTrust::UnwindInfo;
                return s;
            }
        }
    }

    // The EBP-chain candidate. It is trusted when the call before its return
    // address entered the current function (or cannot be decoded); when that
    // call went elsewhere, the current function has no frame pointer and its
    // real return address is searched between esp and ebp first.
    std::optional<Step> chain;
    if (ebp != 0 && ebp >= esp && inStack(env.opts, ebp)) {
        auto nextEbp = mem.readValue<uint32_t>(ebp);
        auto ret = mem.readValue<uint32_t>(ebp + 4);
        if (nextEbp && ret && (*nextEbp == 0 || (*nextEbp > ebp && inStack(env.opts, *nextEbp))) &&
            (*ret == 0 || inModuleCode(env, *ret))) {
            Step cs = s;
            cs.caller.set(Reg::Rbp, *nextEbp);
            cs.caller.setIp(*ret);
            cs.caller.setSp(ebp + 8);
            chain = cs;
        }
    }
    // An indirect call before the chain's return address cannot be checked:
    // trust the chain. A direct call gives the entry of the function it
    // entered; a return slot below ebp whose call entered a function starting
    // nearer to eip wins over the chain.
    bool trustChain = false;
    std::optional<uint32_t> chainEntry;
    if (chain) {
        auto t = chain->caller.ip() ? directCallTarget(env, static_cast<uint32_t>(chain->caller.ip())) : std::nullopt;
        // A chain ending in return address 0 is the thread's first frame: trust it.
        if (!t) trustChain = true;
        else if (*t <= eip && eip - *t < kMaxFunctionSpan) chainEntry = t;
    }
    if (!trustChain && ebp > esp && inStack(env.opts, ebp)) {
        if (auto slot = framelessReturnSlot(env, eip, esp, ebp, chainEntry)) {
            auto ret = mem.readValue<uint32_t>(*slot);
            c.setIp(*ret);
            c.setSp(*slot + 4);
            s.caller = c;  // ebp unchanged: it still belongs to an ancestor
            s.trust = FrameTrust::Scan;
            err = StepError::None;
            return s;
        }
    }
    if (chain) err = StepError::None;
    return chain;
}

}  // namespace

// Frame data from the symbol files (PDB FPO / FrameData, Breakpad STACK WIN)
// first; the heuristics when there is none or it gives no plausible caller.
// The covering record stays on the step either way, for kv's annotation.
std::optional<Step> stepX86(WalkEnv& env, const CpuContext& ctx, bool firstFrame, StepError& err) {
    std::optional<X86FrameDataSource::Hit> hit;
    if (env.opts.x86FrameData) {
        // A return address may follow a call that ends its function: look up the call itself.
        uint64_t at = ctx.ip() & 0xffffffff;
        hit = env.opts.x86FrameData->x86FrameDataAt(firstFrame || at == 0 ? at : at - 1);
        // A FRAME_TSS function (KiTrap08) was entered by a task switch: its
        // caller is the interrupted task, whose registers its TSS saved.
        if (hit && hit->data.type == X86FrameData::Type::Tss && env.opts.x86PreviousTask) {
            if (auto link = env.opts.x86PreviousTask()) {
                Step s;
                s.caller = link->context;
                s.trust = FrameTrust::UnwindInfo;
                s.frameData = hit->data;
                s.taskGate = link->selector;
                err = StepError::None;
                return s;
            }
        }
        if (hit) {
            if (auto s = stepX86FrameData(env, ctx, firstFrame, hit->data, hit->moduleBase)) {
                err = StepError::None;
                return s;
            }
        }
    }
    auto s = stepX86Heuristics(env, ctx, firstFrame, err);
    if (s && hit) s->frameData = std::move(hit->data);
    return s;
}

}  // namespace nt::unwind
