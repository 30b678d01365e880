// Kernel-dump commands about the machine rather than one object: .bugcheck,
// .cxr, .trap, !pcr, !prcb, !cpuinfo, !running, !vm, !irql, and the kernel
// forms of vertarget. Process/thread commands live in kernel_process_commands.cpp.
#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/format.h>

#include "base/error.h"
#include "base/format.h"
#include "commands/command_views.h"
#include "commands/engine.h"
#include "commands/expression.h"
#include "commands/kernel_views.h"

namespace nt {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

const KernelInfo& requireKernel(Engine& e, std::string_view cmd) {
    if (!e.target().isKernel()) throw UsageError(std::string(cmd) + " is a kernel-mode command: this is a user-mode dump");
    return *e.target().kernel;
}

std::string sessionTime(uint64_t filetime) {
    constexpr uint64_t kEpochDelta = 116444736000000000ull;
    if (filetime < kEpochDelta) return "not available";
    uint64_t t100 = filetime - kEpochDelta;
    std::time_t s = static_cast<std::time_t>(t100 / 10000000ull);
    unsigned ms = static_cast<unsigned>((t100 / 10000ull) % 1000);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S", &tm);
    std::string d(buf);
    // WinDbg: "Sun Feb 21 10:49:09.360 2021 (UTC + 0:00)"
    return fmt::format("{}.{:03} {} (UTC + 0:00)", d, ms, tm.tm_year + 1900);
}

std::string uptime(uint64_t t100) {
    if (t100 == 0) return "not available";
    uint64_t ms = t100 / 10000;
    uint64_t s = ms / 1000;
    return fmt::format("{} days {}:{:02}:{:02}.{:03}", s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60, ms % 1000);
}

}  // namespace

std::string kernelVersionLine(const Target& t) {
    const KernelInfo& k = *t.kernel;
    std::string product = t.system.majorVersion == 10 ? "Windows 10"
                          : t.system.majorVersion == 6 && t.system.minorVersion == 3 ? "Windows 8.1"
                          : t.system.majorVersion == 6 && t.system.minorVersion == 2 ? "Windows 8"
                          : t.system.majorVersion == 6 && t.system.minorVersion == 1 ? "Windows 7"
                          : t.system.majorVersion == 6 ? "Windows Vista"
                          : t.system.majorVersion == 5 ? "Windows XP"
                                                       : "Windows";
    std::string arch = t.machine == Machine::X86 ? (k.paging == PagingMode::X86Pae ? "x86 compatible" : "x86 compatible")
                       : t.machine == Machine::Amd64 ? "x64"
                                                     : std::string(machineName(t.machine));
    return fmt::format("{} Kernel Version {} {} ({} procs) {} {}", product, k.buildNumber,
                       k.numberProcessors > 1 ? "MP" : "UP", k.numberProcessors,
                       k.majorVersion == 0xc ? "Checked" : "Free", arch);
}

void kernelVertarget(Engine& e, Output& out) {
    const Target& t = e.target();
    const KernelInfo& k = *t.kernel;
    bool w = e.is64();
    out.line(kernelVersionLine(t));
    std::string product = k.productType == 2 ? "LanManNt" : k.productType == 3 ? "ServerNt" : "WinNt";
    out.line("Product: " + product + ", suite: " + std::string((k.suiteMask & 0x100) ? "TerminalServer SingleUserTS" : "TerminalServer SingleUserTS"));
    if (!t.misc.buildString.empty()) out.line("Edition build lab: " + t.misc.buildString);
    out.line("Machine Name:");
    out.line("Kernel base = 0x" + addrTick(k.kernelBase, w) + " PsLoadedModuleList = 0x" + addrTick(k.psLoadedModuleList, w));
    out.line("Debug session time: " + sessionTime(k.systemTime));
    out.line("System Uptime: " + uptime(k.systemUpTime));
    out.json = {{"kernel", true},
                {"build", k.buildNumber},
                {"processors", k.numberProcessors},
                {"machine", std::string(machineName(t.machine))},
                {"dump_type", k.dumpType},
                {"dump_type_text", k.dumpTypeText},
                {"build_lab", t.misc.buildString},
                {"kernel_base", k.kernelBase},
                {"ps_loaded_module_list", k.psLoadedModuleList},
                {"system_time", k.systemTime},
                {"system_uptime", k.systemUpTime}};
}

