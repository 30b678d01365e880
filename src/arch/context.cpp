#include "arch/context.h"

#include <algorithm>
#include <cstring>

namespace nt {

namespace {

// CONTEXT_* group flags. The architecture bit differs per machine; the group
// bits below it are the same layout.
constexpr uint32_t kCtlFlag = 0x1, kIntFlag = 0x2, kSegFlag = 0x4, kFltFlag = 0x8, kDbgFlag = 0x10;
constexpr uint32_t kX86XState = 0x40;  // CONTEXT_XSTATE group bit (x86 and x64)

struct NamedReg {
    Reg reg;
    uint8_t shift;
    uint8_t bits;
};

std::string lower(std::string_view s) {
    std::string r(s);
    std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
    return r;
}

// Parses a decimal register number suffix like "12" in "r12d" into n and the rest.
bool parseNumPrefix(std::string_view s, unsigned& n, std::string_view& rest) {
    size_t i = 0;
    n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i < 3) n = n * 10 + (s[i++] - '0');
    if (i == 0) return false;
    rest = s.substr(i);
    return true;
}

std::optional<NamedReg> lookupX64(std::string_view n) {
    static const struct { const char* q; const char* d; const char* w; const char* bl; const char* bh; Reg r; } legacy[] = {
        {"rax", "eax", "ax", "al", "ah", Reg::Rax}, {"rbx", "ebx", "bx", "bl", "bh", Reg::Rbx},
        {"rcx", "ecx", "cx", "cl", "ch", Reg::Rcx}, {"rdx", "edx", "dx", "dl", "dh", Reg::Rdx},
        {"rsi", "esi", "si", "sil", nullptr, Reg::Rsi}, {"rdi", "edi", "di", "dil", nullptr, Reg::Rdi},
        {"rbp", "ebp", "bp", "bpl", nullptr, Reg::Rbp}, {"rsp", "esp", "sp", "spl", nullptr, Reg::Rsp},
        {"rip", "eip", "ip", nullptr, nullptr, Reg::Rip},
    };
    for (auto& l : legacy) {
        if (n == l.q) return NamedReg{l.r, 0, 64};
        if (n == l.d) return NamedReg{l.r, 0, 32};
        if (n == l.w) return NamedReg{l.r, 0, 16};
        if (l.bl && n == l.bl) return NamedReg{l.r, 0, 8};
        if (l.bh && n == l.bh) return NamedReg{l.r, 8, 8};
    }
    if (n.size() >= 2 && n[0] == 'r') {
        unsigned k;
        std::string_view rest;
        if (parseNumPrefix(n.substr(1), k, rest) && k >= 8 && k <= 15) {
            Reg r = static_cast<Reg>(static_cast<int>(Reg::R8) + (k - 8));
            if (rest.empty()) return NamedReg{r, 0, 64};
            if (rest == "d") return NamedReg{r, 0, 32};
            if (rest == "w") return NamedReg{r, 0, 16};
            if (rest == "b") return NamedReg{r, 0, 8};
        }
    }
    return std::nullopt;
}

std::optional<NamedReg> lookupX86(std::string_view n) {
    static const struct { const char* d; const char* w; const char* bl; const char* bh; Reg r; } regs[] = {
        {"eax", "ax", "al", "ah", Reg::Rax}, {"ebx", "bx", "bl", "bh", Reg::Rbx},
        {"ecx", "cx", "cl", "ch", Reg::Rcx}, {"edx", "dx", "dl", "dh", Reg::Rdx},
        {"esi", "si", nullptr, nullptr, Reg::Rsi}, {"edi", "di", nullptr, nullptr, Reg::Rdi},
        {"ebp", "bp", nullptr, nullptr, Reg::Rbp}, {"esp", "sp", nullptr, nullptr, Reg::Rsp},
        {"eip", "ip", nullptr, nullptr, Reg::Rip},
    };
    for (auto& l : regs) {
        if (n == l.d) return NamedReg{l.r, 0, 32};
        if (n == l.w) return NamedReg{l.r, 0, 16};
        if (l.bl && n == l.bl) return NamedReg{l.r, 0, 8};
        if (l.bh && n == l.bh) return NamedReg{l.r, 8, 8};
    }
    return std::nullopt;
}

std::optional<NamedReg> lookupCommonX86(std::string_view n, unsigned flagBits) {
    static const struct { const char* name; Reg r; unsigned bits; } regs[] = {
        {"efl", Reg::Eflags, 32}, {"cs", Reg::Cs, 16}, {"ds", Reg::Ds, 16}, {"es", Reg::Es, 16},
        {"fs", Reg::Fs, 16}, {"gs", Reg::Gs, 16}, {"ss", Reg::Ss, 16}, {"dr0", Reg::Dr0, 0},
        {"dr1", Reg::Dr1, 0}, {"dr2", Reg::Dr2, 0}, {"dr3", Reg::Dr3, 0}, {"dr6", Reg::Dr6, 0},
        {"dr7", Reg::Dr7, 0}, {"mxcsr", Reg::Mxcsr, 32},
    };
    for (auto& r : regs)
        if (n == r.name) return NamedReg{r.r, 0, static_cast<uint8_t>(r.bits ? r.bits : flagBits)};
    return std::nullopt;
}

std::optional<NamedReg> lookupArm64(std::string_view n) {
    if (n == "fp") return NamedReg{Reg::Fp, 0, 64};
    if (n == "lr") return NamedReg{Reg::Lr, 0, 64};
    if (n == "sp") return NamedReg{Reg::Sp, 0, 64};
    if (n == "pc") return NamedReg{Reg::Pc, 0, 64};
    if (n == "cpsr") return NamedReg{Reg::Cpsr, 0, 32};
    if (n == "fpcr") return NamedReg{Reg::Fpcr, 0, 32};
    if (n == "fpsr") return NamedReg{Reg::Fpsr, 0, 32};
    if (n.size() >= 2 && (n[0] == 'x' || n[0] == 'w')) {
        unsigned k;
        std::string_view rest;
        if (parseNumPrefix(n.substr(1), k, rest) && rest.empty() && k <= 30) {
            Reg r = k == 29 ? Reg::Fp : k == 30 ? Reg::Lr : static_cast<Reg>(static_cast<int>(Reg::X0) + k);
            return NamedReg{r, 0, static_cast<uint8_t>(n[0] == 'x' ? 64 : 32)};
        }
    }
    return std::nullopt;
}

std::optional<NamedReg> lookupArm(std::string_view n) {
    if (n == "sp") return NamedReg{Reg::Sp, 0, 32};
    if (n == "lr") return NamedReg{Reg::Lr, 0, 32};
    if (n == "pc") return NamedReg{Reg::Pc, 0, 32};
    if (n == "cpsr") return NamedReg{Reg::Cpsr, 0, 32};
    if (n == "fp") return NamedReg{static_cast<Reg>(static_cast<int>(Reg::X0) + 11), 0, 32};
    if (n.size() >= 2 && n[0] == 'r') {
        unsigned k;
        std::string_view rest;
        if (parseNumPrefix(n.substr(1), k, rest) && rest.empty() && k <= 15) {
            if (k == 13) return NamedReg{Reg::Sp, 0, 32};
            if (k == 14) return NamedReg{Reg::Lr, 0, 32};
            if (k == 15) return NamedReg{Reg::Pc, 0, 32};
            return NamedReg{static_cast<Reg>(static_cast<int>(Reg::X0) + k), 0, 32};
        }
    }
    return std::nullopt;
}

std::optional<NamedReg> lookup(Machine m, std::string_view name) {
    std::string n = lower(name);
    if (!n.empty() && n[0] == '@') n.erase(0, 1);
    switch (m) {
        case Machine::Amd64:
            if (n == "$ip") return NamedReg{Reg::Rip, 0, 64};
            if (n == "$csp") return NamedReg{Reg::Rsp, 0, 64};
            if (auto r = lookupX64(n)) return r;
            return lookupCommonX86(n, 64);
        case Machine::X86:
            if (n == "$ip") return NamedReg{Reg::Rip, 0, 32};
            if (n == "$csp") return NamedReg{Reg::Rsp, 0, 32};
            if (auto r = lookupX86(n)) return r;
            return lookupCommonX86(n, 32);
        case Machine::Arm64:
            if (n == "$ip") return NamedReg{Reg::Pc, 0, 64};
            if (n == "$csp") return NamedReg{Reg::Sp, 0, 64};
            return lookupArm64(n);
        case Machine::Arm:
            if (n == "$ip") return NamedReg{Reg::Pc, 0, 32};
            if (n == "$csp") return NamedReg{Reg::Sp, 0, 32};
            return lookupArm(n);
        default:
            return std::nullopt;
    }
}

uint64_t maskBits(unsigned bits) { return bits >= 64 ? ~uint64_t{0} : ((uint64_t{1} << bits) - 1); }

template <class T>
T rd(Bytes b, uint64_t off) { return b.getOr<T>(off, T{}); }

template <class T>
void wr(std::vector<uint8_t>& out, size_t off, T v) {
    if (off + sizeof(T) <= out.size()) std::memcpy(out.data() + off, &v, sizeof(T));
}

// x86 CONTEXT layout (winnt.h, i386).
constexpr struct { Reg r; uint32_t off; } kX86Layout[] = {
    {Reg::Dr0, 0x04}, {Reg::Dr1, 0x08}, {Reg::Dr2, 0x0c}, {Reg::Dr3, 0x10}, {Reg::Dr6, 0x14}, {Reg::Dr7, 0x18},
    {Reg::Gs, 0x8c}, {Reg::Fs, 0x90}, {Reg::Es, 0x94}, {Reg::Ds, 0x98},
    {Reg::Rdi, 0x9c}, {Reg::Rsi, 0xa0}, {Reg::Rbx, 0xa4}, {Reg::Rdx, 0xa8}, {Reg::Rcx, 0xac}, {Reg::Rax, 0xb0},
    {Reg::Rbp, 0xb4}, {Reg::Rip, 0xb8}, {Reg::Cs, 0xbc}, {Reg::Eflags, 0xc0}, {Reg::Rsp, 0xc4}, {Reg::Ss, 0xc8},
};

// x64 CONTEXT layout: 64-bit GPRs; segment selectors are 16-bit, eflags 32-bit.
constexpr struct { Reg r; uint32_t off; uint8_t size; } kAmd64Layout[] = {
    {Reg::Mxcsr, 0x34, 4}, {Reg::Cs, 0x38, 2}, {Reg::Ds, 0x3a, 2}, {Reg::Es, 0x3c, 2}, {Reg::Fs, 0x3e, 2},
    {Reg::Gs, 0x40, 2}, {Reg::Ss, 0x42, 2}, {Reg::Eflags, 0x44, 4},
    {Reg::Dr0, 0x48, 8}, {Reg::Dr1, 0x50, 8}, {Reg::Dr2, 0x58, 8}, {Reg::Dr3, 0x60, 8}, {Reg::Dr6, 0x68, 8}, {Reg::Dr7, 0x70, 8},
    {Reg::Rax, 0x78, 8}, {Reg::Rcx, 0x80, 8}, {Reg::Rdx, 0x88, 8}, {Reg::Rbx, 0x90, 8}, {Reg::Rsp, 0x98, 8},
    {Reg::Rbp, 0xa0, 8}, {Reg::Rsi, 0xa8, 8}, {Reg::Rdi, 0xb0, 8}, {Reg::R8, 0xb8, 8}, {Reg::R9, 0xc0, 8},
    {Reg::R10, 0xc8, 8}, {Reg::R11, 0xd0, 8}, {Reg::R12, 0xd8, 8}, {Reg::R13, 0xe0, 8}, {Reg::R14, 0xe8, 8},
    {Reg::R15, 0xf0, 8}, {Reg::Rip, 0xf8, 8},
};

}  // namespace

