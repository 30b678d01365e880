#include "commands/engine.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>

#include "base/error.h"
#include "base/format.h"
#include "commands/kernel_views.h"
#include "dump/kernel/kdbg.h"
#include "dump/kernel/kernel_target.h"
#include "nt/builtin_types.h"
#include "nt/layout.h"

namespace nt {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// WoW64 facts (x64 Windows): the 64-bit TEB's TlsSlots[WOW64_TLS_CPURESERVED=1]
// points to the WoW64 CPU area; the 32-bit CONTEXT follows a 4-byte header
// (Flags/MachineType on Windows 10, a flags dword on Windows 7). The 32-bit
// TEB is what TEB64.NtTib.ExceptionList points to (2 pages above TEB64).
constexpr uint64_t kTeb64TlsSlots = 0x1480;
constexpr uint64_t kWow64CpuReservedSlot = 1;
constexpr uint64_t kWow64ContextOffset = 4;

}  // namespace

Engine::Engine(std::unique_ptr<Target> target)
    : target_(std::move(target)), images_(*target_), symbols_(*target_, images_) {
    effMachine_ = target_->machine;
    currentThread_ = target_->threads.empty() ? 0 : std::min(target_->eventThread, target_->threads.size() - 1);
    if (target_->isKernel()) {
        // Kernel dumps: "threads" are processors; start on the one that bugchecked.
        currentThread_ = std::min<size_t>(target_->kernel->bugcheckProcessor,
                                          target_->threads.empty() ? 0 : target_->threads.size() - 1);
        fillKernelOffsetsFromTypes();  // built-in tables need no symbol path
    } else {
        detectWow64();
        recoverProcessId();
    }
    registerThreadCommands(*this);
    registerStackCommands(*this);
    registerModuleCommands(*this);
    registerRegisterCommands(*this);
    registerMemoryCommands(*this);
    registerDisasmCommands(*this);
    registerSymbolCommands(*this);
    registerEvalCommands(*this);
    registerInfoCommands(*this);
    registerTypeCommands(*this);
    registerSymbolPathCommands(*this);
    registerKernelSystemCommands(*this);
    registerKernelProcessCommands(*this);
    registerKernelTssCommands(*this);
    registerKernelObjectCommands(*this);
    symbols_.setLog([this](std::string_view line) {
        if (logOut_) logOut_->line(line);
    });
}

void Engine::detectWow64() {
    if (target_->machine != Machine::Amd64) return;
    // A WoW64 process has wow64cpu.dll/wow64.dll loaded in its 64-bit view.
    for (const auto& m : target_->modules) {
        std::string n = m.name;
        std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
        if (n == "wow64cpu" || n == "wow64" || n == "wow64win") {
            wow64_ = true;
            return;
        }
    }
}

void Engine::recoverProcessId() {
    // Legacy user dumps (and minidumps without MiscInfo) do not record the
    // process id; every TEB does, in ClientId.UniqueProcess.
    if (target_->misc.processId || target_->threads.empty()) return;
    bool wide = nt::is64(target_->machine);
    for (const Thread& t : target_->threads) {
        auto pid = target_->memory().readPointer(t.teb + (wide ? 0x40 : 0x20), wide ? 8 : 4);
        auto self = target_->memory().readPointer(t.teb + (wide ? 0x30 : 0x18), wide ? 8 : 4);
        // NT_TIB.Self pointing back at the TEB says this really is a TEB.
        if (pid && self && *self == t.teb && *pid && *pid <= 0xffffffffu) {
            target_->misc.processId = static_cast<uint32_t>(*pid);
            return;
        }
    }
}

void Engine::registerCommand(CommandInfo info) {
    std::string key = info.name;
    commands_[key] = std::move(info);
}

bool Engine::setEffectiveMachine(Machine m) {
    if (m == Machine::Unknown) return false;
    if (m != target_->machine && !(wow64_ && m == Machine::X86)) return false;
    if (m != effMachine_) {
        effMachine_ = m;
        scope_.reset();
        stackKey_.reset();
    }
    return true;
}

