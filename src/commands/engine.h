// The debugger engine: one open dump plus the state a WinDbg session has
// (current thread, effective machine, register scope), and the command
// dispatcher. Commands produce text and JSON from one model (see Output).
#pragma once

#include <any>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/context.h"
#include "pe/pe_image.h"
#include "symbols/symbolizer.h"
#include "target/model.h"
#include "types/type_model.h"
#include "unwind/stack_walk.h"

namespace nt {

// What one command produced. Text is WinDbg's rendering; json holds the same
// facts. A command appends to both.
struct Output {
    std::string text;
    nlohmann::json json = nlohmann::json::object();
    bool quit = false;  // `q`
    bool error = false;

    void line(std::string_view s) {
        text.append(s);
        text.push_back('\n');
    }
};

class Engine;

// Arguments after the command word, raw (the command parses them).
using CommandHandler = std::function<void(Engine&, std::string_view args, Output&)>;

struct CommandInfo {
    std::string name;     // "db", ".ecxr", "!teb", "~" ...
    std::string summary;  // one line for `.help`
    CommandHandler run;
    // Whether arguments may follow the name without a space ("db@rsp", "k3").
    // Word commands ("q", "vertarget", "!peb") need a separator.
    bool attachedArgs = true;
};

class Engine {
public:
    explicit Engine(std::unique_ptr<Target> target);

    // Runs one command line (one command, no ';' splitting; see runLine).
    Output execute(std::string_view command);
    // Splits on ';' (outside quotes) and runs each command in order.
    std::vector<Output> runLine(std::string_view line);
    // The ';'-separated commands of a line, trimmed, empty ones dropped.
    static std::vector<std::string> splitCommands(std::string_view line);

    std::string prompt() const;  // "0:000> " or "0:000:x86> "

    // --- state -----------------------------------------------------------
    Target& target() { return *target_; }
    const Target& target() const { return *target_; }
    ModuleImages& images() { return images_; }
    Symbolizer& symbols() { return symbols_; }

    size_t currentThread() const { return currentThread_; }
    void setCurrentThread(size_t index);  // resets the register scope

    // Effective machine: the dump's machine, or x86 for the 32-bit view of a WoW64 process.
    Machine effectiveMachine() const { return effMachine_; }
    bool setEffectiveMachine(Machine m);  // false when not possible for this dump
    bool isWow64() const { return wow64_; }
    unsigned pointerSize() const { return nt::pointerSize(effMachine_); }
    bool is64() const { return pointerSize() == 8; }

    // Registers of the current thread in the current scope (after .ecxr/.cxr
    // the exception/explicit context; else the thread context; in the x86 view
    // of a WoW64 process the 32-bit context from the WoW64 CPU area).
    std::optional<CpuContext> currentContext() const;
    // The thread's own context in the effective machine (ignores .ecxr scope).
    std::optional<CpuContext> threadContext(size_t index) const;
    void setScopeContext(std::optional<CpuContext> ctx);
    // A scope with no registers (`.thread` of a thread whose context cannot
    // be found): register and stack commands say so until the scope is reset,
    // instead of showing another thread's.
    void setScopeWithoutContext();
    // A context as seen in the effective machine: an x64 record captured in
    // compatibility mode (CS 0x23) of a WoW64 thread reads as x86 in the x86
    // view. nullopt when it has no meaning there.
    std::optional<CpuContext> inEffectiveMachine(const CpuContext& ctx) const;
    bool hasScopeContext() const { return scope_.has_value() || scopeWithoutContext_; }

    // Stack of the current scope (cached per thread/scope/machine).
    const StackWalk& currentStack();
    StackWalk walk(const CpuContext& ctx, size_t threadIndex);
    // Symbols changed (.reload, .sympath): stacks unwound with frame data must be redone.
    // Kernel dumps also retry what needed nt's symbols (an encoded KDBG).
    void invalidateStacks() {
        stackKey_.reset();
        refreshKernelFromSymbols();
    }
    // Windows 8+ keeps KdDebuggerDataBlock encoded: once nt's symbols name
    // KiWaitNever, KiWaitAlways and KdpDataBlockEncoded, decode it and take
    // the kernel base, list heads and processor contexts from it.
    void refreshKernelFromSymbols();
    void fillKernelOffsetsFromTypes();

    // TEB of the thread for the effective machine (32-bit TEB in the x86 view).
    uint64_t tebFor(size_t threadIndex) const;
    // PEB address for the effective machine, when readable.
    std::optional<uint64_t> peb() const;