std::optional<CpuContext> CpuContext::parse(Machine m, Bytes raw) {
    CpuContext c(m);
    switch (m) {
        case Machine::X86: {
            // The extended-registers area is optional in practice: accept the
            // record without it (0xcc bytes) as some writers truncate there.
            if (raw.size() < 0xcc) return std::nullopt;
            c.flags_ = rd<uint32_t>(raw, 0);
            for (auto& f : kX86Layout) c.set(f.r, rd<uint32_t>(raw, f.off));
            // FXSAVE image in ExtendedRegisters: xmm0-7 at +0xa0, mxcsr at +0x18.
            if (raw.size() >= kX86Size && (c.flags_ & 0x20)) {
                c.set(Reg::Mxcsr, rd<uint32_t>(raw, 0xcc + 0x18));
                for (int i = 0; i < 8; ++i)
                    if (auto v = raw.sub(0xcc + 0xa0 + 16 * i, 16)) std::memcpy(c.vec_[i].data(), v->data(), 16);
            }
            if (raw.size() > kX86Size) c.parseXState(raw, kX86Size);
            return c;
        }
        case Machine::Amd64: {
            if (raw.size() < 0x100) return std::nullopt;
            c.flags_ = rd<uint32_t>(raw, 0x30);
            for (auto& f : kAmd64Layout) {
                uint64_t v = f.size == 2 ? rd<uint16_t>(raw, f.off) : f.size == 4 ? rd<uint32_t>(raw, f.off) : rd<uint64_t>(raw, f.off);
                c.set(f.r, v);
            }
            for (int i = 0; i < 16; ++i)
                if (auto v = raw.sub(0x1a0 + 16 * i, 16)) std::memcpy(c.vec_[i].data(), v->data(), 16);
            if (raw.size() > kAmd64Size) c.parseXState(raw, kAmd64Size);
            return c;
        }
        case Machine::Arm64: {
            if (raw.size() < 0x110) return std::nullopt;
            c.flags_ = rd<uint32_t>(raw, 0);
            c.set(Reg::Cpsr, rd<uint32_t>(raw, 4));
            for (int i = 0; i < 29; ++i) c.set(static_cast<Reg>(static_cast<int>(Reg::X0) + i), rd<uint64_t>(raw, 8 + 8 * i));
            c.set(Reg::Fp, rd<uint64_t>(raw, 0xf0));
            c.set(Reg::Lr, rd<uint64_t>(raw, 0xf8));
            c.set(Reg::Sp, rd<uint64_t>(raw, 0x100));
            c.set(Reg::Pc, rd<uint64_t>(raw, 0x108));
            for (int i = 0; i < 32; ++i)
                if (auto v = raw.sub(0x110 + 16 * i, 16)) std::memcpy(c.vec_[i].data(), v->data(), 16);
            c.set(Reg::Fpcr, rd<uint32_t>(raw, 0x310));
            c.set(Reg::Fpsr, rd<uint32_t>(raw, 0x314));
            return c;
        }
        case Machine::Arm: {
            if (raw.size() < 0x50) return std::nullopt;
            c.flags_ = rd<uint32_t>(raw, 0);
            for (int i = 0; i < 13; ++i) c.set(static_cast<Reg>(static_cast<int>(Reg::X0) + i), rd<uint32_t>(raw, 4 + 4 * i));
            c.set(Reg::Sp, rd<uint32_t>(raw, 0x38));
            c.set(Reg::Lr, rd<uint32_t>(raw, 0x3c));
            c.set(Reg::Pc, rd<uint32_t>(raw, 0x40));
            c.set(Reg::Cpsr, rd<uint32_t>(raw, 0x44));
            c.set(Reg::Fpsr, rd<uint32_t>(raw, 0x48));
            for (int i = 0; i < 32; ++i)
                if (auto v = raw.sub(0x50 + 8 * i, 8)) std::memcpy(c.vec_[i].data(), v->data(), 8);
            return c;
        }
        default:
            return std::nullopt;
    }
}

