// EPROCESS: one process, the active process list, a process's threads, and
// the handle count of its handle table.
#include <vector>

#include "nt/objects.h"

namespace nt {

ProcessInfo Kernel::process(uint64_t eprocess, uint64_t* handlePages) const {
    ProcessInfo p;
    p.address = eprocess;
    StructView v = view("_EPROCESS", eprocess);
    if (auto t = v.u("Pcb.Header.Type")) p.headerType = static_cast<uint8_t>(*t);
    p.pid = v.ptr("UniqueProcessId");
    p.parentPid = v.ptr("InheritedFromUniqueProcessId");
    p.dirBase = v.ptr("Pcb.DirectoryTableBase");
    p.peb = v.ptr("Peb");
    p.objectTable = v.ptr("ObjectTable");
    p.imageFileName = v.chars("ImageFileName");
    p.imageName = p.imageFileName;
    if (v.has("SeAuditProcessCreationInfo.ImageFileName")) {
        // OBJECT_NAME_INFORMATION { UNICODE_STRING Name }: the NT path of the image.
        auto info = v.ptr("SeAuditProcessCreationInfo.ImageFileName");
        if (info && *info) p.imagePath = readUnicodeString(mem_, *info, pointerSize());
        if (p.imagePath && !p.imagePath->empty()) {
            auto slash = p.imagePath->find_last_of('\\');
            std::string leaf = slash == std::string::npos ? *p.imagePath : p.imagePath->substr(slash + 1);
            if (!leaf.empty()) p.imageName = leaf;
        }
    }
    if (auto a = v.u("ActiveThreads")) p.activeThreads = static_cast<uint32_t>(*a);
    if (v.has("CreateTime")) p.createTime = v.u("CreateTime");
    if (v.has("ExitTime")) p.exitTime = v.u("ExitTime");
    if (v.has("Pcb.KernelTime"))
        if (auto k = v.u("Pcb.KernelTime")) p.kernelTime = static_cast<uint32_t>(*k);
    if (v.has("Pcb.UserTime"))
        if (auto k = v.u("Pcb.UserTime")) p.userTime = static_cast<uint32_t>(*k);
    if (v.has("Pcb.BasePriority")) p.basePriority = v.s("Pcb.BasePriority");
    if (v.has("DeviceMap")) p.deviceMap = v.ptr("DeviceMap");
    if (v.has("Token")) {
        // EX_FAST_REF: the low bits (3 on 32-bit, 4 on 64-bit) hold a reference count.
        const uint64_t refBits = is64() ? 0xf : 0x7;
        if (auto tok = v.ptr("Token")) p.token = *tok & ~refBits;
    }
    // Windows 8+ keeps the VAD tree as an RTL_AVL_TREE (Root), older kernels as a plain pointer.
    auto optional = [&](std::string_view path) { return v.has(path) ? v.u(path) : std::nullopt; };
    p.vadRoot = v.has("VadRoot.Root") ? v.ptr("VadRoot.Root") : v.has("VadRoot") ? v.ptr("VadRoot") : std::nullopt;
    p.cloneRoot = v.has("CloneRoot.Root") ? v.ptr("CloneRoot.Root") : v.has("CloneRoot") ? v.ptr("CloneRoot") : std::nullopt;
    p.vadCount = optional("VadCount");
    p.privatePages = optional("NumberOfPrivatePages");
    p.lockedPages = optional("NumberOfLockedPages");
    p.modifiedPages = optional("ModifiedPageCount");
    p.commitCharge = optional("CommitCharge");
    p.virtualSize = optional("VirtualSize");
    p.peakVirtualSize = optional("PeakVirtualSize");
    if (v.has("Job")) p.job = v.ptr("Job");
    // Windows 10 splits the working set into Vm.Instance; older kernels keep
    // the same fields in Vm itself.
    auto vm = [&](std::string_view field) -> std::optional<uint64_t> {
        for (std::string prefix : {"Vm.Instance.", "Vm."})
            if (v.has(prefix + std::string(field))) return v.u(prefix + std::string(field));
        return std::nullopt;
    };
    p.workingSetSize = vm("WorkingSetSize");
    p.minimumWorkingSetSize = vm("MinimumWorkingSetSize");
    p.maximumWorkingSetSize = vm("MaximumWorkingSetSize");
    p.peakWorkingSetSize = vm("PeakWorkingSetSize");
    p.pageFaultCount = vm("PageFaultCount");
    p.memoryPriority = vm("Flags.MemoryPriority");
    if (v.has("QuotaBlock") && layout_.has("_EPROCESS_QUOTA_BLOCK", "QuotaEntry")) {
        // PS_QUOTA_TYPE: PsNonPagedPool 0, PsPagedPool 1.
        auto block = v.ptr("QuotaBlock");
        auto entry = layout_.size("_EPROCESS_QUOTA_ENTRY");
        if (block && *block && entry) {
            StructView q = view("_EPROCESS_QUOTA_BLOCK", *block);
            if (auto base = q.fieldAddress("QuotaEntry")) {
                p.quotaNonPagedPool = view("_EPROCESS_QUOTA_ENTRY", *base).u("Usage");
                p.quotaPagedPool = view("_EPROCESS_QUOTA_ENTRY", *base + *entry).u("Usage");
            }
        }
    }
    p.threadListHead = v.fieldAddress("ThreadListHead");
    if (!p.threadListHead && v.has("Pcb.ThreadListHead")) p.threadListHead = v.fieldAddress("Pcb.ThreadListHead");

    // Session: Windows 10 points EPROCESS.Session at the MM_SESSION_SPACE;
    // older kernels keep a SessionId in the EPROCESS itself.
    if (v.has("Session")) {
        p.session = v.ptr("Session");
        if (p.session && *p.session) {
            if (auto id = view("_MM_SESSION_SPACE", *p.session).u("SessionId")) p.sessionId = static_cast<uint32_t>(*id);
        }
    } else if (v.has("SessionId")) {
        if (auto id = v.u("SessionId")) {
            p.sessionId = static_cast<uint32_t>(*id);
            p.session = 1;  // "has a session": the id itself is the answer
        }
    }

    if (p.objectTable) {
        if (*p.objectTable == 0) p.handleCount = 0;
        else p.handleCount = handleCount(*p.objectTable, handlePages);
    }
    p.readable = p.headerType || p.pid || p.imageName || p.dirBase;
    return p;
}

ProcessList Kernel::processes(size_t cap, uint64_t* handlePages) const {
    ProcessList out;
    auto head = symbolAddress("PsActiveProcessHead");
    auto linkOff = layout_.offset("_EPROCESS", "ActiveProcessLinks");
    if (!head || !linkOff) {
        out.walk = unwalkableList(head, "PsActiveProcessHead", linkOff, "_EPROCESS", "ActiveProcessLinks");
        return out;
    }
    out.walk = walkList(mem_, *head, pointerSize(), cap);
    out.processes.reserve(out.walk.entries.size());
    // One handle-page budget for the whole list: a per-process budget times
    // a capped list of hostile processes would still be unbounded in practice.
    uint64_t shared = kMaxHandlePagesPerList;
    if (!handlePages) handlePages = &shared;
    for (uint64_t e : out.walk.entries) out.processes.push_back(process(e - *linkOff, handlePages));
    return out;
}

ThreadList Kernel::threads(const ProcessInfo& p, size_t cap) const {
    ThreadList out;
    // EPROCESS.ThreadListHead links ETHREAD.ThreadListEntry; the KPROCESS
    // list (Pcb.ThreadListHead / Tcb.ThreadListEntry) is the fallback for a
    // type source without the executive fields.
    std::optional<uint64_t> head = layout_.has("_EPROCESS", "ThreadListHead")
                                       ? layout_.offset("_EPROCESS", "ThreadListHead")
                                       : std::nullopt;
    std::optional<uint64_t> entryOff;
    if (head && layout_.has("_ETHREAD", "ThreadListEntry")) {
        entryOff = layout_.offset("_ETHREAD", "ThreadListEntry");
    } else {
        head = layout_.offset("_EPROCESS", "Pcb.ThreadListHead");
        entryOff = layout_.offset("_ETHREAD", "Tcb.ThreadListEntry");
    }
    if (!head || !entryOff) {
        out.walk = head ? unwalkableList(p.address, "", std::nullopt, "_ETHREAD", "ThreadListEntry")
                        : unwalkableList(p.address, "", std::nullopt, "_EPROCESS", "ThreadListHead");
        return out;
    }
    out.walk = walkList(mem_, p.address + *head, pointerSize(), cap);
    out.threads.reserve(out.walk.entries.size());
    for (uint64_t e : out.walk.entries) out.threads.push_back(thread(e - *entryOff));
    return out;
}

std::optional<uint64_t> Kernel::handleCount(uint64_t handleTable, uint64_t* pageBudget) const {
    StructView t = view("_HANDLE_TABLE", handleTable);
    if (t.has("HandleCount")) return t.u("HandleCount");  // Windows 7 and earlier keep the count
    auto code = t.u("TableCode");
    auto next = t.u("NextHandleNeedingPool");
    auto entrySize = layout_.size("_HANDLE_TABLE_ENTRY");
    if (!code || !next || !entrySize || *entrySize == 0 || *entrySize > 64) return std::nullopt;
    const unsigned ps = pointerSize();
    constexpr uint64_t kPage = 0x1000;
    const uint64_t perLeaf = kPage / *entrySize;
    const uint64_t perTable = kPage / ps;
    unsigned level = static_cast<unsigned>(*code & 3);
    uint64_t root = *code & ~uint64_t{3};
    if (level > 2) return std::nullopt;
    // Handles are multiples of 4; every handle below NextHandleNeedingPool
    // has its entry allocated. Bound the scan against a damaged count.
    uint64_t entries = *next / 4;
    constexpr uint64_t kMaxEntries = uint64_t{1} << 24;
    if (entries > kMaxEntries) return std::nullopt;
    if (entries == 0) return 0;  // no handle page was ever allocated

    std::vector<uint64_t> leaves;
    if (level == 0) {
        leaves.push_back(root);
    } else {
        std::vector<uint64_t> mids;
        uint64_t leafCount = (entries + perLeaf - 1) / perLeaf;
        if (level == 1) {
            mids.push_back(root);
        } else {
            uint64_t midCount = (leafCount + perTable - 1) / perTable;
            for (uint64_t i = 0; i < midCount && i < perTable; ++i) {
                auto m = mem_.readPointer(root + i * ps, ps);
                if (!m) return std::nullopt;
                if (*m) mids.push_back(*m);
            }
        }
        for (uint64_t mid : mids) {
            for (uint64_t i = 0; i < perTable && leaves.size() < leafCount; ++i) {
                auto l = mem_.readPointer(mid + i * ps, ps);
                if (!l) return std::nullopt;
                if (!*l) break;
                leaves.push_back(*l);
            }
        }
    }
    uint64_t count = 0;
    uint64_t index = 0;
    uint64_t localBudget = kMaxHandlePagesPerCall;
    uint64_t& budget = pageBudget ? *pageBudget : localBudget;
    if (leaves.size() > budget) {
        budget = 0;
        return std::nullopt;
    }
    std::vector<uint8_t> buf(kPage);
    for (uint64_t leaf : leaves) {
        if (budget == 0) return std::nullopt;
        --budget;
        if (!mem_.readExact(leaf, buf)) return std::nullopt;
        Bytes page(buf.data(), buf.size());
        // Entry 0 of every leaf is the table's own bookkeeping, never a handle.
        for (uint64_t i = 0; i < perLeaf && index < entries; ++i, ++index) {
            if (i == 0) continue;
            uint64_t low = ps == 8 ? page.getOr<uint64_t>(i * *entrySize, 0) : page.getOr<uint32_t>(i * *entrySize, 0);
            if (low) ++count;
        }
    }
    return count;
}

}  // namespace nt
