// The object model on the real small dump triage_x64.dmp: its TRIAGE_DUMP
// (file offset 0x2000) stores raw copies of the bugcheck CPU's KPRCB
// (PrcbOffset +0x1C), the current EPROCESS (+0x20) and ETHREAD (+0x24).
// The copies are placed at their virtual addresses (KPRCB.CurrentThread,
// KTHREAD.ApcState.Process) in a RangeMemory and decoded with the matching
// ISF.
//
// Oracle: python3 reading the same file bytes at the ISF offsets
// (struct.unpack_from on the EPROCESS at file offset 0xd0b8 and the ETHREAD
// at 0xdaf8): process ffffc08bdce94180 "System", pid 4, parent 0, Peb 0,
// Session 0, ObjectTable ffffad0ec107b080, DirBase 1ad000; thread
// ffffc08bde9e1640 Cid 4.108, Teb 0, state 2, wait reason 0, wait mode 0,
// MiscFlags 0x4409 (Alertable bit 4 clear), stack init ffff850429892c90
// limit ffff85042988d000 base ffff850429893000 current ffff850429891fe0,
// ContextSwitches 408, WaitTime 239, Priority 13, BasePriority 12, start
// fffff8047bc25870, ApcListHead[0] empty. Header PsActiveProcessHead
// fffff8047c61e200 (= System's ActiveProcessLinks.Blink).
#include <gtest/gtest.h>

#include "base/mapped_file.h"
#include "dump/kernel/kernel_target.h"
#include "nt/objects.h"
#include "nt_test_support.h"

