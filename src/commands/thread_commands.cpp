// ~, ~N s, .ecxr, .exr, .lastevent, .effmach, !wow64exts.sw
#include <cctype>
#include <cstdio>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"
#include "commands/expression.h"
#include "commands/exception_text.h"

namespace nt {

namespace {

std::string processIdHex(const Engine& e) {
    return hex(e.target().misc.processId.value_or(0));
}

// One `~` line: ".  0  Id: 1a3c.2b8c Suspend: 0 Teb: 000000e5`c5f0b000 Unfrozen"
// Kernel dumps: one line per processor (our layout: WinDbg's kd has no `~`
// list; `~Ns` switches processors as it does there). The PRCB and its
// current thread when the dump holds them; "(context)" marks processors whose
// registers are known.
std::string processorLine(Engine& e, size_t i, nlohmann::json& j) {
    const Thread& t = e.target().threads[i];
    const KernelInfo& k = *e.target().kernel;
    char mark = i == e.currentThread() ? '.' : (i == k.bugcheckProcessor ? '#' : ' ');
    char num[24];
    std::snprintf(num, sizeof num, "%3zu", i);
    bool w = e.is64();
    unsigned p = w ? 8 : 4;
    std::optional<uint64_t> prcb, thread;
    const Memory& m = e.target().memory();
    if (k.kdbg.kiProcessorBlock) prcb = m.readPointer(k.kdbg.kiProcessorBlock + uint64_t(i) * p, p);
    if ((!prcb || !*prcb) && i == k.bugcheckProcessor && k.storedPrcb) prcb = k.storedPrcb;
    if (prcb && *prcb && k.kdbg.offsetPrcbCurrentThread) thread = m.readPointer(*prcb + k.kdbg.offsetPrcbCurrentThread, p);
    if ((!thread || !*thread) && i == k.bugcheckProcessor && k.storedThread) thread = k.storedThread;
    std::string s = std::string(1, mark) + num + "  Processor " + std::to_string(i);
    s += "  Prcb: " + (prcb && *prcb ? addrTick(*prcb, w) : std::string("(not in the dump)"));
    if (thread && *thread) s += "  Thread: " + addrTick(*thread, w);
    if (t.context) s += "  (context)";
    j = {{"processor", i},
         {"current", i == e.currentThread()},
         {"bugcheck_processor", i == k.bugcheckProcessor},
         {"prcb", prcb && *prcb ? nlohmann::json(*prcb) : nlohmann::json()},
         {"thread", thread && *thread ? nlohmann::json(*thread) : nlohmann::json()},
         {"has_context", t.context.has_value()}};
    return s;
}

std::string threadLine(const Engine& e, size_t i, nlohmann::json& j) {
    const Thread& t = e.target().threads[i];
    char mark = i == e.currentThread() ? '.' : (i == e.target().eventThread ? '#' : ' ');
    char num[16];
    std::snprintf(num, sizeof num, "%3zu", i);
    uint64_t teb = e.tebFor(i);
    std::string s = std::string(1, mark) + num + "  Id: " + processIdHex(e) + "." + hex(t.id) +
                    " Suspend: " + std::to_string(t.suspendCount) + " Teb: " + addrTick(teb, e.is64()) + " Unfrozen";
    if (!t.name.empty()) s += " \"" + t.name + "\"";
    j = {{"index", i},
         {"id", t.id},
         {"process_id", e.target().misc.processId.value_or(0)},
         {"suspend_count", t.suspendCount},
         {"teb", teb},
         {"current", i == e.currentThread()},
         {"event_thread", i == e.target().eventThread},
         {"name", t.name}};
    return s;
}

void cmdThreads(Engine& e, std::string_view args, Output& out) {
    const auto& threads = e.target().threads;
    // "~" lists; "~." / "~#" / "~N" show one; "~Ns" / "~N s" switch.
    if (args.empty()) {
        nlohmann::json arr = nlohmann::json::array();
        for (size_t i = 0; i < threads.size(); ++i) {
            nlohmann::json j;
            out.line(e.target().isKernel() ? processorLine(e, i, j) : threadLine(e, i, j));
            arr.push_back(j);
        }
        out.json = {{e.target().isKernel() ? "processors" : "threads", arr}};
        return;
    }
    std::string a(args);
    size_t idx;
    size_t pos = 0;
    if (a[0] == '.') {
        idx = e.currentThread();
        pos = 1;
    } else if (a[0] == '#') {
        idx = e.target().eventThread;
        pos = 1;
    } else if (std::isdigit(static_cast<unsigned char>(a[0]))) {
        idx = 0;
        while (pos < a.size() && std::isdigit(static_cast<unsigned char>(a[pos]))) {
            idx = idx * 10 + static_cast<size_t>(a[pos] - '0');
            if (idx > 1000000) break;
            ++pos;
        }
    } else {
        throw UsageError("Syntax error in '~" + a + "'");
    }
    while (pos < a.size() && a[pos] == ' ') ++pos;
    std::string rest = a.substr(pos);
    if (idx >= threads.size()) {
        out.line("Illegal thread error in '~" + a + "'");
        out.error = true;
        out.json = {{"error", "illegal thread"}, {"thread", idx}};
        return;
    }
    if (rest.empty()) {
        nlohmann::json j;
        out.line(threadLine(e, idx, j));
        out.json = j;
        return;
    }
    if (rest == "s") {
        e.setCurrentThread(idx);
        Output r = e.execute("r");
        out.text += r.text;
        out.json = {{"current_thread", idx}, {"registers", r.json}};
        return;
    }
    throw UsageError("Syntax error in '~" + a + "'");
}

void exceptionRecordText(Engine& e, const ExceptionInfo& x, Output& out) {
    bool w = e.is64();
    std::string sym = e.symbols().format(x.address);
    std::string symPart;
    if (!sym.empty()) {
        // .exr pads the offset to pointer width: (sigsegv+0x00000000000010d9)
        auto plus = sym.rfind("+0x");
        if (plus != std::string::npos) {
            uint64_t off = std::strtoull(sym.c_str() + plus + 3, nullptr, 16);
            sym = sym.substr(0, plus) + "+0x" + hexPad(off, w ? 16 : 8);
        } else {
            sym += "+0x" + hexPad(0, w ? 16 : 8);
        }
        symPart = " (" + sym + ")";
    }
    out.line("ExceptionAddress: " + addrPlain(x.address, w) + symPart);
    out.line("   ExceptionCode: " + hexPad(x.code, 8) + " (" + exceptionName(x.code) + ")");
    out.line("  ExceptionFlags: " + hexPad(x.flags, 8));
    out.line("NumberParameters: " + std::to_string(x.parameters.size()));
    for (size_t i = 0; i < x.parameters.size(); ++i)
        out.line("   Parameter[" + std::to_string(i) + "]: " + addrPlain(x.parameters[i], w));
    if (x.code == 0xC0000005 && x.parameters.size() >= 2) {
        uint64_t kind = x.parameters[0];
        std::string verb = kind == 0 ? "read from" : kind == 1 ? "write to" : kind == 8 ? "execute" : "access";
        if (kind == 8) out.line("Attempt to execute non-executable address " + addrPlain(x.parameters[1], w));
        else out.line("Attempt to " + verb + " address " + addrPlain(x.parameters[1], w));
    }
    nlohmann::json params = nlohmann::json::array();
    for (auto p : x.parameters) params.push_back(p);
    out.json = {{"exception_address", x.address}, {"symbol", sym}, {"code", x.code},
                {"code_name", exceptionName(x.code)}, {"flags", x.flags}, {"parameters", params},
                {"thread_id", x.threadId}};
}

void cmdExr(Engine& e, std::string_view args, Output& out) {
    std::string a(args);
    if (a.empty() || a == "-1") {
        if (!e.target().exception) {
            out.line("Last event was not an exception");
            out.json = {{"exception", nullptr}};
            return;
        }
        exceptionRecordText(e, *e.target().exception, out);
        return;
    }
    // .exr <address>: read an EXCEPTION_RECORD from memory.
    uint64_t addr = evaluate(a, *makeEngineExprEnv(e));
    const Memory& mem = e.target().memory();
    ExceptionInfo x;
    bool w = e.is64();
    auto code = mem.readValue<uint32_t>(addr);
    auto flags = mem.readValue<uint32_t>(addr + 4);
    auto rec = mem.readPointer(addr + 8, w ? 8 : 4);
    auto where = mem.readPointer(addr + (w ? 0x10 : 0xc), w ? 8 : 4);
    auto n = mem.readValue<uint32_t>(addr + (w ? 0x18 : 0x10));
    if (!code || !flags || !rec || !where || !n) {
        out.line("Cannot read Exception record @ " + addrPlain(addr, w));
        out.error = true;
        out.json = {{"error", "cannot read exception record"}, {"address", addr}};
        return;
    }
    x.code = *code;
    x.flags = *flags;
    x.record = *rec;
    x.address = *where;
    uint32_t count = std::min<uint32_t>(*n, 15);
    for (uint32_t i = 0; i < count; ++i) {
        auto p = mem.readPointer(addr + (w ? 0x20 : 0x14) + i * (w ? 8 : 4), w ? 8 : 4);
        x.parameters.push_back(p.value_or(0));
    }
    exceptionRecordText(e, x, out);
}

void cmdEcxr(Engine& e, std::string_view, Output& out) {
    const auto& x = e.target().exception;
    if (!x || !x->context) {
        out.line("Unable to get exception context, HRESULT 0x8000FFFF");
        out.error = true;
        out.json = {{"error", "no exception context"}};
        return;
    }
    // The exception thread becomes current, and its context the scope.
    for (size_t i = 0; i < e.target().threads.size(); ++i)
        if (e.target().threads[i].id == x->threadId) e.setCurrentThread(i);
    auto eff = e.inEffectiveMachine(*x->context);
    if (!eff) {
        out.line("Unable to get exception context in the current effective machine");
        out.error = true;
        out.json = {{"error", "exception context machine differs from the effective machine"}};
        return;
    }
    e.setScopeContext(*eff);
    Output r = e.execute("r");
    // `r` announces a set context; .ecxr itself just prints the registers.
    const std::string notice = "Last set context:\n";
    if (r.text.rfind(notice, 0) == 0) r.text.erase(0, notice.size());
    out.text += r.text;
    out.json = {{"scope", "exception context"}, {"registers", r.json}};
}

void cmdLastEvent(Engine& e, std::string_view, Output& out) {
    const Target& t = e.target();
    std::string pid = hex(t.misc.processId.value_or(0));
    if (t.exception) {
        const auto& x = *t.exception;
        std::string chance = x.firstChanceKnown ? (x.firstChance ? "first chance" : "second chance")
                                                : "first/second chance not available";
        out.line("Last event: " + pid + "." + hex(x.threadId) + ": " + exceptionName(x.code) + " - code " +
                 hexPad(x.code, 8) + " (" + chance + ")");
        out.json = {{"process_id", t.misc.processId.value_or(0)}, {"thread_id", x.threadId}, {"code", x.code},
                    {"description", exceptionName(x.code)}, {"chance", chance}};
    } else {
        uint32_t tid = t.threads.empty() ? 0 : t.threads[t.eventThread].id;
        out.line("Last event: " + pid + "." + hex(tid) + ": Break instruction exception - code 80000003 (first/second chance not available)");
        out.json = {{"process_id", t.misc.processId.value_or(0)}, {"thread_id", tid}, {"code", 0x80000003u},
                    {"description", "no exception stream; snapshot"}};
    }
}

void effmachReport(Engine& e, Output& out) {
    Machine m = e.effectiveMachine();
    std::string desc = m == Machine::X86 ? "Effective machine: x86 compatible (x86)"
                     : m == Machine::Amd64 ? "Effective machine: x64 (AMD64)"
                     : m == Machine::Arm64 ? "Effective machine: ARM64 (ARM64)"
                     : "Effective machine: ARM (ARM)";
    out.line(desc);
    out.json = {{"effective_machine", std::string(machineName(m))}, {"wow64", e.isWow64()}};
}

void cmdEffmach(Engine& e, std::string_view args, Output& out) {
    std::string a(args);
    if (!a.empty()) {
        Machine m = a == "." || a == "#" ? e.target().machine : machineFromName(a);
        if (!e.setEffectiveMachine(m)) {
            out.line("Unable to switch to machine '" + a + "'");
            out.error = true;
            out.json = {{"error", "cannot switch effective machine"}, {"requested", a}};
            return;
        }
    }
    effmachReport(e, out);
}

void cmdWowSw(Engine& e, std::string_view, Output& out) {
    if (!e.isWow64()) {
        out.line("The current thread is not a WoW64 thread");
        out.error = true;
        out.json = {{"error", "not a WoW64 process"}};
        return;
    }
    Machine to = e.effectiveMachine() == Machine::X86 ? Machine::Amd64 : Machine::X86;
    e.setEffectiveMachine(to);
    if (to == Machine::X86) out.line("Switched to Guest (WoW) mode");
    else out.line("Switched to Host mode");
    out.json = {{"effective_machine", std::string(machineName(to))}};
}

}  // namespace

void registerThreadCommands(Engine& e) {
    e.registerCommand({"~", "list threads; ~N s switches", cmdThreads});
    e.registerCommand({".exr", "display an exception record (.exr -1: the last one)", cmdExr, false});
    e.registerCommand({".ecxr", "switch to the exception context", cmdEcxr, false});
    e.registerCommand({".lastevent", "show the last event", cmdLastEvent, false});
    e.registerCommand({".effmach", "show or set the effective machine (x86, amd64, .)", cmdEffmach, false});
    e.registerCommand({"!wow64exts.sw", "toggle between the 64-bit and WoW64 32-bit view", cmdWowSw, false});
    e.registerCommand({"!sw", "toggle between the 64-bit and WoW64 32-bit view", cmdWowSw, false});
}

}  // namespace nt
