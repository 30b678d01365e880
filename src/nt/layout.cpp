#include "nt/layout.h"

#include <array>
#include <charconv>

namespace nt {

namespace {

// Values of the Windows 10 (19041) enums, as the kernel's own symbols list them.
constexpr std::array<std::string_view, 40> kWaitReasons = {
    "Executive",        "FreePage",        "PageIn",           "PoolAllocation",   "DelayExecution",
    "Suspended",        "UserRequest",     "WrExecutive",      "WrFreePage",       "WrPageIn",
    "WrPoolAllocation", "WrDelayExecution", "WrSuspended",     "WrUserRequest",    "WrSpare0",
    "WrQueue",          "WrLpcReceive",    "WrLpcReply",       "WrVirtualMemory",  "WrPageOut",
    "WrRendezvous",     "WrKeyedEvent",    "WrTerminated",     "WrProcessInSwap",  "WrCpuRateControl",
    "WrCalloutStack",   "WrKernel",        "WrResource",       "WrPushLock",       "WrMutex",
    "WrQuantumEnd",     "WrDispatchInt",   "WrPreempted",      "WrYieldExecution", "WrFastMutex",
    "WrGuardedMutex",   "WrRundown",       "WrAlertByThreadId", "WrDeferredPreempt", "WrPhysicalFault"};

constexpr std::array<std::string_view, 10> kThreadStates = {
    "Initialized", "Ready",      "Running",       "Standby",          "Terminated",
    "Waiting",     "Transition", "DeferredReady", "GateWaitObsolete", "WaitingForProcessInSwap"};

// A type source's pointer size, or 8 when there is none.
unsigned pickPointerSize(const types::TypeProvider* t, unsigned requested) {
    if (requested == 4 || requested == 8) return requested;
    if (t && (t->pointerSize() == 4 || t->pointerSize() == 8)) return t->pointerSize();
    return 8;
}

// "WaitBlock[2]" -> ("WaitBlock", 2); "Tcb" -> ("Tcb", nullopt). A malformed
// index makes the whole segment unresolvable (name empty).
std::pair<std::string_view, std::optional<uint64_t>> splitIndex(std::string_view seg) {
    size_t lb = seg.find('[');
    if (lb == std::string_view::npos) return {seg, std::nullopt};
    if (seg.back() != ']' || lb + 2 > seg.size() - 1) return {{}, std::nullopt};
    std::string_view num = seg.substr(lb + 1, seg.size() - lb - 2);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || p != num.data() + num.size()) return {{}, std::nullopt};
    return {seg.substr(0, lb), v};
}

bool isAnonymousName(std::string_view n) {
    return n.empty() || n.starts_with("__unnamed") || n.starts_with("<unnamed") || n.starts_with("__anonymous");
}

}  // namespace

std::string_view builtinWaitReasonName(int64_t value) {
    if (value < 0 || value >= static_cast<int64_t>(kWaitReasons.size())) return {};
    return kWaitReasons[static_cast<size_t>(value)];
}

std::string_view builtinThreadStateName(int64_t value) {
    if (value < 0 || value >= static_cast<int64_t>(kThreadStates.size())) return {};
    return kThreadStates[static_cast<size_t>(value)];
}

NtLayout::NtLayout(const types::TypeProvider* types, const KdDebuggerData* kdbg, unsigned pointerSize)
    : types_(types), ptrSize_(pickPointerSize(types, pointerSize)) {
    if (kdbg) kdbg_ = *kdbg;
}

std::optional<FieldLayout> NtLayout::field(std::string_view type, std::string_view path) const {
    return lookup(type, path, true);
}

bool NtLayout::has(std::string_view type, std::string_view path) const {
    return lookup(type, path, false).has_value();
}

std::optional<uint64_t> NtLayout::offset(std::string_view type, std::string_view path) const {
    auto f = field(type, path);
    if (!f) return std::nullopt;
    return f->offset;
}

std::optional<FieldLayout> NtLayout::lookup(std::string_view type, std::string_view path, bool recordMissing) const {
    std::string key;
    key.reserve(type.size() + path.size() + 1);
    key.append(type).append(".").append(path);
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, resolve(type, path)).first;
    if (!it->second && recordMissing) missing_.insert(key);
    return it->second;
}

std::optional<FieldLayout> NtLayout::resolve(std::string_view type, std::string_view path) const {
    if (types_) {
        if (auto f = resolveTypes(type, path)) return f;
        // A type source that does not know the structure at all (a PDB of
        // another module) still leaves the debugger data as evidence.
        if (types_->findType(type)) return std::nullopt;
    }
    return resolveDebuggerData(type, path);
}