void Engine::setCurrentThread(size_t index) {
    if (index >= target_->threads.size()) return;
    currentThread_ = index;
    scope_.reset();
    stackKey_.reset();
    implicitThread_.reset();  // kernel: a new processor brings its own thread
    implicitProcess_.reset();
}

void Engine::setScopeContext(std::optional<CpuContext> ctx) {
    scope_ = std::move(ctx);
    scopeWithoutContext_ = false;
    stackKey_.reset();
}

void Engine::setScopeWithoutContext() {
    scope_.reset();
    scopeWithoutContext_ = true;
    stackKey_.reset();
}

uint64_t Engine::tebFor(size_t index) const {
    if (index >= target_->threads.size()) return 0;
    uint64_t teb = target_->threads[index].teb;
    if (effMachine_ == Machine::X86 && target_->machine == Machine::Amd64) {
        // TEB64.NtTib.ExceptionList holds the 32-bit TEB in a WoW64 thread.
        if (auto p = target_->memory().readValue<uint64_t>(teb); p && *p && *p < 0x100000000ull) return *p;
        return teb + 0x2000;
    }
    return teb;
}

std::optional<uint64_t> Engine::peb() const {
    if (target_->threads.empty()) return std::nullopt;
    uint64_t teb = tebFor(currentThread_);
    if (is64()) return target_->memory().readValue<uint64_t>(teb + 0x60);
    auto p = target_->memory().readValue<uint32_t>(teb + 0x30);
    if (!p) return std::nullopt;
    return *p;
}

std::optional<CpuContext> Engine::threadContext(size_t index) const {
    if (index >= target_->threads.size()) return std::nullopt;
    const Thread& t = target_->threads[index];
    if (!t.context) return std::nullopt;
    if (effMachine_ == t.context->machine()) return t.context;
    if (effMachine_ == Machine::X86 && t.context->machine() == Machine::Amd64 && wow64_) {
        // A thread stopped while running 32-bit code (CS = 0x23, compatibility
        // mode) holds its live x86 registers in the x64 record itself; the
        // WoW64 CPU area then holds stale values from the last switch.
        if (t.context->get(Reg::Cs) == 0x23) return t.context->narrowedToX86();
        const Memory& mem = target_->memory();
        auto cpuArea = mem.readValue<uint64_t>(t.teb + kTeb64TlsSlots + 8 * kWow64CpuReservedSlot);
        if (!cpuArea || *cpuArea == 0) return std::nullopt;
        std::vector<uint8_t> raw(CpuContext::kX86Size);
        uint64_t got = mem.read(*cpuArea + kWow64ContextOffset, raw);
        if (got < 0xcc) return std::nullopt;
        raw.resize(got);
        return CpuContext::parse(Machine::X86, Bytes(raw.data(), raw.size()));
    }
    return std::nullopt;
}

std::optional<CpuContext> Engine::inEffectiveMachine(const CpuContext& ctx) const {
    if (ctx.machine() == effMachine_) return ctx;
    if (wow64_ && effMachine_ == Machine::X86 && ctx.machine() == Machine::Amd64 && ctx.get(Reg::Cs) == 0x23)
        return ctx.narrowedToX86();
    return std::nullopt;
}

std::optional<CpuContext> Engine::currentContext() const {
    if (scope_) return scope_;
    if (scopeWithoutContext_) return std::nullopt;
    return threadContext(currentThread_);
}

StackWalk Engine::walk(const CpuContext& ctx, size_t threadIndex) {
    WalkOptions opts;
    if (threadIndex < target_->threads.size()) {
        const Thread& t = target_->threads[threadIndex];
        // Stack bounds from the TEB of the effective machine when readable.
        uint64_t teb = tebFor(threadIndex);
        if (is64()) {
            auto base = target_->memory().readValue<uint64_t>(teb + 8);
            auto limit = target_->memory().readValue<uint64_t>(teb + 0x10);
            if (base && limit && *limit < *base) {
                opts.stackBase = *base;
                opts.stackLimit = *limit;
            }
        } else {
            auto base = target_->memory().readValue<uint32_t>(teb + 4);
            auto limit = target_->memory().readValue<uint32_t>(teb + 8);
            if (base && limit && *limit < *base) {
                opts.stackBase = *base;
                opts.stackLimit = *limit;
            }
        }
        if (opts.stackBase == 0 && t.stackSize && effMachine_ == target_->machine) {
            opts.stackLimit = t.stackStart;
            opts.stackBase = t.stackStart + t.stackSize;
        }
    }
    opts.x86FrameData = &symbols_;
    opts.procedureFrames = &symbols_;
    opts.x86PreviousTask = x86PreviousTaskResolver(*this, threadIndex);
    return walkStack(*target_, images_, ctx, opts);
}

