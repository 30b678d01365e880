// Kernel-dump commands about the machine rather than one object: .bugcheck,
// .cxr, .trap, !pcr, !prcb, !cpuinfo, !running, !vm, !irql, and the kernel
// forms of vertarget. Process/thread commands live in kernel_process_commands.cpp.
#include <algorithm>
#include <cctype>
#include <ctime>
#include <limits>

#include <fmt/format.h>

#include "base/error.h"
#include "base/format.h"
#include "commands/command_views.h"
#include "commands/engine.h"
#include "commands/expression.h"
#include "commands/kernel_process_commands.h"
#include "commands/kernel_views.h"

namespace nt {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::vector<std::string> splitWords(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        size_t j = i;
        while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
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
    // An x86 trap taken in kernel mode (CS RPL 0, not virtual-8086) pushed no
    // ss:esp: HardwareEsp/HardwareSegSs hold whatever came next, and the
    // interrupted esp is where HardwareEsp would be.
    if (m == Machine::X86) {
        auto cs = ctx.getByName("cs"), efl = ctx.getByName("efl");
        if (cs && efl && (*cs & 1) == 0 && (*efl & 0x20000) == 0) {
            ctx.setByName("esp", addr + 0x74);
            ctx.setByName("ss", 0x10);
        }
    }
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

// ---- processors --------------------------------------------------------------

// Processors the header claims, bounded: a hostile header may claim billions
// (Windows supports at most 2048 logical processors).
constexpr uint32_t kMaxProcessors = 4096;

uint32_t processorCount(const Kernel& k) { return std::min<uint32_t>(k.info().numberProcessors, kMaxProcessors); }

// KiProcessorBlock[cpu]; a small dump keeps only the bugcheck processor's
// KPRCB, stored on its own.
std::optional<uint64_t> prcbOf(const Kernel& k, uint32_t cpu) {
    if (auto p = k.processorBlock(cpu)) return p;
    const KernelInfo& info = k.info();
    if (cpu == info.bugcheckProcessor && info.storedPrcb) return info.storedPrcb;
    return std::nullopt;
}

// KPRCB.CurrentThread / NextThread / IdleThread: from the type source, else
// from the debugger data's CurrentThread offset (the three pointers have
// been adjacent in that order in every KPRCB since NT 4).
struct PrcbThreads {
    std::optional<uint64_t> current, next, idle;
};

PrcbThreads prcbThreads(const Kernel& k, uint64_t prcb) {
    StructView v(k.memory(), k.layout(), "_KPRCB", prcb);
    auto pointer = [&](std::string_view field, unsigned index) -> std::optional<uint64_t> {
        if (v.has(field)) return v.ptr(field);
        auto current = k.layout().offset("_KPRCB", "CurrentThread");
        if (!current) return std::nullopt;
        return k.memory().readPointer(prcb + *current + uint64_t{index} * k.pointerSize(), k.pointerSize());
    };
    return {pointer("CurrentThread", 0), pointer("NextThread", 1), pointer("IdleThread", 2)};
}

// ---- !running -----------------------------------------------------------------

struct RunningOptions {
    bool idleToo = false;  // -i
    bool stacks = false;   // -t
};

// "-i", "-t", "-it" / "-ti" (kdexts takes the flags grouped or apart).
RunningOptions runningOptions(std::string_view args) {
    RunningOptions o;
    for (const auto& word : splitWords(args)) {
        if (word.size() < 2 || (word[0] != '-' && word[0] != '/')) throw UsageError("!running [-i] [-t]: unexpected " + word);
        for (char c : word.substr(1)) {
            if (c == 'i' || c == 'I') o.idleToo = true;
            else if (c == 't' || c == 'T') o.stacks = true;
            else throw UsageError("!running [-i] [-t]: unknown option " + word);
        }
    }
    return o;
}

// " ( 8)": KTHREAD.Priority (a signed char) of a thread; " ( ?)" when not read.
std::string priorityCell(const Kernel& k, std::optional<uint64_t> thread) {
    std::optional<int64_t> pri;
    if (thread && *thread) pri = StructView(k.memory(), k.layout(), "_KTHREAD", *thread).s("Priority");
    return pri ? fmt::format(" ({:>2})", *pri) : std::string(" ( ?)");
}

// The 16 characters that end a !running row: one per built-in queued spin
// lock, KPRCB.LockQueue[0..15] (MSDOCS !running: "." the lock is not in use,
// "O" this processor owns it, "W" this processor is queued for it). The
// state is in the low bits of each KSPIN_LOCK_QUEUE's Lock pointer: wdm.h and
// the ks*.inc headers define LOCK_QUEUE_WAIT = 1 and LOCK_QUEUE_OWNER = 2.
// OWNER is tested first: an owning processor shows "O" whatever the other bit
// says. "?" for an entry that is not read (no type information, or not in
// the dump).
constexpr unsigned kBuiltinQueuedLocks = 16;
constexpr uint64_t kLockQueueWait = 1, kLockQueueOwner = 2;

std::string lockQueueCells(const Kernel& k, uint64_t prcb) {
    StructView v(k.memory(), k.layout(), "_KPRCB", prcb);
    std::string cells;
    for (unsigned i = 0; i < kBuiltinQueuedLocks; ++i) {
        std::string path = fmt::format("LockQueue[{}].Lock", i);
        std::optional<uint64_t> lock = v.has(path) ? v.ptr(path) : std::nullopt;
        cells.push_back(!lock ? '?' : (*lock & kLockQueueOwner) ? 'O' : (*lock & kLockQueueWait) ? 'W' : '.');
    }
    return cells;
}

struct RunningRow {
    uint32_t cpu = 0;
    std::optional<uint64_t> prcb;
    PrcbThreads threads;
    bool idle() const { return threads.current && threads.idle && *threads.current == *threads.idle; }
};

// Modern kdexts columns: cpu (3) + 4 spaces, Prcb, 2 spaces, Current,
// " (pri)", space, Next, " (pri)", space, Idle, 2 spaces, the lock states;
// an empty Next leaves its address and priority blank ("  0    <prcb>
// <cur> ( 0)                       <idle>  ................").
std::string runningRowText(const Kernel& k, const RunningRow& r) {
    const bool w = k.is64();
    const size_t pw = w ? 16 : 8;
    auto addr = [&](std::optional<uint64_t> v) { return v ? addrPlain(*v, w) : std::string(pw, '?'); };
    const bool hasNext = r.threads.next && *r.threads.next;
    std::string next = hasNext ? addrPlain(*r.threads.next, w) + priorityCell(k, r.threads.next) : std::string(pw + 5, ' ');
    return fmt::format("{:>3}    {}  {}{} {} {}  {}", r.cpu, addrPlain(*r.prcb, w), addr(r.threads.current),
                       priorityCell(k, r.threads.current), next, addr(r.threads.idle), lockQueueCells(k, *r.prcb));
}

nlohmann::json runningRowJson(const Kernel& k, const RunningRow& r) {
    auto pri = [&](std::optional<uint64_t> t) -> nlohmann::json {
        if (!t || !*t) return nullptr;
        auto p = StructView(k.memory(), k.layout(), "_KTHREAD", *t).s("Priority");
        return p ? nlohmann::json(*p) : nlohmann::json(nullptr);
    };
    auto opt = [](std::optional<uint64_t> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    return {{"processor", r.cpu},
            {"prcb", opt(r.prcb)},
            {"current", opt(r.threads.current)},
            {"current_priority", pri(r.threads.current)},
            {"next", r.threads.next && *r.threads.next ? nlohmann::json(*r.threads.next) : nlohmann::json(nullptr)},
            {"next_priority", pri(r.threads.next)},
            {"idle", opt(r.threads.idle)},
            {"lock_queue", r.prcb ? nlohmann::json(lockQueueCells(k, *r.prcb)) : nlohmann::json(nullptr)}};
}

void runningStack(Engine& e, uint32_t cpu, Output& out) {
    if (cpu >= e.target().threads.size() || !e.target().threads[cpu].context) return;
    size_t keep = e.currentThread();
    e.setCurrentThread(cpu);
    Output k = e.execute("k");
    e.setCurrentThread(keep);
    out.line("");
    out.text.append(k.text);
    out.line("");
}

void cmdRunning(Engine& e, std::string_view args, Output& out) {
    requireKernel(e, "!running");
    const RunningOptions opt = runningOptions(args);
    Kernel& k = kernelObjects(e, "!running");
    const bool w = k.is64();
    const uint32_t n = processorCount(k);
    std::vector<RunningRow> rows;
    uint64_t idleMask = 0;
    uint32_t idleCount = 0;
    for (uint32_t i = 0; i < n; ++i) {
        RunningRow r;
        r.cpu = i;
        r.prcb = prcbOf(k, i);
        if (r.prcb) r.threads = prcbThreads(k, *r.prcb);
        if (r.idle()) {
            ++idleCount;
            if (i < 64) idleMask |= uint64_t{1} << i;
        }
        rows.push_back(r);
    }
    const uint64_t mask = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    // Modern kdexts: both lines are affinity masks at pointer width.
    out.line(fmt::format("System Processors:  ({})", hexPad(mask, w ? 16 : 8)));
    out.line(fmt::format("  Idle Processors:  ({})", hexPad(idleMask, w ? 16 : 8)));
    // MSDOCS !running -it: "All processors idle." follows the masks.
    const bool allIdle = n > 0 && idleCount == n;
    if (allIdle) out.line("All processors idle.");
    nlohmann::json j = nlohmann::json::array();
    if (!allIdle || opt.idleToo) {
        out.line("");
        const size_t pw = w ? 16 : 8;
        auto pad = [](std::string t, size_t width) { return t.size() < width ? t + std::string(width - t.size(), ' ') : t; };
        out.line("       " + pad("Prcbs", pw + 2) + pad("Current", pw) + "(pri) " + pad("Next", pw) + "(pri) Idle");
        for (const RunningRow& r : rows) {
            if (r.idle() && !opt.idleToo) continue;
            if (!r.prcb) {
                out.line(fmt::format("{:>3}    (PRCB not in the dump)", r.cpu));
                continue;
            }
            out.line(runningRowText(k, r));
            j.push_back(runningRowJson(k, r));
            if (opt.stacks) runningStack(e, r.cpu, out);
        }
    }
    out.json = {{"processors", j}, {"idle_processors", idleCount}, {"idle_mask", idleMask}, {"all_idle", allIdle}};
}

// ---- !vm ----------------------------------------------------------------------

// Kb of a page count: 4 KiB pages on every machine ntriage reads; nullopt
// when a hostile count would overflow.
std::optional<uint64_t> pagesToKb(uint64_t pages) {
    if (pages > std::numeric_limits<uint64_t>::max() / 4) return std::nullopt;
    return pages * 4;
}

std::string kbText(std::optional<uint64_t> pages) {
    if (!pages) return "?";
    auto kb = pagesToKb(*pages);
    return kb ? std::to_string(*kb) : "?";
}

// Windows 10's layout (seed 004): "Physical Memory:          4194156 (   16776624 Kb)".
// The page count ends in column 33 whatever the label's length (a label too
// long for that keeps one space), the Kb value is right-aligned in 11.
constexpr size_t kVmCountEnd = 33;

std::string vmCounterLine(std::string_view label, uint64_t pages) {
    std::string count = std::to_string(pages);
    size_t used = label.size() + count.size();
    std::string gap(used < kVmCountEnd ? kVmCountEnd - used : 1, ' ');
    return fmt::format("{}{}{} ({:>11} Kb)", label, gap, count, kbText(pages));
}

// One counter of the modern !vm and where it can be read, best first: the
// debugger data's pointer (the dump vouches for it), the system partition's
// field (Windows 10 1607+ keeps the counters in MiSystemPartition, a
// _MI_PARTITION), the global variable of earlier kernels.
struct VmCounter {
    const char* label;
    const char* key;                            // JSON
    uint64_t KdDebuggerData::*kdbg;             // nullptr: not in the debugger data
    const char* partitionField;                 // _MI_PARTITION path; nullptr: none
    const char* global;                         // nt global; nullptr: none
};

// The lines of the seed's transcript whose source is known; the others
// (Locked IO Pages, Free System PTEs, Modified (PF) Pages, the pool and commit
// breakdowns) are computed by kdexts from structures we do not decode, and
// are left out rather than guessed.
constexpr VmCounter kVmCounters[] = {
    {"Physical Memory:", "physical_pages", &KdDebuggerData::mmNumberOfPhysicalPages, "Vp.NumberOfPhysicalPages",
     "MmNumberOfPhysicalPages"},
    {"Available Pages:", "available_pages", &KdDebuggerData::mmAvailablePages, "Vp.AvailablePages", "MmAvailablePages"},
    {"ResAvail Pages:", "resident_available_pages", &KdDebuggerData::mmResidentAvailablePages,
     "Vp.ResidentAvailablePages", "MmResidentAvailablePages"},
    {"Modified No Write Pages:", "modified_no_write_pages", nullptr, "Vp.ModifiedNoWritePageListHead.Total", nullptr},
    {"Shared Commit:", "shared_commit", nullptr, "Vp.SharedCommit", nullptr},
    {"ProcessLockedFilePages:", "process_locked_file_pages", nullptr, "Vp.ProcessLockedFilePages", nullptr},
    {"Committed pages:", "committed_pages", &KdDebuggerData::mmTotalCommittedPages, "Vp.TotalCommittedPages",
     "MmTotalCommittedPages"},
    {"Commit limit:", "commit_limit", &KdDebuggerData::mmTotalCommitLimit, "Vp.TotalCommitLimit", "MmTotalCommitLimit"},
};

std::optional<uint64_t> systemPartition(const Kernel& k) {
    if (!k.layout().has("_MI_PARTITION", "Vp")) return std::nullopt;
    return k.symbolAddress("MiSystemPartition");
}

std::optional<uint64_t> readVmCounter(const Kernel& k, const VmCounter& c, std::optional<uint64_t> partition) {
    const unsigned p = k.pointerSize();
    if (c.kdbg)
        if (uint64_t at = k.info().kdbg.*c.kdbg) return k.memory().readPointer(at, p);
    if (partition && c.partitionField) {
        StructView v(k.memory(), k.layout(), "_MI_PARTITION", *partition);
        if (v.has(c.partitionField)) return v.u(c.partitionField);
    }
    if (c.global)
        if (auto at = k.symbolAddress(c.global)) return k.memory().readPointer(*at, p);
    return std::nullopt;
}

// MI_VISIBLE_PARTITION.PagingFile[] has 16 slots (MAX_PAGING_FILES).
constexpr uint64_t kMaxPagingFiles = 16;

// "Page File: \??\C:\pagefile.sys" and its sizes, one block per paging file
// of the system partition; nothing when the partition is not readable.
void vmPageFiles(const Kernel& k, uint64_t partition, Output& out, nlohmann::json& j) {
    StructView vp(k.memory(), k.layout(), "_MI_PARTITION", partition);
    auto count = vp.u("Vp.NumberOfPagingFiles");
    if (!count) return;
    nlohmann::json files = nlohmann::json::array();
    for (uint64_t i = 0; i < std::min(*count, kMaxPagingFiles); ++i) {
        std::string slot = fmt::format("Vp.PagingFile[{}]", i);
        auto pf = vp.has(slot) ? vp.ptr(slot) : std::nullopt;
        if (!pf || !*pf) continue;
        StructView f(k.memory(), k.layout(), "_MMPAGING_FILE", *pf);
        auto name = f.unicodeString("PageFileName");
        auto size = f.u("Size"), freeSpace = f.u("FreeSpace"), minimum = f.u("MinimumSize"), maximum = f.u("MaximumSize");
        out.line("Page File: " + (name ? *name : std::string("?")));
        // Seed 004: "  Current:   1048576 Kb  Free Space:    807844 Kb" /
        // "  Minimum:   1048576 Kb  Maximum:     10485500 Kb" (the two right columns end together).
        out.line(fmt::format("  Current:{:>10} Kb  Free Space:{:>10} Kb", kbText(size), kbText(freeSpace)));
        out.line(fmt::format("  Minimum:{:>10} Kb  Maximum:{:>13} Kb", kbText(minimum), kbText(maximum)));
        auto opt = [](std::optional<uint64_t> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
        files.push_back({{"name", name ? nlohmann::json(*name) : nlohmann::json(nullptr)}, {"size_pages", opt(size)},
                         {"free_pages", opt(freeSpace)}, {"minimum_pages", opt(minimum)}, {"maximum_pages", opt(maximum)}});
    }
    if (!files.empty()) out.line("");
    j["page_files"] = files;
}

// Windows 10 and later (no "*** Virtual Memory Usage ***" banner). A
// counter that cannot be read is left out, as kdexts leaves out the lines a
// build has no counter for; when none can be read, one line says so.
void vmModern(const Kernel& k, Output& out) {
    nlohmann::json j = nlohmann::json::object();
    auto partition = systemPartition(k);
    if (partition) vmPageFiles(k, *partition, out, j);
    size_t shown = 0;
    for (const VmCounter& c : kVmCounters) {
        auto v = readVmCounter(k, c, partition);
        j[c.key] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
        if (!v) continue;
        out.line(vmCounterLine(c.label, *v));
        ++shown;
    }
    if (shown == 0) {
        out.line("Unable to read the memory manager's counters: not in the dump");
        out.error = true;
    }
    out.json = j;
}

// Windows 7/8 kdexts (MSDOCS !vm): the banner, then tab-indented counters
// read through the debugger data's Mm* pointers.
void vmLegacy(Engine& e, Output& out) {
    const KernelInfo& k = *e.target().kernel;
    const Memory& m = e.target().memory();
    unsigned p = e.is64() ? 8 : 4;
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
        out.line(fmt::format("\t{:<16}{:>10}   ({:>8} Kb)", std::string(label) + ":", *v, kbText(*v)));
        j[key] = *v;
    };
    pages("Physical Memory", k.kdbg.mmNumberOfPhysicalPages, "physical_pages");
    pages("Available Pages", k.kdbg.mmAvailablePages, "available_pages");
    pages("ResAvail Pages", k.kdbg.mmResidentAvailablePages, "resident_available_pages");
    pages("Committed pages", k.kdbg.mmTotalCommittedPages, "committed_pages");
    pages("Commit limit", k.kdbg.mmTotalCommitLimit, "commit_limit");
    out.json = j;
}

constexpr uint32_t kFirstWindows10Build = 10240;

void cmdVm(Engine& e, std::string_view, Output& out) {
    const KernelInfo& info = requireKernel(e, "!vm");
    if (info.buildNumber >= kFirstWindows10Build) vmModern(kernelObjects(e, "!vm"), out);
    else vmLegacy(e, out);
}

// ---- !cpuinfo -----------------------------------------------------------------

struct CpuIdentity {
    uint32_t cpu = 0;
    std::optional<uint64_t> prcb, family, model, stepping, mhz, signature, features;
    std::optional<std::string> vendor;
};

// KPRCB.VendorString ("GenuineIntel"): printable ASCII only, so a damaged
// dump cannot put control characters on the screen.
std::optional<std::string> vendorText(std::optional<std::string> raw) {
    if (!raw) return std::nullopt;
    for (char& c : *raw)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    return raw;
}

CpuIdentity readCpuIdentity(const Kernel& k, uint32_t cpu) {
    CpuIdentity c;
    c.cpu = cpu;
    c.prcb = prcbOf(k, cpu);
    if (!c.prcb) return c;
    StructView v(k.memory(), k.layout(), "_KPRCB", *c.prcb);
    c.family = v.u("CpuType");
    if (v.has("CpuModel")) {
        c.model = v.u("CpuModel");
        c.stepping = v.u("CpuStepping");
    } else if (auto step = v.u("CpuStep")) {
        // Kernels without the split fields: CpuStep = model << 8 | stepping.
        c.model = *step >> 8;
        c.stepping = *step & 0xff;
    }
    c.mhz = v.u("MHz");
    c.signature = v.u("UpdateSignature");
    c.features = v.u("FeatureBits");
    c.vendor = vendorText(v.chars("VendorString"));
    return c;
}

// " 0  6,79,1 GenuineIntel 2295 0b00002a00000000                   311b3fff"
// (seed 004; F/M/S in decimal and not padded, MHz right-aligned in 4). The
// "MSR 8B Signature" column is the live processor's IA32_BIOS_SIGN_ID MSR
// (">…<" around it in a live session): a dump has no MSRs, so it stays blank.
// FeatureBits prints whole (the low 32 bits are all a Windows 10 value has).
std::string cpuinfoRow(const CpuIdentity& c) {
    auto dec = [](std::optional<uint64_t> v) { return v ? std::to_string(*v) : std::string("?"); };
    std::string sig = c.signature ? hexPad(*c.signature, 16) : std::string("?");
    std::string features = c.features ? fmt::format("{:08x}", *c.features) : std::string("?");
    return fmt::format("{:>2}  {},{},{} {} {:>4} {:<16} {:18}{}", c.cpu, dec(c.family), dec(c.model), dec(c.stepping),
                       c.vendor ? *c.vendor : std::string("?"), dec(c.mhz), sig, "", features);
}

nlohmann::json cpuinfoJson(const CpuIdentity& c) {
    auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    return {{"processor", c.cpu}, {"prcb", opt(c.prcb)},     {"family", opt(c.family)},
            {"model", opt(c.model)}, {"stepping", opt(c.stepping)}, {"vendor", opt(c.vendor)},
            {"mhz", opt(c.mhz)},     {"update_signature", opt(c.signature)}, {"features", opt(c.features)}};
}

// WinDbg ends the table with "Cached Update Signature" and "Initial Update
// Signature" lines. Their source is the microcode loader's state, which no
// nt type source or public symbol we read names (the Windows 10 ISF tables
// have none), so those two lines are left out rather than guessed.
void cmdCpuinfo(Engine& e, std::string_view, Output& out) {
    requireKernel(e, "!cpuinfo");
    Kernel& k = kernelObjects(e, "!cpuinfo");
    out.line("CP  F/M/S Manufacturer  MHz PRCB Signature    MSR 8B Signature Features");
    nlohmann::json j = nlohmann::json::array();
    for (uint32_t i = 0; i < processorCount(k); ++i) {
        CpuIdentity c = readCpuIdentity(k, i);
        if (!c.prcb) {
            out.line(fmt::format("{:>2}  (PRCB not in the dump)", i));
            j.push_back(cpuinfoJson(c));
            continue;
        }
        out.line(cpuinfoRow(c));
        j.push_back(cpuinfoJson(c));
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
