// The object model on hand-built kernel memory laid out with the 19041 ISF:
// list walks (cycles, caps, holes), processes and threads, wait blocks and
// dispatcher objects, object headers with the ObHeaderCookie encoding,
// loaded modules, ERESOURCEs and handle counts.
#include <gtest/gtest.h>

#include <map>

#include "base/format.h"
#include "nt/objects.h"
#include "nt_test_support.h"

namespace nt {
namespace {

using test::SyntheticSpace;

// Globals and objects of the synthetic world.
constexpr uint64_t kGlobals = 0xfffff8047c600000ull;
constexpr uint64_t kActiveHead = kGlobals + 0x100;
constexpr uint64_t kModuleHead = kGlobals + 0x200;
constexpr uint64_t kResourceHead = kGlobals + 0x300;
constexpr uint64_t kCookie = kGlobals + 0x400;
constexpr uint64_t kTypeTable = kGlobals + 0x500;
constexpr uint64_t kPool = 0xffffc08b00000000ull;

TEST(NtLists, WalkStopsAtHolesCyclesAndTheCap) {
    SyntheticSpace s;
    s.allocate(0x1000, 0x100);
    s.link(0x1000, {0x1010, 0x1020, 0x1030});
    const Memory& m = s.memory();
    ListWalk w = walkList(m, 0x1000, 8);
    EXPECT_TRUE(w.complete());
    EXPECT_EQ(w.entries, (std::vector<uint64_t>{0x1010, 0x1020, 0x1030}));

    ListWalk capped = walkList(m, 0x1000, 8, 2);
    EXPECT_TRUE(capped.capped);
    EXPECT_EQ(capped.entries.size(), 2u);

    s.putPtr(0x1030, 0x1010);  // the last entry points back into the middle
    ListWalk loop = walkList(s.memory(), 0x1000, 8);
    EXPECT_TRUE(loop.cycle);
    EXPECT_EQ(loop.entries.size(), 3u);

    s.putPtr(0x1020, 0xdead0000);  // into memory the dump lacks
    ListWalk hole = walkList(s.memory(), 0x1000, 8);
    EXPECT_EQ(hole.entries, (std::vector<uint64_t>{0x1010, 0x1020, 0xdead0000}));
    EXPECT_EQ(hole.error(8), "Unable to read _LIST_ENTRY @ 00000000dead0000");

    s.putPtr(0x1010, 0);
    ListWalk null = walkList(s.memory(), 0x1000, 8);
    EXPECT_TRUE(null.nullLink);
    EXPECT_EQ(null.entries.size(), 1u);

    ListWalk none = walkList(s.memory(), 0x5000, 8);
    EXPECT_TRUE(none.entries.empty());
    EXPECT_EQ(none.unreadable, 0x5000u);
}

// Builds processes/threads/objects at the ISF's offsets.
class World {
public:
    explicit World(std::shared_ptr<isf::IsfFile> isf) : isf_(std::move(isf)), l_(isf_.get(), nullptr) {
        s.allocate(kGlobals, 0x1000);
        s.emptyList(kActiveHead);
        s.emptyList(kModuleHead);
        s.emptyList(kResourceHead);
        info.psActiveProcessHead = kActiveHead;
        info.psLoadedModuleList = kModuleHead;
        info.kdbg.present = true;
        info.kdbg.expSystemResourcesList = kResourceHead;
        info.buildNumber = 19041;
    }

    uint64_t off(std::string_view type, std::string_view path) { return *l_.offset(type, path); }
    uint64_t size(std::string_view type) { return *l_.size(type); }

