// The Kernel facade: globals, processors, the current thread and process.
#include "nt/objects.h"

namespace nt {

namespace {

unsigned kernelPointerSize(const types::TypeProvider* types, const KernelInfo& info, unsigned requested) {
    if (requested == 4 || requested == 8) return requested;
    if (types && (types->pointerSize() == 4 || types->pointerSize() == 8)) return types->pointerSize();
    if (info.paging == PagingMode::X86 || info.paging == PagingMode::X86Pae) return 4;
    return 8;
}

}  // namespace

Kernel::Kernel(const Memory& mem, const types::TypeProvider* types, const KernelInfo& info, unsigned pointerSize)
    : mem_(mem), info_(info), layout_(types, &info_.kdbg, kernelPointerSize(types, info, pointerSize)) {}

std::optional<uint64_t> Kernel::symbolAddress(std::string_view name) const {
    if (resolver_) {
        if (auto a = resolver_(name); a && *a) return a;
    }
    const KdDebuggerData& k = info_.kdbg;
    auto nz = [](uint64_t v) -> std::optional<uint64_t> {
        if (v) return v;
        return std::nullopt;
    };
    if (name == "PsActiveProcessHead") return nz(info_.psActiveProcessHead ? info_.psActiveProcessHead : k.psActiveProcessHead);
    if (name == "PsLoadedModuleList") return nz(info_.psLoadedModuleList ? info_.psLoadedModuleList : k.psLoadedModuleList);
    if (name == "KdDebuggerDataBlock") return nz(info_.kdDebuggerDataBlock ? info_.kdDebuggerDataBlock : k.address);
    if (name == "PspCidTable") return nz(k.pspCidTable);
    if (name == "ExpSystemResourcesList") return nz(k.expSystemResourcesList);
    if (name == "KiProcessorBlock") return nz(k.kiProcessorBlock);
    if (name == "ObpTypeObjectType") return nz(k.obpTypeObjectType);
    if (name == "ObpRootDirectoryObject") return nz(k.obpRootDirectoryObject);
    if (name == "NtBuildLab") return nz(k.ntBuildLab);
    if (name == "MmPfnDatabase") return nz(k.mmPfnDatabase);
    return std::nullopt;
}

std::optional<uint64_t> Kernel::processorBlock(uint32_t cpu) const {
    if (info_.numberProcessors && cpu >= info_.numberProcessors) return std::nullopt;
    auto table = symbolAddress("KiProcessorBlock");
    if (!table) return std::nullopt;
    auto prcb = mem_.readPointer(*table + uint64_t{cpu} * pointerSize(), pointerSize());
    if (!prcb || !*prcb) return std::nullopt;
    return prcb;
}

std::optional<uint64_t> Kernel::currentThread() const {
    if (info_.storedThread) return info_.storedThread;
    std::optional<uint64_t> prcb = info_.storedPrcb ? std::optional<uint64_t>(info_.storedPrcb)
                                                    : processorBlock(info_.bugcheckProcessor);
    if (!prcb) return std::nullopt;
    auto t = view("_KPRCB", *prcb).ptr("CurrentThread");
    if (!t || !*t) return std::nullopt;
    return t;
}

std::optional<uint64_t> Kernel::currentProcess() const {
    if (info_.storedProcess) return info_.storedProcess;
    auto t = currentThread();
    if (!t) return std::nullopt;
    auto p = view("_ETHREAD", *t).ptr("Tcb.ApcState.Process");
    if (!p || !*p) return std::nullopt;
    return p;
}

std::optional<uint64_t> Kernel::tickCount() const {
    // KI_USER_SHARED_DATA: the fixed kernel address of the page shared with user mode.
    const uint64_t shared = is64() ? 0xfffff78000000000ull : 0xffdf0000ull;
    StructView v = view("_KUSER_SHARED_DATA", shared);
    if (v.has("TickCountQuad")) return v.u("TickCountQuad");
    return v.u("TickCount.LowPart");
}

std::optional<uint32_t> Kernel::timeIncrement() const {
    auto a = symbolAddress("KeMaximumIncrement");
    if (!a) return std::nullopt;
    auto v = mem_.readValue<uint32_t>(*a);
    if (!v || *v == 0) return std::nullopt;
    return v;
}

std::optional<uint32_t> Kernel::processorRunning(uint64_t ethread) const {
    uint32_t n = info_.numberProcessors ? info_.numberProcessors : 1;
    for (uint32_t cpu = 0; cpu < n && cpu < 4096; ++cpu) {
        std::optional<uint64_t> prcb = processorBlock(cpu);
        if (!prcb && cpu == info_.bugcheckProcessor && info_.storedPrcb) prcb = info_.storedPrcb;
        if (!prcb) continue;
        auto t = view("_KPRCB", *prcb).ptr("CurrentThread");
        if (t && *t == ethread) return cpu;
    }
    return std::nullopt;
}

std::optional<uint8_t> Kernel::headerCookie() const {
    auto a = symbolAddress("ObHeaderCookie");
    if (!a) return std::nullopt;
    return mem_.readValue<uint8_t>(*a);
}

}  // namespace nt
