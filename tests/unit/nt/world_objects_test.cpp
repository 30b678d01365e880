// The object model over the synthetic NT world (tests/support/kdump_builder,
// the contract /tmp/nt-world.md): the world is written as a real PAGEDU64
// file, opened by the kernel reader, and read back through page tables.
// What the builder put in is the oracle.
#include <gtest/gtest.h>

#include "base/format.h"
#include "dump/kernel/kernel_target.h"
#include "nt/objects.h"
#include "nt_test_support.h"
#include "support/kdump_builder/nt_world_builder.h"

namespace nt {
namespace {

namespace kd = test::kdump;

struct Opened {
    std::vector<uint8_t> bytes;
    KernelDumpTarget target;
    std::unique_ptr<Kernel> kernel;
};

std::unique_ptr<Opened> open(kd::NtWorldBuilder& w, uint32_t dumpType, const isf::IsfFile& isf) {
    auto o = std::make_unique<Opened>();
    o->bytes = w.build(dumpType);
    readKernelDump(Bytes(o->bytes.data(), o->bytes.size()), o->target);
    EXPECT_TRUE(o->target.kernel);
    if (!o->target.kernel) return o;
    o->kernel = std::make_unique<Kernel>(o->target.memory(), &isf, *o->target.kernel);
    uint64_t base = o->target.kernel->kernelBase;
    const isf::IsfFile* f = &isf;
    o->kernel->setSymbolResolver([f, base](std::string_view n) -> std::optional<uint64_t> {
        auto rva = f->rvaOf(n);
        if (!rva || !base) return std::nullopt;
        return base + *rva;
    });
    return o;
}

class NtWorld : public ::testing::Test {
protected:
    void SetUp() override {
        isf_ = test::ntIsf();
        if (!isf_) GTEST_SKIP() << "corpus file not found: " << test::kNtIsf;
        w = std::make_unique<kd::NtWorldBuilder>(test::corpusFile(test::kNtIsf));
    }
    std::shared_ptr<isf::IsfFile> isf_;
    std::unique_ptr<kd::NtWorldBuilder> w;
};

TEST_F(NtWorld, ProcessesThreadsAndWaits) {
    uint64_t smss = w->addProcess("smss.exe", 0x1a0, 4);
    uint64_t app = w->addProcess("contoso.exe", 0xa50, 0x1a0);
    uint64_t runner = w->addThread(app, 0xa54, kd::Running, 0, kd::KernelMode);
    kd::ThreadSpec ws;
    ws.tid = 0xa8c;
    ws.state = kd::Waiting;
    ws.waitReason = 6;  // UserRequest
    ws.waitMode = kd::UserMode;
    ws.alertable = true;
    ws.priority = 10;
    ws.basePriority = 8;
    ws.contextSwitches = 1234;
    ws.waitTime = 0x400;
    ws.win32StartAddress = 0x7ff6b6611000;
    kd::ThreadInfo waiterInfo = w->addThread(app, ws);
    uint64_t waiter = waiterInfo.ethread;
    uint64_t ev = w->addEvent(true, false, "ContosoReady");
    uint64_t sem = w->addSemaphore(0xffff, 0);
    uint64_t mutant = w->addMutant(runner);
    w->waitOn(waiter, {ev, sem, mutant, runner, smss});
    auto o = open(*w, 1, *isf_);
    ASSERT_TRUE(o->kernel);
    Kernel& k = *o->kernel;

    ProcessList list = k.processes();
    EXPECT_TRUE(list.walk.complete()) << list.walk.error(8);
    ASSERT_EQ(list.processes.size(), 3u);  // System, smss.exe, contoso.exe (Idle is not listed)
    EXPECT_EQ(list.processes[0].address, w->systemProcess());
    EXPECT_EQ(list.processes[0].imageName, "System");
    EXPECT_EQ(list.processes[0].pid, 4u);
    EXPECT_EQ(list.processes[0].peb, 0u);
    EXPECT_FALSE(list.processes[0].sessionId);
    EXPECT_EQ(list.processes[1].address, smss);
    EXPECT_EQ(list.processes[1].parentPid, 4u);
    EXPECT_EQ(list.processes[1].sessionId, 1u);
    EXPECT_EQ(list.processes[1].dirBase, w->processSpace(smss).dtb());
    EXPECT_EQ(list.processes[2].imageName, "contoso.exe");

    ThreadList threads = k.threads(list.processes[2]);
    EXPECT_TRUE(threads.walk.complete());
    ASSERT_EQ(threads.threads.size(), 2u);
    EXPECT_EQ(threads.threads[0].address, runner);
    EXPECT_EQ(threads.threads[0].stateName, "Running");
    const ThreadInfo& t = threads.threads[1];
    EXPECT_EQ(t.address, waiter);
    EXPECT_EQ(t.pid, 0xa50u);
    EXPECT_EQ(t.tid, 0xa8cu);
    EXPECT_EQ(t.stateName, "Waiting");
    EXPECT_EQ(t.waitReasonName, "UserRequest");
    EXPECT_EQ(t.waitMode, 1);
    EXPECT_EQ(t.alertable, true);
    EXPECT_EQ(t.priority, 10);
    EXPECT_EQ(t.basePriority, 8);
    EXPECT_EQ(t.contextSwitches, 1234u);
    EXPECT_EQ(t.waitTime, 0x400u);
    EXPECT_EQ(t.win32StartAddress, 0x7ff6b6611000u);
    EXPECT_EQ(t.owningProcess, app);
    EXPECT_EQ(t.stackBase, waiterInfo.stackBase);
    EXPECT_EQ(t.stackLimit, waiterInfo.stackLimit);
    EXPECT_EQ(t.initialStack, waiterInfo.initialStack);
    EXPECT_EQ(t.kernelStack, waiterInfo.kernelStack);

    auto objs = k.waitObjects(t);
    ASSERT_EQ(objs.size(), 5u);
    EXPECT_EQ(objs[0].address, ev);
    EXPECT_EQ(objs[0].name, "SynchronizationEvent");
    EXPECT_EQ(objs[1].name, "Semaphore Limit 0xffff");
    EXPECT_EQ(objs[2].name, "Mutant - owning thread " + addrPlain(runner, true));
    EXPECT_EQ(objs[3].name, "Thread");
    EXPECT_EQ(objs[4].name, "Process");

    // Object headers: encoded TypeIndex, type names from ObTypeIndexTable, NAME_INFO.
    auto eh = k.objectHeader(ev);
    ASSERT_TRUE(eh);
    EXPECT_EQ(eh->header, w->objectHeader(ev));
    EXPECT_EQ(eh->typeIndex, w->typeIndex("Event"));
    EXPECT_EQ(eh->typeObject, w->typeObject("Event"));
    EXPECT_EQ(eh->typeName, "Event");
    EXPECT_EQ(eh->name, "ContosoReady");
    EXPECT_EQ(k.objectHeader(app)->typeName, "Process");
    EXPECT_EQ(k.objectHeader(waiter)->typeName, "Thread");
}

TEST_F(NtWorld, CurrentThreadModulesAndResources) {
    uint64_t app = w->addProcess("contoso.exe", 0xa50, 4);
    uint64_t owner = w->addThread(app, 0xa54, kd::Running, 0, kd::KernelMode);
    uint64_t waiter = w->addThread(app, 0xa58, kd::Waiting, 27, kd::KernelMode);  // WrResource
    w->setCurrentThread(0, owner);
    kd::ResourceSpec rs;
    rs.owners = {owner};
    rs.exclusive = true;
    rs.exclusiveWaiters = {waiter};
    rs.contentionCount = 3;
    uint64_t res = w->addResource(rs);
    w->addDriver("contoso.sys", 0xfffff8048b580000ull, 0x3b000, 0x5f000000);
    auto o = open(*w, 1, *isf_);
    ASSERT_TRUE(o->kernel);
    Kernel& k = *o->kernel;

    EXPECT_EQ(k.currentThread(), owner);
    EXPECT_EQ(k.currentProcess(), app);
    EXPECT_EQ(k.processorBlock(0), w->kprcb(0));

    ModuleList mods = k.loadedModules();
    EXPECT_TRUE(mods.walk.complete());
    ASSERT_EQ(mods.modules.size(), 3u);
    EXPECT_EQ(mods.modules[0].baseName, "ntoskrnl.exe");
    EXPECT_EQ(mods.modules[0].base, w->kernBase());
    EXPECT_EQ(mods.modules[0].fullName, "\\SystemRoot\\system32\\ntoskrnl.exe");
    EXPECT_EQ(mods.modules[1].baseName, "hal.dll");
    EXPECT_EQ(mods.modules[2].baseName, "contoso.sys");
    EXPECT_EQ(mods.modules[2].size, 0x3b000u);
    EXPECT_EQ(mods.modules[2].timestamp, 0x5f000000u);

    ResourceList rl = k.resources();
    EXPECT_TRUE(rl.walk.complete());
    const ResourceInfo* found = nullptr;
    for (const auto& r : rl.resources)
        if (r.address == res) found = &r;
    ASSERT_NE(found, nullptr);
    EXPECT_TRUE(found->exclusive());
    EXPECT_EQ(found->contentionCount, 3u);
    EXPECT_EQ(found->exclusiveWaiters, 1u);
    ASSERT_EQ(found->owners.size(), 1u);
    EXPECT_EQ(found->owners[0].thread, owner);
    EXPECT_EQ(k.thread(waiter).waitReasonName, "WrResource");
}

TEST_F(NtWorld, SwitchFrameOfAWaitingThread) {
    uint64_t app = w->addProcess("contoso.exe", 0xa50, 4);
    kd::ThreadSpec s;
    s.tid = 0xa58;
    kd::ThreadInfo ti = w->addThread(app, s);
    // What SwapContext leaves at KernelStack: _KSWITCH_FRAME {.., Rbp @0x30, Return @0x38}.
    uint64_t ret = w->symbol("KiSwapContext") + 0x76;
    w->kernel().writeU64(ti.kernelStack + 0x30, 0xfffff68000123450ull);
    w->kernel().writeU64(ti.kernelStack + 0x38, ret);
    auto o = open(*w, 1, *isf_);
    ASSERT_TRUE(o->kernel);
    auto sf = o->kernel->switchFrame(o->kernel->thread(ti.ethread));
    ASSERT_TRUE(sf);
    EXPECT_EQ(sf->ip, ret);
    EXPECT_EQ(sf->sp, ti.kernelStack + 0x40);
    EXPECT_EQ(sf->fp, 0xfffff68000123450ull);
}

TEST_F(NtWorld, SmallDumpOfTheWorldHasOnlyTheCurrentThread) {
    uint64_t app = w->addProcess("contoso.exe", 0xa50, 4);
    uint64_t owner = w->addThread(app, 0xa54, kd::Running, 0, kd::KernelMode);
    w->setCurrentThread(0, owner);
    auto o = open(*w, 4, *isf_);
    ASSERT_TRUE(o->kernel);
    Kernel& k = *o->kernel;
    EXPECT_EQ(k.currentThread(), owner);
    EXPECT_EQ(k.currentProcess(), app);
    EXPECT_EQ(k.process(app).imageName, "contoso.exe");
    EXPECT_EQ(k.thread(owner).tid, 0xa54u);
    ProcessList list = k.processes();
    EXPECT_TRUE(list.processes.empty());
    EXPECT_EQ(list.walk.error(8), "Unable to read _LIST_ENTRY @ " + addrPlain(w->symbol("PsActiveProcessHead"), true));
}

}  // namespace
}  // namespace nt