void CpuContext::parseXState(Bytes raw, uint32_t baseSize) {
    // CONTEXT_EX follows the CONTEXT: three CONTEXT_CHUNKs {LONG Offset; DWORD
    // Length} (All, Legacy, XState), offsets relative to the CONTEXT_EX itself.
    if (!(flags_ & kX86XState)) return;
    auto xsOff = raw.get<int32_t>(baseSize + 16);
    auto xsLen = raw.get<uint32_t>(baseSize + 20);
    if (!xsOff || !xsLen || *xsOff <= 0 || *xsLen < 64) return;
    uint64_t hdr = uint64_t{baseSize} + static_cast<uint32_t>(*xsOff);
    auto area = raw.sub(hdr, *xsLen);
    if (!area) return;
    // XSAVE_AREA_HEADER: Mask, CompactionMask, Reserved[6]. The AVX state
    // (feature 2) follows the header directly in both standard and compacted
    // layouts because features 0 and 1 live in the legacy area.
    uint64_t mask = area->getOr<uint64_t>(0, 0);
    if ((mask & 0x4) && area->contains(64, 256)) {
        unsigned n = machine_ == Machine::Amd64 ? 16 : 8;
        for (unsigned i = 0; i < n; ++i) std::memcpy(ymmHi_[i].data(), area->data() + 64 + 16 * i, 16);
        hasYmm_ = true;
    }
    // CET_U (feature 11): in the compacted layout Windows uses, it comes right
    // after AVX when only features 2 and 11 are set beyond the legacy ones.
    uint64_t compaction = area->getOr<uint64_t>(8, 0);
    if ((mask & (uint64_t{1} << 11)) && (compaction & (uint64_t{1} << 63))) {
        uint64_t off = 64;
        for (int f = 2; f < 11; ++f) {
            if (!(compaction & (uint64_t{1} << f))) continue;
            if (f == 2) off += 256;
            else return;  // unknown sizes in between: do not guess
        }
        if (auto ssp = area->get<uint64_t>(off + 8)) ssp_ = *ssp;
    }
}