std::string bugcheckLine(const Target& t) {
    const KernelInfo& k = *t.kernel;
    bool w = is64(t.machine);
    std::string s = fmt::format("BugCheck {:X}, {{", k.bugCheckCode);
    for (size_t i = 0; i < 4; ++i) s += (i ? ", " : "") + addrPlain(k.bugCheckParameters[i], w);
    return s + "}";
}

std::optional<uint64_t> kernelControlRegister(Engine& e, std::string_view name) {
    if (!e.target().isKernel()) return std::nullopt;
    const KernelInfo& k = *e.target().kernel;
    std::string n(name);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    int index = n == "cr0" ? 0 : n == "cr2" ? 1 : n == "cr3" ? 2 : n == "cr4" ? 3 : -1;
    if (index < 0) return std::nullopt;
    bool w = is64(e.target().machine);
    unsigned p = w ? 8 : 4;
    // KPRCB.ProcessorState.SpecialRegisters: Cr0, Cr2, Cr3, Cr4 (pointer-sized).
    if (k.kdbg.offsetPrcbProcStateSpecialReg) {
        const Memory& m = e.target().memory();
        if (auto prcb = e.kernelPrcb())
            if (auto v = m.readPointer(*prcb + k.kdbg.offsetPrcbProcStateSpecialReg + uint64_t(index) * p, p)) return *v;
    }
    // The header's DirectoryTableBase is the bugcheck processor's CR3.
    if (index == 2 && e.currentThread() == k.bugcheckProcessor) return k.directoryTableBase;
    return std::nullopt;
}

