// CPU register contexts for x86, x64, ARM64 and ARM, parsed from Windows
// CONTEXT records (as stored in minidumps, user dumps and kernel dumps).
//
// Registers are addressed by name the way WinDbg does (`r rax`, `@eax`,
// `@al`): sub-registers of a full register (eax/ax/al/ah of rax) are views
// of it. Which registers the record actually held is tracked through
// ContextFlags: a register outside the captured groups reads as absent.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arch/machine.h"
#include "base/bytes.h"

namespace nt {

// Full-width register slots. One enum for all machines keeps the context a
// plain value type; each machine uses its own subset.
enum class Reg : uint8_t {
    // x86 / x64 (x86 uses the low 32 bits of the r-named slots)
    Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp, Rsp, R8, R9, R10, R11, R12, R13, R14, R15, Rip,
    Eflags, Cs, Ds, Es, Fs, Gs, Ss, Dr0, Dr1, Dr2, Dr3, Dr6, Dr7, Mxcsr,
    // ARM64 X0..X28, Fp (X29), Lr (X30), Sp, Pc, Cpsr. ARM uses X0..X12 as R0..R12.
    X0, X28 = X0 + 28, Fp, Lr, Sp, Pc, Cpsr, Fpcr, Fpsr,
    Count
};

class CpuContext {
public:
    // Context record sizes as written by Windows (without CONTEXT_EX / XSAVE).
    static constexpr uint32_t kX86Size = 0x2cc;
    static constexpr uint32_t kAmd64Size = 0x4d0;
    static constexpr uint32_t kArm64Size = 0x390;
    static constexpr uint32_t kArmSize = 0x1a0;

    CpuContext() = default;
    explicit CpuContext(Machine m) : machine_(m) {}

    // Parses a CONTEXT record. Returns nullopt when `raw` is too short for the
    // machine's record. Extra bytes after the record (CONTEXT_EX + XSAVE) are
    // decoded when their header is sane and ignored otherwise.
    static std::optional<CpuContext> parse(Machine m, Bytes raw);

    // Serializes back into a CONTEXT record of the machine's base size (used
    // by .cxr round-trips and synthetic dumps in tests).
    std::vector<uint8_t> serialize() const;

    Machine machine() const { return machine_; }
    uint32_t contextFlags() const { return flags_; }

    // Generic accessors.
    uint64_t ip() const;
    uint64_t sp() const;
    uint64_t fp() const;  // ebp/rbp/x29/r11
    void setIp(uint64_t v);
    void setSp(uint64_t v);

    uint64_t get(Reg r) const { return regs_[static_cast<size_t>(r)]; }
    void set(Reg r, uint64_t v) { regs_[static_cast<size_t>(r)] = v; }

    // Lookup by WinDbg name (case-insensitive, without '@'): full registers,
    // sub-registers (eax, ax, al, ah, r8d, r8w, r8b, w0...), flags (efl), and
    // pseudo-registers $ip, $csp. Returns nullopt for unknown names.
    std::optional<uint64_t> getByName(std::string_view name) const;
    bool setByName(std::string_view name, uint64_t value);
    // Width in bits of a named register, 0 when unknown.
    unsigned widthOf(std::string_view name) const;

    // 128-bit vector registers: xmm0-15 (x64), xmm0-7 (x86), v0-31 (ARM64), d0-31 as 64-bit (ARM).
    const std::array<std::array<uint8_t, 16>, 32>& vectors() const { return vec_; }
    std::array<std::array<uint8_t, 16>, 32>& vectors() { return vec_; }
    // Upper halves of ymm0-15 from an XSAVE AVX area, when present.
    bool hasYmm() const { return hasYmm_; }
    const std::array<std::array<uint8_t, 16>, 16>& ymmHigh() const { return ymmHi_; }
    // CET shadow-stack pointer (x64 XSAVE CET_U), when present.
    std::optional<uint64_t> shadowStackPointer() const { return ssp_; }

    // The x86 registers of an x64 record captured in compatibility mode
    // (a WoW64 thread stopped in 32-bit code, CS = 0x23): the low halves.
    CpuContext narrowedToX86() const;

    // Whether the record held the integer/control groups (a context with
    // neither is not useful for unwinding).
    bool hasControl() const;
    bool hasInteger() const;

private:
    void parseXState(Bytes raw, uint32_t baseSize);

    Machine machine_ = Machine::Unknown;
    uint32_t flags_ = 0;
    std::array<uint64_t, static_cast<size_t>(Reg::Count)> regs_{};
    std::array<std::array<uint8_t, 16>, 32> vec_{};
    std::array<std::array<uint8_t, 16>, 16> ymmHi_{};
    bool hasYmm_ = false;
    std::optional<uint64_t> ssp_;
};

}  // namespace nt
