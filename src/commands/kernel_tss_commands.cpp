// x86 task state segments in kernel dumps: `.tss <selector|address>`, the
// previous task a task gate interrupted (for kv's "(FPO: TaskGate 28:0)"
// and the walk through KiTrap08), and the opening banner's CR3 warning.
//
// The double fault (vector 8) is an IDT task gate on x86 NT: the processor
// saves the interrupted task's registers into its TSS (selector 0x28,
// KGDT_TSS), loads the double-fault TSS (0x50) and links back to the old one
// in the new TSS's Backlink (Intel SDM vol. 3 §7.3, "previous task link").
// KiTrap08 then points KPCR.TSS at the double-fault TSS and bugchecks with
// CR3 = that TSS's CR3 (System's DirBase) while the current thread is still
// the interrupted one: hence WinDbg's "Process directory table base ...
// doesn't match CR3 ..." (seed 002, a Windows 2000 double fault).
//
// Where things are: KPCR.GDT/TSS and KTSS fields through the nt type source
// (PDB/ISF or the built-in XP table), the register fields of the TSS at
// their architectural offsets (NT's KTSS hides EFLAGS..EDI in NotUsed2).
#include <fmt/format.h>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"
#include "commands/expression.h"
#include "commands/kernel_views.h"
#include "nt/builtin_types.h"
#include "nt/layout.h"

namespace nt {

namespace {

// Hardware TSS (32-bit) register fields.
constexpr uint32_t kTssEip = 0x20, kTssEflags = 0x24, kTssEax = 0x28, kTssEcx = 0x2c, kTssEdx = 0x30, kTssEbx = 0x34,
                   kTssEsp = 0x38, kTssEbp = 0x3c, kTssEsi = 0x40, kTssEdi = 0x44, kTssEs = 0x48, kTssCs = 0x4c,
                   kTssSs = 0x50, kTssDs = 0x54, kTssFs = 0x58, kTssGs = 0x5c;
// x86 KPCR fields unchanged from NT 4 to Windows 10 x86 (the fallback when
// no type source describes _KPCR).
constexpr uint32_t kPcrGdt = 0x3c, kPcrTss = 0x40, kPcrPrcbData = 0x120;

bool isX86Kernel(const Engine& e) { return e.target().isKernel() && e.target().machine == Machine::X86; }

// The nt types: a type source that knows _KPCR (PDB, ISF, a test's), else the
// built-in table for this build (may be null: the constants above then).
const types::TypeProvider* ntTypes(Engine& e, std::shared_ptr<const types::TypeProvider>& keep) {
    for (const auto& src : e.typeSources("nt"))
        if (src.provider && src.provider->findType("_KPCR")) return src.provider;
    keep = builtinTypesFor(e.target().machine, e.target().kernel->buildNumber);
    return keep.get();
}

struct TaskView {
    const Memory& mem;
    NtLayout layout;