    // An object with an _OBJECT_HEADER (and optional headers per infoMask)
    // in front of it; returns the body address.
    uint64_t object(uint64_t bodySize, uint8_t typeIndex, uint8_t infoMask = 0, std::string_view name = {}) {
        uint64_t optional = 0;
        static constexpr std::string_view kOpt[] = {
            "_OBJECT_HEADER_CREATOR_INFO", "_OBJECT_HEADER_NAME_INFO",  "_OBJECT_HEADER_HANDLE_INFO",
            "_OBJECT_HEADER_QUOTA_INFO",   "_OBJECT_HEADER_PROCESS_INFO", "_OBJECT_HEADER_AUDIT_INFO",
            "_OBJECT_HEADER_EXTENDED_INFO", "_OBJECT_HEADER_PADDING_INFO"};
        for (unsigned b = 0; b < 8; ++b)
            if (infoMask & (1u << b)) optional += size(kOpt[b]);
        uint64_t start = next_;
        uint64_t header = start + optional;
        uint64_t body = header + off("_OBJECT_HEADER", "Body");
        next_ = (body + bodySize + 0xff) & ~uint64_t{0xff};
        next_ += 0x100;
        s.allocate(start, body + bodySize - start);
        s.put<uint8_t>(header + off("_OBJECT_HEADER", "TypeIndex"),
                       static_cast<uint8_t>(typeIndex ^ cookie ^ ((header >> 8) & 0xff)));
        s.put<uint8_t>(header + off("_OBJECT_HEADER", "InfoMask"), infoMask);
        s.put<int64_t>(header + off("_OBJECT_HEADER", "PointerCount"), 7);
        s.put<int64_t>(header + off("_OBJECT_HEADER", "HandleCount"), 2);
        if (infoMask & 2) {
            uint64_t below = 0;
            for (unsigned b = 0; b < 2; ++b)
                if (infoMask & (1u << b)) below += size(kOpt[b]);
            uint64_t nameInfo = header - below;
            s.putPtr(nameInfo + off("_OBJECT_HEADER_NAME_INFO", "Directory"), 0xffffad0e00001000ull);
            s.putUnicodeString(nameInfo + off("_OBJECT_HEADER_NAME_INFO", "Name"), next_, name);
            next_ += 0x100;
        }
        return body;
    }

    uint64_t process(uint64_t pid, std::string_view image, uint64_t parent = 0) {
        uint64_t p = object(size("_EPROCESS"), kProcessType);
        s.put<uint8_t>(p + off("_EPROCESS", "Pcb.Header.Type"), 3);
        s.putPtr(p + off("_EPROCESS", "UniqueProcessId"), pid);
        s.putPtr(p + off("_EPROCESS", "InheritedFromUniqueProcessId"), parent);
        s.putPtr(p + off("_EPROCESS", "Pcb.DirectoryTableBase"), 0x1000 * (pid + 1));
        s.write(p + off("_EPROCESS", "ImageFileName"), image.data(), std::min<size_t>(image.size(), 15));
        s.emptyList(p + off("_EPROCESS", "ThreadListHead"));
        processes_.push_back(p + off("_EPROCESS", "ActiveProcessLinks"));
        s.link(kActiveHead, processes_);
        return p;
    }

    uint64_t thread(uint64_t process, uint64_t pid, uint64_t tid, uint8_t state, uint8_t reason) {
        uint64_t t = object(size("_ETHREAD"), kThreadType);
        s.put<uint8_t>(t + off("_ETHREAD", "Tcb.Header.Type"), 6);
        s.putPtr(t + off("_ETHREAD", "Cid.UniqueProcess"), pid);
        s.putPtr(t + off("_ETHREAD", "Cid.UniqueThread"), tid);
        s.put<uint8_t>(t + off("_ETHREAD", "Tcb.State"), state);
        s.put<uint8_t>(t + off("_ETHREAD", "Tcb.WaitReason"), reason);
        s.put<uint8_t>(t + off("_ETHREAD", "Tcb.WaitMode"), 1);
        s.putPtr(t + off("_ETHREAD", "Tcb.ApcState.Process"), process);
        s.putPtr(t + off("_ETHREAD", "Tcb.Process"), process);
        s.emptyList(t + off("_ETHREAD", "Tcb.ApcState.ApcListHead[0]"));
        s.put<int8_t>(t + off("_ETHREAD", "Tcb.Priority"), -2);  // signed char
        auto& list = threads_[process];
        list.push_back(t + off("_ETHREAD", "ThreadListEntry"));
        s.link(process + off("_EPROCESS", "ThreadListHead"), list);
        return t;
    }