const StackWalk& Engine::currentStack() {
    auto key = std::make_tuple(currentThread_, effMachine_, scope_.has_value());
    if (stackKey_ && *stackKey_ == key) return stackCache_;
    stackCache_ = {};
    if (auto ctx = currentContext()) stackCache_ = walk(*ctx, currentThread_);
    stackKey_ = key;
    return stackCache_;
}

// Old kernels (XP's 0x290-byte block) write no Offset* fields in their
// debugger data; the nt types (symbols, ISF, or the built-in table) give them.
void Engine::fillKernelOffsetsFromTypes() {
    if (!target_->isKernel()) return;
    KernelInfo& k = *target_->kernel;
    KdDebuggerData& d = k.kdbg;
    if (!d.present || (d.offsetPrcbCurrentThread && d.offsetKThreadApcProcess && d.offsetPcrContainedPrcb)) return;
    const types::TypeProvider* nt = nullptr;
    for (const auto& src : typeSources("nt"))
        if (src.provider->findType("_KTHREAD")) {
            nt = src.provider;
            break;
        }
    if (!nt) return;
    NtLayout layout(nt, nullptr, nt::pointerSize(target_->machine));
    auto set = [&](uint16_t& field, std::string_view type, std::string_view path) {
        if (field) return;
        if (auto off = layout.offset(type, path); off && *off <= 0xffff) field = static_cast<uint16_t>(*off);
    };
    set(d.offsetPrcbCurrentThread, "_KPRCB", "CurrentThread");
    set(d.offsetPrcbNumber, "_KPRCB", "Number");
    set(d.offsetPrcbProcStateContext, "_KPRCB", "ProcessorState.ContextFrame");
    set(d.offsetPrcbProcStateSpecialReg, "_KPRCB", "ProcessorState.SpecialRegisters");
    set(d.offsetKThreadApcProcess, "_KTHREAD", "ApcState.Process");
    set(d.offsetKThreadTeb, "_KTHREAD", "Teb");
    set(d.offsetKThreadState, "_KTHREAD", "State");
    set(d.offsetKThreadKernelStack, "_KTHREAD", "KernelStack");
    set(d.offsetKThreadInitialStack, "_KTHREAD", "InitialStack");
    set(d.offsetEprocessPeb, "_EPROCESS", "Peb");
    set(d.offsetEprocessDirectoryTableBase, "_EPROCESS", "Pcb.DirectoryTableBase");
    set(d.offsetPcrSelfPcr, "_KPCR", "SelfPcr");
    set(d.offsetPcrCurrentPrcb, "_KPCR", "Prcb");
    // The PRCB inside the PCR: "Prcb" on x64/ARM64, "PrcbData" on x86.
    set(d.offsetPcrContainedPrcb, "_KPCR", target_->machine == Machine::X86 ? "PrcbData" : "Prcb");
    if (!d.sizeEProcess)
        if (auto sz = layout.size("_EPROCESS"); sz && *sz <= 0xffff) d.sizeEProcess = static_cast<uint16_t>(*sz);
    if (!d.sizeEThread)
        if (auto sz = layout.size("_ETHREAD"); sz && *sz <= 0xffff) d.sizeEThread = static_cast<uint16_t>(*sz);
    // A small dump's thread and process copies are found through these
    // offsets: an XP one can place them only now.
    placeTriageCopies(*target_);
}