const types::Field* NtLayout::findMember(const types::Type& t, std::string_view name, uint64_t& extraOffset,
                                         unsigned depth) const {
    for (const auto& f : t.fields)
        if (f.name == name) return &f;
    // Members of anonymous unions/structs: PDBs and ISF files usually list
    // them flattened, but a source may keep the nesting.
    if (depth >= 4) return nullptr;
    for (const auto& f : t.fields) {
        if (!isAnonymousName(f.name) || f.bitLength) continue;
        const types::Type* sub = types_->type(f.type);
        if (!sub || (sub->kind != types::TypeKind::Struct && sub->kind != types::TypeKind::Union)) continue;
        uint64_t inner = 0;
        if (const types::Field* m = findMember(*sub, name, inner, depth + 1)) {
            extraOffset += f.offset + inner;
            return m;
        }
    }
    return nullptr;
}

std::optional<FieldLayout> NtLayout::resolveTypes(std::string_view type, std::string_view path) const {
    auto id = types_->findType(type);
    if (!id) return std::nullopt;
    const types::Type* cur = types_->type(*id);
    if (!cur) return std::nullopt;
    FieldLayout out;
    types::TypeId curId = *id;
    bool first = true;
    while (!path.empty()) {
        size_t dot = path.find('.');
        std::string_view seg = path.substr(0, dot);
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
        if (!cur || (cur->kind != types::TypeKind::Struct && cur->kind != types::TypeKind::Union)) return std::nullopt;
        if (!first && out.bitLength) return std::nullopt;  // nothing lives inside a bitfield
        first = false;
        auto [name, index] = splitIndex(seg);
        if (name.empty()) return std::nullopt;
        uint64_t extra = 0;
        const types::Field* f = findMember(*cur, name, extra, 0);
        if (!f) return std::nullopt;
        out.offset += f->offset + extra;
        out.bitPosition = f->bitPosition;
        out.bitLength = f->bitLength;
        curId = f->type;
        cur = types_->type(curId);
        if (index) {
            if (!cur || cur->kind != types::TypeKind::Array || *index >= cur->count) return std::nullopt;
            const types::Type* elem = types_->type(cur->target);
            if (!elem || elem->size == 0) return std::nullopt;
            out.offset += *index * elem->size;
            curId = cur->target;
            cur = elem;
        }
    }
    out.type = curId;
    if (cur) {
        out.size = cur->size;
        if (cur->kind == types::TypeKind::Array && out.size == 0) {
            if (const types::Type* elem = types_->type(cur->target)) out.size = elem->size * cur->count;
        }
        const types::Type* scalar = cur;
        if (cur->kind == types::TypeKind::Enum) {
            if (const types::Type* u = types_->type(cur->target)) scalar = u;
        }
        out.isSigned = scalar->kind == types::TypeKind::Base &&
                       (scalar->base == types::BaseKind::Int || scalar->base == types::BaseKind::Char);
    }
    return out;
}