    uint64_t off(std::string_view type, std::string_view path, uint64_t fallback) const {
        return layout.offset(type, path).value_or(fallback);
    }
    std::optional<uint64_t> u32(uint64_t a) const {
        auto v = mem.readValue<uint32_t>(a);
        if (!v) return std::nullopt;
        return *v;
    }
    std::optional<uint64_t> u16(uint64_t a) const {
        auto v = mem.readValue<uint16_t>(a);
        if (!v) return std::nullopt;
        return *v;
    }
};

TaskView taskView(Engine& e, std::shared_ptr<const types::TypeProvider>& keep) {
    const types::TypeProvider* t = ntTypes(e, keep);
    return TaskView{e.target().memory(), NtLayout(t, &e.target().kernel->kdbg, 4)};
}

// KiProcessorBlock[cpu] minus the KPCR's PrcbData offset.
std::optional<uint64_t> kpcrOf(const Engine& e, const TaskView& v, size_t cpu) {
    const KernelInfo& k = *e.target().kernel;
    if (!k.kdbg.kiProcessorBlock) return std::nullopt;
    auto prcb = v.u32(k.kdbg.kiProcessorBlock + 4 * uint64_t(cpu));
    if (!prcb || !*prcb) return std::nullopt;
    uint64_t contained = v.layout.offset("_KPCR", "PrcbData").value_or(
        k.kdbg.offsetPcrContainedPrcb ? k.kdbg.offsetPcrContainedPrcb : kPcrPrcbData);
    return *prcb - contained;
}

// Base of the TSS a GDT selector describes; nullopt when the descriptor is
// not a (busy or available) 32-bit TSS or not readable.
std::optional<uint64_t> tssBaseOf(const TaskView& v, uint64_t gdt, uint16_t selector) {
    std::vector<uint8_t> d(8);
    if (!v.mem.readExact(gdt + (selector & ~7u), d)) return std::nullopt;
    uint8_t access = d[5];
    if (!(access & 0x80) || (access & 0x1d) != 0x09) return std::nullopt;  // present, S=0, type 9/B
    return uint64_t(d[2]) | uint64_t(d[3]) << 8 | uint64_t(d[4]) << 16 | uint64_t(d[7]) << 24;
}

// The registers a TSS saved.
std::optional<CpuContext> contextFromTss(const TaskView& v, uint64_t tss) {
    struct F {
        const char* reg;
        uint32_t offset;
        bool word;
    };
    static constexpr F kFields[] = {{"eip", kTssEip, false}, {"efl", kTssEflags, false}, {"eax", kTssEax, false},
                                    {"ecx", kTssEcx, false}, {"edx", kTssEdx, false},    {"ebx", kTssEbx, false},
                                    {"esp", kTssEsp, false}, {"ebp", kTssEbp, false},    {"esi", kTssEsi, false},
                                    {"edi", kTssEdi, false}, {"es", kTssEs, true},       {"cs", kTssCs, true},
                                    {"ss", kTssSs, true},    {"ds", kTssDs, true},       {"fs", kTssFs, true},
                                    {"gs", kTssGs, true}};
    CpuContext ctx(Machine::X86);
    for (const auto& f : kFields) {
        auto val = f.word ? v.u16(tss + f.offset) : v.u32(tss + f.offset);
        if (!val) return std::nullopt;
        ctx.setByName(f.reg, *val);
    }
    return ctx;
}

std::optional<X86TaskLink> previousTask(Engine& e, size_t cpu) {
    std::shared_ptr<const types::TypeProvider> keep;
    TaskView v = taskView(e, keep);
    auto pcr = kpcrOf(e, v, cpu);
    if (!pcr) return std::nullopt;
    auto tss = v.u32(*pcr + v.off("_KPCR", "TSS", kPcrTss));
    auto gdt = v.u32(*pcr + v.off("_KPCR", "GDT", kPcrGdt));
    if (!tss || !gdt || !*tss) return std::nullopt;
    auto backlink = v.u16(*tss + v.off("_KTSS", "Backlink", 0));
    if (!backlink || !*backlink) return std::nullopt;
    auto base = tssBaseOf(v, *gdt, static_cast<uint16_t>(*backlink));
    if (!base) return std::nullopt;
    auto ctx = contextFromTss(v, *base);
    if (!ctx) return std::nullopt;
    return X86TaskLink{static_cast<uint16_t>(*backlink), *ctx};
}

void cmdTss(Engine& e, std::string_view args, Output& out) {
    if (!isX86Kernel(e)) throw UsageError(".tss is available for x86 kernel dumps only");
    std::string a(args);
    while (!a.empty() && a.back() == ' ') a.pop_back();
    if (a.empty()) throw UsageError("Usage: .tss <selector|address>");
    uint64_t value = evaluate(a, *makeEngineExprEnv(e));
    std::shared_ptr<const types::TypeProvider> keep;
    TaskView v = taskView(e, keep);
    uint64_t tss = value;
    std::optional<uint16_t> selector;
    if (value <= 0xffff) {
        // A selector: its descriptor in the current processor's GDT.
        selector = static_cast<uint16_t>(value);
        auto pcr = kpcrOf(e, v, e.currentThread());
        auto gdt = pcr ? v.u32(*pcr + v.off("_KPCR", "GDT", kPcrGdt)) : std::nullopt;
        // Say what is missing before judging the descriptor: a small dump
        // keeps neither the KPCR nor the GDT.
        std::vector<uint8_t> descriptor(8);
        if (!gdt || !v.mem.readExact(*gdt + (*selector & ~7u), descriptor)) {
            out.line(!pcr ? fmt::format("Unable to read the KPCR of processor {}: it is not in the dump",
                                        e.currentThread())
                     : !gdt ? fmt::format("Unable to read KPCR.GDT of processor {}", e.currentThread())
                            : fmt::format("Unable to read GDT entry {:x} at {:08x}: the GDT is not in the dump",
                                          *selector, *gdt + (*selector & ~7u)));
            out.error = true;
            out.json = {{"error", "GDT not in the dump"}, {"selector", *selector}};
            return;
        }
        auto base = tssBaseOf(v, *gdt, *selector);
        if (!base) {
            out.line(fmt::format("Selector {:x} is not a TSS descriptor in the GDT of processor {}", *selector,
                                 e.currentThread()));
            out.error = true;
            out.json = {{"error", "not a TSS selector"}, {"selector", *selector}};
            return;
        }
        tss = *base;
    }
    auto ctx = contextFromTss(v, tss);
    if (!ctx) {
        out.line("Unable to read the TSS at " + hexPad(tss, 8));
        out.error = true;
        out.json = {{"error", "TSS not readable"}, {"address", tss}};
        return;
    }
    e.setScopeContext(*ctx);
    // The registers as `r` shows them (without its "Last set context:").
    Output r = e.execute("r");
    std::string_view text = r.text;
    constexpr std::string_view kLast = "Last set context:\n";
    if (text.substr(0, kLast.size()) == kLast) text.remove_prefix(kLast.size());
    out.text.append(text);
    out.json = {{"tss", tss}, {"registers", r.json.value("registers", nlohmann::json::object())}};
    if (selector) out.json["selector"] = *selector;
}

}  // namespace

std::function<std::optional<X86TaskLink>()> x86PreviousTaskResolver(Engine& e, size_t processor) {
    if (!isX86Kernel(e) || processor >= e.target().threads.size()) return {};
    return [&e, processor]() { return previousTask(e, processor); };
}

std::optional<std::string> kernelDirBaseWarning(Engine& e) {
    // x86 only: there a task switch (the double fault) changes CR3 without
    // changing the current thread. Elsewhere a difference has other, benign
    // causes (x64 KVA shadowing keeps a user DirBase) we do not judge here.
    if (!isX86Kernel(e)) return std::nullopt;
    const KernelInfo& k = *e.target().kernel;
    std::shared_ptr<const types::TypeProvider> keep;
    TaskView v = taskView(e, keep);
    std::optional<uint64_t> process = e.kernelProcess();
    if (!process) {
        // Without the KDBG's offset fields (XP's block has none): KPRCB.CurrentThread
        // and KTHREAD.ApcState.Process from the nt types.
        auto prcb = k.kdbg.kiProcessorBlock ? v.u32(k.kdbg.kiProcessorBlock + 4 * uint64_t(k.bugcheckProcessor))
                                            : std::nullopt;
        auto cur = v.layout.offset("_KPRCB", "CurrentThread");
        auto apc = v.layout.offset("_KTHREAD", "ApcState.Process");
        if (!prcb || !cur || !apc) return std::nullopt;
        auto thread = v.u32(*prcb + *cur);
        if (!thread || !*thread) return std::nullopt;
        process = v.u32(*thread + *apc);
    }
    auto dirOff = v.layout.offset("_KPROCESS", "DirectoryTableBase");
    if (!process || !*process || !dirOff) return std::nullopt;
    auto dirBase = v.u32(*process + *dirOff);
    size_t saved = e.currentThread();
    if (saved != k.bugcheckProcessor) return std::nullopt;
    auto cr3 = kernelControlRegister(e, "cr3");
    if (!dirBase || !cr3) return std::nullopt;
    uint64_t mask = k.paging == PagingMode::X86Pae ? ~uint64_t(0x1f) : ~uint64_t(0xfff);
    if ((*dirBase & mask) == (*cr3 & mask)) return std::nullopt;
    return fmt::format("WARNING: Process directory table base {:08X} doesn't match CR3 {:08X}", *dirBase, *cr3);
}

void registerKernelTssCommands(Engine& e) {
    e.registerCommand({".tss", "x86: load the registers a task state segment saved (.tss <selector|address>)", cmdTss,
                       false});
}

}  // namespace nt
