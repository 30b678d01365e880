// Kernel commands about single objects and processor blocks: !object,
// !locks (ERESOURCEs) and !prcb (FACTS.md §2.11; MSDOCS !object / !locks /
// !prcb). They read through the engine's nt::Kernel (kernelObjects()).
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"
#include "commands/expression.h"
#include "commands/kernel_process_commands.h"

namespace nt {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::vector<std::string> words(std::string_view s) {
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

template <typename T>
nlohmann::json orNull(const std::optional<T>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string ptrOr(std::optional<uint64_t> v, bool is64) { return v ? addrPlain(*v, is64) : std::string(is64 ? 16 : 8, '?'); }

// The threads whose wait blocks sit on a dispatcher object's WaitListHead,
// in list order (the resource's waiters; a wait chain's waiters).
std::vector<uint64_t> waitingThreads(const Kernel& k, uint64_t object) {
    std::vector<uint64_t> out;
    auto headOff = k.layout().offset("_DISPATCHER_HEADER", "WaitListHead");
    auto linkOff = k.layout().offset("_KWAIT_BLOCK", "WaitListEntry");
    if (!headOff || !linkOff || !object) return out;
    ListWalk w = walkList(k.memory(), object + *headOff, k.pointerSize(), 4096);
    for (uint64_t e : w.entries) {
        StructView wb(k.memory(), k.layout(), "_KWAIT_BLOCK", e - *linkOff);
        if (auto t = wb.ptr("Thread"); t && *t) out.push_back(*t);
    }
    return out;
}

// ---- !object ------------------------------------------------------------------

void cmdObject(Engine& e, std::string_view args, Output& out) {
    std::string a(trim(args));
    if (a.empty()) throw UsageError("!object <address>: the address of an object body");
    if (a[0] == '\\') {
        // Name lookups walk the object directory (ObpRootDirectoryObject): not done yet.
        out.line("!object by name is not supported: give the object's address");
        out.error = true;
        out.json = {{"error", "lookup by name not supported"}, {"name", a}};
        return;
    }
    Kernel& k = kernelObjects(e, "!object");
    uint64_t addr = evaluate(a, *makeEngineExprEnv(e));
    bool w = k.is64();
    auto h = k.objectHeader(addr);
    if (!h) {
        out.line("Not a valid object (ObjectHeader invalid)");
        out.error = true;
        out.json = {{"error", "ObjectHeader invalid"}, {"object", addr}};
        return;
    }
    if (!h->pointerCount || !h->typeObject || !h->typeName || h->typeName->empty()) {
        // WinDbg's words when the header's type does not lead to a named
        // _OBJECT_TYPE (header not in the dump, or not an object at all).
        out.line("Not a valid object (ObjectType invalid)");
        out.error = true;
        out.json = {{"error", "ObjectType invalid"}, {"object", addr}, {"header", h->header},
                    {"header_readable", h->pointerCount.has_value()}, {"type_index", orNull(h->typeIndex)},
                    {"type_object", orNull(h->typeObject)}};
        return;
    }
    out.line(fmt::format("Object: {}  Type: ({}) {}", addrPlain(addr, w), addrPlain(*h->typeObject, w), *h->typeName));
    // "new version": the header with TypeIndex/InfoMask (Windows 7 and later);
    // "old version": XP's and Vista's, with a Type pointer (as WinDbg prints them).
    out.line(fmt::format("    ObjectHeader: {} ({} version)", addrPlain(h->header, w), h->oldForm ? "old" : "new"));
    out.line(fmt::format("    HandleCount: {}  PointerCount: {}", h->handleCount ? std::to_string(*h->handleCount) : "?",
                         std::to_string(*h->pointerCount)));
    if (h->name) out.line(fmt::format("    Directory Object: {}  Name: {}", ptrOr(h->directory, w), *h->name));
    nlohmann::json opt = nlohmann::json::array();
    for (const auto& o : h->optionalHeaders) opt.push_back({{"bit", o.bit}, {"type", o.type}, {"address", o.address}});
    out.json = {{"object", addr},
                {"header", h->header},
                {"type_object", *h->typeObject},
                {"type_name", *h->typeName},
                {"type_index", orNull(h->typeIndex)},
                {"stored_type_index", orNull(h->storedTypeIndex)},
                {"info_mask", orNull(h->infoMask)},
                {"flags", orNull(h->flags)},
                {"handle_count", orNull(h->handleCount)},
                {"pointer_count", *h->pointerCount},
                {"name", orNull(h->name)},
                {"directory", orNull(h->directory)},
                {"optional_headers", opt}};
}

// ---- !locks -------------------------------------------------------------------

// "ffffc08bde9e1640-01<*>" (owner) / "ffffc08bde9e1640-01    " (waiter).
std::string lockThread(uint64_t thread, uint64_t count, bool owner, bool is64) {
    return fmt::format("{}-{:02x}{}", addrPlain(thread, is64), count, owner ? "<*>" : "    ");
}

// kdexts' progress line while it walks ExpSystemResourcesList: the first
// resource it skips (not held, not asked for) starts "KD: Scanning for held
// locks." and every 32nd one after it adds a dot; a resource it shows ends
// the line. Measured on public transcripts: MSDOCS !locks (2263 locks, runs
// of 6, 55 and 1 dots) and a Windows 10 one (27708 locks, 3 held: 143 + 511
// + 213 dots, one per 32 skipped). Seed 004's "........." for 89274 locks
// was shortened by its author.
class ScanProgress {
public:
    void skip(std::string& text) {
        if (skipped_++ % kPerDot == 0) text += skipped_ == 1 ? "KD: Scanning for held locks." : ".";
    }
    // Ends the dots line, if one is open.
    void finish(std::string& text) {
        if (skipped_) text += "\n";
        skipped_ = 0;
    }

private:
    static constexpr uint64_t kPerDot = 32;
    uint64_t skipped_ = 0;
};

// The lines of one shown resource, without the blank line before it.
void lockLines(const Kernel& k, const ResourceInfo& r, bool isHeld, bool verbose, const std::vector<uint64_t>& waiters,
               Output& out) {
    const bool w = k.is64();
    std::string state = !isHeld ? "Available"
                        : r.exclusive() ? "Exclusively owned"
                                        : fmt::format("Shared {} owning threads", r.owners.size());
    out.line(fmt::format("Resource @ 0x{:x}    {}", r.address, state));
    if (r.contentionCount && *r.contentionCount) out.line(fmt::format("    Contention Count = {}", *r.contentionCount));
    if (r.sharedWaiters && *r.sharedWaiters) out.line(fmt::format("    NumberOfSharedWaiters = {}", *r.sharedWaiters));
    if (r.exclusiveWaiters && *r.exclusiveWaiters)
        out.line(fmt::format("    NumberOfExclusiveWaiters = {}", *r.exclusiveWaiters));
    std::string threads = "     Threads:";
    for (const ResourceOwner& o : r.owners) threads += " " + lockThread(o.thread & ~uint64_t{3}, o.count, true, w);
    for (uint64_t t : waiters) threads += " " + lockThread(t, 1, false, w);
    if (!r.owners.empty() || !waiters.empty()) out.line(threads);
    if (r.ownerTableUnread) out.line("     (owner table not read: its size is not readable or too large)");
    if (!verbose) return;
    // Short form of -v: each owner's !thread header and wait objects (no stacks).
    for (const ResourceOwner& o : r.owners) {
        ThreadInfo t = k.thread(o.thread & ~uint64_t{3});
        out.line("     " + threadHeaderLine(t, k.processorRunning(t.address), w));
        for (const auto& d : k.waitObjects(t)) out.line("         " + waitObjectLine(d, w));
    }
}

nlohmann::json lockJson(const ResourceInfo& r, bool isHeld, const std::vector<uint64_t>& waiters) {
    nlohmann::json owners = nlohmann::json::array();
    for (const ResourceOwner& o : r.owners) owners.push_back({{"thread", o.thread & ~uint64_t{3}}, {"count", o.count}});
    return {{"address", r.address},
            {"held", isHeld},
            {"exclusive", r.exclusive()},
            {"active_count", orNull(r.activeCount)},
            {"contention_count", orNull(r.contentionCount)},
            {"shared_waiters", orNull(r.sharedWaiters)},
            {"exclusive_waiters", orNull(r.exclusiveWaiters)},
            {"owners", owners},
            {"waiters", waiters}};
}

// Real systems have 10^4..10^5 resources (seed 004: 89274); the walk stops
// well above that, bounding memory on a looping or hostile list.
constexpr size_t kMaxResources = 262144;

void cmdLocks(Engine& e, std::string_view args, Output& out) {
    Kernel& k = kernelObjects(e, "!locks");
    bool verbose = false;
    for (const auto& word : words(args)) {
        if (word == "-v") verbose = true;
        else throw UsageError("!locks [-v]: unknown option " + word);
    }
    // kdexts' banner (seed 004, MSDOCS !locks).
    out.line("**** DUMP OF ALL RESOURCE OBJECTS ****");
    ResourceList list = k.resources(kMaxResources);
    nlohmann::json shown = nlohmann::json::array();
    uint64_t heldCount = 0;
    ScanProgress progress;
    for (const ResourceInfo& r : list.resources) {
        bool isHeld = r.activeCount && *r.activeCount != 0;
        if (!isHeld && !verbose) {
            progress.skip(out.text);
            continue;
        }
        if (isHeld) ++heldCount;
        // A shown resource ends the progress line and follows a blank line.
        progress.finish(out.text);
        out.line("");
        std::vector<uint64_t> waiters;
        for (auto obj : {r.sharedWaitersObject, r.exclusiveWaitersObject})
            if (obj && *obj)
                for (uint64_t t : waitingThreads(k, *obj)) waiters.push_back(t);
        lockLines(k, r, isHeld, verbose, waiters, out);
        shown.push_back(lockJson(r, isHeld, waiters));
    }
    progress.finish(out.text);
    std::string err = list.walk.error(k.pointerSize());
    if (!err.empty()) {
        out.line(err);
        out.error = list.walk.entries.empty();
    }
    // "89274 total locks" (seed 004); ", 3 locks currently held" only when some are.
    std::string total = fmt::format("{} total locks", list.resources.size());
    if (heldCount) total += fmt::format(", {} locks currently held", heldCount);
    out.line(total);
    out.json = {{"resources", shown},
                {"total", list.resources.size()},
                {"held", heldCount},
                {"list_complete", list.walk.complete()},
                {"error", err.empty() ? nlohmann::json(nullptr) : nlohmann::json(err)}};
}

// ---- !prcb --------------------------------------------------------------------

// The format follows WinDbg's !prcb as remembered (FACTS.md has no sample):
// partly unverified. Fields the type source lacks or the dump does not hold
// print "not in the dump".
void cmdPrcb(Engine& e, std::string_view args, Output& out) {
    Kernel& k = kernelObjects(e, "!prcb");
    const KernelInfo& info = k.info();
    uint32_t cpu = static_cast<uint32_t>(e.currentThread());
    if (!trim(args).empty()) cpu = static_cast<uint32_t>(evaluate(trim(args), *makeEngineExprEnv(e)));
    std::optional<uint64_t> prcb = k.processorBlock(cpu);
    if (!prcb && cpu == info.bugcheckProcessor && info.storedPrcb) prcb = info.storedPrcb;  // small dump
    if (!prcb) {
        out.line(fmt::format("Cannot get PRCB address for processor {}", cpu));
        out.error = true;
        out.json = {{"error", "PRCB not in the dump"}, {"processor", cpu}};
        return;
    }
    bool w = k.is64();
    StructView v(k.memory(), k.layout(), "_KPRCB", *prcb);
    // A field the build's types do not have is not "missing from the dump":
    // the two are told apart, so an XP PRCB does not look damaged.
    const std::string absent = "not in the dump", noType = "(no such field in this build)";
    auto num = [&](std::string_view path) -> std::optional<uint64_t> { return v.has(path) ? v.u(path) : std::nullopt; };
    auto why = [&](std::string_view path) { return v.has(path) ? absent : noType; };
    auto hex8 = [&](std::string_view path) {
        auto x = num(path);
        return x ? hexPad(*x, 8) : why(path);
    };
    auto ptr = [&](std::string_view path) -> std::optional<uint64_t> { return v.has(path) ? v.ptr(path) : std::nullopt; };

    // IRQL: KPCR.Irql (the PCR holds the PRCB: KPCR.Prcb on x64 and ARM64,
    // KPCR.PrcbData on x86, where KPCR.Prcb is a pointer), else the
    // debugger's saved copy in the PRCB.
    std::optional<uint64_t> irql;
    std::optional<uint64_t> prcbOff;
    if (info.kdbg.offsetPcrContainedPrcb) prcbOff = info.kdbg.offsetPcrContainedPrcb;
    else if (k.layout().has("_KPCR", w ? "Prcb" : "PrcbData")) prcbOff = k.layout().offset("_KPCR", w ? "Prcb" : "PrcbData");
    if (prcbOff && *prcb >= *prcbOff) {
        StructView pcr(k.memory(), k.layout(), "_KPCR", *prcb - *prcbOff);
        if (pcr.has("Irql")) irql = pcr.u("Irql");
    }
    if (!irql) irql = num("DebuggerSavedIRQL");
    auto cur = ptr("CurrentThread"), next = ptr("NextThread"), idle = ptr("IdleThread");
    auto number = num("Number"), group = num("Group"), groupIndex = num("GroupIndex"), setMember = num("GroupSetMember");
    auto interrupts = num("InterruptCount");
    auto dpcTime = num("DpcTime"), intTime = num("InterruptTime"), kernTime = num("KernelTime"), userTime = num("UserTime");

    out.line(fmt::format("PRCB for Processor {} at {}:", cpu, addrPlain(*prcb, w)));
    out.line("Current IRQL -- " + (irql ? std::to_string(*irql) : absent));
    out.line(fmt::format("Threads--  Current {} Next {} Idle {}", cur ? addrPlain(*cur, w) : absent,
                         next ? addrPlain(*next, w) : absent, idle ? addrPlain(*idle, w) : absent));
    if (v.has("Group") || !v.has("SetMember")) {
        out.line(fmt::format("Processor Index {} Number ({}, {}) GroupSetMember {}",
                             number ? std::to_string(*number) : why("Number"),
                             group ? std::to_string(*group) : why("Group"),
                             groupIndex ? std::to_string(*groupIndex) : why("GroupIndex"),
                             setMember ? hex(*setMember) : why("GroupSetMember")));
    } else {
        // Before processor groups (XP, 2003): "Number 0 SetMember 1".
        setMember = num("SetMember");
        out.line(fmt::format("Number {} SetMember {}", number ? std::to_string(*number) : why("Number"),
                             setMember ? hex(*setMember) : why("SetMember")));
    }
    out.line("Interrupt Count -- " + hex8("InterruptCount"));
    out.line(fmt::format("Times -- Dpc    {} Interrupt {} ", hex8("DpcTime"), hex8("InterruptTime")));
    out.line(fmt::format("         Kernel {} User      {} ", hex8("KernelTime"), hex8("UserTime")));
    out.json = {{"processor", cpu},       {"prcb", *prcb},
                {"irql", orNull(irql)},   {"current_thread", orNull(cur)},
                {"next_thread", orNull(next)}, {"idle_thread", orNull(idle)},
                {"number", orNull(number)}, {"group", orNull(group)},
                {"group_index", orNull(groupIndex)}, {"group_set_member", orNull(setMember)},
                {"interrupt_count", orNull(interrupts)}, {"dpc_time", orNull(dpcTime)},
                {"interrupt_time", orNull(intTime)}, {"kernel_time", orNull(kernTime)},
                {"user_time", orNull(userTime)}};
}

}  // namespace

void registerKernelObjectCommands(Engine& e) {
    e.registerCommand({"!object", "display an object's header, type and name (!object <addr>)", cmdObject, false});
    e.registerCommand({"!locks", "list held executive resources (ERESOURCE); -v: all, with owners", cmdLocks, false});
    e.registerCommand({"!prcb", "display a processor's control block (!prcb [n])", cmdPrcb, false});
}

}  // namespace nt