    // Makes t wait on objects: through its own WaitBlock array (up to 3
    // objects, the 4th block is the timer's), else through a caller's array
    // as KeWaitForMultipleObjects does.
    void wait(uint64_t t, const std::vector<uint64_t>& objects) {
        uint64_t first = t + off("_ETHREAD", "Tcb.WaitBlock[0]");
        if (objects.size() > 3) {
            first = next_;
            next_ += (objects.size() * size("_KWAIT_BLOCK") + 0x1ff) & ~uint64_t{0xff};
            s.allocate(first, objects.size() * size("_KWAIT_BLOCK"));
        }
        s.putPtr(t + off("_ETHREAD", "Tcb.WaitBlockList"), first);
        s.put<uint8_t>(t + off("_ETHREAD", "Tcb.WaitBlockCount"), static_cast<uint8_t>(objects.size()));
        for (size_t i = 0; i < objects.size(); ++i) {
            uint64_t b = first + i * size("_KWAIT_BLOCK");
            s.putPtr(b + off("_KWAIT_BLOCK", "Object"), objects[i]);
            s.putPtr(b + off("_KWAIT_BLOCK", "Thread"), t);
            s.put<uint8_t>(b + off("_KWAIT_BLOCK", "WaitType"), 1);
        }
    }

    uint64_t dispatcher(uint8_t type, uint8_t typeIndex, uint64_t bodySize) {
        uint64_t o = object(bodySize, typeIndex);
        s.put<uint8_t>(o + off("_DISPATCHER_HEADER", "Type"), type);
        s.emptyList(o + off("_DISPATCHER_HEADER", "WaitListHead"));
        return o;
    }

    void typeTable(const std::vector<std::pair<uint8_t, std::string>>& types) {
        // The table (256 pointers) lies inside the globals block.
        for (const auto& [index, name] : types) {
            uint64_t t = next_;
            next_ += 0x200;
            s.allocate(t, size("_OBJECT_TYPE"));
            s.putUnicodeString(t + off("_OBJECT_TYPE", "Name"), next_, name);
            next_ += 0x100;
            s.putPtr(kTypeTable + index * 8, t);
        }
        s.put<uint8_t>(kCookie, cookie);
    }

    Kernel kernel() {
        Kernel k(s.memory(), isf_.get(), info);
        k.setSymbolResolver([](std::string_view n) -> std::optional<uint64_t> {
            if (n == "ObHeaderCookie") return kCookie;
            if (n == "ObTypeIndexTable") return kTypeTable;
            return std::nullopt;
        });
        return k;
    }