void Engine::refreshKernelFromSymbols() {
    if (!target_->isKernel()) return;
    fillKernelOffsetsFromTypes();
    KernelInfo& k = *target_->kernel;
    if (k.kdbg.present || !k.kdDebuggerDataBlock || !target_->moduleByName("nt")) return;
    auto neverAt = symbols_.resolve("nt!KiWaitNever");
    auto alwaysAt = symbols_.resolve("nt!KiWaitAlways");
    auto saltAt = symbols_.resolve("nt!KdpDataBlockEncoded");
    if (!neverAt || !alwaysAt || !saltAt) return;
    const Memory& m = target_->memory();
    auto never = m.readValue<uint64_t>(*neverAt);
    auto always = m.readValue<uint64_t>(*alwaysAt);
    std::vector<uint8_t> raw(0x400);
    raw.resize(m.read(k.kdDebuggerDataBlock, raw));
    if (!never || !always || raw.size() < 0x40) return;
    auto clear = kdbg::decode(Bytes(raw.data(), raw.size()), *saltAt | 0xffff000000000000ull, *never, *always);
    auto d = kdbg::parse(Bytes(clear.data(), clear.size()), k.kdDebuggerDataBlock);
    if (!d) return;
    d->wasEncoded = true;
    std::erase_if(k.notes, [](const std::string& n) { return n.rfind("KdDebuggerDataBlock is encoded", 0) == 0; });
    applyDebuggerData(*target_, *d);
    fillKernelOffsetsFromTypes();
    stackKey_.reset();
}

std::optional<uint64_t> Engine::kernelPrcb() const {
    if (!target_->isKernel()) return std::nullopt;
    const KernelInfo& k = *target_->kernel;
    unsigned p = nt::pointerSize(target_->machine);
    if (k.kdbg.kiProcessorBlock)
        if (auto v = target_->memory().readPointer(k.kdbg.kiProcessorBlock + uint64_t(currentThread_) * p, p); v && *v)
            return *v;
    if (currentThread_ == k.bugcheckProcessor && k.storedPrcb) return k.storedPrcb;
    return std::nullopt;
}

std::optional<uint64_t> Engine::kernelThread() const {
    if (!target_->isKernel()) return std::nullopt;
    if (implicitThread_) return implicitThread_;
    return processorThread();
}

std::optional<uint64_t> Engine::processorThread() const {
    if (!target_->isKernel()) return std::nullopt;
    const KernelInfo& k = *target_->kernel;
    unsigned p = nt::pointerSize(target_->machine);
    if (auto prcb = kernelPrcb(); prcb && k.kdbg.offsetPrcbCurrentThread)
        if (auto v = target_->memory().readPointer(*prcb + k.kdbg.offsetPrcbCurrentThread, p); v && *v) return *v;
    if (currentThread_ == k.bugcheckProcessor && k.storedThread) return k.storedThread;
    return std::nullopt;
}

std::optional<uint64_t> Engine::kernelProcess() const {
    if (!target_->isKernel()) return std::nullopt;
    if (implicitProcess_) return implicitProcess_;
    const KernelInfo& k = *target_->kernel;
    unsigned p = nt::pointerSize(target_->machine);
    if (auto th = kernelThread(); th && k.kdbg.offsetKThreadApcProcess)
        if (auto v = target_->memory().readPointer(*th + k.kdbg.offsetKThreadApcProcess, p); v && *v) return *v;
    if (currentThread_ == k.bugcheckProcessor && k.storedProcess) return k.storedProcess;
    return std::nullopt;
}

std::string Engine::prompt() const {
    // Kernel: the processor number ("0: kd> "); x86 view of x64 adds ":x86".
    if (target_->isKernel()) {
        std::string p = std::to_string(currentThread_) + ": kd";
        if (effMachine_ != target_->machine) p += ":" + std::string(effMachine_ == Machine::X86 ? "x86" : machineName(effMachine_));
        return p + "> ";
    }
    // Process 0, then the thread number in decimal, zero-padded to 3.
    char buf[16];
    std::snprintf(buf, sizeof buf, "%03zu", currentThread_);
    std::string p = std::string("0:") + buf;
    if (effMachine_ != target_->machine) p += ":" + std::string(effMachine_ == Machine::X86 ? "x86" : machineName(effMachine_));
    return p + "> ";
}

