// `r`: the register block of the current scope (FACTS.md §2.6), the symbol
// of the instruction pointer and that instruction with its memory operand
// ("ds:002b:00000000`00000000=????????"); `r rax, rbx` for single registers;
// `r rax=<expr>` to change a register of the scope context.
#include <cctype>

#include "base/format.h"
#include "commands/command_views.h"
#include "commands/engine.h"
#include "commands/kernel_views.h"
#include "commands/expression.h"

namespace nt {

namespace {

std::string regEq(std::string_view name, uint64_t v, int digits) {
    return std::string(name) + "=" + hexPad(v, digits);
}

// WinDbg right-aligns x64 names to 3 columns (" r8=").
std::string x64Reg(const CpuContext& c, std::string_view name, Reg r) {
    std::string n(name);
    if (n.size() < 3) n = std::string(3 - n.size(), ' ') + n;
    return regEq(n, c.get(r), 16);
}

std::string segmentLine(const CpuContext& c) {
    auto s = [&](const char* n, Reg r) { return std::string(n) + "=" + hexPad(c.get(r) & 0xffff, 4); };
    return s("cs", Reg::Cs) + "  " + s("ss", Reg::Ss) + "  " + s("ds", Reg::Ds) + "  " + s("es", Reg::Es) + "  " +
           s("fs", Reg::Fs) + "  " + s("gs", Reg::Gs) + "             efl=" + hexPad(c.get(Reg::Eflags) & 0xffffffffu, 8);
}

std::string ioplFlags(const CpuContext& c) {
    auto efl = static_cast<uint32_t>(c.get(Reg::Eflags));
    std::string iopl = "iopl=" + std::to_string((efl >> 12) & 3);
    iopl.append(15 - iopl.size(), ' ');
    return iopl + flagsText(efl);
}

std::string lowerCopy(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string flagsText(uint32_t efl) {
    auto f = [&](unsigned bit, const char* set, const char* clear) { return std::string((efl >> bit) & 1 ? set : clear); };
    // Order as WinDbg prints: OF DF IF SF ZF AF PF CF.
    return f(11, "ov", "nv") + " " + f(10, "dn", "up") + " " + f(9, "ei", "di") + " " + f(7, "ng", "pl") + " " +
           f(6, "zr", "nz") + " " + f(4, "ac", "na") + " " + f(2, "pe", "po") + " " + f(0, "cy", "nc");
}

std::vector<std::string> registerBlock(const CpuContext& c) {
    std::vector<std::string> out;
    switch (c.machine()) {
        case Machine::Amd64: {
            static const std::pair<const char*, Reg> rows[6][3] = {
                {{"rax", Reg::Rax}, {"rbx", Reg::Rbx}, {"rcx", Reg::Rcx}},
                {{"rdx", Reg::Rdx}, {"rsi", Reg::Rsi}, {"rdi", Reg::Rdi}},
                {{"rip", Reg::Rip}, {"rsp", Reg::Rsp}, {"rbp", Reg::Rbp}},
                {{"r8", Reg::R8}, {"r9", Reg::R9}, {"r10", Reg::R10}},
                {{"r11", Reg::R11}, {"r12", Reg::R12}, {"r13", Reg::R13}},
                {{"r14", Reg::R14}, {"r15", Reg::R15}, {nullptr, Reg::Rax}},
            };
            for (const auto& row : rows) {
                std::string l;
                for (const auto& [n, r] : row) {
                    if (!n) break;
                    if (!l.empty()) l += ' ';
                    l += x64Reg(c, n, r);
                }
                out.push_back(l);
            }
            out.push_back(ioplFlags(c));
            out.push_back(segmentLine(c));
            break;
        }
        case Machine::X86: {
            auto r = [&](const char* n, Reg reg) { return regEq(n, c.get(reg) & 0xffffffffu, 8); };
            out.push_back(r("eax", Reg::Rax) + " " + r("ebx", Reg::Rbx) + " " + r("ecx", Reg::Rcx) + " " + r("edx", Reg::Rdx) +
                          " " + r("esi", Reg::Rsi) + " " + r("edi", Reg::Rdi));
            out.push_back(r("eip", Reg::Rip) + " " + r("esp", Reg::Rsp) + " " + r("ebp", Reg::Rbp) + " " + ioplFlags(c));
            out.push_back(segmentLine(c));
            break;
        }
        case Machine::Arm64: {
            // Four registers a line, names right-aligned to 3, two blanks
            // between columns; then pc and psr with its NZCV letters and
            // exception level (layout of a WinDbg ARM64 capture:
            // " x8=0000000000000072   x9=0000000000000000  x10=...",
            // " pc=00007ffea80e30f4  psr=60000000 -ZC- EL0").
            std::vector<std::pair<std::string, uint64_t>> regs;
            for (int i = 0; i <= 28; ++i) regs.emplace_back("x" + std::to_string(i), c.get(static_cast<Reg>(static_cast<int>(Reg::X0) + i)));
            regs.emplace_back("fp", c.get(Reg::Fp));
            regs.emplace_back("lr", c.get(Reg::Lr));
            regs.emplace_back("sp", c.get(Reg::Sp));
            std::string l;
            for (size_t i = 0; i < regs.size(); ++i) {
                std::string n = regs[i].first;
                if (n.size() < 3) n = std::string(3 - n.size(), ' ') + n;
                if (!l.empty()) l += "  ";
                l += regEq(n, regs[i].second, 16);
                if (i % 4 == 3) {
                    out.push_back(l);
                    l.clear();
                }
            }
            if (!l.empty()) out.push_back(l);
            auto psr = static_cast<uint32_t>(c.get(Reg::Cpsr));
            std::string nzcv;
            nzcv += (psr >> 31) & 1 ? 'N' : '-';
            nzcv += (psr >> 30) & 1 ? 'Z' : '-';
            nzcv += (psr >> 29) & 1 ? 'C' : '-';
            nzcv += (psr >> 28) & 1 ? 'V' : '-';
            out.push_back(" pc=" + hexPad(c.get(Reg::Pc), 16) + "  psr=" + hexPad(psr, 8) + " " + nzcv + " EL" +
                          std::to_string((psr >> 2) & 3));
            break;
        }
        case Machine::Arm: {
            std::string l;
            for (int i = 0; i <= 12; ++i) {
                std::string n = "r" + std::to_string(i);
                if (n.size() < 3) n = " " + n;
                if (!l.empty()) l += ' ';
                l += regEq(n, c.get(static_cast<Reg>(static_cast<int>(Reg::X0) + i)) & 0xffffffffu, 8);
                if (i % 6 == 5) {
                    out.push_back(l);
                    l.clear();
                }
            }
            l += " sp=" + hexPad(c.get(Reg::Sp) & 0xffffffffu, 8) + "  lr=" + hexPad(c.get(Reg::Lr) & 0xffffffffu, 8) +
                 "  pc=" + hexPad(c.get(Reg::Pc) & 0xffffffffu, 8) + " psr=" + hexPad(c.get(Reg::Cpsr) & 0xffffffffu, 8);
            out.push_back(l);
            break;
        }
        default:
            out.push_back("Registers are not available for this machine");
    }
    return out;
}

std::optional<std::string> registerValueText(const CpuContext& ctx, std::string_view name) {
    std::string n = lowerCopy(name);
    auto v = ctx.getByName(n);
    unsigned bits = ctx.widthOf(n);
    if (!v || bits == 0) return std::nullopt;
    return n + "=" + hexPad(*v, static_cast<int>((bits + 3) / 4));
}

std::string memoryAnnotation(const Instruction& insn, const CpuContext& ctx, const ReadFn& read, const SymbolizeFn& sym) {
    if (!insn.memory || insn.memory->addressOnly || insn.memory->size == 0) return "";
    const MemOperand& m = *insn.memory;
    bool is64 = ctx.machine() == Machine::Amd64;
    RegFn reg = [&ctx](std::string_view n) { return ctx.getByName(n); };
    auto ea = effectiveAddress(m, reg, insn.next(), is64);
    if (!ea) return "";
    Reg segReg = Reg::Ds;
    if (m.segment == "ss") segReg = Reg::Ss;
    else if (m.segment == "es") segReg = Reg::Es;
    else if (m.segment == "cs") segReg = Reg::Cs;
    else if (m.segment == "fs") segReg = Reg::Fs;
    else if (m.segment == "gs") segReg = Reg::Gs;
    std::string s = m.segment + ":" + hexPad(ctx.get(segReg) & 0xffff, 4) + ":" + addrTick(*ea, is64) + "=";
    // fs/gs-relative operands need the segment base (the TEB), which a
    // CONTEXT record does not hold: show the value as unknown.
    bool segBased = m.segment == "fs" || m.segment == "gs";
    unsigned size = std::min(m.size, 32u);
    std::vector<uint8_t> buf(size);
    uint64_t got = (!segBased && read) ? read(*ea, buf) : 0;
    unsigned ptr = is64 ? 8 : 4;
    if ((insn.isCall || insn.isJump) && size == ptr && got == size && sym) {
        uint64_t target = 0;
        for (unsigned i = 0; i < size; ++i) target |= uint64_t{buf[i]} << (8 * i);
        std::string name = sym(target);
        if (!name.empty()) return s + "{" + name + " (" + addrTick(target, is64) + ")}";
    }
    // Most significant byte first; missing bytes as ??.
    for (unsigned i = size; i-- > 0;) s += i < got ? hexPad(buf[i], 2) : "??";
    return s;
}

void registerRegisterCommands(Engine& engine) {
    engine.registerCommand({"r", "display or set registers", [](Engine& e, std::string_view args, Output& out) {
        auto ctx = e.currentContext();
        if (!ctx) throw UsageError("Unable to get thread context");
        args = trim(args);
        if (args.empty()) {
            if (e.hasScopeContext()) out.line("Last set context:");
            for (const auto& l : registerBlock(*ctx)) out.line(l);
            nlohmann::json regs = nlohmann::json::object();
            const char* names64[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rip", "rsp", "rbp", "r8", "r9", "r10",
                                     "r11", "r12", "r13", "r14", "r15", "efl", "cs", "ss", "ds", "es", "fs", "gs"};
            const char* names32[] = {"eax", "ebx", "ecx", "edx", "esi", "edi", "eip", "esp", "ebp", "efl", "cs", "ss", "ds", "es", "fs", "gs"};
            if (ctx->machine() == Machine::Amd64) {
                for (const char* n : names64) if (auto v = ctx->getByName(n)) regs[n] = *v;
            } else if (ctx->machine() == Machine::X86) {
                for (const char* n : names32) if (auto v = ctx->getByName(n)) regs[n] = *v;
            } else {
                for (int i = 0; i <= 28; ++i) if (auto v = ctx->getByName("x" + std::to_string(i))) regs["x" + std::to_string(i)] = *v;
                for (const char* n : {"fp", "lr", "sp", "pc", "cpsr"}) if (auto v = ctx->getByName(n)) regs[n] = *v;
            }
            out.json = {{"registers", regs}};
            uint64_t ip = ctx->ip();
            std::string sym = e.formatAddress(ip);
            if (!sym.empty()) out.line(sym + ":");
            Disassembler d(ctx->machine());
            if (d.supported()) {
                const Memory& mem = e.target().memory();
                ReadFn read = [&mem](uint64_t a, std::span<uint8_t> o) { return mem.read(a, o); };
                SymbolizeFn symf = [&e](uint64_t a) { return e.formatAddress(a); };
                Instruction insn = d.decodeAt(ip, read, symf);
                std::string line = formatInstructionLine(insn, e.is64());
                std::string ann = memoryAnnotation(insn, *ctx, read, symf);
                if (!ann.empty()) line += " " + ann;
                out.line(line);
                out.json["instruction"] = {{"address", ip}, {"symbol", sym}, {"text", insn.text()}};
                if (!ann.empty()) out.json["instruction"]["memory"] = ann;
            }
            return;
        }
        // r <reg>=<expr>: set in the scope context.
        if (auto eq = args.find('='); eq != std::string_view::npos && args.find("==") == std::string_view::npos) {
            std::string name = lowerCopy(trim(args.substr(0, eq)));
            if (!name.empty() && name[0] == '@') name.erase(0, 1);
            auto env = makeEngineExprEnv(e);
            uint64_t v = evaluate(args.substr(eq + 1), *env);
            CpuContext c = *ctx;
            if (!c.setByName(name, v)) throw UsageError("Bad register error at '" + name + "'");
            e.setScopeContext(c);
            out.json = {{"set", name}, {"value", v}};
            return;
        }
        // r rax, rbx  /  r rax rbx
        std::string line;
        nlohmann::json regs = nlohmann::json::object();
        std::string_view rest = args;
        while (!rest.empty()) {
            size_t end = rest.find_first_of(", \t");
            std::string_view n = rest.substr(0, end);
            rest = end == std::string_view::npos ? std::string_view() : trim(rest.substr(end + 1));
            if (n.empty()) continue;
            std::string nn(n);
            if (!nn.empty() && nn[0] == '@') nn.erase(0, 1);
            auto t = registerValueText(*ctx, nn);
            if (!t)
                if (auto cr = kernelControlRegister(e, nn)) {
                    t = lowerCopy(nn) + "=" + hexPad(*cr, e.is64() ? 16 : 8);
                    if (!line.empty()) line += ' ';
                    line += *t;
                    regs[lowerCopy(nn)] = *cr;
                    continue;
                }
            if (!t) throw UsageError("Bad register error at '" + std::string(n) + "'");
            if (!line.empty()) line += ' ';
            line += *t;
            regs[lowerCopy(nn)] = *ctx->getByName(lowerCopy(nn));
        }
        out.line(line);
        out.json = {{"registers", regs}};
    }, false});
}

}  // namespace nt
