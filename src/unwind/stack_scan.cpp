// Stack scanning, the last resort: look upward from sp for a word that is a
// plausible return address. A candidate must point into an executable
// section of a module, with its code bytes available, right after a call
// instruction (x86/x64: E8 rel32 or FF /2 in any addressing form, with an
// optional REX prefix; ARM64: BL/BLR/BLRA*). Data pointers into .rdata or
// into the middle of an instruction stream fail those tests.
#include "unwind/unwinders.h"

#include <cstring>

namespace nt::unwind {

namespace {

constexpr unsigned kScanWordsFirst = 1024;  // frame 0 may have a large frame
constexpr unsigned kScanWords = 512;

// Bytes of a ModRM-addressed operand after the opcode: modrm [+ sib] [+ disp].
unsigned modrmLength(uint8_t modrm, uint8_t sib) {
    unsigned mod = modrm >> 6, rm = modrm & 7;
    if (mod == 3) return 1;
    unsigned len = 1;
    if (rm == 4) {
        len += 1;
        if (mod == 0 && (sib & 7) == 5) return len + 4;  // no base: disp32
    }
    if (mod == 0) return rm == 5 ? len + 4 : len;
    return len + (mod == 1 ? 1 : 4);
}

bool x86CallBefore(WalkEnv& env, uint64_t ret, bool allowRex) {
    uint8_t b[8];
    if (ret < 8 || readCode(env, ret - 8, b) != 8) return false;
    // b[8 - k] is the byte k before ret.
    if (b[3] == 0xe8) return true;  // call rel32
    for (unsigned len : {2u, 3u, 4u, 6u, 7u}) {
        unsigned op = 8 - len;
        if (b[op] != 0xff) continue;
        uint8_t modrm = b[op + 1];
        if (((modrm >> 3) & 7) != 2) continue;
        uint8_t sib = op + 2 < 8 ? b[op + 2] : 0;
        if (1 + modrmLength(modrm, sib) == len) return true;
    }
    if (allowRex) {
        for (unsigned len : {3u, 4u, 5u, 7u, 8u}) {
            unsigned rex = 8 - len;
            if ((b[rex] & 0xf0) != 0x40 || b[rex + 1] != 0xff) continue;
            uint8_t modrm = b[rex + 2];
            if (((modrm >> 3) & 7) != 2) continue;
            uint8_t sib = rex + 3 < 8 ? b[rex + 3] : 0;
            if (2 + modrmLength(modrm, sib) == len) return true;
        }
    }
    return false;
}

bool arm64CallBefore(WalkEnv& env, uint64_t ret) {
    uint32_t insn;
    if (ret < 4 || (ret & 3) || readCode(env, ret - 4, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&insn), 4)) != 4)
        return false;
    if ((insn & 0xfc000000u) == 0x94000000u) return true;  // BL
    if ((insn & 0xfffffc1fu) == 0xd63f0000u) return true;  // BLR
    if ((insn & 0xfefff800u) == 0xd63f0800u) return true;  // BLRAA/BLRAB/BLRAAZ/BLRABZ
    return false;
}

// For a candidate after a direct `call rel32`, where did that call go? One
// level of import/incremental-link thunk (`jmp [rip+disp]`, `jmp rel32`) is
// followed. nullopt when the call is indirect or the bytes are missing.
std::optional<uint64_t> directCallDestination(WalkEnv& env, Machine m, uint64_t ret) {
    uint8_t b[5];
    if (ret < 5 || readCode(env, ret - 5, b) != 5 || b[0] != 0xe8) return std::nullopt;
    int32_t rel;
    std::memcpy(&rel, &b[1], 4);
    uint64_t target = ret + static_cast<int64_t>(rel);
    if (m == Machine::X86) target &= 0xffffffff;
    uint8_t t[6];
    if (readCode(env, target, t) == 6) {
        if (t[0] == 0xff && t[1] == 0x25) {  // jmp [rip+disp32] (x64) / jmp [abs32] (x86)
            int32_t disp;
            std::memcpy(&disp, &t[2], 4);
            uint64_t slot = m == Machine::Amd64 ? target + 6 + static_cast<int64_t>(disp) : static_cast<uint32_t>(disp);
            if (auto dest = env.target.memory().readPointer(slot, pointerSize(m))) return *dest;
            return std::nullopt;  // the import slot is not in the dump: unknown
        }
        if (t[0] == 0xe9) {  // jmp rel32
            int32_t r2;
            std::memcpy(&r2, &t[1], 4);
            return target + 5 + static_cast<int64_t>(r2);
        }
    }
    return target;
}

}  // namespace

bool precededByCall(WalkEnv& env, Machine m, uint64_t ret) {
    switch (m) {
        case Machine::X86: return x86CallBefore(env, ret, false);
        case Machine::Amd64: return x86CallBefore(env, ret, true);
        case Machine::Arm64: return arm64CallBefore(env, ret);
        default: return false;
    }
}

std::optional<Step> stepScan(WalkEnv& env, const CpuContext& ctx, bool firstFrame) {
    Machine m = ctx.machine();
    unsigned ps = pointerSize(m);
    uint64_t sp = ctx.sp();
    if (m == Machine::X86) sp &= 0xffffffff;
    unsigned words = firstFrame ? kScanWordsFirst : kScanWords;
    const Memory& mem = env.target.memory();
    for (unsigned i = 0; i < words; ++i) {
        uint64_t a = sp + uint64_t(i) * ps;
        if (env.opts.stackBase && a + ps > env.opts.stackBase) break;
        auto v = mem.readPointer(a, ps);
        if (!v) break;
        if (*v == ctx.ip() && i == 0 && !firstFrame) continue;
        if (!inModuleCode(env, *v) || !precededByCall(env, m, *v)) continue;
        // A stale return address of some earlier call is still "after a call".
        // When that call was direct, it must have entered the module the
        // callee frame is executing in; otherwise it did not call this frame.
        if (auto dest = directCallDestination(env, m, *v)) {
            const Module* calleeMod = env.target.moduleAt(ctx.ip());
            const Module* destMod = env.target.moduleAt(*dest);
            if (calleeMod && destMod && calleeMod != destMod) continue;
        }
        Step s;
        s.trust = FrameTrust::Scan;
        s.caller = ctx;
        s.caller.setIp(*v);
        s.caller.setSp(a + ps);
        return s;
    }
    return std::nullopt;
}

}  // namespace nt::unwind