std::vector<uint8_t> CpuContext::serialize() const {
    std::vector<uint8_t> out;
    switch (machine_) {
        case Machine::X86:
            out.assign(kX86Size, 0);
            wr<uint32_t>(out, 0, flags_);
            for (auto& f : kX86Layout) wr<uint32_t>(out, f.off, static_cast<uint32_t>(get(f.r)));
            break;
        case Machine::Amd64:
            out.assign(kAmd64Size, 0);
            wr<uint32_t>(out, 0x30, flags_);
            for (auto& f : kAmd64Layout) {
                if (f.size == 2) wr<uint16_t>(out, f.off, static_cast<uint16_t>(get(f.r)));
                else if (f.size == 4) wr<uint32_t>(out, f.off, static_cast<uint32_t>(get(f.r)));
                else wr<uint64_t>(out, f.off, get(f.r));
            }
            for (int i = 0; i < 16; ++i) std::memcpy(out.data() + 0x1a0 + 16 * i, vec_[i].data(), 16);
            break;
        case Machine::Arm64:
            out.assign(kArm64Size, 0);
            wr<uint32_t>(out, 0, flags_);
            wr<uint32_t>(out, 4, static_cast<uint32_t>(get(Reg::Cpsr)));
            for (int i = 0; i < 29; ++i) wr<uint64_t>(out, 8 + 8 * i, get(static_cast<Reg>(static_cast<int>(Reg::X0) + i)));
            wr<uint64_t>(out, 0xf0, get(Reg::Fp));
            wr<uint64_t>(out, 0xf8, get(Reg::Lr));
            wr<uint64_t>(out, 0x100, get(Reg::Sp));
            wr<uint64_t>(out, 0x108, get(Reg::Pc));
            break;
        case Machine::Arm:
            out.assign(kArmSize, 0);
            wr<uint32_t>(out, 0, flags_);
            for (int i = 0; i < 13; ++i) wr<uint32_t>(out, 4 + 4 * i, static_cast<uint32_t>(get(static_cast<Reg>(static_cast<int>(Reg::X0) + i))));
            wr<uint32_t>(out, 0x38, static_cast<uint32_t>(get(Reg::Sp)));
            wr<uint32_t>(out, 0x3c, static_cast<uint32_t>(get(Reg::Lr)));
            wr<uint32_t>(out, 0x40, static_cast<uint32_t>(get(Reg::Pc)));
            wr<uint32_t>(out, 0x44, static_cast<uint32_t>(get(Reg::Cpsr)));
            break;
        default:
            break;
    }
    return out;
}

