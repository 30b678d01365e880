// Kernel process and thread commands: !process, !thread, .process, .thread
// (FACTS.md §2.3, §2.4, §2.10; MSDOCS !process / !thread).
#include "commands/kernel_process_commands.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <fmt/format.h>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"
#include "commands/expression.h"
#include "dump/module_names.h"
#include "unwind/frame_annotation.h"

namespace nt {

namespace {

struct KernelObjectsState {
    std::shared_ptr<Kernel> kernel;
    const types::TypeProvider* types = nullptr;
};

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

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// The nt type source that can lay out an EPROCESS, best first.
const types::TypeProvider* ntTypes(Engine& e) {
    for (const auto& src : e.typeSources("nt"))
        if (src.provider && src.provider->findType("_EPROCESS")) return src.provider;
    return nullptr;
}

// Hex of at least `digits` digits ("%04I64x", "%08I64x"); "?" of that width when unknown.
std::string hexMin(std::optional<uint64_t> v, int digits) {
    if (!v) return std::string(static_cast<size_t>(digits), '?');
    std::string h = hex(*v);
    if (h.size() < static_cast<size_t>(digits)) h.insert(0, static_cast<size_t>(digits) - h.size(), '0');
    return h;
}

std::string ptrText(std::optional<uint64_t> v, bool is64) {
    return v ? addrPlain(*v, is64) : std::string(is64 ? 16 : 8, '?');
}

nlohmann::json orNull(const std::optional<uint64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json orNull(const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json orNull(const std::optional<uint32_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json orNull(const std::optional<uint8_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json orNull(const std::optional<bool>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json orNull(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

bool isKernelAddress(uint64_t v, bool is64) { return is64 ? v >= 0xffff800000000000ull : v >= 0x80000000ull; }

std::string padRight(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string ticksText(const Kernel& k, std::optional<uint32_t> ticks) {
    if (!ticks) return "?";
    if (*ticks == 0) return cpuTime(0);
    auto inc = k.timeIncrement();
    if (!inc) return std::to_string(*ticks) + " ticks";
    return cpuTime(uint64_t{*ticks} * *inc);
}

}  // namespace

// ---- shared state -----------------------------------------------------------

Kernel& kernelObjects(Engine& e, std::string_view command) {
    if (!e.target().isKernel())
        throw UsageError(std::string(command) + " is a kernel-mode command: this is a user-mode dump");
    auto& s = e.commandState<KernelObjectsState>("kernel.objects");
    const types::TypeProvider* types = ntTypes(e);
    if (!s.kernel || s.types != types) {
        s.kernel = std::make_shared<Kernel>(e.target().memory(), types, *e.target().kernel,
                                            e.target().machine == Machine::Unknown ? 0u : nt::pointerSize(e.target().machine));
        Engine* engine = &e;
        s.kernel->setSymbolResolver([engine](std::string_view name) -> std::optional<uint64_t> {
            return engine->symbols().resolve("nt!" + std::string(name));
        });
        s.types = types;
    }
    return *s.kernel;
}

// The implicit thread/process live in the engine (so $thread/$proc, `~Ns`
// and every command agree); the object model derives them when the engine
// cannot (no KDBG offsets).
std::optional<uint64_t> implicitProcess(Engine& e) {
    if (auto p = e.kernelProcess()) return p;
    return kernelObjects(e, "!process").currentProcess();
}

std::optional<uint64_t> implicitThread(Engine& e) {
    if (auto t = e.kernelThread()) return t;
    return kernelObjects(e, "!thread").currentThread();
}

// ---- renderers ----------------------------------------------------------------

std::string tickDuration(uint64_t t) {
    uint64_t ms = t / 10000;
    uint64_t s = ms / 1000;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu:%02llu.%03llu", static_cast<unsigned long long>(s / 86400),
                  static_cast<unsigned long long>((s / 3600) % 24), static_cast<unsigned long long>((s / 60) % 60),
                  static_cast<unsigned long long>(s % 60), static_cast<unsigned long long>(ms % 1000));
    return buf;
}

std::string cpuTime(uint64_t t) {
    uint64_t ms = t / 10000;
    uint64_t s = ms / 1000;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu.%03llu", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>((s / 60) % 60), static_cast<unsigned long long>(s % 60),
                  static_cast<unsigned long long>(ms % 1000));
    return buf;
}

std::vector<std::string> processBlockLines(const ProcessInfo& p, bool is64) {
    std::vector<std::string> out;
    // "none": no session (System, Idle); "?": the session could not be read.
    std::string session = p.sessionId ? std::to_string(*p.sessionId) : (p.session && *p.session == 0 ? "none" : "?");
    std::string ids = "SessionId: " + session + "  Cid: " + hexMin(p.pid, 4) + "    Peb: " + hexMin(p.peb, 8) +
                      "  ParentCid: " + hexMin(p.parentPid, 4);
    if (is64) {
        out.push_back("PROCESS " + addrPlain(p.address, true));
        out.push_back("    " + ids);
    } else {
        out.push_back("PROCESS " + addrPlain(p.address, false) + "  " + ids);
    }
    std::string handles = "<Data Not Accessible>";
    if (p.handleCount) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%3llu.", static_cast<unsigned long long>(*p.handleCount));
        handles = buf;
    }
    out.push_back("    DirBase: " + hexMin(p.dirBase, 8) + "  ObjectTable: " + hexMin(p.objectTable, 8) +
                  "  HandleCount: " + handles);
    out.push_back("    Image: " + p.imageName.value_or("<Unknown>"));
    return out;
}

nlohmann::json processJson(const ProcessInfo& p) {
    return {{"address", p.address},
            {"readable", p.readable},
            {"pid", orNull(p.pid)},
            {"parent_pid", orNull(p.parentPid)},
            {"session", orNull(p.session)},
            {"session_id", orNull(p.sessionId)},
            {"peb", orNull(p.peb)},
            {"dir_base", orNull(p.dirBase)},
            {"object_table", orNull(p.objectTable)},
            {"handle_count", orNull(p.handleCount)},
            {"image", orNull(p.imageName)},
            {"image_file_name", orNull(p.imageFileName)},
            {"image_path", orNull(p.imagePath)},
            {"create_time", orNull(p.createTime)},
            {"device_map", orNull(p.deviceMap)},
            {"vad_root", orNull(p.vadRoot)},
            {"vad_count", orNull(p.vadCount)},
            {"private_pages", orNull(p.privatePages)},
            {"commit_charge", orNull(p.commitCharge)},
            {"working_set_pages", orNull(p.workingSetSize)},
            {"minimum_working_set_pages", orNull(p.minimumWorkingSetSize)},
            {"maximum_working_set_pages", orNull(p.maximumWorkingSetSize)},
            {"peak_working_set_pages", orNull(p.peakWorkingSetSize)},
            {"page_fault_count", orNull(p.pageFaultCount)},
            {"memory_priority", orNull(p.memoryPriority)},
            {"quota_paged_pool", orNull(p.quotaPagedPool)},
            {"quota_nonpaged_pool", orNull(p.quotaNonPagedPool)},
            {"token", orNull(p.token)}};
}

std::string threadStateText(const ThreadInfo& t, std::optional<uint32_t> processor) {
    if (!t.state) return "<state not readable>";
    std::string cpu = processor ? std::to_string(*processor)
                                : (t.nextProcessor ? std::to_string(*t.nextProcessor) : std::string("?"));
    switch (*t.state) {
        case 0: return "INITIALIZED";
        case 1: return "READY on processor " + cpu;
        case 2: return "RUNNING on processor " + cpu;
        case 3: return "STANDBY";
        case 4: return "TERMINATED";
        case 5: {
            std::string reason = t.waitReasonName.empty() ? "Unknown" : t.waitReasonName;
            std::string mode = !t.waitMode ? "?" : *t.waitMode == 0 ? "KernelMode" : "UserMode";
            std::string alert = !t.alertable ? "?" : *t.alertable ? "Alertable" : "Non-Alertable";
            return "WAIT: (" + reason + ") " + mode + " " + alert;
        }
        case 6: return "TRANSITION";
        case 7: return "DEFERREDREADY";
        default: return "UNKNOWN STATE " + std::to_string(*t.state);
    }
}

std::string threadHeaderLine(const ThreadInfo& t, std::optional<uint32_t> processor, bool is64) {
    return "THREAD " + addrPlain(t.address, is64) + "  Cid " + hexMin(t.pid, 4) + "." + hexMin(t.tid, 4) +
           "  Teb: " + ptrText(t.teb, is64) + " Win32Thread: " + ptrText(t.win32Thread, is64) + " " +
           threadStateText(t, processor);
}

std::string waitObjectLine(const DispatcherObject& d, bool is64) { return addrPlain(d.address, is64) + "  " + d.name; }

nlohmann::json threadJson(const ThreadInfo& t, const std::vector<DispatcherObject>& waits) {
    nlohmann::json w = nlohmann::json::array();
    for (const auto& d : waits) {
        nlohmann::json o = {{"address", d.address}, {"type", orNull(d.type)}, {"name", d.name}};
        if (d.ownerThread) o["owner_thread"] = *d.ownerThread;
        if (d.limit) o["limit"] = *d.limit;
        w.push_back(o);
    }
    return {{"address", t.address},
            {"readable", t.readable},
            {"pid", orNull(t.pid)},
            {"tid", orNull(t.tid)},
            {"teb", orNull(t.teb)},
            {"win32_thread", orNull(t.win32Thread)},
            {"state", orNull(t.state)},
            {"state_name", t.stateName},
            {"wait_reason", orNull(t.waitReason)},
            {"wait_reason_name", t.waitReasonName},
            {"wait_mode", orNull(t.waitMode)},
            {"alertable", orNull(t.alertable)},
            {"owning_process", orNull(t.owningProcess)},
            {"attached_process", orNull(t.attachedProcess)},
            {"stack_init", orNull(t.initialStack)},
            {"stack_current", orNull(t.kernelStack)},
            {"stack_base", orNull(t.stackBase)},
            {"stack_limit", orNull(t.stackLimit)},
            {"wait_time", orNull(t.waitTime)},
            {"context_switches", orNull(t.contextSwitches)},
            {"priority", orNull(t.priority)},
            {"base_priority", orNull(t.basePriority)},
            {"start_address", orNull(t.startAddress)},
            {"win32_start_address", orNull(t.win32StartAddress)},
            {"kernel_apc_pending", orNull(t.kernelApcPending)},
            {"kernel_apc_list_non_empty", orNull(t.kernelApcListNonEmpty)},
            {"wait_objects", w}};
}

namespace {

// ---- !thread ---------------------------------------------------------------------

// Registers to unwind a thread from: the processor's context when the
// thread is running on one, else its switch frame.
std::optional<CpuContext> threadRegisters(Engine& e, Kernel& k, const ThreadInfo& t, std::optional<uint32_t> cpu) {
    if (cpu && *cpu < e.target().threads.size()) return e.threadContext(*cpu);
    auto sf = k.switchFrame(t);
    if (!sf) return std::nullopt;
    Machine m = e.target().machine;
    CpuContext c(m);
    if (m == Machine::Arm64) {
        c.set(Reg::Pc, sf->ip);
        c.set(Reg::Sp, sf->sp);
        c.set(Reg::Fp, sf->fp);
    } else if (m == Machine::Amd64 || m == Machine::X86) {
        c.set(Reg::Rip, sf->ip);
        c.set(Reg::Rsp, sf->sp);
        c.set(Reg::Rbp, sf->fp);
        if (m == Machine::X86) {
            // A kernel thread's segments (the switch frame saves none).
            c.set(Reg::Cs, 0x8);
            c.set(Reg::Ss, 0x10);
            c.set(Reg::Ds, 0x23);
            c.set(Reg::Es, 0x23);
            c.set(Reg::Fs, 0x30);
        }
    } else {
        return std::nullopt;
    }
    return c;
}

void appendStack(Engine& e, Kernel& k, const ThreadInfo& t, std::optional<uint32_t> cpu, const std::string& indent,
                 Output& out, nlohmann::json& j) {
    bool w = k.is64();
    auto ctx = threadRegisters(e, k, t, cpu);
    if (!ctx) {
        j["stack"] = nullptr;
        out.line(indent + "Unable to get context of thread " + addrPlain(t.address, w));
        return;
    }
    // No thread index: a kernel thread's bounds are not in any TEB.
    StackWalk sw = e.walk(*ctx, static_cast<size_t>(-1));
    out.line(indent + (w ? "Child-SP          RetAddr           : Args to Child                                                           : Call Site"
                         : "ChildEBP RetAddr  Args to Child              "));
    nlohmann::json frames = nlohmann::json::array();
    for (size_t i = 0; i < sw.frames.size(); ++i) {
        const StackFrame& f = sw.frames[i];
        uint64_t ret = i + 1 < sw.frames.size() ? sw.frames[i + 1].ip : f.returnAddress;
        std::string site = e.symbols().formatOrAddress(f.ip);
        std::string line = indent;
        if (w) {
            line += addrTick(f.sp, true) + " " + addrTick(ret, true) + " : ";
            for (unsigned a = 0; a < 4; ++a)
                line += ((f.argsPresent >> a) & 1 ? addrTick(f.args[a], true) : std::string("????????`????????")) + " ";
            line += ": " + site;
            std::string trap = x64TrapFrameAnnotation(f, k.trapFrameRipOffset());
            if (!trap.empty()) line += " " + trap;
        } else {
            line += hexPad(f.fp & 0xffffffff, 8) + " " + hexPad(ret & 0xffffffff, 8) + " ";
            for (unsigned a = 0; a < 3; ++a)
                line += ((f.argsPresent >> a) & 1 ? hexPad(f.args[a] & 0xffffffff, 8) : std::string("????????")) + " ";
            line += site;
        }
        out.line(line);
        frames.push_back({{"instruction_pointer", f.ip}, {"stack_pointer", f.sp}, {"return_address", ret}, {"call_site", site}});
    }
    j["stack"] = frames;
}

// What of a thread to show: its wait objects, the detail lines, the stack.
struct ThreadView {
    bool waits = true, details = true, stack = true;
};

// One thread as !thread prints it.
void renderThread(Engine& e, Kernel& k, const ThreadInfo& t, ThreadView show, const std::string& indent, Output& out,
                  nlohmann::json& j) {
    const bool w = k.is64();
    std::optional<uint32_t> cpu = t.isRunning() || (t.state && *t.state == 1) ? k.processorRunning(t.address)
                                                                              : std::nullopt;
    std::vector<DispatcherObject> waits = k.waitObjects(t);
    j = threadJson(t, waits);
    if (cpu) j["processor"] = *cpu;
    if (!t.readable) {
        if (!k.memory().readValue<uint8_t>(t.address)) {
            out.line(indent + "THREAD " + addrPlain(t.address, w) + "  (ETHREAD not in the dump)");
            j["error"] = "ETHREAD not in the dump";
        } else {
            out.line(indent + "NT symbols are incorrect, please fix symbols (no type information for _ETHREAD)");
            j["error"] = "no type information for _ETHREAD";
        }
        return;
    }
    if (t.headerType && *t.headerType != 6) {
        // Not a KTHREAD (its dispatcher header says otherwise): nothing below would mean anything.
        out.line(indent + "TYPE mismatch for thread object at " + addrPlain(t.address, w));
        j["error"] = "not a thread object";
        return;
    }
    out.line(indent + threadHeaderLine(t, cpu, w));
    if (show.waits)
        for (const auto& d : waits) out.line(indent + "    " + waitObjectLine(d, w));
    if (!show.details) return;

    if (t.impersonating) out.line(indent + (*t.impersonating ? "Impersonating" : "Not impersonating"));
    uint64_t noHandles = 0;  // only the image name and DeviceMap are needed: no handle-table walk
    ProcessInfo owner = t.owningProcess ? k.process(*t.owningProcess, &noHandles) : ProcessInfo{};
    auto label = [&](std::string l) { return indent + padRight(std::move(l), 26); };
    if (owner.deviceMap) out.line(label("DeviceMap") + addrPlain(*owner.deviceMap, w));
    out.line(label("Owning Process") + ptrText(t.owningProcess, w) + "       Image:         " +
             owner.imageName.value_or("<Unknown>"));
    if (t.attachedProcess) {
        ProcessInfo att = k.process(*t.attachedProcess, &noHandles);
        out.line(label("Attached Process") + addrPlain(*t.attachedProcess, w) + "       Image:         " +
                 att.imageName.value_or("<Unknown>"));
    } else {
        out.line(label("Attached Process") + "N/A            Image:         N/A");
    }
    std::string wait = label("Wait Start TickCount") + padRight(t.waitTime ? std::to_string(*t.waitTime) : "?", 15);
    if (auto now = k.tickCount(); now && t.waitTime) {
        uint64_t ticks = *now >= *t.waitTime ? *now - *t.waitTime : 0;
        wait += "Ticks: " + std::to_string(ticks);
        if (ticks) {
            if (auto inc = k.timeIncrement()) wait += " (" + tickDuration(ticks * *inc) + ")";
        }
        j["ticks"] = ticks;
    }
    while (!wait.empty() && wait.back() == ' ') wait.pop_back();
    out.line(wait);
    std::string cs = label("Context Switch Count") + padRight(t.contextSwitches ? std::to_string(*t.contextSwitches) : "?", 15);
    if (t.idealProcessor) cs += "IdealProcessor: " + std::to_string(*t.idealProcessor);
    while (!cs.empty() && cs.back() == ' ') cs.pop_back();
    out.line(cs);
    out.line(label("UserTime") + ticksText(k, t.userTime));
    out.line(label("KernelTime") + ticksText(k, t.kernelTime));
    if (t.win32StartAddress) {
        std::string sym = e.symbols().format(*t.win32StartAddress);
        out.line(indent + "Win32 Start Address " +
                 (sym.empty() ? "0x" + addrPlain(*t.win32StartAddress, w)
                              : sym + " (0x" + addrPlain(*t.win32StartAddress, w) + ")"));
    }
    out.line(indent + "Stack Init " + ptrText(t.initialStack, w) + " Current " + ptrText(t.kernelStack, w));
    out.line(indent + "Base " + ptrText(t.stackBase, w) + " Limit " + ptrText(t.stackLimit, w) + " Call " +
             addrPlain(0, w));
    std::string prio = indent + "Priority " + (t.priority ? std::to_string(*t.priority) : "?") + " BasePriority " +
                       (t.basePriority ? std::to_string(*t.basePriority) : "?");
    if (t.priorityDecrement) prio += " PriorityDecrement " + std::to_string(*t.priorityDecrement);
    if (t.ioPriority) prio += " IoPriority " + std::to_string(*t.ioPriority);
    if (t.pagePriority) prio += " PagePriority " + std::to_string(*t.pagePriority);
    out.line(prio);
    if (show.stack) appendStack(e, k, t, cpu, indent, out, j);
}

// Parses "[-p] [-t] [addr|-1 [flags]]".
void cmdBangThread(Engine& e, std::string_view args, Output& out) {
    Kernel& k = kernelObjects(e, "!thread");
    auto words = splitWords(args);
    bool showProcess = false, byTid = false;
    while (!words.empty() && (words.front() == "-p" || words.front() == "-t")) {
        (words.front() == "-p" ? showProcess : byTid) = true;
        words.erase(words.begin());
    }
    auto env = makeEngineExprEnv(e);
    uint64_t addr = 0;
    bool haveAddr = false;
    unsigned flags = 6;
    if (!words.empty() && words[0] != "-1") {
        addr = evaluate(words[0], *env);
        haveAddr = true;
    }
    if (words.size() > 1) flags = static_cast<unsigned>(evaluate(words[1], *env));
    if (byTid && haveAddr) {
        // -t: the argument is a thread id; find it in the process list.
        uint64_t tid = addr;
        haveAddr = false;
        uint64_t noHandles = 0;  // the search needs no handle counts
        size_t threadBudget = size_t{1} << 17;
        ProcessList pl = k.processes(kMaxListEntries, &noHandles);
        for (const auto& p : pl.processes) {
            if (threadBudget == 0) break;
            ThreadList tl = k.threads(p, std::min(kMaxListEntries, threadBudget));
            threadBudget -= std::min(threadBudget, tl.threads.size());
            for (const auto& t : tl.threads)
                if (!haveAddr && t.tid && *t.tid == tid) addr = t.address, haveAddr = true;
            if (haveAddr) break;
        }
        if (!haveAddr) {
            if (auto cur = k.currentThread(); cur && k.thread(*cur).tid == tid) addr = *cur, haveAddr = true;
        }
        if (!haveAddr) {
            out.line("Could not find thread with id " + hex(tid));
            out.error = true;
            out.json = {{"error", "thread id not found"}, {"tid", tid}};
            return;
        }
    }
    if (!haveAddr) {
        if (auto cur = implicitThread(e)) addr = *cur, haveAddr = true;
    }
    if (!haveAddr) {
        out.line("Unable to get current thread");
        out.error = true;
        out.json = {{"error", "no current thread"}};
        return;
    }
    ThreadInfo t = k.thread(addr);
    nlohmann::json j;
    if (showProcess && t.owningProcess) {
        ProcessInfo owner = k.process(*t.owningProcess);
        for (const auto& l : processBlockLines(owner, k.is64())) out.line(l);
        out.json["process"] = processJson(owner);
    }
    // !thread flags: bit 1 the wait state and details, bit 2 (with bit 1) the stack.
    renderThread(e, k, t, ThreadView{true, (flags & 2) != 0, (flags & 6) == 6}, "", out, j);
    out.json["thread"] = j;
    if (!t.readable || j.contains("error")) out.error = true;
}

// ---- !process ----------------------------------------------------------------------

// Work one !process may do on a hostile dump: every list is capped, but a
// capped process list of capped thread lists would still be 2^32 threads.
struct ProcessBudget {
    size_t threads = size_t{1} << 17;       // thread objects read, all processes together
    uint64_t handlePages = uint64_t{1} << 16;  // handle-table pages counted
    bool threadsExhausted = false;
};

bool imageMatches(const ProcessInfo& p, const std::string& filter) {
    if (!p.imageName) return false;
    std::string name = lower(*p.imageName), want = lower(filter);
    if (p.imageFileName && lower(*p.imageFileName) == want) return true;
    if (name == want) return true;
    // ImageFileName keeps at most 15 bytes: a longer name matches by its start.
    return name.size() >= 14 && want.size() > name.size() && want.compare(0, name.size(), name) == 0;
}

void renderProcess(Engine& e, Kernel& k, const ProcessInfo& p, unsigned flags, ProcessBudget& budget, Output& out,
                   nlohmann::json& j) {
    const bool w = k.is64();
    j = processJson(p);
    for (const auto& l : processBlockLines(p, w)) out.line(l);
    if (flags & 1) {
        auto label = [](std::string l) { return "    " + padRight(std::move(l), 34); };
        auto num = [](const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : std::string("?"); };
        if (p.vadRoot || p.vadCount)
            out.line("    VadRoot " + ptrText(p.vadRoot, w) + " Vads " + num(p.vadCount) + " Clone " +
                     (p.cloneRoot ? (*p.cloneRoot == 0 ? std::string("0") : std::string("?")) : std::string("?")) +
                     " Private " + num(p.privatePages) + ". Modified " + num(p.modifiedPages) + ". Locked " +
                     num(p.lockedPages) + ".");
        if (p.deviceMap) out.line("    DeviceMap " + addrPlain(*p.deviceMap, w));
        if (p.token) out.line(label("Token") + addrPlain(*p.token, w));
        // What the times need and a small dump may lack, said the way
        // WinDbg says it (seed 001's procdump -mk dump).
        if (!k.timeIncrement()) out.line("ReadMemory error: Cannot get nt!KeMaximumIncrement value.");
        const uint64_t sharedData = w ? 0xfffff78000000000ull : 0xffdf0000ull;
        if (!k.memory().readValue<uint32_t>(sharedData)) out.line(hexPad(sharedData, w ? 16 : 8) + ": Unable to get shared data");
        uint64_t elapsed = 0;
        if (p.createTime && *p.createTime && k.info().systemTime >= *p.createTime)
            elapsed = k.info().systemTime - *p.createTime;
        out.line(label("ElapsedTime") + cpuTime(elapsed));
        out.line(label("UserTime") + ticksText(k, p.userTime.value_or(0)));
        out.line(label("KernelTime") + ticksText(k, p.kernelTime.value_or(0)));
        if (p.quotaPagedPool) out.line(label("QuotaPoolUsage[PagedPool]") + std::to_string(*p.quotaPagedPool));
        if (p.quotaNonPagedPool) out.line(label("QuotaPoolUsage[NonPagedPool]") + std::to_string(*p.quotaNonPagedPool));
        if (p.workingSetSize && p.minimumWorkingSetSize && p.maximumWorkingSetSize)
            out.line(fmt::format("    Working Set Sizes (now,min,max)  ({}, {}, {}) ({}KB, {}KB, {}KB)", *p.workingSetSize,
                                 *p.minimumWorkingSetSize, *p.maximumWorkingSetSize, *p.workingSetSize * 4,
                                 *p.minimumWorkingSetSize * 4, *p.maximumWorkingSetSize * 4));
        if (p.peakWorkingSetSize) out.line(label("PeakWorkingSetSize") + std::to_string(*p.peakWorkingSetSize));
        if (p.virtualSize) out.line(label("VirtualSize") + std::to_string(*p.virtualSize >> 20) + " Mb");
        if (p.peakVirtualSize) out.line(label("PeakVirtualSize") + std::to_string(*p.peakVirtualSize >> 20) + " Mb");
        if (p.pageFaultCount) out.line(label("PageFaultCount") + std::to_string(*p.pageFaultCount));
        if (p.memoryPriority) {
            // MEMORY_PRIORITY_BACKGROUND 0, _WAIT 1, _FOREGROUND 2.
            const char* names[] = {"BACKGROUND", "WAIT", "FOREGROUND"};
            out.line(label("MemoryPriority") + (*p.memoryPriority < 3 ? std::string(names[*p.memoryPriority])
                                                                        : std::to_string(*p.memoryPriority)));
        }
        if (p.basePriority) out.line(label("BasePriority") + std::to_string(*p.basePriority));
        if (p.commitCharge) out.line(label("CommitCharge") + std::to_string(*p.commitCharge));
        if (p.job && *p.job) out.line(label("Job") + addrPlain(*p.job, w));
    }
    if (!(flags & 6)) return;
    out.line("");
    if (budget.threads == 0) {
        if (!budget.threadsExhausted) out.line("Thread lists not walked: this command already read " +
                                               std::to_string(ProcessBudget{}.threads) + " threads");
        budget.threadsExhausted = true;
        j["threads_skipped"] = true;
        return;
    }
    ThreadList tl = k.threads(p, std::min(kMaxListEntries, budget.threads));
    budget.threads -= std::min(budget.threads, tl.threads.size());
    nlohmann::json threads = nlohmann::json::array();
    std::vector<ThreadInfo> shown;
    for (const auto& t : tl.threads)
        if (t.readable) shown.push_back(t);
    std::string err = tl.walk.error(k.pointerSize());
    if (!err.empty()) {
        out.line(err);
        j["thread_list_error"] = err;
        // A small dump keeps the current thread even when the list is gone.
        if (auto cur = k.currentThread()) {
            ThreadInfo ct = k.thread(*cur);
            bool listed = std::any_of(shown.begin(), shown.end(), [&](const ThreadInfo& x) { return x.address == *cur; });
            if (ct.readable && !listed && ct.owningProcess == p.address) shown.push_back(ct);
        }
    }
    if (shown.empty() && err.empty()) out.line("No active threads");
    for (const auto& t : shown) {
        nlohmann::json tj;
        // !process flags: bit 1 alone, the THREAD line and its wait objects;
        // bit 2 alone, the THREAD line only; both, the whole !thread block
        // with its stack.
        bool full = (flags & 6) == 6;
        renderThread(e, k, t, ThreadView{(flags & 2) != 0, full, full}, "        ", out, tj);
        out.line("");
        threads.push_back(tj);
    }
    j["threads"] = threads;
}

void cmdBangProcess(Engine& e, std::string_view args, Output& out) {
    Kernel& k = kernelObjects(e, "!process");
    auto words = splitWords(args);
    std::optional<uint32_t> sessionFilter;
    while (!words.empty() && (words.front() == "/s" || words.front() == "/m")) {
        bool s = words.front() == "/s";
        if (words.size() < 2) throw UsageError("Syntax error: " + words.front() + " needs a value");
        if (s) sessionFilter = static_cast<uint32_t>(std::stoul(words[1], nullptr, 10));
        // /m (processes that loaded a module) needs the processes' user
        // address spaces; not filtered yet.
        words.erase(words.begin(), words.begin() + 2);
    }
    auto env = makeEngineExprEnv(e);
    const bool w = k.is64();
    nlohmann::json procs = nlohmann::json::array();
    ProcessBudget budget;

    bool all = false, current = words.empty();
    uint64_t target = 0;
    unsigned flags = 3;
    std::string filter;
    if (!words.empty()) {
        if (words[0] == "-1") current = true;
        else target = evaluate(words[0], *env);
        if (!current && target == 0) all = true;
        if (words.size() > 1) flags = static_cast<unsigned>(evaluate(words[1], *env));
        else if (!current && !all) flags = 0xf;
        if (words.size() > 2) filter = words[2];
    }

    if (current) {
        auto p = implicitProcess(e);
        // `.process 3adc` (a process id where an address belongs) sets an
        // implicit process that is no EPROCESS; WinDbg's !process then shows
        // the current process (seed 001), and so do we.
        if (p && !k.process(*p).readable) {
            out.json["implicit_process_unreadable"] = *p;
            p = k.currentProcess();
        }
        if (!p) {
            out.line("Unable to get current process");
            out.error = true;
            out.json = {{"error", "no current process"}};
            return;
        }
        nlohmann::json j;
        renderProcess(e, k, k.process(*p, &budget.handlePages), flags, budget, out, j);
        procs.push_back(j);
        out.json["processes"] = procs;
        return;
    }

    if (all) {
        ProcessList pl = k.processes(kMaxListEntries, &budget.handlePages);
        std::string err = pl.walk.error(k.pointerSize());
        // WinDbg reads PsActiveProcessHead before its banner: a dump without
        // it (a triage or kernel minidump) gets the error line alone (seed 001).
        const bool headUnreadable = pl.walk.unreadable && *pl.walk.unreadable == pl.walk.head;
        if (!headUnreadable) out.line("**** NT ACTIVE PROCESS DUMP ****");
        std::vector<ProcessInfo> list = pl.processes;
        // A walk that stopped inside the list (a link whose entry is not in
        // the dump): the processes before it, then the error where it
        // stopped; the entry itself has nothing to show.
        if (!err.empty() && !headUnreadable)
            std::erase_if(list, [&](const ProcessInfo& x) { return !x.readable; });
        if (!err.empty() && headUnreadable) out.line(err);
        if (!err.empty()) {
            out.json["error"] = err;
            // Carry on with what the dump has: a small dump keeps the
            // current process.
            if (auto cur = k.currentProcess()) {
                bool listed = std::any_of(list.begin(), list.end(), [&](const ProcessInfo& x) { return x.address == *cur; });
                ProcessInfo cp = k.process(*cur);
                if (!listed && cp.readable && (filter.empty() || imageMatches(cp, filter))) {
                    if (headUnreadable) out.line("The dump's current process (the only one it holds):");
                    list.push_back(cp);
                }
            }
        }
        for (const auto& p : list) {
            if (!filter.empty() && !imageMatches(p, filter)) continue;
            if (sessionFilter && p.sessionId != sessionFilter) continue;
            nlohmann::json j;
            renderProcess(e, k, p, flags, budget, out, j);
            out.line("");
            procs.push_back(j);
        }
        if (!err.empty() && !headUnreadable) out.line(err);
        out.json["processes"] = procs;
        if (!k.layout().hasTypes()) out.json["missing_fields"] = k.layout().missing();
        return;
    }

    // One process: an EPROCESS address, or a process id to search for.
    uint64_t address = target;
    if (!isKernelAddress(target, w)) {
        out.line("Searching for Process with Cid == " + hex(target));
        std::optional<uint64_t> found;
        uint64_t noHandles = 0;  // the search needs no handle counts
        ProcessList pl = k.processes(kMaxListEntries, &noHandles);
        for (const auto& p : pl.processes)
            if (p.pid == target) found = p.address;
        if (!found) {
            if (auto cur = k.currentProcess(); cur && k.process(*cur).pid == target) found = cur;
        }
        if (!found) {
            std::string err = pl.walk.error(k.pointerSize());
            if (!err.empty()) out.line(err);
            out.line("Unable to get process with Cid " + hex(target));
            out.error = true;
            out.json = {{"error", "process id not found"}, {"pid", target}};
            return;
        }
        address = *found;
    }
    ProcessInfo p = k.process(address, &budget.handlePages);
    if (!p.readable) {
        out.line("Unable to read _EPROCESS @ " + addrPlain(address, w));
        out.error = true;
        out.json = {{"error", "EPROCESS not readable"}, {"address", address}};
        return;
    }
    if (p.headerType && *p.headerType != 3) {
        out.line("TYPE mismatch for process object at " + addrPlain(address, w));
        out.error = true;
        out.json = {{"error", "not a process object"}, {"address", address}};
        return;
    }
    nlohmann::json j;
    renderProcess(e, k, p, flags, budget, out, j);
    procs.push_back(j);
    out.json["processes"] = procs;
}

// ---- user modules -----------------------------------------------------------------------

}  // namespace

size_t reloadUserModules(Engine& e, uint64_t process, Output& out) {
    Kernel& k = kernelObjects(e, ".reload /user");
    const bool w = k.is64();
    out.line("Loading User Symbols");
    ProcessInfo p = k.process(process);
    std::vector<Module> user;
    std::string problem;
    if (!p.peb || *p.peb == 0) {
        // System and Idle have no user half: nothing to load, nothing wrong.
    } else {
        // Through the address space in effect: the process's own after
        // `.process /p`, else the dump's (its current process).
        const Memory& mem = e.target().memory();
        ModuleList ml = k.userModules(*p.peb, mem);
        if (ml.modules.empty() && ml.walk.unreadable && *ml.walk.unreadable == *p.peb)
            problem = "the PEB at " + addrPlain(*p.peb, w) + " is not in the dump";
        else if (std::string err = ml.walk.error(k.pointerSize()); !err.empty())
            problem = err;
        for (const LoadedModule& lm : ml.modules) {
            if (!lm.base || !lm.size || *lm.size == 0 || isKernelAddress(*lm.base, w)) continue;
            Module m;
            m.base = *lm.base;
            m.size = *lm.size;
            m.timestamp = lm.timestamp.value_or(0);
            m.checksum = lm.checksum.value_or(0);
            m.path = lm.fullName && !lm.fullName->empty() ? *lm.fullName : lm.baseName.value_or("");
            if (m.path.empty()) m.path = "module_" + hex(m.base);
            user.push_back(std::move(m));
        }
    }
    // The kernel half stays; the user half is the process's.
    auto& mods = e.target().modules;
    mods.erase(std::remove_if(mods.begin(), mods.end(), [&](const Module& m) { return !isKernelAddress(m.base, w); }),
               mods.end());
    const size_t loaded = user.size();
    // Kernel modules keep their names ("nt", "hal"); a DLL whose name a
    // driver already has gets dbgeng's "_<base>" suffix.
    assignModuleNames(user);
    for (auto& m : user) {
        bool taken = std::any_of(mods.begin(), mods.end(), [&](const Module& k2) { return lower(k2.name) == lower(m.name); });
        if (taken) m.name += "_" + fmt::format("{:x}", m.base);
        mods.push_back(std::move(m));
    }
    e.target().finalize();
    e.images().reset();
    e.symbols().reload(nullptr, false);
    e.invalidateStacks();
    if (loaded) out.line(std::string(loaded, '.'));
    if (!problem.empty()) out.line("Unable to load user modules: " + problem);
    out.json["user_modules"] = loaded;
    if (!problem.empty()) out.json["user_modules_error"] = problem;
    return loaded;
}

namespace {

// ---- .process / .thread ---------------------------------------------------------------

void cmdDotProcess(Engine& e, std::string_view args, Output& out) {
    Kernel& k = kernelObjects(e, ".process");
    auto words = splitWords(args);
    bool reload = false, invasive = false;
    while (!words.empty() && words.front().size() == 2 && words.front()[0] == '/') {
        char o = static_cast<char>(std::tolower(static_cast<unsigned char>(words.front()[1])));
        if (o == 'r') reload = true;
        else if (o == 'p' || o == 'i') invasive = true;
        words.erase(words.begin());
    }
    if (!words.empty()) {
        uint64_t addr = evaluate(words[0], *makeEngineExprEnv(e));
        e.setImplicitProcess(addr ? std::optional<uint64_t>(addr) : std::nullopt);
    }
    auto p = implicitProcess(e);
    // /p (and /i): user-mode addresses translate through that process's DirBase.
    if (p) {
        auto dirBase = k.process(*p).dirBase;
        e.target().setUserAddressSpace(invasive && dirBase ? std::optional<uint64_t>(*dirBase) : std::nullopt);
        e.invalidateStacks();
    }
    out.line("Implicit process is now " + (p ? addrTick(*p, k.is64()) : std::string("unknown")));
    out.json = {{"implicit_process", orNull(p)}, {"reload_user_symbols", reload}, {"translate", invasive}};
    if (p) {
        ProcessInfo pi = k.process(*p);
        out.json["image"] = orNull(pi.imageName);
        out.json["dir_base"] = orNull(pi.dirBase);
        if (reload) reloadUserModules(e, *p, out);
    }
}

void cmdDotThread(Engine& e, std::string_view args, Output& out) {
    Kernel& k = kernelObjects(e, ".thread");
    auto words = splitWords(args);
    // /p: the thread's process becomes the implicit process, its DirBase the
    // user address space; /r: then its DLLs are loaded (.thread /p /r).
    bool toProcess = false, reload = false;
    while (!words.empty() && words.front().size() == 2 && words.front()[0] == '/') {
        char o = static_cast<char>(std::tolower(static_cast<unsigned char>(words.front()[1])));
        if (o == 'p') toProcess = true;
        else if (o == 'r') reload = true;
        words.erase(words.begin());
    }
    if (words.empty()) {
        // .thread alone returns to the dump's own thread and context.
        e.setImplicitThread(std::nullopt);
        e.setImplicitProcess(std::nullopt);
        e.setScopeContext(std::nullopt);
    } else {
        uint64_t addr = evaluate(words[0], *makeEngineExprEnv(e));
        if (addr == 0) {
            e.setImplicitThread(std::nullopt);
            e.setScopeContext(std::nullopt);
        } else {
            e.setImplicitThread(addr);
            ThreadInfo t = k.thread(addr);
            if (t.apcProcess) e.setImplicitProcess(*t.apcProcess);
            // A thread on a processor: its registers are that processor's
            // context (a small dump's stored thread is its processor's).
            auto cpu = k.processorRunning(addr);
            if (!cpu && e.processorThread() == addr) cpu = static_cast<uint32_t>(e.currentThread());
            if (cpu) out.json["processor"] = *cpu;
            if (auto c = threadRegisters(e, k, t, cpu)) {
                e.setScopeContext(c);
                out.json["register_context"] = {{"ip", c->ip()}, {"sp", c->sp()}};
            } else {
                // No registers for it: say so rather than keep showing the
                // previous context's stack under this thread's name.
                e.setScopeWithoutContext();
                out.line("Unable to get context of thread " + addrPlain(addr, k.is64()));
                out.json["register_context"] = nullptr;
            }
        }
    }
    auto t = implicitThread(e);
    out.line("Implicit thread is now " + (t ? addrTick(*t, k.is64()) : std::string("unknown")));
    out.json["implicit_thread"] = orNull(t);
    if (t && toProcess) {
        ThreadInfo ti = k.thread(*t);
        auto owner = ti.apcProcess ? ti.apcProcess : ti.owningProcess;
        if (owner) {
            e.setImplicitProcess(*owner);
            auto dirBase = k.process(*owner).dirBase;
            e.target().setUserAddressSpace(dirBase ? std::optional<uint64_t>(*dirBase) : std::nullopt);
            e.invalidateStacks();
            out.line("Implicit process is now " + addrTick(*owner, k.is64()));
            out.json["implicit_process"] = *owner;
            if (reload) reloadUserModules(e, *owner, out);
        }
    }
}

}  // namespace

void registerKernelProcessCommands(Engine& e) {
    e.registerCommand({"!process", "kernel processes: !process [addr|pid|0|-1] [flags] [image]", cmdBangProcess, false});
    e.registerCommand({"!thread", "kernel thread: !thread [-p] [-t] [addr|-1] [flags]", cmdBangThread, false});
    e.registerCommand({".process", "set the implicit process: .process [/r] [/p] <EPROCESS>", cmdDotProcess, false});
    e.registerCommand({".thread", "set the implicit thread and its context: .thread <ETHREAD>", cmdDotThread, false});
}

}  // namespace nt