    static constexpr uint8_t kProcessType = 7, kThreadType = 8, kEventType = 16, kMutantType = 17, kSemaphoreType = 18;
    uint8_t cookie = 0x5a;
    SyntheticSpace s;
    KernelInfo info;

private:
    std::shared_ptr<isf::IsfFile> isf_;
    NtLayout l_;
    uint64_t next_ = kPool;
    std::vector<uint64_t> processes_;
    std::map<uint64_t, std::vector<uint64_t>> threads_;
};

TEST(NtObjects, ProcessListAndThreads) {
    NT_REQUIRE_NT_ISF(isf);
    World w(isf);
    uint64_t system = w.process(4, "System");
    uint64_t smss = w.process(0x1a0, "smss.exe", 4);
    uint64_t app = w.process(0x1a3c, "averyveryverylongname.exe", 0x1a0);  // 15 bytes, no NUL
    uint64_t t1 = w.thread(smss, 0x1a0, 0x1a4, 5, 6);
    uint64_t t2 = w.thread(smss, 0x1a0, 0x1a8, 2, 0);
    Kernel k = w.kernel();

    ProcessList list = k.processes();
    EXPECT_TRUE(list.walk.complete());
    ASSERT_EQ(list.processes.size(), 3u);
    EXPECT_EQ(list.processes[0].address, system);
    EXPECT_EQ(list.processes[1].address, smss);
    EXPECT_EQ(list.processes[2].address, app);
    EXPECT_EQ(list.processes[0].imageName, "System");
    EXPECT_EQ(list.processes[1].pid, 0x1a0u);
    EXPECT_EQ(list.processes[1].parentPid, 4u);
    EXPECT_EQ(list.processes[1].dirBase, 0x1a1000u);
    EXPECT_EQ(list.processes[2].imageName, "averyveryverylo");  // the whole array when it has no NUL
    EXPECT_EQ(list.processes[1].handleCount, 0u);  // ObjectTable 0

    ThreadList threads = k.threads(list.processes[1]);
    EXPECT_TRUE(threads.walk.complete());
    ASSERT_EQ(threads.threads.size(), 2u);
    EXPECT_EQ(threads.threads[0].address, t1);
    EXPECT_EQ(threads.threads[1].address, t2);
    EXPECT_EQ(threads.threads[0].tid, 0x1a4u);
    EXPECT_EQ(threads.threads[0].stateName, "Waiting");
    EXPECT_EQ(threads.threads[0].waitReasonName, "UserRequest");
    EXPECT_EQ(threads.threads[0].waitMode, 1);
    EXPECT_EQ(threads.threads[0].priority, -2);
    EXPECT_EQ(threads.threads[1].stateName, "Running");
    EXPECT_TRUE(k.threads(list.processes[0]).threads.empty());
}

TEST(NtObjects, WaitObjectsAreNamedLikeBangThread) {
    NT_REQUIRE_NT_ISF(isf);
    World w(isf);
    uint64_t p = w.process(0x910, "app.exe");
    uint64_t owner = w.thread(p, 0x910, 0x914, 2, 0);
    uint64_t waiter = w.thread(p, 0x910, 0x90c, 5, 6);
    uint64_t sync = w.dispatcher(1, World::kEventType, w.size("_KEVENT"));
    uint64_t notif = w.dispatcher(0, World::kEventType, w.size("_KEVENT"));
    uint64_t sem = w.dispatcher(5, World::kSemaphoreType, w.size("_KSEMAPHORE"));
    w.s.put<int32_t>(sem + w.off("_KSEMAPHORE", "Limit"), 0xffff);
    uint64_t mutant = w.dispatcher(2, World::kMutantType, w.size("_KMUTANT"));
    w.s.putPtr(mutant + w.off("_KMUTANT", "OwnerThread"), owner);
    w.wait(waiter, {sync, notif, sem, mutant, owner, p});
    Kernel k = w.kernel();

    ThreadInfo t = k.thread(waiter);
    EXPECT_EQ(t.waitBlockCount, 6u);
    auto blocks = k.waitBlocks(t);
    ASSERT_EQ(blocks.size(), 6u);
    EXPECT_EQ(blocks[0].thread, waiter);
    EXPECT_EQ(blocks[0].waitType, 1);
    auto objs = k.waitObjects(t);
    ASSERT_EQ(objs.size(), 6u);
    EXPECT_EQ(objs[0].address, sync);
    EXPECT_EQ(objs[0].name, "SynchronizationEvent");
    EXPECT_EQ(objs[1].name, "NotificationEvent");
    EXPECT_EQ(objs[2].name, "Semaphore Limit 0xffff");
    EXPECT_EQ(objs[2].limit, 0xffff);
    EXPECT_EQ(objs[3].name, "Mutant - owning thread " + addrPlain(owner, true));
    EXPECT_EQ(objs[3].ownerThread, owner);
    EXPECT_EQ(objs[4].name, "Thread");
    EXPECT_EQ(objs[5].name, "Process");
    // A running thread has no current wait, whatever its blocks still say.
    w.wait(owner, {sync});
    Kernel k2 = w.kernel();
    EXPECT_TRUE(k2.waitObjects(k2.thread(owner)).empty());
}

TEST(NtObjects, ObjectHeaderTypeIndexIsDecodedWithTheCookie) {
    NT_REQUIRE_NT_ISF(isf);
    World w(isf);
    uint64_t p = w.process(4, "System");
    uint64_t ev = w.object(w.size("_KEVENT"), World::kEventType, 0x3, "BaseNamedObjects\\Ready");
    w.typeTable({{World::kProcessType, "Process"}, {World::kEventType, "Event"}});
    Kernel k = w.kernel();

    auto h = k.objectHeader(p);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->header, p - 0x30);
    EXPECT_EQ(h->typeIndex, World::kProcessType);
    EXPECT_NE(h->storedTypeIndex, World::kProcessType);  // stored encoded
    EXPECT_EQ(h->typeName, "Process");
    EXPECT_EQ(h->pointerCount, 7);
    EXPECT_EQ(h->handleCount, 2);
    EXPECT_TRUE(h->optionalHeaders.empty());