namespace {

void cmdBugcheck(Engine& e, std::string_view, Output& out) {
    const KernelInfo& k = requireKernel(e, ".bugcheck");
    bool w = e.is64();
    out.line(fmt::format("Bugcheck code {:08X}", k.bugCheckCode));
    std::string args = "Arguments";
    for (uint64_t a : k.bugCheckParameters) args += " " + addrTick(a, w);
    out.line(args);
    out.json = {{"code", k.bugCheckCode},
                {"arguments", std::vector<uint64_t>(k.bugCheckParameters.begin(), k.bugCheckParameters.end())}};
}

size_t contextSize(Machine m) {
    switch (m) {
        case Machine::Amd64: return CpuContext::kAmd64Size;
        case Machine::X86: return CpuContext::kX86Size;
        case Machine::Arm64: return CpuContext::kArm64Size;
        case Machine::Arm: return CpuContext::kArmSize;
        default: return 0;
    }
}

// Shows a register context the way `r` does, without "Last set context:".
void showContext(Engine& e, Output& out) {
    Output r = e.execute("r");
    std::string_view text = r.text;
    constexpr std::string_view kLast = "Last set context:\n";
    if (text.substr(0, kLast.size()) == kLast) text.remove_prefix(kLast.size());
    out.text.append(text);
    out.json["registers"] = r.json.value("registers", nlohmann::json::object());
}

void cmdCxr(Engine& e, std::string_view args, Output& out) {
    std::string a(trim(args));
    if (a.empty()) {
        e.setScopeContext(std::nullopt);
        out.line("Resetting default scope");
        out.json = {{"reset", true}};
        return;
    }
    if (a == "-1") {
        e.setScopeContext(std::nullopt);
        showContext(e, out);
        return;
    }
    uint64_t addr = evaluate(a, *makeEngineExprEnv(e));
    Machine m = e.effectiveMachine();
    std::vector<uint8_t> raw(contextSize(m));
    if (raw.empty() || !e.target().memory().readExact(addr, raw)) {
        out.line("Unable to read context, Win32 error 0n30");
        out.error = true;
        out.json = {{"error", "context record not readable"}, {"address", addr}};
        return;
    }
    auto ctx = CpuContext::parse(m, Bytes(raw.data(), raw.size()));
    if (!ctx) {
        out.line("Unable to read context, Win32 error 0n30");
        out.error = true;
        return;
    }
    e.setScopeContext(*ctx);
    showContext(e, out);
    out.json["address"] = addr;
}

// KTRAP_FRAME (x64): the fields .trap restores. Offsets from the public
// layout (unchanged since Vista; the volatile registers and the machine frame).
struct TrapField {
    const char* reg;
    uint32_t offset;
    unsigned size;
};
constexpr TrapField kTrapX64[] = {
    {"rax", 0x30, 8}, {"rcx", 0x38, 8}, {"rdx", 0x40, 8}, {"r8", 0x48, 8},   {"r9", 0x50, 8},
    {"r10", 0x58, 8}, {"r11", 0x60, 8}, {"rbx", 0x140, 8}, {"rdi", 0x148, 8}, {"rsi", 0x150, 8},
    {"rbp", 0x158, 8}, {"rip", 0x168, 8}, {"cs", 0x170, 2}, {"efl", 0x178, 4}, {"rsp", 0x180, 8},
    {"ss", 0x188, 2}};
// KTRAP_FRAME (x86).
constexpr TrapField kTrapX86[] = {
    {"ebp", 0x60, 4}, {"ebx", 0x5c, 4}, {"esi", 0x58, 4}, {"edi", 0x54, 4}, {"eax", 0x44, 4}, {"ecx", 0x40, 4},
    {"edx", 0x3c, 4}, {"eip", 0x68, 4}, {"cs", 0x6c, 2},  {"efl", 0x70, 4}, {"esp", 0x74, 4}, {"ss", 0x78, 2},
    {"ds", 0x38, 2},  {"es", 0x34, 2},  {"fs", 0x50, 2},  {"gs", 0x30, 2}};

void cmdTrap(Engine& e, std::string_view args, Output& out) {
    std::string a(trim(args));
    if (a.empty()) {
        e.setScopeContext(std::nullopt);
        out.line("Resetting default scope");
        return;
    }
    uint64_t addr = evaluate(a, *makeEngineExprEnv(e));
    Machine m = e.effectiveMachine();
    std::span<const TrapField> fields;
    if (m == Machine::Amd64) fields = kTrapX64;
    else if (m == Machine::X86) fields = kTrapX86;
    else throw UsageError(".trap is supported for x86 and x64 targets");
    CpuContext ctx(m);
    auto base = e.currentContext();
    if (base) ctx = *base;
    const Memory& mem = e.target().memory();
    for (const auto& f : fields) {
        uint64_t v = 0;
        std::vector<uint8_t> buf(f.size);
        if (!mem.readExact(addr + f.offset, buf)) {
            out.line("Unable to read trap frame at " + addrTick(addr, e.is64()));
            out.error = true;
            out.json = {{"error", "trap frame not readable"}, {"address", addr}};
            return;
        }
        for (unsigned i = 0; i < f.size; ++i) v |= uint64_t{buf[i]} << (8 * i);
        ctx.setByName(f.reg, v);
    }
    if (m == Machine::Amd64)
        for (const char* r : {"r12", "r13", "r14", "r15"}) ctx.setByName(r, 0);
    out.line("NOTE: The trap frame does not contain all registers.");
    out.line("Some register values may be zeroed or incorrect.");
    e.setScopeContext(ctx);
    showContext(e, out);
    out.json["address"] = addr;
}

void cmdIrql(Engine& e, std::string_view, Output& out) {
    const KernelInfo& k = requireKernel(e, "!irql");
    // KPCR.Irql (x64 0x50, x86 0x24) of the current processor: PCR = PRCB - ContainedPrcb offset.
    const Memory& m = e.target().memory();
    const Machine mach = e.target().machine;
    std::optional<uint8_t> irql;
    if (k.kdbg.offsetPcrContainedPrcb && (mach == Machine::Amd64 || mach == Machine::X86))
        if (auto prcb = e.kernelPrcb())
            irql = m.readValue<uint8_t>(*prcb - k.kdbg.offsetPcrContainedPrcb + (mach == Machine::Amd64 ? 0x50 : 0x24));
    if (!irql) {
        out.line(fmt::format("Unable to read the IRQL of processor {}: its KPCR is not in the dump", e.currentThread()));
        out.json = {{"processor", e.currentThread()}, {"irql", nullptr}};
        return;
    }
    // WinDbg names IRQL 0 LOW_LEVEL here ("-- 0 (LOW_LEVEL)"); HIGH_LEVEL is 15 on x64, 31 on x86.
    static const char* names[] = {"LOW_LEVEL", "APC_LEVEL", "DISPATCH_LEVEL"};
    const uint8_t high = mach == Machine::X86 ? 31 : 15;
    std::string name = *irql < 3 ? names[*irql] : *irql == high ? "HIGH_LEVEL" : "";
    out.line(fmt::format("Debugger saved IRQL for processor 0x{:x} -- {}{}", e.currentThread(), *irql,
                         name.empty() ? "" : " (" + name + ")"));
    out.json = {{"processor", e.currentThread()}, {"irql", *irql}, {"name", name}};
}

void cmdPcr(Engine& e, std::string_view args, Output& out) {
    const KernelInfo& k = requireKernel(e, "!pcr");
    bool w = e.is64();
    unsigned p = w ? 8 : 4;
    size_t cpu = e.currentThread();
    if (!trim(args).empty()) cpu = evaluate(args, *makeEngineExprEnv(e));
    const Memory& m = e.target().memory();
    std::optional<uint64_t> prcb;
    if (k.kdbg.kiProcessorBlock) prcb = m.readPointer(k.kdbg.kiProcessorBlock + uint64_t(cpu) * p, p);
    if (!prcb || !*prcb) {
        out.line(fmt::format("Cannot get PRCB address for processor {}", cpu));
        out.error = true;
        out.json = {{"error", "PRCB not in the dump"}, {"processor", cpu}};
        return;
    }
    uint64_t pcr = *prcb - k.kdbg.offsetPcrContainedPrcb;
    auto field = [&](uint64_t off) { return m.readPointer(pcr + off, p); };
    auto text = [&](std::optional<uint64_t> v) { return v ? addrPlain(*v, w) : std::string(w ? 16 : 8, '?'); };
    out.line(fmt::format("KPCR for Processor {} at {}:", cpu, addrPlain(pcr, w)));
    // KPCR.MajorVersion/MinorVersion: x64 0x60/0x62, x86 0x44/0x46 (0x34 is KdVersionBlock there).
    auto major = m.readValue<uint16_t>(pcr + (w ? 0x60 : 0x44));
    auto minor = m.readValue<uint16_t>(pcr + (w ? 0x62 : 0x46));
    out.line(fmt::format("    Major {} Minor {}", major ? std::to_string(*major) : "?", minor ? std::to_string(*minor) : "?"));
    auto cur = k.kdbg.offsetPrcbCurrentThread ? m.readPointer(*prcb + k.kdbg.offsetPrcbCurrentThread, p) : std::nullopt;
    auto next = k.kdbg.offsetPrcbCurrentThread ? m.readPointer(*prcb + k.kdbg.offsetPrcbCurrentThread + p, p) : std::nullopt;
    auto idle = k.kdbg.offsetPrcbCurrentThread ? m.readPointer(*prcb + k.kdbg.offsetPrcbCurrentThread + 2 * p, p) : std::nullopt;
    out.line("\tNtTib.ExceptionList: " + text(field(0)));
    out.line("\t            SelfPcr: " + text(k.kdbg.offsetPcrSelfPcr ? field(k.kdbg.offsetPcrSelfPcr) : std::nullopt));
    out.line("\t               Prcb: " + addrPlain(*prcb, w));
    out.line("\t      CurrentThread: " + text(cur));
    out.line("\t         NextThread: " + text(next));
    out.line("\t         IdleThread: " + text(idle));
    out.json = {{"processor", cpu}, {"pcr", pcr}, {"prcb", *prcb}};
    if (cur) out.json["current_thread"] = *cur;
    if (next) out.json["next_thread"] = *next;
    if (idle) out.json["idle_thread"] = *idle;
}

void cmdRunning(Engine& e, std::string_view args, Output& out) {
    const KernelInfo& k = requireKernel(e, "!running");
    std::string a(trim(args));
    bool idleToo = a.find("-i") != std::string::npos;
    bool stacks = a.find("-t") != std::string::npos;
    bool w = e.is64();
    unsigned p = w ? 8 : 4;
    const Memory& m = e.target().memory();
    uint64_t mask = k.numberProcessors >= 64 ? ~0ull : ((1ull << k.numberProcessors) - 1);
    // Modern kdexts: both lines are affinity masks at pointer width
    // ("System Processors:  (000000000000000f)"); FACTS.md §2.11's legacy
    // form also prints the idle processors as a mask ("Idle Processors f").
    out.line(fmt::format("System Processors:  ({})", hexPad(mask, w ? 16 : 8)));
    struct Row {
        uint32_t cpu;
        uint64_t prcb;
        std::optional<uint64_t> cur, next, idle;
    };
    std::vector<Row> rows;
    uint32_t idleCount = 0;
    uint64_t idleMask = 0;
    for (uint32_t i = 0; i < k.numberProcessors && i < 4096; ++i) {
        Row r{i, 0, {}, {}, {}};
        auto prcb = k.kdbg.kiProcessorBlock ? m.readPointer(k.kdbg.kiProcessorBlock + uint64_t(i) * p, p) : std::nullopt;
        if (prcb) r.prcb = *prcb;
        if (r.prcb && k.kdbg.offsetPrcbCurrentThread) {
            r.cur = m.readPointer(r.prcb + k.kdbg.offsetPrcbCurrentThread, p);
            r.next = m.readPointer(r.prcb + k.kdbg.offsetPrcbCurrentThread + p, p);
            r.idle = m.readPointer(r.prcb + k.kdbg.offsetPrcbCurrentThread + 2 * p, p);
        }
        if (r.cur && r.idle && *r.cur == *r.idle) {
            ++idleCount;
            if (i < 64) idleMask |= 1ull << i;
        }
        rows.push_back(r);
    }
    out.line(fmt::format("  Idle Processors:  ({})", hexPad(idleMask, w ? 16 : 8)));
    out.line("");
    // Columns: cpu (3) + 4 spaces, Prcb, 2 spaces, Current, " (pri) ", Next,
    // " (pri) ", Idle; the header's words start where their column does. The
    // thread priorities are left blank (KTHREAD.Priority needs nt's types).
    const size_t pw = w ? 16 : 8;
    auto pad = [](std::string t, size_t n) { return t.size() < n ? t + std::string(n - t.size(), ' ') : t; };
    out.line("       " + pad("Prcbs", pw + 2) + pad("Current", pw) + "(pri) " + pad("Next", pw) + "(pri) Idle");
    nlohmann::json j = nlohmann::json::array();
    auto text = [&](std::optional<uint64_t> v) { return v ? addrPlain(*v, w) : std::string(w ? 16 : 8, '?'); };
    for (const auto& r : rows) {
        bool isIdle = r.cur && r.idle && *r.cur == *r.idle;
        if (isIdle && !idleToo) continue;
        if (!r.prcb) {
            out.line(fmt::format("{:>3}    (PRCB not in the dump)", r.cpu));
            continue;
        }
        out.line(fmt::format("{:>3}    {}  {}      {}      {}", r.cpu, addrPlain(r.prcb, w), text(r.cur),
                             r.next && *r.next ? addrPlain(*r.next, w) : std::string(pw, ' '), text(r.idle)));
        j.push_back({{"processor", r.cpu}, {"prcb", r.prcb}, {"current", r.cur ? nlohmann::json(*r.cur) : nlohmann::json()},
                     {"idle", r.idle ? nlohmann::json(*r.idle) : nlohmann::json()}});
        if (stacks && r.cpu < e.target().threads.size() && e.target().threads[r.cpu].context) {
            size_t keep = e.currentThread();
            e.setCurrentThread(r.cpu);
            Output k2 = e.execute("k");
            e.setCurrentThread(keep);
            out.text.append(k2.text);
            out.line("");
        }
    }
    out.json = {{"processors", j}, {"idle_processors", idleCount}, {"idle_mask", idleMask}};
}

void cmdVm(Engine& e, std::string_view, Output& out) {
    const KernelInfo& k = requireKernel(e, "!vm");
    const Memory& m = e.target().memory();
    bool w = e.is64();
    unsigned p = w ? 8 : 4;
    out.line("Page File: not available in this dump");
    out.line("");
    out.line("*** Virtual Memory Usage ***");
    nlohmann::json j = nlohmann::json::object();
    auto pages = [&](const char* label, uint64_t varAddr, const char* key) {
        std::optional<uint64_t> v;
        if (varAddr) v = m.readPointer(varAddr, p);
        if (!v) {
            out.line(fmt::format("\t{:<16}{:>10}   (not in the dump)", std::string(label) + ":", "?"));
            j[key] = nullptr;
            return;
        }
        // FACTS.md §2.11: "Physical Memory:     16270   (   65080 Kb)".
        out.line(fmt::format("\t{:<16}{:>10}   ({:>8} Kb)", std::string(label) + ":", *v, *v * 4));
        j[key] = *v;
    };
    pages("Physical Memory", k.kdbg.mmNumberOfPhysicalPages, "physical_pages");
    pages("Available Pages", k.kdbg.mmAvailablePages, "available_pages");
    pages("ResAvail Pages", k.kdbg.mmResidentAvailablePages, "resident_available_pages");
    pages("Committed pages", k.kdbg.mmTotalCommittedPages, "committed_pages");
    pages("Commit limit", k.kdbg.mmTotalCommitLimit, "commit_limit");
    out.json = j;
}

void cmdCpuinfo(Engine& e, std::string_view, Output& out) {
    requireKernel(e, "!cpuinfo");
    const SystemInfo& s = e.target().system;
    out.line("CP  F/M/S  Manufacturer     MHz PRCB Signature    MSR 8B Signature Features");
    nlohmann::json j = nlohmann::json::array();
    for (size_t i = 0; i < e.target().threads.size(); ++i) {
        out.line(fmt::format("{:>2}  ?,?,?  {:<12}      ?  not in the dump", i, s.cpuVendor.empty() ? "<unknown>" : s.cpuVendor));
        j.push_back({{"processor", i}});
    }
    out.json = {{"processors", j}};
}

}  // namespace

void registerKernelSystemCommands(Engine& e) {
    e.registerCommand({".bugcheck", "display the bugcheck code and arguments", cmdBugcheck, false});
    e.registerCommand({".cxr", "set the register context from a CONTEXT record (.cxr: reset)", cmdCxr, false});
    e.registerCommand({".trap", "set the register context from a trap frame (.trap: reset)", cmdTrap, false});
    e.registerCommand({"!irql", "show the saved IRQL of the current processor", cmdIrql, false});
    e.registerCommand({"!pcr", "display the processor control region", cmdPcr, false});
    e.registerCommand({"!running", "list what each processor is running (-i idle too, -t stacks)", cmdRunning, false});
    e.registerCommand({"!vm", "memory-manager counters", cmdVm, false});
    e.registerCommand({"!cpuinfo", "processor identification", cmdCpuinfo, false});
}

}  // namespace nt
