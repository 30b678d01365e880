// x86 unwinding by the EBP chain (no FPO data yet: that needs the PDB).
//
// frame:  [ebp] = caller's ebp, [ebp+4] = return address, caller esp = ebp+8.
// Each step is validated: the caller's ebp must be above this one (or 0 at
// the end of the chain), inside the stack when its bounds are known, and the
// return address must point into executable code of a module. Frame 0 may be
// stopped in a prolog before `push ebp; mov ebp, esp` has run; the bytes at
// eip tell, as they do when it stopped in an epilog (leave/pop ebp/ret).
#include "unwind/unwinders.h"

namespace nt::unwind {

namespace {

bool inStack(const WalkOptions& o, uint64_t a) {
    if (o.stackBase == 0) return true;
    return a >= o.stackLimit && a < o.stackBase;
}

}  // namespace

std::optional<Step> stepX86(WalkEnv& env, const CpuContext& ctx, bool firstFrame, StepError& err) {
    err = StepError::Failed;
    const Memory& mem = env.target.memory();
    uint64_t eip = ctx.ip(), esp = ctx.sp() & 0xffffffff, ebp = ctx.fp() & 0xffffffff;
    Step s;
    s.trust = FrameTrust::FramePointer;
    CpuContext c = ctx;

    if (firstFrame) {
        uint8_t code[3] = {};
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
            if (ret && (!(atLeave || atPopRet) || newEbp) && inModuleCode(env, *ret)) {
                if (newEbp) c.set(Reg::Rbp, *newEbp);
                c.setIp(*ret);
                c.setSp(sp + 4);
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

    if (ebp == 0 || ebp < esp || !inStack(env.opts, ebp)) return std::nullopt;
    auto nextEbp = mem.readValue<uint32_t>(ebp);
    auto ret = mem.readValue<uint32_t>(ebp + 4);
    if (!nextEbp || !ret) return std::nullopt;
    if (*nextEbp != 0 && (*nextEbp <= ebp || !inStack(env.opts, *nextEbp))) return std::nullopt;
    if (*ret != 0 && !inModuleCode(env, *ret)) return std::nullopt;
    c.set(Reg::Rbp, *nextEbp);
    c.setIp(*ret);
    c.setSp(ebp + 8);
    s.caller = c;
    err = StepError::None;
    return s;
}

}  // namespace nt::unwind
