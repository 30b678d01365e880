#include "arch/disasm.h"

#include <Zydis/Zydis.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "base/format.h"

namespace nt {

namespace {

constexpr unsigned kMaxInsn = 15;

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::string regName(ZydisRegister r) {
    // MASM names the x87 stack registers st(0)..st(7).
    if (r >= ZYDIS_REGISTER_ST0 && r <= ZYDIS_REGISTER_ST7) return "st(" + std::to_string(r - ZYDIS_REGISTER_ST0) + ")";
    const char* s = ZydisRegisterGetString(r);
    return s ? lower(s) : std::string();
}

uint64_t maskBits(uint64_t v, unsigned bits) {
    return bits >= 64 || bits == 0 ? v : (v & ((uint64_t{1} << bits) - 1));
}

// WinDbg's name for an access of this many bits ("" when it has none).
std::string_view sizeName(unsigned bits) {
    switch (bits) {
        case 8: return "byte";
        case 16: return "word";
        case 32: return "dword";
        case 48: return "fword";
        case 64: return "qword";
        case 80: return "tbyte";
        case 128: return "xmmword";
        case 256: return "ymmword";
        case 512: return "zmmword";
        default: return "";
    }
}

// `sym (address)` when the address has a symbol, else the bare address.
std::string target(uint64_t addr, bool is64, const SymbolizeFn& sym) {
    std::string s = sym ? sym(addr) : std::string();
    std::string a = addrTick(addr, is64);
    return s.empty() ? a : s + " (" + a + ")";
}

// Zydis names conditions after the flags they test (jz, jnbe, setnz); the
// Microsoft disassembler WinDbg uses prints je, ja, setne, cmovge.
std::string windbgMnemonic(std::string m) {
    if (m == "fwait") return "wait";
    static const std::pair<std::string_view, std::string_view> kCond[] = {
        {"nz", "ne"}, {"z", "e"}, {"nbe", "a"}, {"nb", "ae"}, {"nle", "g"}, {"nl", "ge"},
    };
    for (std::string_view prefix : {"j", "set", "cmov"}) {
        if (m.size() <= prefix.size() || m.compare(0, prefix.size(), prefix) != 0) continue;
        std::string_view cond = std::string_view(m).substr(prefix.size());
        for (const auto& [from, to] : kCond)
            if (cond == from) return std::string(prefix) + std::string(to);
    }
    return m;
}

bool isStringOp(ZydisMnemonic m) {
    switch (m) {
        case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD: case ZYDIS_MNEMONIC_STOSQ:
        case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD: case ZYDIS_MNEMONIC_MOVSQ:
        case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD: case ZYDIS_MNEMONIC_LODSQ:
        case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_SCASW: case ZYDIS_MNEMONIC_SCASD: case ZYDIS_MNEMONIC_SCASQ:
        case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW: case ZYDIS_MNEMONIC_CMPSD: case ZYDIS_MNEMONIC_CMPSQ:
            return true;
        default:
            return false;
    }
}

std::string_view segName(ZydisRegister r) {
    switch (r) {
        case ZYDIS_REGISTER_ES: return "es";
        case ZYDIS_REGISTER_CS: return "cs";
        case ZYDIS_REGISTER_SS: return "ss";
        case ZYDIS_REGISTER_DS: return "ds";
        case ZYDIS_REGISTER_FS: return "fs";
        case ZYDIS_REGISTER_GS: return "gs";
        default: return "ds";
    }
}

struct Ctx {
    const ZydisDecodedInstruction& in;
    uint64_t address;
    bool is64;
    const SymbolizeFn& sym;
    Instruction& out;
    ZydisRegister segOverride;  // from the raw prefix bytes (64-bit mode ignores
                                // cs/ds/es/ss but WinDbg still prints them)
};

ZydisRegister segmentPrefix(const ZydisDecodedInstruction& in) {
    ZydisRegister r = ZYDIS_REGISTER_NONE;
    for (unsigned i = 0; i < in.raw.prefix_count && i < ZYDIS_MAX_INSTRUCTION_LENGTH; ++i) {
        switch (in.raw.prefixes[i].value) {
            case 0x26: r = ZYDIS_REGISTER_ES; break;
            case 0x2e: r = ZYDIS_REGISTER_CS; break;
            case 0x36: r = ZYDIS_REGISTER_SS; break;
            case 0x3e: r = ZYDIS_REGISTER_DS; break;
            case 0x64: r = ZYDIS_REGISTER_FS; break;
            case 0x65: r = ZYDIS_REGISTER_GS; break;
            default: break;
        }
    }
    return r;
}

std::string memOperand(const Ctx& c, const ZydisDecodedOperand& op, bool stringOp) {
    const auto& m = op.mem;
    MemOperand mo;
    mo.segment = std::string(segName(m.segment));
    mo.base = m.base == ZYDIS_REGISTER_NONE ? "" : regName(m.base);
    mo.index = m.index == ZYDIS_REGISTER_NONE ? "" : regName(m.index);
    mo.scale = m.scale;
    mo.disp = m.disp.has_displacement ? m.disp.value : 0;
    mo.size = op.size / 8;
    mo.addressOnly = m.type == ZYDIS_MEMOP_TYPE_AGEN || m.type == ZYDIS_MEMOP_TYPE_MIB ||
                     c.in.mnemonic == ZYDIS_MNEMONIC_NOP || c.in.meta.category == ZYDIS_CATEGORY_PREFETCH;

    std::string s;
    if (m.type != ZYDIS_MEMOP_TYPE_AGEN) {
        std::string_view sz = sizeName(op.size);
        if (!sz.empty()) {
            s += sz;
            s += " ptr ";
        }
    }
    bool noRegs = m.base == ZYDIS_REGISTER_NONE && m.index == ZYDIS_REGISTER_NONE;
    // WinDbg names fs/gs and explicit overrides; x86 string operands show es:.
    bool showSeg = m.segment == ZYDIS_REGISTER_FS || m.segment == ZYDIS_REGISTER_GS ||
                   c.segOverride != ZYDIS_REGISTER_NONE ||
                   (stringOp && !c.is64 && m.segment == ZYDIS_REGISTER_ES);

    std::string inner;
    if (m.base == ZYDIS_REGISTER_RIP || m.base == ZYDIS_REGISTER_EIP) {
        uint64_t abs = c.address + c.in.length + static_cast<uint64_t>(mo.disp);
        if (m.base == ZYDIS_REGISTER_EIP) abs = maskBits(abs, 32);
        mo.ripRelative = true;
        mo.absolute = abs;
        inner = target(abs, c.is64, c.sym);
    } else if (noRegs) {
        uint64_t abs = maskBits(static_cast<uint64_t>(mo.disp), c.in.address_width);
        mo.absolute = abs;
        std::string name = c.sym ? c.sym(abs) : std::string();
        if (!name.empty()) {
            inner = name + " (" + addrTick(abs, c.is64) + ")";
        } else if (c.is64) {
            inner = masmNumber(abs);
        } else {
            // 32-bit absolute operands print as 8 digits with the data segment named.
            std::string h = hexPad(abs, 8);
            for (char& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            if (h[0] >= 'A') h = "0" + h;
            inner = h + "h";
            showSeg = true;
        }
    } else {
        if (!mo.base.empty()) inner = mo.base;
        if (!mo.index.empty()) {
            if (!inner.empty()) inner += "+";
            inner += mo.index;
            if (m.scale > 1) inner += "*" + std::to_string(m.scale);
        }
        if (mo.disp != 0) {
            int64_t d = mo.disp;
            if (!c.is64 || c.in.address_width == 32) {
                // 32-bit address arithmetic: show the signed 32-bit displacement.
                d = static_cast<int32_t>(static_cast<uint32_t>(d));
            }
            if (d < 0) inner += "-" + masmNumber(static_cast<uint64_t>(0) - static_cast<uint64_t>(d));
            else inner += "+" + masmNumber(static_cast<uint64_t>(d));
        }
    }
    if (showSeg) {
        s += segName(c.segOverride != ZYDIS_REGISTER_NONE ? c.segOverride : m.segment);
        s += ":";
    }
    s += "[" + inner + "]";
    if (!c.out.memory) c.out.memory = mo;
    return s;
}

std::string operandText(const Ctx& c, const ZydisDecodedOperand& op, bool stringOp) {
    switch (op.type) {
        case ZYDIS_OPERAND_TYPE_REGISTER:
            return regName(op.reg.value);
        case ZYDIS_OPERAND_TYPE_MEMORY:
            return memOperand(c, op, stringOp);
        case ZYDIS_OPERAND_TYPE_POINTER:
            return masmNumber(op.ptr.segment) + ":" + masmNumber(op.ptr.offset);
        case ZYDIS_OPERAND_TYPE_IMMEDIATE: {
            if (op.imm.is_relative) {
                uint64_t t = c.address + c.in.length + op.imm.value.u;
                if (!c.is64 || c.in.operand_width == 32) t = maskBits(t, c.is64 ? 64 : 32);
                if (c.in.operand_width == 16) t = maskBits(t, 16);
                c.out.branchTarget = t;
                return target(t, c.is64, c.sym);
            }
            // Sign-extended immediates print at the operation's width, as
            // WinDbg does (`and rsp,0FFFFFFFFFFFFFFF0h`).
            unsigned bits = op.imm.is_signed ? c.in.operand_width : op.size;
            return masmNumber(maskBits(op.imm.value.u, bits));
        }
        default:
            return "";
    }
}

}  // namespace

std::string masmNumber(uint64_t v) {
    if (v < 10) return std::to_string(v);
    std::string h = hex(v);
    for (char& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (h[0] >= 'A') h = "0" + h;
    return h + "h";
}

std::string Instruction::text() const {
    std::string s = mnemonic;
    if (!operands.empty()) {
        if (s.size() < 7) s.append(7 - s.size(), ' ');
        s += ' ';
        s += operands;
    }
    return s;
}

std::string formatInstructionLine(const Instruction& insn, bool is64) {
    std::string bytes;
    if (!insn.readable) {
        bytes = "??";
    } else {
        for (unsigned i = 0; i < insn.byteCount && i < insn.bytes.size(); ++i) bytes += hexPad(insn.bytes[i], 2);
    }
    // WinDbg pads the byte column to 15 and separates it by one blank;
    // longer encodings simply push the mnemonic right.
    if (bytes.size() < 15) bytes.append(15 - bytes.size(), ' ');
    return addrTick(insn.address, is64) + " " + bytes + " " + insn.text();
}

std::string Disassembler::unsupportedMessage(Machine m) {
    return "disassembly not supported for " + std::string(machineName(m)) + " yet";
}

Disassembler::Disassembler(Machine m) : machine_(m), supported_(m == Machine::X86 || m == Machine::Amd64) {}

Instruction Disassembler::decode(uint64_t address, std::span<const uint8_t> code, const SymbolizeFn& sym) const {
    Instruction out;
    out.address = address;
    if (code.empty()) {
        out.readable = false;
        out.mnemonic = "???";
        return out;
    }
    size_t n = std::min<size_t>(code.size(), kMaxInsn);
    bool is64 = machine_ == Machine::Amd64;
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, is64 ? ZYDIS_MACHINE_MODE_LONG_64 : ZYDIS_MACHINE_MODE_LEGACY_32,
                     is64 ? ZYDIS_STACK_WIDTH_64 : ZYDIS_STACK_WIDTH_32);
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!supported_ || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code.data(), n, &in, ops))) {
        out.bytes[0] = code[0];
        out.byteCount = 1;
        out.mnemonic = "???";
        return out;
    }
    out.length = in.length;
    out.byteCount = in.length;
    std::copy_n(code.begin(), in.length, out.bytes.begin());

    std::string mnem;
    if (in.attributes & ZYDIS_ATTRIB_HAS_LOCK) mnem += "lock ";
    if (in.attributes & ZYDIS_ATTRIB_HAS_REP) mnem += "rep ";
    if (in.attributes & ZYDIS_ATTRIB_HAS_REPE) mnem += "repe ";
    if (in.attributes & ZYDIS_ATTRIB_HAS_REPNE) mnem += "repne ";
    std::string base = ZydisMnemonicGetString(in.mnemonic);
    // WinDbg prints string instructions as `stos byte ptr [rdi]`: drop the size
    // letter and show the implicit memory operands.
    bool stringOp = isStringOp(in.mnemonic) && in.operand_count_visible == 0;
    if (stringOp) base.pop_back();
    mnem += windbgMnemonic(base);
    out.mnemonic = mnem;

    out.isCall = in.meta.category == ZYDIS_CATEGORY_CALL;
    out.isRet = in.meta.category == ZYDIS_CATEGORY_RET;
    out.isJump = in.meta.category == ZYDIS_CATEGORY_UNCOND_BR;
    out.isCondJump = in.meta.category == ZYDIS_CATEGORY_COND_BR;

    Ctx c{in, address, is64, sym, out, segmentPrefix(in)};
    std::string operands;
    if (stringOp) {
        // Destination (rdi/edi) first, then source, as WinDbg does.
        std::vector<const ZydisDecodedOperand*> mems;
        for (unsigned i = 0; i < in.operand_count; ++i)
            if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY) mems.push_back(&ops[i]);
        for (const auto* op : mems) {
            if (!operands.empty()) operands += ",";
            operands += operandText(c, *op, true);
        }
    } else {
        // Multi-byte nop (0f 1f /0) carries a register operand WinDbg does not print.
        unsigned shown = in.mnemonic == ZYDIS_MNEMONIC_NOP ? std::min<unsigned>(1, in.operand_count_visible)
                                                            : in.operand_count_visible;
        for (unsigned i = 0; i < shown; ++i) {
            std::string t = operandText(c, ops[i], false);
            if (t.empty()) continue;
            if (!operands.empty()) operands += ",";
            operands += t;
        }
    }
    if (in.mnemonic == ZYDIS_MNEMONIC_INT3) {
        // WinDbg shows the one-byte breakpoint as "int 3".
        out.mnemonic = "int";
        operands = "3";
    }
    out.operands = operands;
    return out;
}