    auto e = k.objectHeader(ev);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->typeName, "Event");
    EXPECT_EQ(e->infoMask, 3);
    ASSERT_EQ(e->optionalHeaders.size(), 2u);
    EXPECT_EQ(e->optionalHeaders[0].type, "_OBJECT_HEADER_CREATOR_INFO");
    EXPECT_EQ(e->optionalHeaders[0].address, e->header - 0x20);
    EXPECT_EQ(e->optionalHeaders[1].type, "_OBJECT_HEADER_NAME_INFO");
    EXPECT_EQ(e->optionalHeaders[1].address, e->header - 0x40);
    EXPECT_EQ(e->name, "BaseNamedObjects\\Ready");
    EXPECT_EQ(e->directory, 0xffffad0e00001000ull);

    // Without the cookie a Windows 10 type index cannot be decoded: unknown, not wrong.
    Kernel bare(w.s.memory(), isf.get(), w.info);
    auto b = bare.objectHeader(p);
    ASSERT_TRUE(b);
    EXPECT_FALSE(b->typeIndex);
    EXPECT_FALSE(b->typeName);
}

TEST(NtObjects, LoadedModulesAndResources) {
    NT_REQUIRE_NT_ISF(isf);
    World w(isf);
    uint64_t t = w.thread(w.process(4, "System"), 4, 8, 5, 27);
    uint64_t entrySize = w.size("_KLDR_DATA_TABLE_ENTRY");
    uint64_t e1 = kPool + 0x100000, e2 = e1 + 0x1000;
    w.s.allocate(e1, entrySize);
    w.s.allocate(e2, entrySize);
    auto mod = [&](uint64_t e, uint64_t base, uint32_t sz, std::string_view full, std::string_view name, uint64_t buf) {
        w.s.putPtr(e + w.off("_KLDR_DATA_TABLE_ENTRY", "DllBase"), base);
        w.s.put<uint32_t>(e + w.off("_KLDR_DATA_TABLE_ENTRY", "SizeOfImage"), sz);
        w.s.put<uint32_t>(e + w.off("_KLDR_DATA_TABLE_ENTRY", "TimeDateStamp"), 0x5f8e1f4d);
        w.s.putUnicodeString(e + w.off("_KLDR_DATA_TABLE_ENTRY", "FullDllName"), buf, full);
        w.s.putUnicodeString(e + w.off("_KLDR_DATA_TABLE_ENTRY", "BaseDllName"), buf + 0x200, name);
    };
    mod(e1, 0xfffff8047ba00000ull, 0x1046000, "\\SystemRoot\\system32\\ntoskrnl.exe", "ntoskrnl.exe", e1 + 0x800);
    mod(e2, 0xfffff8047b940000ull, 0x6000, "\\SystemRoot\\system32\\hal.dll", "hal.dll", e2 + 0x800);
    w.s.link(kModuleHead, {e1 + w.off("_KLDR_DATA_TABLE_ENTRY", "InLoadOrderLinks"),
                           e2 + w.off("_KLDR_DATA_TABLE_ENTRY", "InLoadOrderLinks")});

    uint64_t r = kPool + 0x200000;
    w.s.allocate(r, w.size("_ERESOURCE"));
    w.s.put<int16_t>(r + w.off("_ERESOURCE", "ActiveCount"), 1);
    w.s.put<uint16_t>(r + w.off("_ERESOURCE", "Flag"), 0x80);
    w.s.putPtr(r + w.off("_ERESOURCE", "OwnerEntry.OwnerThread"), t);
    w.s.put<uint32_t>(r + w.off("_ERESOURCE", "OwnerEntry.TableSize"), 1u << 3);  // OwnerCount 1 (bits 3..31)
    w.s.put<uint32_t>(r + w.off("_ERESOURCE", "NumberOfExclusiveWaiters"), 2);
    w.s.link(kResourceHead, {r + w.off("_ERESOURCE", "SystemResourcesList")});
    Kernel k = w.kernel();

    ModuleList mods = k.loadedModules();
    EXPECT_TRUE(mods.walk.complete());
    ASSERT_EQ(mods.modules.size(), 2u);
    EXPECT_EQ(mods.modules[0].base, 0xfffff8047ba00000ull);
    EXPECT_EQ(mods.modules[0].size, 0x1046000u);
    EXPECT_EQ(mods.modules[0].baseName, "ntoskrnl.exe");
    EXPECT_EQ(mods.modules[0].fullName, "\\SystemRoot\\system32\\ntoskrnl.exe");
    EXPECT_EQ(mods.modules[0].timestamp, 0x5f8e1f4du);
    EXPECT_EQ(mods.modules[1].baseName, "hal.dll");

    ResourceList res = k.resources();
    ASSERT_EQ(res.resources.size(), 1u);
    EXPECT_EQ(res.resources[0].address, r);
    EXPECT_TRUE(res.resources[0].exclusive());
    EXPECT_EQ(res.resources[0].activeCount, 1);
    EXPECT_EQ(res.resources[0].exclusiveWaiters, 2u);
    ASSERT_EQ(res.resources[0].owners.size(), 1u);
    EXPECT_EQ(res.resources[0].owners[0].thread, t);
    EXPECT_EQ(res.resources[0].owners[0].count, 1u);
}

