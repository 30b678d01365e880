// ETHREAD/KTHREAD: one thread's facts and the wait blocks of its current wait.
#include <algorithm>

#include "nt/objects.h"

namespace nt {

namespace {

constexpr size_t kMaxWaitBlocks = 64;

template <class T>
std::optional<T> narrow(std::optional<uint64_t> v) {
    if (!v) return std::nullopt;
    return static_cast<T>(*v);
}

}  // namespace

ThreadInfo Kernel::thread(uint64_t ethread) const {
    ThreadInfo t;
    t.address = ethread;
    StructView v = view("_ETHREAD", ethread);
    t.headerType = narrow<uint8_t>(v.u("Tcb.Header.Type"));
    t.pid = v.ptr("Cid.UniqueProcess");
    t.tid = v.ptr("Cid.UniqueThread");
    t.teb = v.ptr("Tcb.Teb");
    t.win32Thread = v.ptr("Tcb.Win32Thread");
    t.state = narrow<uint8_t>(v.u("Tcb.State"));
    if (t.state) t.stateName = layout_.enumName("_KTHREAD_STATE", *t.state);
    t.waitReason = narrow<uint8_t>(v.u("Tcb.WaitReason"));
    if (t.waitReason) t.waitReasonName = layout_.enumName("_KWAIT_REASON", *t.waitReason);
    t.waitMode = narrow<uint8_t>(v.u("Tcb.WaitMode"));
    if (auto a = v.u("Tcb.Alertable")) t.alertable = *a != 0;

    t.apcProcess = v.ptr("Tcb.ApcState.Process");
    // The owner: KTHREAD.Process (Vista and later), ETHREAD.ThreadsProcess
    // (XP/2003), else the process whose address space the thread runs in.
    t.owningProcess = v.has("Tcb.Process")      ? v.ptr("Tcb.Process")
                      : v.has("ThreadsProcess") ? v.ptr("ThreadsProcess")
                                                : t.apcProcess;
    if (t.apcProcess && t.owningProcess && *t.apcProcess != *t.owningProcess) t.attachedProcess = t.apcProcess;

    t.initialStack = v.ptr("Tcb.InitialStack");
    t.kernelStack = v.ptr("Tcb.KernelStack");
    t.stackBase = v.ptr("Tcb.StackBase");
    t.stackLimit = v.ptr("Tcb.StackLimit");
    t.waitTime = narrow<uint32_t>(v.u("Tcb.WaitTime"));
    t.contextSwitches = narrow<uint32_t>(v.u("Tcb.ContextSwitches"));
    t.kernelTime = narrow<uint32_t>(v.u("Tcb.KernelTime"));
    t.userTime = narrow<uint32_t>(v.u("Tcb.UserTime"));
    t.priority = v.s("Tcb.Priority");
    t.basePriority = v.s("Tcb.BasePriority");
    if (v.has("Tcb.PriorityDecrement")) t.priorityDecrement = v.s("Tcb.PriorityDecrement");
    t.startAddress = v.ptr("StartAddress");
    t.win32StartAddress = v.ptr("Win32StartAddress");
    if (v.has("CreateTime")) t.createTime = v.u("CreateTime");

    if (auto k = v.u("Tcb.ApcState.KernelApcPending")) t.kernelApcPending = *k != 0;
    if (auto head = v.fieldAddress("Tcb.ApcState.ApcListHead[0]")) {
        if (auto flink = mem_.readPointer(*head, pointerSize())) t.kernelApcListNonEmpty = *flink != *head;
    }
    t.waitBlockList = v.ptr("Tcb.WaitBlockList");
    if (v.has("Tcb.WaitBlockCount")) t.waitBlockCount = narrow<uint32_t>(v.u("Tcb.WaitBlockCount"));
    if (v.has("Tcb.IdealProcessor")) t.idealProcessor = narrow<uint32_t>(v.u("Tcb.IdealProcessor"));
    if (v.has("Tcb.NextProcessor")) t.nextProcessor = narrow<uint32_t>(v.u("Tcb.NextProcessor"));
    if (v.has("Tcb.Affinity.Mask")) t.affinity = v.u("Tcb.Affinity.Mask");

    if (v.has("ActiveImpersonationInfo"))
        if (auto i = v.u("ActiveImpersonationInfo")) t.impersonating = *i != 0;
    if (v.has("ThreadIoPriority")) t.ioPriority = narrow<uint32_t>(v.u("ThreadIoPriority"));
    if (v.has("ThreadPagePriority")) t.pagePriority = narrow<uint32_t>(v.u("ThreadPagePriority"));

    t.readable = t.headerType || t.tid || t.state || t.teb;
    return t;
}

std::vector<WaitBlockInfo> Kernel::waitBlocks(const ThreadInfo& t) const {
    std::vector<WaitBlockInfo> out;
    if (!t.isWaiting() || !t.waitBlockList || !*t.waitBlockList) return out;
    auto read = [&](uint64_t at) {
        StructView b = view("_KWAIT_BLOCK", at);
        WaitBlockInfo w;
        w.address = at;
        w.object = b.ptr("Object");
        w.thread = b.ptr("Thread");
        if (auto wt = b.u("WaitType")) w.waitType = static_cast<uint8_t>(*wt);
        return w;
    };
    const uint64_t first = *t.waitBlockList;
    if (layout_.has("_KWAIT_BLOCK", "NextWaitBlock")) {
        // Before Windows 8 the blocks form a ring through NextWaitBlock.
        uint64_t at = first;
        while (out.size() < kMaxWaitBlocks) {
            out.push_back(read(at));
            auto next = view("_KWAIT_BLOCK", at).ptr("NextWaitBlock");
            if (!next || *next == first || *next == 0 || *next == at) break;
            at = *next;
        }
        return out;
    }
    // Windows 8 and later: an array (the thread's own WaitBlock[] or the
    // caller's) of WaitBlockCount blocks.
    auto blockSize = layout_.size("_KWAIT_BLOCK");
    if (!blockSize || *blockSize == 0) return out;
    size_t count = t.waitBlockCount ? std::min<size_t>(*t.waitBlockCount, kMaxWaitBlocks) : kMaxWaitBlocks;
    for (size_t i = 0; i < count; ++i) {
        WaitBlockInfo w = read(first + i * *blockSize);
        if (!t.waitBlockCount && (!w.object || *w.object == 0)) break;
        out.push_back(std::move(w));
    }
    return out;
}

uint64_t Kernel::trapFrameRipOffset() const {
    if (auto o = layout_.offset("_KTRAP_FRAME", "Rip")) return *o;
    return 0x168;
}

std::optional<SwitchFrame> Kernel::switchFrame(const ThreadInfo& t) const {
    if (!t.kernelStack || !*t.kernelStack) return std::nullopt;
    uint64_t returnOff = 0, fpOff = 0, size = 0;
    const bool arm64 = info_.paging == PagingMode::Arm64;
    if (layout_.has("_KSWITCH_FRAME", "Return") && layout_.size("_KSWITCH_FRAME")) {
        returnOff = *layout_.offset("_KSWITCH_FRAME", "Return");
        auto fp = layout_.has("_KSWITCH_FRAME", "Rbp") ? layout_.offset("_KSWITCH_FRAME", "Rbp")
                                                        : layout_.has("_KSWITCH_FRAME", "Fp") ? layout_.offset("_KSWITCH_FRAME", "Fp")
                                                                                               : std::nullopt;
        if (!fp) return std::nullopt;
        fpOff = *fp;
        size = *layout_.size("_KSWITCH_FRAME");
    } else if (pointerSize() == 8) {
        // Not in every type source (JPCERT's ISF files lack it); the layout
        // is fixed by the kernel's assembly (ksamd64.inc / ksarm64.h).
        returnOff = arm64 ? 0x18 : 0x38;
        fpOff = arm64 ? 0x10 : 0x30;
        size = arm64 ? 0x20 : 0x40;
    } else {
        // x86: SwapContext's frame (ks386.inc's KSWITCHFRAME: ExceptionList,
        // the APC-bypass/flags slot, the return into KiSwapContext), then
        // KiSwapContext's four saved registers, ebp lowest: the caller's ebp.
        returnOff = 8;
        fpOff = 0xc;
        size = 0xc;
    }
    const uint64_t base = *t.kernelStack;
    auto ret = mem_.readPointer(base + returnOff, pointerSize());
    auto fp = mem_.readPointer(base + fpOff, pointerSize());
    if (!ret || !fp || *ret == 0) return std::nullopt;
    return SwitchFrame{*ret, base + size, *fp};
}

}  // namespace nt
