// The kernel's global lists besides processes: loaded modules
// (PsLoadedModuleList of KLDR_DATA_TABLE_ENTRY) and executive resources
// (ExpSystemResourcesList of ERESOURCE).
#include "nt/objects.h"

namespace nt {

namespace {

constexpr uint64_t kMaxOwnerTable = 4096;
// Owner entries read per resources() call, all resources together.
constexpr uint64_t kMaxOwnerEntries = uint64_t{1} << 20;

// The loader entries a list walk found: the kernel's KLDR_DATA_TABLE_ENTRY
// and a process's LDR_DATA_TABLE_ENTRY share these fields.
std::vector<LoadedModule> loaderEntries(const Memory& mem, const NtLayout& layout, std::string_view type,
                                        uint64_t linkOffset, const std::vector<uint64_t>& links) {
    std::vector<LoadedModule> modules;
    modules.reserve(links.size());
    for (uint64_t link : links) {
        LoadedModule m;
        m.entry = link - linkOffset;
        StructView v(mem, layout, type, m.entry);
        m.base = v.ptr("DllBase");
        m.entryPoint = v.ptr("EntryPoint");
        m.size = v.u("SizeOfImage");
        m.fullName = v.unicodeString("FullDllName");
        m.baseName = v.unicodeString("BaseDllName");
        if (v.has("TimeDateStamp"))
            if (auto t = v.u("TimeDateStamp")) m.timestamp = static_cast<uint32_t>(*t);
        if (v.has("CheckSum"))
            if (auto c = v.u("CheckSum")) m.checksum = static_cast<uint32_t>(*c);
        modules.push_back(std::move(m));
    }
    return modules;
}

}  // namespace

ModuleList Kernel::loadedModules(size_t cap) const {
    ModuleList out;
    auto head = symbolAddress("PsLoadedModuleList");
    auto linkOff = layout_.offset("_KLDR_DATA_TABLE_ENTRY", "InLoadOrderLinks");
    if (!head || !linkOff) {
        out.walk = unwalkableList(head, "PsLoadedModuleList", linkOff, "_KLDR_DATA_TABLE_ENTRY", "InLoadOrderLinks");
        return out;
    }
    out.walk = walkList(mem_, *head, pointerSize(), cap);
    out.modules = loaderEntries(mem_, layout_, "_KLDR_DATA_TABLE_ENTRY", *linkOff, out.walk.entries);
    return out;
}

ModuleList Kernel::userModules(uint64_t peb, const Memory& mem, size_t cap) const {
    ModuleList out;
    auto linkOff = layout_.offset("_LDR_DATA_TABLE_ENTRY", "InLoadOrderLinks");
    auto ldr = StructView(mem, layout_, "_PEB", peb).ptr("Ldr");
    std::optional<uint64_t> head;
    if (ldr && *ldr) head = StructView(mem, layout_, "_PEB_LDR_DATA", *ldr).fieldAddress("InLoadOrderModuleList");
    if (!head || !linkOff) {
        if (!ldr) {
            // The PEB (or its Ldr field) is not in the dump: callers say so.
            out.walk.head = peb;
            out.walk.unreadable = peb;
        } else {
            out.walk = unwalkableList(head, "PEB.Ldr.InLoadOrderModuleList", linkOff, "_LDR_DATA_TABLE_ENTRY",
                                      "InLoadOrderLinks");
        }
        return out;
    }
    out.walk = walkList(mem, *head, pointerSize(), cap);
    out.modules = loaderEntries(mem, layout_, "_LDR_DATA_TABLE_ENTRY", *linkOff, out.walk.entries);
    return out;
}

ResourceList Kernel::resources(size_t cap) const {
    ResourceList out;
    auto head = symbolAddress("ExpSystemResourcesList");
    auto linkOff = layout_.offset("_ERESOURCE", "SystemResourcesList");
    if (!head || !linkOff) {
        out.walk = unwalkableList(head, "ExpSystemResourcesList", linkOff, "_ERESOURCE", "SystemResourcesList");
        return out;
    }
    out.walk = walkList(mem_, *head, pointerSize(), cap);
    auto ownerSize = layout_.size("_OWNER_ENTRY");
    uint64_t ownerBudget = kMaxOwnerEntries;
    for (uint64_t e : out.walk.entries) {
        ResourceInfo r;
        r.address = e - *linkOff;
        StructView v = view("_ERESOURCE", r.address);
        r.activeCount = v.s("ActiveCount");
        r.flag = v.u("Flag");
        r.contentionCount = v.u("ContentionCount");
        r.sharedWaiters = v.u("NumberOfSharedWaiters");
        r.exclusiveWaiters = v.u("NumberOfExclusiveWaiters");
        r.sharedWaitersObject = v.ptr("SharedWaiters");
        r.exclusiveWaitersObject = v.ptr("ExclusiveWaiters");
        auto addOwner = [&](const StructView& o) {
            auto thread = o.ptr("OwnerThread");
            if (!thread || !*thread) return;
            auto count = o.u("OwnerCount");
            r.owners.push_back({*thread, count.value_or(0)});
        };
        if (auto first = v.fieldAddress("OwnerEntry")) addOwner(view("_OWNER_ENTRY", *first));
        // OwnerTable[0].TableSize is the table's length; entries 1.. are owners.
        if (auto table = v.ptr("OwnerTable"); table && *table && ownerSize && *ownerSize) {
            auto size = view("_OWNER_ENTRY", *table).u("TableSize");
            if (size && *size > 1 && *size <= kMaxOwnerTable && *size <= ownerBudget) {
                ownerBudget -= *size;
                for (uint64_t i = 1; i < *size; ++i) addOwner(view("_OWNER_ENTRY", *table + i * *ownerSize));
            } else if (!size || *size > 1) {
                r.ownerTableUnread = true;
            }
        }
        out.resources.push_back(std::move(r));
    }
    return out;
}

}  // namespace nt