Instruction Disassembler::decodeAt(uint64_t address, const ReadFn& read, const SymbolizeFn& sym) const {
    std::array<uint8_t, kMaxInsn> buf{};
    uint64_t got = read ? read(address, buf) : 0;
    return decode(address, std::span<const uint8_t>(buf.data(), static_cast<size_t>(got)), sym);
}

uint64_t Disassembler::backwardStart(uint64_t address, unsigned count, const ReadFn& read) const {
    if (count == 0) return address;
    // Bounded work whatever the count: at most 8 KiB are decoded backwards,
    // and only the first 128 start offsets are tried (decoding
    // resynchronises within a few instructions, so later starts add nothing).
    constexpr uint64_t kMaxBack = 0x2000;
    constexpr uint64_t kMaxCandidates = 128;
    uint64_t span = std::min<uint64_t>(std::min<uint64_t>(uint64_t{count} * kMaxInsn, kMaxBack), address);
    if (span == 0 || !supported_ || !read) return address;
    uint64_t from = address - span;
    // Use the readable run that ends at `address` (holes before it cut the
    // window short).
    std::vector<uint8_t> buf(static_cast<size_t>(span));
    while (from < address) {
        uint64_t got = read(from, std::span<uint8_t>(buf.data(), static_cast<size_t>(address - from)));
        if (got >= address - from) break;
        from += got + 1;
    }
    span = address - from;
    // Nothing readable right before: one byte per requested instruction,
    // shown as "??" lines like WinDbg does for missing memory.
    if (span == 0) return address - std::min<uint64_t>(count, address);
    // Every candidate start that decodes into valid instructions landing
    // exactly on `address` votes for the start of its last `count`
    // instructions; x86 decoding resynchronises quickly, so the majority
    // answer is the real instruction stream.
    std::map<uint64_t, unsigned> votes;
    // Fewer than `count` instructions fit: the earliest start that lands
    // covers the most bytes.
    std::optional<uint64_t> earliestShort;
    for (uint64_t s = 0; s < std::min(span, kMaxCandidates); ++s) {
        std::vector<uint64_t> bounds;
        uint64_t off = s;
        bool ok = true;
        while (off < span) {
            Instruction i = decode(from + off, std::span<const uint8_t>(buf.data() + off, static_cast<size_t>(span - off)), nullptr);
            if (!i.valid() || off + i.length > span) {
                ok = false;
                break;
            }
            bounds.push_back(from + off);
            off += i.length;
        }
        if (!ok || off != span || bounds.empty()) continue;
        if (bounds.size() < count) {
            if (!earliestShort) earliestShort = bounds.front();
            continue;
        }
        ++votes[bounds[bounds.size() - count]];
    }
    if (votes.empty()) return earliestShort ? *earliestShort : address - std::min<uint64_t>(count, address);
    auto best = votes.begin();
    for (auto it = votes.begin(); it != votes.end(); ++it)
        if (it->second > best->second) best = it;
    return best->first;
}

std::optional<uint64_t> effectiveAddress(const MemOperand& m, const RegFn& reg, uint64_t nextIp, bool is64) {
    (void)nextIp;
    if (m.ripRelative) return m.absolute;
    uint64_t ea = static_cast<uint64_t>(m.disp);
    if (!m.base.empty()) {
        auto v = reg ? reg(m.base) : std::nullopt;
        if (!v) return std::nullopt;
        ea += *v;
    }
    if (!m.index.empty()) {
        auto v = reg ? reg(m.index) : std::nullopt;
        if (!v) return std::nullopt;
        ea += *v * (m.scale ? m.scale : 1);
    }
    // fs/gs bases are not part of a CONTEXT record; the caller adds them.
    return is64 ? ea : (ea & 0xffffffffu);
}

}  // namespace nt