namespace nt {
namespace {

constexpr uint64_t kProcess = 0xffffc08bdce94180ull;
constexpr uint64_t kThread = 0xffffc08bde9e1640ull;
constexpr uint64_t kActiveHead = 0xfffff8047c61e200ull;
constexpr uint64_t kPrcbVa = 0xfffff8047a000180ull;  // not in the file; any plausible kernel address

struct TriageWorld {
    MappedFile file;
    RangeMemory mem;
    KernelInfo info;
    uint64_t threadVa = 0, processVa = 0;
};

std::unique_ptr<TriageWorld> loadTriage(const std::string& path, const NtLayout& layout) {
    auto w = std::make_unique<TriageWorld>();
    w->file = MappedFile::open(path);
    Bytes b = w->file.bytes();
    const uint64_t triage = 0x2000;
    uint32_t prcbOff = b.getOr<uint32_t>(triage + 0x1c, 0);
    uint32_t procOff = b.getOr<uint32_t>(triage + 0x20, 0);
    uint32_t threadOff = b.getOr<uint32_t>(triage + 0x24, 0);
    uint32_t stackOff = b.getOr<uint32_t>(triage + 0x28, 0);  // CallStackOffset: the next stored part
    EXPECT_EQ(prcbOff, 0x21b8u);
    EXPECT_EQ(procOff, 0xd0b8u);
    EXPECT_EQ(threadOff, 0xdaf8u);
    Bytes prcb = b.subClamped(prcbOff, procOff - prcbOff);
    Bytes process = b.subClamped(procOff, threadOff - procOff);
    Bytes thread = b.subClamped(threadOff, stackOff - threadOff);
    w->threadVa = prcb.getOr<uint64_t>(*layout.offset("_KPRCB", "CurrentThread"), 0);
    w->processVa = thread.getOr<uint64_t>(*layout.offset("_ETHREAD", "Tcb.ApcState.Process"), 0);
    w->mem.add(kPrcbVa, prcb);
    w->mem.add(w->threadVa, thread);
    w->mem.add(w->processVa, process);
    w->mem.finalize();
    w->info.smallDump = true;
    w->info.storedPrcb = kPrcbVa;
    w->info.storedThread = w->threadVa;
    w->info.storedProcess = w->processVa;
    w->info.psActiveProcessHead = b.getOr<uint64_t>(0x28, 0);  // DUMP_HEADER64.PsActiveProcessHead
    w->info.buildNumber = 19041;
    return w;
}

TEST(NtTriage, StoredProcessDecodes) {
    NT_REQUIRE_CORPUS_FILE(path, test::kTriageX64);
    NT_REQUIRE_NT_ISF(isf);
    NtLayout layout(isf.get(), nullptr);
    auto w = loadTriage(path, layout);
    EXPECT_EQ(w->threadVa, kThread);
    EXPECT_EQ(w->processVa, kProcess);
    Kernel k(w->mem, isf.get(), w->info);
    EXPECT_EQ(k.currentProcess(), kProcess);
    EXPECT_EQ(k.currentThread(), kThread);

    ProcessInfo p = k.process(kProcess);
    EXPECT_TRUE(p.readable);
    EXPECT_EQ(p.headerType, 3);
    EXPECT_EQ(p.imageName, "System");
    EXPECT_EQ(p.pid, 4u);
    EXPECT_EQ(p.parentPid, 0u);
    EXPECT_EQ(p.peb, 0u);
    EXPECT_EQ(p.session, 0u);
    EXPECT_FALSE(p.sessionId);  // "none"
    EXPECT_EQ(p.objectTable, 0xffffad0ec107b080ull);
    EXPECT_EQ(p.dirBase, 0x1ad000u);
    EXPECT_FALSE(p.handleCount);  // the handle table is not in a small dump
    EXPECT_EQ(p.threadListHead, kProcess + 0x5e0);
    // Memory statistics (python3 at EPROCESS+0x7d8 VadRoot, +0x7e8 VadCount,
    // +0x4f8 NumberOfPrivatePages, +0x500 NumberOfLockedPages, +0x7d0
    // ModifiedPageCount, +0x648 CommitCharge, +0x498 VirtualSize, +0x588
    // DeviceMap, +0x4b8 Token = ffffad0ec106550e with its 4 reference bits).
    EXPECT_EQ(p.vadRoot, 0xffffc08bdf3ff960ull);
    EXPECT_EQ(p.vadCount, 30u);
    EXPECT_EQ(p.privatePages, 26u);
    EXPECT_EQ(p.lockedPages, 64u);
    EXPECT_EQ(p.modifiedPages, 106u);
    EXPECT_EQ(p.commitCharge, 52u);
    EXPECT_EQ(p.virtualSize, 8769536u);
    EXPECT_EQ(p.cloneRoot, 0u);
    EXPECT_EQ(p.deviceMap, 0xffffad0ec1047600ull);
    EXPECT_EQ(p.token, 0xffffad0ec1065500ull);
}

TEST(NtTriage, StoredThreadDecodes) {
    NT_REQUIRE_CORPUS_FILE(path, test::kTriageX64);
    NT_REQUIRE_NT_ISF(isf);
    NtLayout layout(isf.get(), nullptr);
    auto w = loadTriage(path, layout);
    Kernel k(w->mem, isf.get(), w->info);
    ThreadInfo t = k.thread(kThread);
    EXPECT_TRUE(t.readable);
    EXPECT_EQ(t.headerType, 6);
    EXPECT_EQ(t.pid, 4u);
    EXPECT_EQ(t.tid, 0x108u);
    EXPECT_EQ(t.teb, 0u);
    EXPECT_EQ(t.win32Thread, 0u);
    EXPECT_EQ(t.state, 2);
    EXPECT_EQ(t.stateName, "Running");
    EXPECT_TRUE(t.isRunning());
    EXPECT_EQ(t.waitReason, 0);
    EXPECT_EQ(t.waitReasonName, "Executive");
    EXPECT_EQ(t.waitMode, 0);
    EXPECT_EQ(t.alertable, false);
    EXPECT_EQ(t.owningProcess, kProcess);
    EXPECT_EQ(t.apcProcess, kProcess);
    EXPECT_FALSE(t.attachedProcess);
    EXPECT_EQ(t.initialStack, 0xffff850429892c90ull);
    EXPECT_EQ(t.stackLimit, 0xffff85042988d000ull);
    EXPECT_EQ(t.stackBase, 0xffff850429893000ull);
    EXPECT_EQ(t.kernelStack, 0xffff850429891fe0ull);
    EXPECT_EQ(t.contextSwitches, 408u);
    EXPECT_EQ(t.waitTime, 239u);
    EXPECT_EQ(t.priority, 13);
    EXPECT_EQ(t.basePriority, 12);
    EXPECT_EQ(t.startAddress, 0xfffff8047bc25870ull);
    EXPECT_EQ(t.win32StartAddress, 0xfffff8047bc25870ull);
    EXPECT_EQ(t.kernelApcPending, false);
    EXPECT_EQ(t.kernelApcListNonEmpty, false);
    EXPECT_TRUE(k.waitBlocks(t).empty());  // running: no wait
}

TEST(NtTriage, ProcessListIsNotInASmallDump) {
    NT_REQUIRE_CORPUS_FILE(path, test::kTriageX64);
    NT_REQUIRE_NT_ISF(isf);
    NtLayout layout(isf.get(), nullptr);
    auto w = loadTriage(path, layout);
    EXPECT_EQ(w->info.psActiveProcessHead, kActiveHead);
    Kernel k(w->mem, isf.get(), w->info);
    ProcessList list = k.processes();
    EXPECT_TRUE(list.processes.empty());
    EXPECT_EQ(list.walk.error(8), "Unable to read _LIST_ENTRY @ fffff8047c61e200");

    // The thread list's head is in the stored EPROCESS; its first entry is not.
    ThreadList threads = k.threads(k.process(kProcess));
    ASSERT_EQ(threads.walk.entries.size(), 1u);
    EXPECT_EQ(threads.walk.entries[0], 0xffffc08bdce7f8e8ull);
    EXPECT_EQ(threads.walk.error(8), "Unable to read _LIST_ENTRY @ ffffc08bdce7f8e8");
    EXPECT_FALSE(threads.threads[0].readable);
}

TEST(NtTriage, ThroughTheKernelDumpTarget) {
    // The same facts through the lead's reader (KernelInfo filled from the
    // dump; debugger data from the triage's KDDEBUGGER_DATA64 copy).
    NT_REQUIRE_CORPUS_FILE(path, test::kTriageX64);
    NT_REQUIRE_NT_ISF(isf);
    KernelDumpTarget t;
    t.file = MappedFile::open(path);
    readKernelDump(t.file.bytes(), t);
    ASSERT_TRUE(t.kernel);
    Kernel k(t.memory(), isf.get(), *t.kernel);
    ASSERT_EQ(k.currentThread(), kThread);
    ASSERT_EQ(k.currentProcess(), kProcess);
    EXPECT_EQ(k.process(kProcess).imageName, "System");
    EXPECT_EQ(k.thread(kThread).tid, 0x108u);

    // Without types, the dump's own debugger data still places the fields it
    // carries — at the offsets the ISF gives.
    ASSERT_TRUE(t.kernel->kdbg.present);
    NtLayout fromKdbg(nullptr, &t.kernel->kdbg, 8);
    NtLayout fromIsf(isf.get(), nullptr);
    for (auto [type, field] : {std::pair{"_KTHREAD", "Teb"}, {"_KTHREAD", "KernelStack"}, {"_KTHREAD", "InitialStack"},
                               {"_KTHREAD", "ApcState.Process"}, {"_KTHREAD", "State"}, {"_EPROCESS", "Peb"},
                               {"_EPROCESS", "InheritedFromUniqueProcessId"}, {"_KPROCESS", "DirectoryTableBase"},
                               {"_KPRCB", "CurrentThread"}}) {
        auto a = fromKdbg.offset(type, field);
        ASSERT_TRUE(a) << type << "." << field;
        EXPECT_EQ(*a, *fromIsf.offset(type, field)) << type << "." << field;
    }
    Kernel bare(t.memory(), nullptr, *t.kernel);
    ThreadInfo bt = bare.thread(kThread);
    EXPECT_EQ(bt.state, 2);
    EXPECT_EQ(bt.teb, 0u);
    EXPECT_EQ(bt.kernelStack, 0xffff850429891fe0ull);
    EXPECT_EQ(bt.apcProcess, kProcess);
    EXPECT_FALSE(bt.tid);  // Cid is not in the debugger data
    EXPECT_EQ(bt.stateName, "Running");  // built-in names
    // Lists need fields the debugger data does not carry: said, not guessed.
    EXPECT_EQ(bare.processes().walk.error(8),
              "NT symbols are incorrect, please fix symbols (no type information for _EPROCESS.ActiveProcessLinks)");
    EXPECT_EQ(bare.loadedModules().walk.error(8),
              "NT symbols are incorrect, please fix symbols (no type information for _KLDR_DATA_TABLE_ENTRY.InLoadOrderLinks)");
}

}  // namespace
}  // namespace nt
