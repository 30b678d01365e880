// `?` (evaluate expression) and the ExprEnv that connects the MASM
// evaluator to an engine: registers of the current scope, pseudo-registers,
// target memory, symbols and module names.
#include <cctype>

#include "base/format.h"
#include "commands/engine.h"
#include "commands/expression.h"

namespace nt {

namespace {

std::string lowerCopy(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

class EngineExprEnv final : public ExprEnv {
public:
    explicit EngineExprEnv(Engine& e) : e_(e), ctx_(e.currentContext()) {}
    uint64_t rangeLimit() const override { return e_.rangeLimit; }

    std::optional<uint64_t> reg(std::string_view name) override {
        std::string n = lowerCopy(name);
        if (n == "$teb") {
            uint64_t t = e_.tebFor(e_.currentThread());
            if (t == 0) return std::nullopt;
            return t;
        }
        if (n == "$peb") return e_.peb();
        // Kernel: the implicit thread and process, the processor's PRCB/PCR.
        if (n == "$thread") return e_.kernelThread();
        if (n == "$proc") return e_.kernelProcess();
        if (n == "$prcb") return e_.kernelPrcb();
        if (n == "$pcr") {
            auto prcb = e_.kernelPrcb();
            if (!prcb || !e_.target().kernel->kdbg.offsetPcrContainedPrcb) return std::nullopt;
            return *prcb - e_.target().kernel->kdbg.offsetPcrContainedPrcb;
        }
        if (n == "$tid") {
            if (e_.currentThread() >= e_.target().threads.size()) return std::nullopt;
            return e_.target().threads[e_.currentThread()].id;
        }
        if (n == "$tpid") {
            if (auto p = e_.target().misc.processId) return *p;
            return std::nullopt;
        }
        if (n == "$ptrsize") return e_.pointerSize();
        if (n == "$exentry") return entryPoint();
        if (n == "$ra") {
            // The return address of the current frame, from the stack walk.
            const StackWalk& w = e_.currentStack();
            if (w.frames.empty() || w.frames[0].returnAddress == 0) return std::nullopt;
            return w.frames[0].returnAddress;
        }
        if (n == "$scopeip") n = "$ip";
        if (n == "$retreg") n = e_.is64() ? "rax" : "eax";
        if (!ctx_) return std::nullopt;
        // The context answers the real registers and $ip/$csp.
        return ctx_->getByName(n);
    }

    std::optional<uint64_t> read(uint64_t addr, unsigned size) override {
        const Memory& m = e_.target().memory();
        switch (size) {
            case 1: if (auto v = m.readValue<uint8_t>(addr)) return *v; return std::nullopt;
            case 2: if (auto v = m.readValue<uint16_t>(addr)) return *v; return std::nullopt;
            case 4: if (auto v = m.readValue<uint32_t>(addr)) return *v; return std::nullopt;
            case 8: return m.readValue<uint64_t>(addr);
            default: return std::nullopt;
        }
    }

    std::optional<uint64_t> symbol(std::string_view name) override {
        if (auto a = e_.symbols().resolve(name)) return a;
        // A bare module name evaluates to its base, as in WinDbg.
        if (name.find('!') == std::string_view::npos) {
            if (const Module* m = e_.target().moduleByName(name)) return m->base;
        }
        return std::nullopt;
    }

    unsigned pointerSize() const override { return e_.pointerSize(); }

private:
    std::optional<uint64_t> entryPoint() {
        // The process image is the first module in load order; after
        // finalize() modules are sorted by base, so pick the .exe.
        for (const auto& m : e_.target().modules) {
            std::string f = lowerCopy(m.fileName());
            if (f.size() < 4 || f.substr(f.size() - 4) != ".exe") continue;
            if (const PeImage* img = e_.images().image(m)) {
                if (img->entryPoint() == 0) return std::nullopt;
                return m.base + img->entryPoint();
            }
        }
        return std::nullopt;
    }

    Engine& e_;
    std::optional<CpuContext> ctx_;
};

}  // namespace

std::unique_ptr<ExprEnv> makeEngineExprEnv(Engine& engine) { return std::make_unique<EngineExprEnv>(engine); }

void registerEvalCommands(Engine& engine) {
    engine.registerCommand({"?", "evaluate a MASM expression", [](Engine& e, std::string_view args, Output& out) {
                                if (args.empty()) {
                                    // Bare `?` is WinDbg's help; point to ours.
                                    out.line("Use .help for the list of commands.");
                                    return;
                                }
                                auto env = makeEngineExprEnv(e);
                                uint64_t v = evaluate(args, *env);
                                if (!e.is64()) v &= 0xffffffffu;
                                out.line(formatEvaluate(v, e.is64()));
                                out.json = {{"expression", std::string(args)},
                                            {"value", v},
                                            {"signed", e.is64() ? static_cast<int64_t>(v)
                                                                : static_cast<int64_t>(static_cast<int32_t>(v))}};
                            }});
}

}  // namespace nt