namespace {

// Thread prefix forms: "~*", "~N", "~." "~#" followed by a command ("~*k", "~3 kb").
// "~" alone and "~N s" / "~Ns" are commands of their own (handled by the ~ family).
bool parseThreadPrefix(std::string_view cmd, std::string& selector, std::string_view& rest) {
    if (cmd.size() < 2 || cmd[0] != '~') return false;
    size_t i = 1;
    if (cmd[i] == '*' || cmd[i] == '.' || cmd[i] == '#') {
        selector = std::string(1, cmd[i]);
        ++i;
    } else {
        size_t j = i;
        while (j < cmd.size() && std::isdigit(static_cast<unsigned char>(cmd[j]))) ++j;
        if (j == i) return false;
        selector = std::string(cmd.substr(i, j - i));
        i = j;
    }
    rest = trim(cmd.substr(i));
    if (rest.empty()) return false;
    // "~3 s" / "~3s" selects the thread: handled by the ~ command itself.
    if (rest == "s") return false;
    return true;
}

}  // namespace

Output Engine::execute(std::string_view command) {
    Output out;
    std::string_view cmd = trim(command);
    if (cmd.empty()) return out;

    std::string selector;
    std::string_view rest;
    if (parseThreadPrefix(cmd, selector, rest)) {
        std::vector<size_t> which;
        if (selector == "*") {
            for (size_t i = 0; i < target_->threads.size(); ++i) which.push_back(i);
        } else if (selector == ".") {
            which.push_back(currentThread_);
        } else if (selector == "#") {
            which.push_back(target_->eventThread);
        } else {
            // Digits only (parseThreadPrefix); cap the length so no overflow.
            size_t n = selector.size() > 9 ? SIZE_MAX : std::strtoul(selector.c_str(), nullptr, 10);
            if (n >= target_->threads.size()) {
                out.line("Illegal thread error in '" + std::string(cmd) + "'");
                out.error = true;
                out.json = {{"error", "illegal thread"}, {"thread", n}};
                return out;
            }
            which.push_back(n);
        }
        size_t saved = currentThread_;
        auto savedScope = scope_;
        nlohmann::json arr = nlohmann::json::array();
        for (size_t idx : which) {
            // WinDbg prints a blank line and the thread's `~` line before each,
            // marked relative to the real current thread.
            currentThread_ = saved;
            Output header = execute("~" + std::to_string(idx));
            currentThread_ = idx;
            scope_.reset();
            stackKey_.reset();
            if (which.size() > 1 || selector == "*") out.text += "\n";
            out.text += header.text;
            Output o = execute(rest);
            out.text += o.text;
            arr.push_back({{"thread", idx}, {"result", o.json}});
            if (o.quit) out.quit = true;
        }
        currentThread_ = saved;
        scope_ = savedScope;
        stackKey_.reset();
        out.json = {{"command", std::string(cmd)}, {"threads", arr}};
        return out;
    }

    // Find the longest registered command name that prefixes the line and is
    // followed by a non-identifier character. Most WinDbg commands allow the
    // argument to follow without a space ("db@rsp", "k3", "~3s").
    std::string_view word = cmd;
    const CommandInfo* best = nullptr;
    for (const auto& [name, info] : commands_) {
        if (cmd.size() < name.size()) continue;
        if (cmd.substr(0, name.size()) != name) {
            // case-insensitive match for letter commands (WinDbg accepts "K", "DB")
            bool eq = true;
            for (size_t i = 0; i < name.size() && eq; ++i)
                eq = std::tolower(static_cast<unsigned char>(cmd[i])) == std::tolower(static_cast<unsigned char>(name[i]));
            if (!eq) continue;
        }
        if (best && best->name.size() >= name.size()) continue;
        if (!info.attachedArgs && cmd.size() > name.size() && !std::isspace(static_cast<unsigned char>(cmd[name.size()])))
            continue;
        // For names ending in a letter, the next char must not extend the word
        // into another command we know (e.g. "kb" vs "k"): the longest match wins anyway.
        best = &info;
    }
    if (!best) {
        // WinDbg's two answers: an unknown extension (!name) or a syntax error.
        std::string w(word.substr(0, word.find_first_of(" \t")));
        if (w[0] == '!') out.line("No export " + w.substr(w.rfind('!') + 1) + " found");
        else out.line("       ^ Syntax error in '" + std::string(cmd) + "'");
        out.error = true;
        out.json = {{"error", "unknown command"}, {"command", std::string(cmd)}};
        return out;
    }
    std::string_view args = trim(cmd.substr(best->name.size()));
    // Symbol-load messages (!sym noisy, download hints) go to the command
    // that caused the load; nested commands restore the outer target.
    Output* savedLog = logOut_;
    logOut_ = &out;
    struct RestoreLog {
        Output*& slot;
        Output* saved;
        ~RestoreLog() { slot = saved; }
    } restoreLog{logOut_, savedLog};
    try {
        best->run(*this, args, out);
    } catch (const UsageError& e) {
        out.line(e.what());
        out.error = true;
        out.json = {{"error", e.what()}, {"command", std::string(cmd)}};
    } catch (const FormatError& e) {
        out.line(e.what());
        out.error = true;
        out.json = {{"error", e.what()}, {"command", std::string(cmd)}};
    } catch (const std::exception& e) {
        // A command must never take the session down; say what failed.
        out.line(std::string("error: ") + e.what() + " in '" + std::string(cmd) + "'");
        out.error = true;
        out.json = {{"error", e.what()}, {"command", std::string(cmd)}};
    }
    return out;
}

