// x64 unwinding from .pdata/.xdata (the Windows x64 exception-handling ABI).
//
// One step, as RtlVirtualUnwind does it:
//  1. find the RUNTIME_FUNCTION covering rip; none in an image that has
//     .pdata means a leaf function: the return address is at [rsp];
//  2. if rip sits in an epilog (add/lea rsp; pops; ret/jmp), emulate the
//     rest of the epilog instead of undoing the prolog;
//  3. otherwise undo the prolog's unwind codes (only the codes whose
//     instruction already ran when rip is inside the prolog), following
//     chained UNWIND_INFO up to a depth cap, then pop the return address
//     (unless a machine frame supplied rip/rsp).
#include <array>
#include <cstring>

#include "unwind/unwinders.h"

namespace nt::unwind {

namespace {

enum : uint8_t {
    UWOP_PUSH_NONVOL = 0,
    UWOP_ALLOC_LARGE = 1,
    UWOP_ALLOC_SMALL = 2,
    UWOP_SET_FPREG = 3,
    UWOP_SAVE_NONVOL = 4,
    UWOP_SAVE_NONVOL_FAR = 5,
    UWOP_EPILOG = 6,  // v2; v1 UWOP_SAVE_XMM (unused)
    UWOP_SPARE_CODE = 7,
    UWOP_SAVE_XMM128 = 8,
    UWOP_SAVE_XMM128_FAR = 9,
    UWOP_PUSH_MACHFRAME = 10,
};
constexpr uint8_t UNW_FLAG_CHAININFO = 4;
constexpr int kMaxChainDepth = 32;

// Unwind-code register numbers (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15).
constexpr std::array<Reg, 16> kRegs = {Reg::Rax, Reg::Rcx, Reg::Rdx, Reg::Rbx, Reg::Rsp, Reg::Rbp, Reg::Rsi, Reg::Rdi,
                                       Reg::R8,  Reg::R9,  Reg::R10, Reg::R11, Reg::R12, Reg::R13, Reg::R14, Reg::R15};

// Slots an unwind code occupies (1 + extra), per the ABI's code table.
unsigned slots(uint8_t op, uint8_t info) {
    switch (op) {
        case UWOP_ALLOC_LARGE: return info == 0 ? 2 : 3;
        case UWOP_SAVE_NONVOL:
        case UWOP_EPILOG:
        case UWOP_SAVE_XMM128: return 2;
        case UWOP_SAVE_NONVOL_FAR:
        case UWOP_SPARE_CODE:
        case UWOP_SAVE_XMM128_FAR: return 3;
        default: return 1;
    }
}

struct UnwindInfo {
    uint8_t version = 0, flags = 0, prologSize = 0, count = 0, frameReg = 0, frameOffset = 0;
    std::array<uint16_t, 256> codes{};
    RuntimeFunction chained;  // valid when flags & CHAININFO
};

bool readInfo(const PeImage& img, uint32_t rva, UnwindInfo& ui) {
    uint8_t h[4];
    if (img.source().readRva(rva, h) != 4) return false;
    ui.version = h[0] & 7;
    ui.flags = h[0] >> 3;
    if (ui.version != 1 && ui.version != 2) return false;
    ui.prologSize = h[1];
    ui.count = h[2];
    ui.frameReg = h[3] & 0xf;
    ui.frameOffset = h[3] >> 4;
    uint64_t n = ui.count * 2ull;
    if (img.source().readRva(rva + 4, std::span<uint8_t>(reinterpret_cast<uint8_t*>(ui.codes.data()), n)) != n)
        return false;
    if (ui.flags & UNW_FLAG_CHAININFO) {
        uint32_t off = rva + 4 + ((ui.count + 1u) & ~1u) * 2;
        auto b = img.source().read<uint32_t>(off);
        auto e = img.source().read<uint32_t>(off + 4);
        auto u = img.source().read<uint32_t>(off + 8);
        if (!b || !e || !u) return false;
        ui.chained = {*b, *e, *u};
    }
    return true;
}

std::optional<uint64_t> readQ(WalkEnv& env, uint64_t addr) { return env.target.memory().readValue<uint64_t>(addr); }

// Recognises an epilog starting at rip (add/lea rsp; pops; ret or a jump out
// of the function) and emulates it: inEpilog=false when rip is not in one,
// ok=false when it is but stack memory is missing.
struct EpilogResult {
    bool inEpilog = false;
    bool ok = false;
    CpuContext ctx;
};

EpilogResult tryEpilog(WalkEnv& env, const CpuContext& in, uint64_t base, const RuntimeFunction& rf, const UnwindInfo& ui) {
    EpilogResult r;
    std::array<uint8_t, 64> code{};
    uint64_t n = readCode(env, in.ip(), code);
    if (n == 0) return r;
    CpuContext c = in;
    size_t i = 0;
    auto at = [&](size_t k) -> int { return k < n ? code[k] : -1; };
    // Optional stack deallocation: add rsp, imm8/imm32 or lea rsp, [framereg+disp].
    if (at(0) == 0x48 && at(1) == 0x83 && at(2) == 0xc4 && n >= 4) {
        c.setSp(c.sp() + static_cast<int8_t>(code[3]));
        i = 4;
    } else if (at(0) == 0x48 && at(1) == 0x81 && at(2) == 0xc4 && n >= 7) {
        int32_t d;
        std::memcpy(&d, &code[3], 4);
        c.setSp(c.sp() + d);
        i = 7;
    } else if ((at(0) == 0x48 || at(0) == 0x49) && at(1) == 0x8d && ui.frameReg != 0) {
        int modrm = at(2);
        unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = (modrm & 7) | ((code[0] & 1) << 3);
        if (reg != 4 || rm != ui.frameReg || (modrm & 7) == 4 || mod == 0 || mod == 3) return r;
        int32_t d = 0;
        if (mod == 1 && n >= 4) {
            d = static_cast<int8_t>(code[3]);
            i = 4;
        } else if (mod == 2 && n >= 7) {
            std::memcpy(&d, &code[3], 4);
            i = 7;
        } else {
            return r;
        }
        c.setSp(c.get(kRegs[rm]) + d);
    }
    // pops, then the terminating ret / jmp. Record pops to apply after the
    // whole sequence is recognised.
    std::array<int, 16> pops{};
    size_t npops = 0;
    while (npops < pops.size()) {
        if (at(i) >= 0x58 && at(i) <= 0x5f) {
            pops[npops++] = at(i) - 0x58;
            i += 1;
        } else if (at(i) == 0x41 && at(i + 1) >= 0x58 && at(i + 1) <= 0x5f) {
            pops[npops++] = 8 + at(i + 1) - 0x58;
            i += 2;
        } else {
            break;
        }
    }
    bool term = false;
    if (at(i) == 0xc3 || (at(i) == 0xf3 && at(i + 1) == 0xc3) || (at(i) == 0xc2)) {
        term = true;
    } else if (at(i) == 0xe9 && i + 5 <= n) {
        int32_t d;
        std::memcpy(&d, &code[i + 1], 4);
        uint64_t target = in.ip() + i + 5 + static_cast<int64_t>(d);
        term = !(target >= base + rf.begin && target < base + rf.end);  // tail call leaves the function
    } else if (at(i) == 0xeb && i + 2 <= n) {
        uint64_t target = in.ip() + i + 2 + static_cast<int8_t>(code[i + 1]);
        term = !(target >= base + rf.begin && target < base + rf.end);
    } else if (at(i) == 0xff && at(i + 1) == 0x25) {
        term = true;  // jmp [rip+disp32]
    } else if (at(i) == 0x48 && at(i + 1) == 0xff && ((at(i + 2) >> 3) & 7) == 4) {
        term = true;  // rex.w jmp r/m64
    }
    if (!term) return r;
    // An instruction stream that is just "jmp elsewhere" with no epilog
    // sequence before it is ordinary control flow, not an epilog.
    if (i == 0 && at(0) != 0xc3 && at(0) != 0xf3 && at(0) != 0xc2) return r;
    r.inEpilog = true;
    for (size_t k = 0; k < npops; ++k) {
        auto v = readQ(env, c.sp());
        if (!v) return r;
        c.set(kRegs[pops[k]], *v);
        c.setSp(c.sp() + 8);
    }
    auto ret = readQ(env, c.sp());
    if (!ret) return r;
    c.setIp(*ret);
    c.setSp(c.sp() + 8);
    r.ok = true;
    r.ctx = c;
    return r;
}

}  // namespace

std::optional<Step> stepX64(WalkEnv& env, const CpuContext& ctx, bool ipIsReturnAddress, StepError& err) {
    err = StepError::None;
    uint64_t rip = ctx.ip();
    // A return address can equal the end of its function (call to a noreturn
    // function as the last instruction): look the function up by the call.
    uint64_t lookupPc = ipIsReturnAddress ? rip - 1 : rip;
    const Module* mod = env.target.moduleAt(lookupPc);
    const PeImage* img = mod ? env.images.image(*mod) : nullptr;
    if (!img || img->machine() != Machine::Amd64 || img->runtimeFunctions().empty()) {
        // Without unwind data one case is still certain: a context stopped on
        // `ret` (a thread parked right after a system call returns through
        // one) pops its return address from [rsp], whatever the function did.
        if (!ipIsReturnAddress) {
            uint8_t code[2] = {};
            uint64_t n = readCode(env, rip, code);
            bool atRet = (n >= 1 && (code[0] == 0xc3 || code[0] == 0xc2)) || (n >= 2 && code[0] == 0xf3 && code[1] == 0xc3);
            auto ret = atRet ? readQ(env, ctx.sp()) : std::nullopt;
            if (ret && env.target.moduleAt(*ret)) {
                Step step;
                step.trust = FrameTrust::UnwindInfo;
                step.caller = ctx;
                step.caller.setIp(*ret);
                uint16_t popped = 0;
                if (code[0] == 0xc2) {
                    uint8_t imm[3] = {};
                    if (readCode(env, rip, imm) == 3) popped = static_cast<uint16_t>(imm[1] | (imm[2] << 8));
                }
                step.caller.setSp(ctx.sp() + 8 + popped);
                return step;
            }
        }
        err = StepError::NoUnwindInfo;
        return std::nullopt;
    }
    uint64_t base = mod->base;
    const RuntimeFunction* rf = img->findRuntimeFunction(static_cast<uint32_t>(lookupPc - base));
    Step step;
    step.trust = FrameTrust::UnwindInfo;
    CpuContext c = ctx;
    if (!rf) {
        // Leaf function: no frame, the return address is at [rsp]. Hand-written
        // leaves without .pdata may still push (mingw's ___chkstk_ms pushes
        // rcx/rax), so [rsp] must look like a return address; if not, the
        // step fails and the walk falls back to scanning.
        auto ret = readQ(env, c.sp());
        if (!ret || !inModuleCode(env, *ret)) { err = StepError::Failed; return std::nullopt; }
        c.setIp(*ret);
        c.setSp(c.sp() + 8);
        step.caller = c;
        return step;
    }

    RuntimeFunction fn = *rf;
    UnwindInfo ui;
    if (!readInfo(*img, fn.unwindData, ui)) { err = StepError::Failed; return std::nullopt; }
    uint64_t prologOffset = rip - (base + fn.begin);

    // The establisher frame: rsp after the prolog, or the frame register
    // minus its offset once the prolog has set it.
    uint64_t frame = c.sp();
    if (ui.frameReg) {
        bool fpSet = prologOffset >= ui.prologSize;
        for (unsigned i = 0; !fpSet && i < ui.count; i += slots(ui.codes[i] >> 8 & 0xf, ui.codes[i] >> 12)) {
            uint8_t off = ui.codes[i] & 0xff, op = (ui.codes[i] >> 8) & 0xf;
            if (op == UWOP_SET_FPREG && off <= prologOffset) fpSet = true;
        }
        if (fpSet) frame = c.get(kRegs[ui.frameReg]) - 16ull * ui.frameOffset;
    }

    if (prologOffset >= ui.prologSize && rip < base + fn.end) {
        EpilogResult e = tryEpilog(env, ctx, base, fn, ui);
        if (e.inEpilog) {
            if (!e.ok) { err = StepError::Failed; return std::nullopt; }
            step.caller = e.ctx;
            return step;
        }
    }

    bool machFrame = false;
    for (int depth = 0;; ++depth) {
        for (unsigned i = 0; i < ui.count;) {
            uint16_t code = ui.codes[i];
            uint8_t off = code & 0xff, op = (code >> 8) & 0xf, info = code >> 12;
            unsigned sz = slots(op, info);
            if (i + sz > ui.count) { err = StepError::Failed; return std::nullopt; }
            auto slot = [&](unsigned k) -> uint32_t { return ui.codes[i + k]; };
            if (op == UWOP_EPILOG || op == UWOP_SPARE_CODE || off > prologOffset) {  // not executed yet / epilog descriptors
                i += sz;
                continue;
            }
            switch (op) {
                case UWOP_PUSH_NONVOL: {
                    auto v = readQ(env, c.sp());
                    if (!v) { err = StepError::Failed; return std::nullopt; }
                    c.set(kRegs[info], *v);
                    c.setSp(c.sp() + 8);
                    break;
                }
                case UWOP_ALLOC_LARGE:
                    c.setSp(c.sp() + (info == 0 ? slot(1) * 8ull : (slot(1) | (slot(2) << 16))));
                    break;
                case UWOP_ALLOC_SMALL: c.setSp(c.sp() + info * 8ull + 8); break;
                case UWOP_SET_FPREG: c.setSp(frame); break;
                case UWOP_SAVE_NONVOL:
                case UWOP_SAVE_NONVOL_FAR: {
                    uint64_t o = op == UWOP_SAVE_NONVOL ? slot(1) * 8ull : (slot(1) | (slot(2) << 16));
                    auto v = readQ(env, frame + o);
                    if (!v) { err = StepError::Failed; return std::nullopt; }
                    c.set(kRegs[info], *v);
                    break;
                }
                case UWOP_SAVE_XMM128:
                case UWOP_SAVE_XMM128_FAR: {
                    uint64_t o = op == UWOP_SAVE_XMM128 ? slot(1) * 16ull : (slot(1) | (slot(2) << 16));
                    std::array<uint8_t, 16> x{};
                    if (env.target.memory().readExact(frame + o, x)) c.vectors()[info] = x;
                    break;
                }
                case UWOP_PUSH_MACHFRAME: {
                    // Machine frame: [rsp] = (error code), rip, cs, eflags, rsp, ss.
                    uint64_t s = c.sp() + (info ? 8 : 0);
                    auto ip = readQ(env, s);
                    auto sp = readQ(env, s + 24);
                    if (!ip || !sp) { err = StepError::Failed; return std::nullopt; }
                    c.setIp(*ip);
                    c.setSp(*sp);
                    machFrame = true;
                    step.machineFrameAt = s;
                    break;
                }
                default: break;
            }
            i += sz;
        }
        if (!(ui.flags & UNW_FLAG_CHAININFO)) break;
        if (depth + 1 >= kMaxChainDepth) { err = StepError::Failed; return std::nullopt; }
        fn = ui.chained;
        if (!readInfo(*img, fn.unwindData, ui)) { err = StepError::Failed; return std::nullopt; }
        prologOffset = ~0ull;  // chained (parent) prologs have fully run
    }
    if (!machFrame) {
        auto ret = readQ(env, c.sp());
        if (!ret) { err = StepError::Failed; return std::nullopt; }
        c.setIp(*ret);
        c.setSp(c.sp() + 8);
    }
    step.caller = c;
    step.machineFrame = machFrame;
    return step;
}

}  // namespace nt::unwind