uint64_t CpuContext::ip() const {
    return (machine_ == Machine::Arm64 || machine_ == Machine::Arm) ? get(Reg::Pc) : get(Reg::Rip);
}
uint64_t CpuContext::sp() const {
    return (machine_ == Machine::Arm64 || machine_ == Machine::Arm) ? get(Reg::Sp) : get(Reg::Rsp);
}
uint64_t CpuContext::fp() const {
    if (machine_ == Machine::Arm64) return get(Reg::Fp);
    if (machine_ == Machine::Arm) return get(static_cast<Reg>(static_cast<int>(Reg::X0) + 11));
    return get(Reg::Rbp);
}
void CpuContext::setIp(uint64_t v) {
    set((machine_ == Machine::Arm64 || machine_ == Machine::Arm) ? Reg::Pc : Reg::Rip, v);
}
void CpuContext::setSp(uint64_t v) {
    set((machine_ == Machine::Arm64 || machine_ == Machine::Arm) ? Reg::Sp : Reg::Rsp, v);
}

CpuContext CpuContext::narrowedToX86() const {
    CpuContext x(Machine::X86);
    x.flags_ = 0x10007;  // CONTEXT_i386 | CONTROL | INTEGER | SEGMENTS
    for (Reg r : {Reg::Rax, Reg::Rbx, Reg::Rcx, Reg::Rdx, Reg::Rsi, Reg::Rdi, Reg::Rbp, Reg::Rsp, Reg::Rip, Reg::Eflags,
                  Reg::Cs, Reg::Ds, Reg::Es, Reg::Fs, Reg::Gs, Reg::Ss, Reg::Dr0, Reg::Dr1, Reg::Dr2, Reg::Dr3, Reg::Dr6,
                  Reg::Dr7})
        x.set(r, get(r) & 0xffffffffu);
    return x;
}

bool CpuContext::hasControl() const { return (flags_ & kCtlFlag) != 0; }
bool CpuContext::hasInteger() const { return (flags_ & kIntFlag) != 0; }

std::optional<uint64_t> CpuContext::getByName(std::string_view name) const {
    auto r = lookup(machine_, name);
    if (!r) return std::nullopt;
    return (get(r->reg) >> r->shift) & maskBits(r->bits);
}

bool CpuContext::setByName(std::string_view name, uint64_t value) {
    auto r = lookup(machine_, name);
    if (!r) return false;
    uint64_t mask = maskBits(r->bits) << r->shift;
    uint64_t cur = get(r->reg);
    // Writing a 32-bit x64 sub-register zero-extends, as the CPU does.
    if (machine_ == Machine::Amd64 && r->bits == 32 && r->shift == 0) cur = 0;
    set(r->reg, (cur & ~mask) | ((value << r->shift) & mask));
    return true;
}

unsigned CpuContext::widthOf(std::string_view name) const {
    auto r = lookup(machine_, name);
    return r ? r->bits : 0;
}

// Silence unused-constant warnings for groups not consulted yet.
static_assert(kSegFlag == 4 && kFltFlag == 8 && kDbgFlag == 0x10);

}  // namespace nt