    // Type sources for `dt` and the object model, best first: sources added
    // explicitly (a symbol-file session, tests), then the modules' symbol files.
    struct TypeSource {
        std::string module;  // the module name types are qualified with ("nt", "sigsegv")
        const types::TypeProvider* provider = nullptr;
    };
    // `module` filters by module name (wildcards allowed); empty = all.
    std::vector<TypeSource> typeSources(std::string_view module = {});
    void addTypeSource(std::string module, std::shared_ptr<const types::TypeProvider> provider);

    // --- kernel dumps ---------------------------------------------------------
    // The current processor's KPRCB, and the implicit thread/process: set by
    // .thread/.process, else the processor's current thread and its process
    // (a small dump knows only the bugcheck processor's). nullopt when unknown.
    std::optional<uint64_t> kernelPrcb() const;
    std::optional<uint64_t> kernelThread() const;
    // The thread the current processor runs (the implicit thread aside).
    std::optional<uint64_t> processorThread() const;
    std::optional<uint64_t> kernelProcess() const;
    void setImplicitThread(std::optional<uint64_t> ethread) { implicitThread_ = ethread; }
    void setImplicitProcess(std::optional<uint64_t> eprocess) { implicitProcess_ = eprocess; }

    // Module filter for the effective machine (x86 view hides nothing; kept for symmetry).
    std::string formatAddress(uint64_t addr) { return symbols_.format(addr); }

    // --- commands ----------------------------------------------------------
    void registerCommand(CommandInfo info);
    const std::map<std::string, CommandInfo>& commands() const { return commands_; }

    bool jsonMode = false;
    // Largest memory range a display command accepts without "L?" (WinDbg's 256 MiB).
    uint64_t rangeLimit = 256ull << 20;

    // Per-session state a command family keeps between invocations (e.g. the
    // address where a repeated `db` or `u` continues). Created on first use.
    template <class T>
    T& commandState(const std::string& key) {
        std::any& slot = commandState_[key];
        if (!slot.has_value()) slot = T{};
        return std::any_cast<T&>(slot);
    }

private:
    std::map<std::string, std::any> commandState_;
    std::vector<std::pair<std::string, std::shared_ptr<const types::TypeProvider>>> extraTypes_;
    std::shared_ptr<const types::TypeProvider> builtinTypes_;  // kernel: built-in nt layouts, when needed
    Output* logOut_ = nullptr;  // where symbol-load messages of the running command go
    void detectWow64();
    void recoverProcessId();

    std::unique_ptr<Target> target_;
    ModuleImages images_;
    Symbolizer symbols_;
    size_t currentThread_ = 0;
    Machine effMachine_ = Machine::Unknown;
    bool wow64_ = false;
    std::optional<CpuContext> scope_;
    bool scopeWithoutContext_ = false;
    std::optional<uint64_t> implicitThread_, implicitProcess_;
    std::map<std::string, CommandInfo> commands_;
    // cache key: thread, machine, scope flag
    std::optional<std::tuple<size_t, Machine, bool>> stackKey_;
    StackWalk stackCache_;
};

// Command families register themselves here (one file each under commands/).
void registerThreadCommands(Engine&);   // ~, ~N s, .ecxr, .exr, .lastevent, .effmach, !wow64exts.sw
void registerStackCommands(Engine&);    // k kb kv kn kc kp kd
void registerModuleCommands(Engine&);   // lm lmv lm m
void registerRegisterCommands(Engine&); // r, r <reg>
void registerMemoryCommands(Engine&);   // db dw dd dq dp dps dqs dds da du
void registerDisasmCommands(Engine&);   // u ub uf
void registerSymbolCommands(Engine&);   // ln x
void registerEvalCommands(Engine&);     // ?
void registerInfoCommands(Engine&);     // vertarget !peb !teb !handle q .help
void registerTypeCommands(Engine&);     // dt
void registerSymbolPathCommands(Engine&);  // .sympath .symfix .reload !sym
void registerKernelSystemCommands(Engine&);  // .bugcheck .cxr .trap !pcr !irql !running !vm !cpuinfo
void registerKernelProcessCommands(Engine&);  // !process !thread .process .thread
void registerKernelTssCommands(Engine&);  // .tss
void registerKernelObjectCommands(Engine&);  // !object !locks !prcb

}  // namespace nt