std::vector<std::string> Engine::splitCommands(std::string_view line) {
    std::vector<std::string> cmds;
    std::string cur;
    bool inQuote = false;
    auto flush = [&] {
        std::string_view t = trim(cur);
        if (!t.empty()) cmds.emplace_back(t);
        cur.clear();
    };
    for (char c : line) {
        if (c == '"') inQuote = !inQuote;
        if (c == ';' && !inQuote) {
            flush();
            continue;
        }
        cur.push_back(c);
    }
    flush();
    return cmds;
}

std::vector<Output> Engine::runLine(std::string_view line) {
    std::vector<Output> outs;
    for (const auto& c : splitCommands(line)) {
        outs.push_back(execute(c));
        if (outs.back().quit) break;
    }
    return outs;
}

std::vector<Engine::TypeSource> Engine::typeSources(std::string_view module) {
    std::vector<TypeSource> out;
    for (auto& [name, provider] : extraTypes_)
        if (module.empty() || wildcardMatch(module, name)) out.push_back({name, provider.get()});
    // Modules' own types (PDB TPI, ISF): loading a module's symbols is what
    // WinDbg does for `dt mod!T`; a bare `dt T` looks through every module.
    for (const Module& m : target_->modules) {
        if (!module.empty() && !wildcardMatch(module, m.name)) continue;
        if (SymbolProvider* p = symbols_.provider(m))
            if (const types::TypeProvider* t = p->types()) out.push_back({m.name, t});
    }
    // Kernel dumps without nt types (no PDB or ISF on the path: old x86
    // builds have no ISF at all): the built-in table for the build, last.
    if (target_->isKernel() && (module.empty() || wildcardMatch(module, "nt"))) {
        bool haveNt = false;
        for (const auto& src : out) haveNt |= src.module == "nt" && src.provider->findType("_KTHREAD").has_value();
        if (!haveNt) {
            if (!builtinTypes_) builtinTypes_ = builtinTypesFor(target_->machine, target_->kernel->buildNumber);
            if (builtinTypes_) out.push_back({"nt", builtinTypes_.get()});
        }
    }
    return out;
}

void Engine::addTypeSource(std::string module, std::shared_ptr<const types::TypeProvider> provider) {
    if (provider) extraTypes_.emplace_back(std::move(module), std::move(provider));
}

}  // namespace nt
