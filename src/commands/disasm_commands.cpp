// u, ub, uf: disassembly listings (FACTS.md §2.9). A "module!func+0xoff:"
// header precedes the first line and every line whose symbol differs from
// the previous one; `uf` labels each block that a jump inside the function
// lands on.
#include <map>
#include <set>

#include "base/format.h"
#include "commands/command_views.h"
#include "commands/engine.h"
#include "commands/expression.h"

namespace nt {

namespace {

// "sigsegv!crash+0x59" -> "sigsegv!crash": the part that identifies the symbol.
std::string symbolKey(const std::string& s) {
    size_t plus = s.rfind('+');
    return plus == std::string::npos ? s : s.substr(0, plus);
}

nlohmann::json insnJson(const Instruction& i) {
    std::string bytes;
    for (unsigned k = 0; k < i.byteCount; ++k) bytes += hexPad(i.bytes[k], 2);
    nlohmann::json j = {{"address", i.address}, {"bytes", i.readable ? bytes : ""}, {"text", i.text()}};
    if (i.branchTarget) j["target"] = *i.branchTarget;
    return j;
}

void emit(Rendered& r, const Instruction& insn, bool is64, const std::string& header) {
    if (!header.empty()) r.lines.push_back(header + ":");
    r.lines.push_back(formatInstructionLine(insn, is64));
    nlohmann::json j = insnJson(insn);
    if (!header.empty()) j["symbol"] = header;
    r.json["instructions"].push_back(j);
}

}  // namespace

Rendered disassembleLines(const Disassembler& d, uint64_t start, unsigned count, const ReadFn& read, const SymbolizeFn& sym,
                          bool is64) {
    Rendered r;
    r.json = {{"address", start}, {"instructions", nlohmann::json::array()}};
    uint64_t addr = start;
    std::string prevKey;
    for (unsigned n = 0; n < count; ++n) {
        Instruction insn = d.decodeAt(addr, read, sym);
        std::string s = sym ? sym(addr) : std::string();
        std::string key = symbolKey(s);
        std::string header = (!s.empty() && (n == 0 || key != prevKey)) ? s : std::string();
        prevKey = key;
        emit(r, insn, is64, header);
        uint64_t next = insn.next();
        if (next < addr) break;  // wrapped around the address space
        addr = next;
    }
    r.next = addr;
    return r;
}

Rendered disassembleFunction(const Disassembler& d, uint64_t begin, std::optional<uint64_t> end, const ReadFn& read,
                             const SymbolizeFn& sym, bool is64, unsigned maxInsns) {
    std::map<uint64_t, Instruction> insns;
    std::set<uint64_t> labels{begin};
    if (end) {
        // .pdata gives the extent: a linear sweep covers it.
        for (uint64_t a = begin; a < *end && insns.size() < maxInsns;) {
            Instruction i = d.decodeAt(a, read, sym);
            insns.emplace(a, i);
            if (!i.readable) break;
            a = i.next();
        }
    } else {
        // Follow the code: fall through, conditional and direct jumps; a
        // ret, an indirect jump or an unreadable byte ends a path.
        std::vector<uint64_t> work{begin};
        while (!work.empty() && insns.size() < maxInsns) {
            uint64_t a = work.back();
            work.pop_back();
            while (insns.size() < maxInsns && !insns.count(a)) {
                Instruction i = d.decodeAt(a, read, sym);
                insns.emplace(a, i);
                if (!i.valid()) break;
                if ((i.isJump || i.isCondJump) && i.branchTarget) {
                    labels.insert(*i.branchTarget);
                    work.push_back(*i.branchTarget);
                }
                if (i.isRet || i.isJump) break;
                a = i.next();
            }
        }
    }
    if (end) {
        for (const auto& [a, i] : insns)
            if ((i.isJump || i.isCondJump) && i.branchTarget && *i.branchTarget >= begin && *i.branchTarget < *end)
                labels.insert(*i.branchTarget);
    }
    Rendered r;
    r.json = {{"address", begin}, {"instructions", nlohmann::json::array()}};
    if (end) r.json["end"] = *end;
    uint64_t expected = begin;
    for (const auto& [a, i] : insns) {
        // A new block starts at every jump target and after any gap.
        bool label = labels.count(a) || a != expected;
        std::string header = label ? (sym ? sym(a) : std::string()) : std::string();
        emit(r, i, is64, header);
        expected = i.next();
    }
    r.next = expected;
    return r;
}

namespace {

// Where a repeated `u` without arguments continues.
std::optional<uint64_t>& nextU(Engine& e) { return e.commandState<std::optional<uint64_t>>("u.next"); }

struct UArgs {
    uint64_t start = 0;
    std::optional<unsigned> count;
    std::optional<uint64_t> end;
};

// `u`, `u addr`, `u addr L count`, `u addr1 addr2`.
UArgs parseUArgs(Engine& e, std::string_view args, std::optional<uint64_t> fallback) {
    UArgs u;
    auto env = makeEngineExprEnv(e);
    if (args.empty()) {
        if (fallback) {
            u.start = *fallback;
        } else if (auto ctx = e.currentContext()) {
            u.start = ctx->ip();
        }
        return u;
    }
    PrefixResult p = evaluatePrefix(args, *env);
    u.start = p.value;
    std::string_view rest = args.substr(p.consumed);
    if (rest.empty()) return u;
    if (rest[0] == 'l' || rest[0] == 'L') {
        rest.remove_prefix(1);
        if (!rest.empty() && rest[0] == '?') rest.remove_prefix(1);
        uint64_t n = evaluate(rest, *env);
        // Instruction counts are bounded like byte ranges (an instruction is
        // at most 16 bytes): 0x100000 with WinDbg's 256 MiB limit.
        if (n > std::min<uint64_t>(0x100000, e.rangeLimit / 16)) throw ExprError("Range error in '" + std::string(rest) + "'");
        u.count = static_cast<unsigned>(n);
    } else {
        u.end = evaluate(rest, *env);
        if (*u.end < u.start || *u.end - u.start > e.rangeLimit) throw ExprError("Range error in '" + std::string(rest) + "'");
    }
    return u;
}

void output(Output& out, const Rendered& r, std::string_view command) {
    for (const auto& l : r.lines) out.line(l);
    out.json = r.json;
    out.json["command"] = std::string(command);
}

}  // namespace

void registerDisasmCommands(Engine& engine) {
    engine.registerCommand({"u", "unassemble forward", [](Engine& e, std::string_view args, Output& out) {
        Disassembler d(e.effectiveMachine());
        if (!d.supported()) throw UsageError(Disassembler::unsupportedMessage(e.effectiveMachine()));
        std::optional<uint64_t> cont;
        if (nextU(e)) cont = *nextU(e);
        UArgs u = parseUArgs(e, args, cont);
        const Memory& mem = e.target().memory();
        ReadFn read = [&mem](uint64_t a, std::span<uint8_t> o) { return mem.read(a, o); };
        SymbolizeFn sym = [&e](uint64_t a) { return e.formatAddress(a); };
        Rendered r;
        if (u.end) {
            // Instructions starting at or before the end address.
            unsigned n = 0;
            for (uint64_t a = u.start; a <= *u.end && n < 0x10000; ++n) a = d.decodeAt(a, read, nullptr).next();
            r = disassembleLines(d, u.start, n, read, sym, e.is64());
        } else {
            r = disassembleLines(d, u.start, u.count.value_or(8), read, sym, e.is64());
        }
        nextU(e) = r.next;
        output(out, r, "u");
    }});
    engine.registerCommand({"ub", "unassemble backward", [](Engine& e, std::string_view args, Output& out) {
        Disassembler d(e.effectiveMachine());
        if (!d.supported()) throw UsageError(Disassembler::unsupportedMessage(e.effectiveMachine()));
        UArgs u = parseUArgs(e, args, std::nullopt);
        const Memory& mem = e.target().memory();
        ReadFn read = [&mem](uint64_t a, std::span<uint8_t> o) { return mem.read(a, o); };
        SymbolizeFn sym = [&e](uint64_t a) { return e.formatAddress(a); };
        unsigned count = u.count.value_or(8);
        uint64_t start = u.end ? u.start : d.backwardStart(u.start, count, read);
        uint64_t stop = u.end ? *u.end : u.start;
        // Count the instructions that fit before the address.
        unsigned n = 0;
        for (uint64_t a = start; a < stop && n < 0x10000; ++n) a = d.decodeAt(a, read, nullptr).next();
        Rendered r = disassembleLines(d, start, n, read, sym, e.is64());
        nextU(e) = r.next;
        output(out, r, "ub");
    }});
    engine.registerCommand({"uf", "unassemble function", [](Engine& e, std::string_view args, Output& out) {
        Disassembler d(e.effectiveMachine());
        if (!d.supported()) throw UsageError(Disassembler::unsupportedMessage(e.effectiveMachine()));
        if (args.empty()) throw ExprError("Syntax error at ''");
        auto env = makeEngineExprEnv(e);
        uint64_t addr = evaluate(args, *env);
        const Memory& mem = e.target().memory();
        ReadFn read = [&mem](uint64_t a, std::span<uint8_t> o) { return mem.read(a, o); };
        SymbolizeFn sym = [&e](uint64_t a) { return e.formatAddress(a); };
        uint64_t begin = addr;
        std::optional<uint64_t> end;
        // x64 images describe each function's extent in .pdata.
        if (const Module* m = e.target().moduleAt(addr)) {
            if (const PeImage* img = e.images().image(*m); img && e.is64() && img->machine() == Machine::Amd64) {
                if (const RuntimeFunction* rf = img->findRuntimeFunction(static_cast<uint32_t>(addr - m->base))) {
                    begin = m->base + rf->begin;
                    end = m->base + rf->end;
                }
            }
        }
        if (!end) {
            // Without .pdata start from the symbol's beginning when known.
            if (auto hit = e.symbols().lookup(addr); hit && !hit->function.empty()) begin = hit->functionStart;
        }
        Rendered r = disassembleFunction(d, begin, end, read, sym, e.is64());
        output(out, r, "uf");
    }});
}

}  // namespace nt
