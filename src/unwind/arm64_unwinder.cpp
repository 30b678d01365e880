// ARM64 unwinding (Windows ARM64 exception-handling ABI).
//
// With .pdata for the pc: either packed unwind data (Flag 1/2: the canonical
// prolog described by RegI/RegF/H/CR/FrameSize) or .xdata unwind codes,
// applied in order from the first prolog code. When frame 0 is stopped
// inside the prolog, the codes for instructions not yet executed are
// skipped. Epilogs are handled conservatively by prolog reversal (the
// registers an epilog already restored are read from their stack slots,
// which still hold the same values). Without .pdata for the module, the
// frame-record chain (x29 -> {saved x29, saved lr}) is followed.
#include <array>
#include <cstring>

#include "unwind/unwinders.h"

namespace nt::unwind {

namespace {

Reg xreg(unsigned n) { return n == 29 ? Reg::Fp : n == 30 ? Reg::Lr : static_cast<Reg>(static_cast<unsigned>(Reg::X0) + n); }

struct Unwinder {
    WalkEnv& env;
    CpuContext c;
    bool ok = true;

    std::optional<uint64_t> q(uint64_t a) { return env.target.memory().readValue<uint64_t>(a); }

    // Loads count consecutive registers from sp+pos (pos >= 0), or from sp
    // with a post-increment of -pos (pos < 0), as the matching ldp/ldr would.
    void intRegs(unsigned first, unsigned count, int64_t pos) {
        uint64_t sp = c.sp();
        uint64_t at = pos >= 0 ? sp + pos : sp;
        for (unsigned i = 0; i < count && ok; ++i) {
            if (first + i > 30) { ok = false; break; }
            auto v = q(at + 8 * i);
            if (!v) { ok = false; break; }
            c.set(xreg(first + i), *v);
        }
        if (pos < 0) c.setSp(sp + static_cast<uint64_t>(-pos));
    }
    void fpRegs(unsigned first, unsigned count, int64_t pos) {
        uint64_t sp = c.sp();
        uint64_t at = pos >= 0 ? sp + pos : sp;
        for (unsigned i = 0; i < count && ok; ++i) {
            if (first + i > 31) { ok = false; break; }
            auto v = q(at + 8 * i);
            if (!v) { ok = false; break; }
            auto& vr = c.vectors()[first + i];
            vr.fill(0);
            std::memcpy(vr.data(), &*v, 8);
        }
        if (pos < 0) c.setSp(sp + static_cast<uint64_t>(-pos));
    }
};

// Length in bytes of the unwind code starting with byte b.
unsigned codeLen(uint8_t b) {
    if (b < 0xc0) return 1;
    if (b < 0xe0) return 2;
    switch (b) {
        case 0xe0: return 4;
        case 0xe2: return 2;
        case 0xe7: return 3;
        case 0xf8: return 2;
        case 0xf9: return 3;
        case 0xfa: return 4;
        case 0xfb: return 5;
        default: return 1;
    }
}

// Applies unwind codes from `codes`, skipping the first `skip` codes.
// Returns false on an unsupported code or missing memory.
bool applyCodes(Unwinder& u, const std::vector<uint8_t>& codes, unsigned skip, bool& pcFromLr) {
    size_t p = 0;
    for (; p < codes.size() && skip; --skip) {
        if (codes[p] == 0xe4 || codes[p] == 0xe5) break;
        p += codeLen(codes[p]);
    }
    unsigned saveNext = 2;
    while (p < codes.size() && u.ok) {
        uint8_t b = codes[p];
        unsigned len = codeLen(b);
        if (p + len > codes.size()) return false;
        uint32_t v = len > 1 ? (uint32_t(b) << 8 | codes[p + 1]) : b;
        if (b < 0x20) {
            u.c.setSp(u.c.sp() + 16ull * (b & 0x1f));                        // alloc_s
        } else if (b < 0x40) {
            u.intRegs(19, saveNext, -8 * int64_t(b & 0x1f));                  // save_r19r20_x
        } else if (b < 0x80) {
            u.intRegs(29, 2, 8 * int64_t(b & 0x3f));                          // save_fplr
        } else if (b < 0xc0) {
            u.intRegs(29, 2, -8 * int64_t(b & 0x3f) - 8);                     // save_fplr_x
        } else if (b < 0xc8) {
            u.c.setSp(u.c.sp() + 16ull * (v & 0x7ff));                        // alloc_m
        } else if (b < 0xcc) {
            u.intRegs(19 + ((v >> 6) & 0xf), saveNext, 8 * int64_t(v & 0x3f));       // save_regp
        } else if (b < 0xd0) {
            u.intRegs(19 + ((v >> 6) & 0xf), saveNext, -8 * int64_t(v & 0x3f) - 8);  // save_regp_x
        } else if (b < 0xd4) {
            u.intRegs(19 + ((v >> 6) & 0xf), 1, 8 * int64_t(v & 0x3f));              // save_reg
        } else if (b < 0xd6) {
            u.intRegs(19 + ((v >> 5) & 0xf), 1, -8 * int64_t(v & 0x1f) - 8);         // save_reg_x
        } else if (b < 0xd8) {
            unsigned r = 19 + 2 * ((v >> 6) & 7);                                      // save_lrpair
            u.intRegs(r, 1, 8 * int64_t(v & 0x3f));
            u.intRegs(30, 1, 8 * int64_t(v & 0x3f) + 8);
        } else if (b < 0xda) {
            u.fpRegs(8 + ((v >> 6) & 7), saveNext, 8 * int64_t(v & 0x3f));          // save_fregp
        } else if (b < 0xdc) {
            u.fpRegs(8 + ((v >> 6) & 7), saveNext, -8 * int64_t(v & 0x3f) - 8);     // save_fregp_x
        } else if (b < 0xde) {
            u.fpRegs(8 + ((v >> 6) & 7), 1, 8 * int64_t(v & 0x3f));                  // save_freg
        } else if (b == 0xde) {
            u.fpRegs(8 + ((v >> 5) & 7), 1, -8 * int64_t(v & 0x1f) - 8);             // save_freg_x
        } else if (b == 0xe0) {
            u.c.setSp(u.c.sp() + 16ull * ((uint32_t(codes[p + 1]) << 16) | (uint32_t(codes[p + 2]) << 8) | codes[p + 3]));  // alloc_l
        } else if (b == 0xe1) {
            u.c.setSp(u.c.get(Reg::Fp));                                      // set_fp
        } else if (b == 0xe2) {
            u.c.setSp(u.c.get(Reg::Fp) - 8ull * (v & 0xff));                  // add_fp
        } else if (b == 0xe3 || b == 0xfc || b == 0xec) {
            // nop, pac_sign_lr, clear_unwound_to_call: no register effect here
        } else if (b == 0xe4 || b == 0xe5) {
            break;                                                            // end, end_c
        } else if (b == 0xe6) {
            saveNext += 2;                                                    // save_next: widens the next pair save
            p += len;
            continue;
        } else if (b == 0xe9) {
            // MSFT_OP_MACHINE_FRAME: {sp, pc} of the interrupted code at [sp].
            auto sp = u.q(u.c.sp());
            auto pc = u.q(u.c.sp() + 8);
            if (!sp || !pc) return false;
            u.c.setSp(*sp);
            u.c.setIp(*pc);
            pcFromLr = false;
        } else {
            return false;  // save_any_reg, alloc_z, trap/context frames: not supported yet
        }
        saveNext = 2;
        p += len;
    }
    return u.ok;
}

// Number of prolog instructions described by the codes (one per code up to end).
unsigned prologInstructions(const std::vector<uint8_t>& codes) {
    unsigned n = 0;
    for (size_t p = 0; p < codes.size() && codes[p] != 0xe4 && codes[p] != 0xe5; p += codeLen(codes[p])) ++n;
    return n;
}

bool unwindXdata(Unwinder& u, const PeImage& img, uint32_t xdata, uint64_t offsetInFunction, bool firstFrame, bool& pcFromLr) {
    auto w0 = img.source().read<uint32_t>(xdata);
    if (!w0) return false;
    uint32_t codeWords = *w0 >> 27, epCount = (*w0 >> 22) & 0x1f;
    bool e = (*w0 >> 21) & 1;
    uint32_t off = 4;
    if (codeWords == 0 && epCount == 0) {
        auto w1 = img.source().read<uint32_t>(xdata + 4);
        if (!w1) return false;
        epCount = *w1 & 0xffff;
        codeWords = (*w1 >> 16) & 0xff;
        off = 8;
    }
    if (!e) off += epCount * 4;
    std::vector<uint8_t> codes(codeWords * 4);
    if (img.source().readRva(xdata + off, codes) != codes.size()) return false;
    unsigned skip = 0;
    if (firstFrame) {
        unsigned n = prologInstructions(codes);
        uint64_t done = offsetInFunction / 4;
        if (done < n) skip = static_cast<unsigned>(n - done);
    }
    return applyCodes(u, codes, skip, pcFromLr);
}

// Packed unwind data: the canonical prolog is
//   [str lr | stp x19,x20 ...]! savsz ; [stp d8,d9 ...] ; [stp x0..x7 (H)] ;
//   CR 2/3: stp x29,lr,[sp,#-locsz]! ; mov x29,sp   CR 0/1: sub sp,sp,#locsz
// so from the body: locals are freed (through x29 when chained), then the
// saved registers are reloaded from the save area and it is freed.
bool unwindPacked(Unwinder& u, uint32_t data) {
    unsigned regF = (data >> 13) & 7, regI = (data >> 16) & 0xf, h = (data >> 20) & 1, cr = (data >> 21) & 3;
    uint64_t frameSize = ((data >> 23) & 0x1ff) * 16ull;
    uint64_t intsz = 8ull * regI + (cr == 1 ? 8 : 0);
    uint64_t fpsz = regF ? 8ull * (regF + 1) : 0;
    uint64_t savsz = (intsz + fpsz + 64ull * h + 0xf) & ~0xfull;
    if (frameSize < savsz) return false;
    uint64_t locsz = frameSize - savsz;
    if (cr == 2 || cr == 3) {
        u.c.setSp(u.c.get(Reg::Fp));
        u.intRegs(29, 2, 0);
        u.c.setSp(u.c.sp() + locsz);
    } else {
        u.c.setSp(u.c.sp() + locsz);
    }
    if (regI) u.intRegs(19, regI, 0);
    if (cr == 1) u.intRegs(30, 1, 8 * int64_t(regI));
    if (regF) u.fpRegs(8, regF + 1, int64_t(intsz));
    u.c.setSp(u.c.sp() + savsz);
    return u.ok;
}

std::optional<Step> frameChain(WalkEnv& env, const CpuContext& ctx, StepError& err) {
    const Memory& mem = env.target.memory();
    uint64_t fp = ctx.get(Reg::Fp);
    if (fp == 0 || fp < ctx.sp() || (fp & 7)) return std::nullopt;
    auto nextFp = mem.readValue<uint64_t>(fp);
    auto lr = mem.readValue<uint64_t>(fp + 8);
    if (!nextFp || !lr) return std::nullopt;
    if (*nextFp != 0 && *nextFp <= fp) return std::nullopt;
    if (*lr != 0 && !inModuleCode(env, *lr)) return std::nullopt;
    Step s;
    s.trust = FrameTrust::FramePointer;
    s.caller = ctx;
    s.caller.set(Reg::Fp, *nextFp);
    s.caller.set(Reg::Lr, *lr);
    s.caller.setIp(*lr);
    s.caller.setSp(fp + 16);
    err = StepError::None;
    return s;
}

}  // namespace

std::optional<Step> stepArm64(WalkEnv& env, const CpuContext& ctx, bool firstFrame, bool ipIsReturnAddress,
                              StepError& err) {
    err = StepError::Failed;
    uint64_t pc = ctx.ip();
    // Look a return address up by its call instruction (it may equal the end
    // of a function that ends in a call to a noreturn function).
    uint64_t lookupPc = ipIsReturnAddress ? pc - 4 : pc;
    const Module* mod = env.target.moduleAt(lookupPc);
    const PeImage* img = mod ? env.images.image(*mod) : nullptr;
    if (!img || img->machine() != Machine::Arm64 || img->runtimeFunctions().empty()) return frameChain(env, ctx, err);
    const RuntimeFunction* rf = img->findRuntimeFunction(static_cast<uint32_t>(lookupPc - mod->base));
    Unwinder u{env, ctx};
    bool pcFromLr = true;
    // Frame 0 on the final `ret` of an epilog: everything is already restored.
    uint32_t insn = 0;
    bool atRet = firstFrame && readCode(env, pc, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&insn), 4)) == 4 &&
                 (insn == 0xd65f03c0u || insn == 0xd65f0bffu || insn == 0xd65f0fffu);  // ret, retaa, retab
    if (atRet) {
        // nothing to undo
    } else if (!rf) {
        // Leaf without unwind data: lr holds the return address, sp is unchanged.
        if (!firstFrame) return std::nullopt;
    } else if ((rf->unwindData & 3) != 0) {
        if (!unwindPacked(u, rf->unwindData)) return std::nullopt;
    } else if (!unwindXdata(u, *img, rf->unwindData, pc - (mod->base + rf->begin), firstFrame, pcFromLr)) {
        return std::nullopt;
    }
    if (pcFromLr) u.c.setIp(u.c.get(Reg::Lr));
    Step s;
    s.trust = FrameTrust::UnwindInfo;
    s.caller = u.c;
    s.machineFrame = !pcFromLr;
    err = StepError::None;
    return s;
}

}  // namespace nt::unwind