std::optional<FieldLayout> NtLayout::resolveDebuggerData(std::string_view type, std::string_view path) const {
    if (!kdbg_.present) return std::nullopt;
    // ETHREAD starts with its KTHREAD (Tcb), EPROCESS with its KPROCESS (Pcb):
    // a path through them is the inner structure's path.
    uint64_t base = 0;
    if (type == "_ETHREAD" && path.starts_with("Tcb.")) {
        type = "_KTHREAD";
        path.remove_prefix(4);
    } else if (type == "_EPROCESS" && path.starts_with("Pcb.")) {
        type = "_KPROCESS";
        path.remove_prefix(4);
    } else if (type == "_KPCR" && path.starts_with("Prcb.")) {
        if (!kdbg_.offsetPcrContainedPrcb) return std::nullopt;
        base = kdbg_.offsetPcrContainedPrcb;
        type = "_KPRCB";
        path.remove_prefix(5);
    }
    struct Known {
        std::string_view type, path;
        uint16_t KdDebuggerData::*offset;
        unsigned size;  // 0: unknown (structures, fields whose width changed between versions); ~0u: pointer
    };
    constexpr unsigned kPtr = ~0u;
    static constexpr Known kKnown[] = {
        {"_KTHREAD", "NextProcessor", &KdDebuggerData::offsetKThreadNextProcessor, 4},
        {"_KTHREAD", "Teb", &KdDebuggerData::offsetKThreadTeb, kPtr},
        {"_KTHREAD", "KernelStack", &KdDebuggerData::offsetKThreadKernelStack, kPtr},
        {"_KTHREAD", "InitialStack", &KdDebuggerData::offsetKThreadInitialStack, kPtr},
        {"_KTHREAD", "ApcState.Process", &KdDebuggerData::offsetKThreadApcProcess, kPtr},
        {"_KTHREAD", "State", &KdDebuggerData::offsetKThreadState, 1},
        {"_EPROCESS", "Peb", &KdDebuggerData::offsetEprocessPeb, kPtr},
        {"_EPROCESS", "InheritedFromUniqueProcessId", &KdDebuggerData::offsetEprocessParentCID, kPtr},
        {"_KPROCESS", "DirectoryTableBase", &KdDebuggerData::offsetEprocessDirectoryTableBase, kPtr},
        {"_KPRCB", "CurrentThread", &KdDebuggerData::offsetPrcbCurrentThread, kPtr},
        {"_KPRCB", "Context", &KdDebuggerData::offsetPrcbContext, kPtr},
        {"_KPRCB", "Number", &KdDebuggerData::offsetPrcbNumber, 0},
        {"_KPRCB", "ProcessorState.ContextFrame", &KdDebuggerData::offsetPrcbProcStateContext, 0},
        {"_KPRCB", "ProcessorState.SpecialRegisters", &KdDebuggerData::offsetPrcbProcStateSpecialReg, 0},
        {"_KPCR", "Self", &KdDebuggerData::offsetPcrSelfPcr, kPtr},
        {"_KPCR", "SelfPcr", &KdDebuggerData::offsetPcrSelfPcr, kPtr},
        {"_KPCR", "CurrentPrcb", &KdDebuggerData::offsetPcrCurrentPrcb, kPtr},
        {"_KPCR", "Prcb", &KdDebuggerData::offsetPcrContainedPrcb, 0},
    };
    for (const Known& k : kKnown) {
        if (k.type != type || k.path != path) continue;
        uint16_t off = kdbg_.*k.offset;
        // 0 is "not filled in" in the debugger data (none of these fields
        // can be at the start of its structure).
        if (off == 0) return std::nullopt;
        FieldLayout f;
        f.offset = base + off;
        f.size = k.size == kPtr ? ptrSize_ : k.size;
        f.fromDebuggerData = true;
        return f;
    }
    return std::nullopt;
}

std::optional<uint64_t> NtLayout::size(std::string_view type) const {
    auto it = sizeCache_.find(type);
    if (it != sizeCache_.end()) return it->second;
    std::optional<uint64_t> v;
    if (types_) {
        if (auto id = types_->findType(type)) {
            const types::Type* t = types_->type(*id);
            if (t && !t->incomplete && t->size) v = t->size;
        }
    }
    if (!v && kdbg_.present && !(types_ && types_->findType(type))) {
        uint16_t s = type == "_EPROCESS" ? kdbg_.sizeEProcess
                     : type == "_ETHREAD" ? kdbg_.sizeEThread
                     : type == "_KPRCB"   ? kdbg_.sizePrcb
                                          : 0;
        if (s) v = s;
    }
    if (!v) missing_.insert("sizeof(" + std::string(type) + ")");
    sizeCache_.emplace(std::string(type), v);
    return v;
}

std::string NtLayout::enumName(std::string_view enumType, int64_t value) const {
    if (types_) {
        if (auto id = types_->findType(enumType)) {
            const types::Type* t = types_->type(*id);
            if (t && t->kind == types::TypeKind::Enum) {
                for (const auto& e : t->enumerators)
                    if (e.value == value) return e.name;
                return {};
            }
        }
    }
    if (enumType == "_KWAIT_REASON") return std::string(builtinWaitReasonName(value));
    if (enumType == "_KTHREAD_STATE") return std::string(builtinThreadStateName(value));
    return {};
}

std::optional<int64_t> NtLayout::enumValue(std::string_view enumType, std::string_view name) const {
    if (types_) {
        if (auto id = types_->findType(enumType)) {
            const types::Type* t = types_->type(*id);
            if (t && t->kind == types::TypeKind::Enum) {
                for (const auto& e : t->enumerators)
                    if (e.name == name) return e.value;
                return std::nullopt;
            }
        }
    }
    if (enumType == "_KWAIT_REASON") {
        for (size_t i = 0; i < kWaitReasons.size(); ++i)
            if (kWaitReasons[i] == name) return static_cast<int64_t>(i);
    }
    if (enumType == "_KTHREAD_STATE") {
        for (size_t i = 0; i < kThreadStates.size(); ++i)
            if (kThreadStates[i] == name) return static_cast<int64_t>(i);
    }
    return std::nullopt;
}

}  // namespace nt