TEST(NtObjects, HandleCountFromTheHandleTable) {
    NT_REQUIRE_NT_ISF(isf);
    World w(isf);
    uint64_t p = w.process(0x1a0, "smss.exe");
    uint64_t table = kPool + 0x300000;
    uint64_t leaf0 = kPool + 0x310000, leaf1 = kPool + 0x311000, mid = kPool + 0x312000;
    w.s.allocate(table, w.size("_HANDLE_TABLE"));
    w.s.allocate(leaf0, 0x1000);
    w.s.allocate(leaf1, 0x1000);
    w.s.allocate(mid, 0x1000);
    w.s.putPtr(p + w.off("_EPROCESS", "ObjectTable"), table);
    // Level 0: one page of 256 entries; entry 0 is bookkeeping.
    w.s.put<uint64_t>(leaf0, 0xffff);  // ignored
    for (uint64_t i : {1, 2, 5, 255}) w.s.put<uint64_t>(leaf0 + i * 16, 0xffffc08b12340001ull);
    w.s.put<uint64_t>(table + w.off("_HANDLE_TABLE", "TableCode"), leaf0);
    w.s.put<uint32_t>(table + w.off("_HANDLE_TABLE", "NextHandleNeedingPool"), 0x400);
    Kernel k = w.kernel();
    EXPECT_EQ(k.process(p).handleCount, 4u);

    // Level 1: two leaves; handles below NextHandleNeedingPool only.
    w.s.putPtr(mid, leaf0);
    w.s.putPtr(mid + 8, leaf1);
    for (uint64_t i : {1, 3}) w.s.put<uint64_t>(leaf1 + i * 16, 0xffffc08b12340001ull);
    w.s.put<uint64_t>(leaf1 + 200 * 16, 0xffffc08b12340001ull);  // beyond the allocated handles
    w.s.put<uint64_t>(table + w.off("_HANDLE_TABLE", "TableCode"), mid | 1);
    w.s.put<uint32_t>(table + w.off("_HANDLE_TABLE", "NextHandleNeedingPool"), 0x400 + 4 * 100);
    Kernel k1 = w.kernel();
    EXPECT_EQ(k1.handleCount(table), 6u);

    // A leaf that is not in the dump: no count rather than a low one.
    w.s.putPtr(mid + 8, 0xdead0000);
    Kernel k2 = w.kernel();
    EXPECT_FALSE(k2.handleCount(table));
}

}  // namespace
}  // namespace nt
