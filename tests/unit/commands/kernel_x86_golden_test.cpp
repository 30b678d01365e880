// Golden transcripts of the kernel commands on a synthetic Windows XP SP3
// world (tests/support/kdump_builder/x86_world_builder.h, layouts from the
// built-in XP SP3 table), non-PAE (ntoskrnl.exe) and PAE (ntkrnlpa.exe),
// each written as full (1), summary (2), triage (4) and bitmap (5, 6)
// dumps: the NT-level x86 half of issue "part 3: kernel dumps" (the
// x86-*.golden / x86pae-*.golden files of kernel_golden_test.cpp are a
// machine-level world without NT types).
//
// The world:
//  * System (pid 4), smss.exe (0x21c), csrss.exe (0x26c, session 0),
//    notepad.exe (0x6f0, session 0); two processors.
//  * System thread 0x3c of mydrv.sys, running on processor 0: it read
//    through a NULL pointer in mydrv!MyDrvFaultyRead+0x1c; the exception
//    went unhandled in a system thread, so nt!PspUnhandledExceptionInSystemThread
//    called KeBugCheckEx(0x1000007E, c0000005, eip, EXCEPTION_RECORD,
//    CONTEXT). The records, the KTRAP_FRAME of the fault and the
//    EXCEPTION_POINTERS lie on that thread's stack (as KiDispatchException
//    leaves them), so the small dump's call-stack copy holds them too.
//  * smss's thread waits on a NotificationEvent (Executive); csrss's
//    thread waits on a NotificationEvent (WrLpcReceive) and owns a Mutant;
//    notepad's thread 0x6f4 waits on a SynchronizationEvent (UserRequest),
//    0x6f8 on that Mutant (UserRequest).
//  * notepad's mutant waiter entered the kernel by sysenter: its user-mode
//    KTRAP_FRAME (KTHREAD.TrapFrame, below its initial stack) is what
//    `.trap` loads; the kernel-mode trap frame of the fault, on the crash
//    stack, is not used (see script()).
//  * notepad's PEB is a user page: kernel dumps (2, 6) leave it out.
//  * Processor 1 runs its idle thread in nt!KiIdleLoop.
//  * The KTSS at selector 0x28 (processor 0's TR) holds, in its register
//    fields, the faulting driver state (as a task switch away from it
//    would have saved it; cf. seed 002's double fault).
//  * nt, hal and mydrv have Breakpad .sym files (FUNC + STACK WIN).
//
// NTRIAGE_UPDATE_GOLDEN=1 rewrites tests/golden/kernel/x86xp[pae]-<type>.golden.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "base/format.h"
#include "commands/engine.h"
#include "dump/kernel/kdbg.h"
#include "dump/open_dump.h"
#include "nt/builtin_types.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/kdump_builder/x86_world_builder.h"
#include "support/test_support.h"
#include "unit/commands/kernel_scenario.h"

namespace nt {
namespace {

namespace kd = test::kdump;
namespace fs = std::filesystem;
using namespace kdbg;

// ---- addresses the world is laid out at -------------------------------------------

constexpr uint64_t kNt = 0x804d7000;
constexpr uint64_t kKiThreadStartup = 0x804ec7a3, kKeBugCheckEx = 0x804f9f43, kKiIdleLoop = 0x80545a90,
                   kPspSystemThreadStartup = 0x805762ec, kPspUnhandled = 0x8057d4b6;
// Where a waiting thread's kernel stack leads: KiSwapContext (frameless, 0x10
// bytes for the four registers it saves) <- KeWaitForSingleObject <-
// NtWaitForSingleObject (ebp frames).
constexpr uint64_t kKiSwapContext = 0x804db924, kSwapContext = 0x804db990, kKeWaitForSingleObject = 0x804dc1a0,
                   kNtWaitForSingleObject = 0x8056c420;
constexpr uint64_t kHal = 0x806d0000;
constexpr uint64_t kMyDrv = 0xf7b2e000, kMyDrvWorker = kMyDrv + 0x1100, kMyDrvFaultyRead = kMyDrv + 0x1200;
constexpr uint64_t kFaultEip = kMyDrvFaultyRead + 0x1c;
constexpr uint64_t kTss = 0x80042000;

// The crash thread's stack (see the comment of buildWorld()).
constexpr uint64_t kStackBase = 0xf78c8000;
constexpr uint64_t kE2 = kStackBase - 0x230, kE1 = kStackBase - 0x260, kE0 = kStackBase - 0x290;
constexpr uint64_t kFaultEsp = kE0 - 0xc, kTrap = kFaultEsp - 0x74;
constexpr uint64_t kCxr = kTrap - 0x2d0, kExr = kCxr - 0x58, kExceptionPointers = kExr - 8;
constexpr uint64_t kB1 = kExr - 0x40, kB0 = kB1 - 0x30, kBugcheckEsp = kB0 - 0x10;

std::vector<uint8_t> bytesOf(std::initializer_list<int> b) {
    std::vector<uint8_t> v;
    for (int x : b) v.push_back(static_cast<uint8_t>(x));
    return v;
}

// The STACK WIN records of a function at `fn` in the module at `base`.
kd::SymStackWin ebpFrame(uint64_t base, uint64_t fn, uint32_t size, uint32_t params) {
    return kd::ebpFrameRecord(static_cast<uint32_t>(fn - base), size, params);
}
kd::SymStackWin fpoFrame(uint64_t base, uint64_t fn, uint32_t size, uint32_t locals = 0) {
    return kd::fpoFrameRecord(static_cast<uint32_t>(fn - base), size, locals);
}


// What the world holds, for the focused assertions.
struct Facts {
    uint64_t system = 0, smss = 0, csrss = 0, notepad = 0;
    uint64_t crashThread = 0, smssThread = 0, csrssThread = 0, npSyncWaiter = 0, npMutantWaiter = 0;
    uint64_t mutant = 0, syncEvent = 0;
    uint64_t systemDirBase = 0;
    uint64_t userTrap = 0;  // notepad's mutant waiter's KTRAP_FRAME (user mode)
};

struct World {
    std::unique_ptr<kd::X86WorldBuilder> w;
    Facts f;
    std::string symDir;
};

// Frames of the crash thread (stack grows down; B = kStackBase):
//   E2 = B-0x230  PspSystemThreadStartup's frame -> KiThreadStartup+0x16
//   E1 = B-0x260  MyDrvWorker's frame            -> PspSystemThreadStartup+0x34
//   E0 = B-0x290  MyDrvFaultyRead's frame        -> MyDrvWorker+0x2a
//   esp at the fault = E0-0xc; the KTRAP_FRAME below it (its HardwareEsp
//   field is where esp pointed: a kernel-mode trap pushes no ss:esp)
//   CONTEXT, EXCEPTION_RECORD, EXCEPTION_POINTERS below the trap frame
//   B1  PspUnhandledExceptionInSystemThread's frame -> PspSystemThreadStartup+0x5e
//       (the exception filter runs with PspSystemThreadStartup's ebp = E2)
//   B0  KeBugCheckEx's frame -> PspUnhandledExceptionInSystemThread+0x1a
World buildWorld(bool pae) {
    World r;
    Facts& f = r.f;
    kd::X86WorldOptions o;
    o.types = builtinTypesFor(Machine::X86, 2600);
    o.pae = pae;
    o.processors = 2;
    kd::X86Module nt;
    nt.file = pae ? "ntkrnlpa.exe" : "ntoskrnl.exe";
    nt.pdb = pae ? "ntkrnlpa.pdb" : "ntoskrnl.pdb";
    nt.guid = pae ? "5EED0A86AE0000000000000000000002" : "5EED0A86000000000000000000000001";
    nt.base = kNt, nt.size = 0x1f8580, nt.timestamp = 0x4802516a, nt.checksum = 0x1f2c3d;
    auto rva = [](uint64_t a) { return static_cast<uint32_t>(a - kNt); };
    nt.funcs = {{rva(kKiThreadStartup), 0x20, 0, "KiThreadStartup"},
                {rva(kKeBugCheckEx), 0x40, 0x14, "KeBugCheckEx"},
                {rva(kKiIdleLoop), 0x60, 0, "KiIdleLoop"},
                {rva(kPspSystemThreadStartup), 0x80, 8, "PspSystemThreadStartup"},
                {rva(kPspUnhandled), 0x40, 4, "PspUnhandledExceptionInSystemThread"},
                {rva(kKiSwapContext), 0x40, 0, "KiSwapContext"},
                {rva(kSwapContext), 0x90, 0, "SwapContext"},
                {rva(kKeWaitForSingleObject), 0x200, 0x14, "KeWaitForSingleObject"},
                {rva(kNtWaitForSingleObject), 0x100, 0xc, "NtWaitForSingleObject"}};
    nt.stackWin = {fpoFrame(kNt, kKiThreadStartup, 0x20), ebpFrame(kNt, kKeBugCheckEx, 0x40, 0x14),
                   fpoFrame(kNt, kKiIdleLoop, 0x60), ebpFrame(kNt, kPspSystemThreadStartup, 0x80, 8),
                   ebpFrame(kNt, kPspUnhandled, 0x40, 4), fpoFrame(kNt, kKiSwapContext, 0x40, 0x10),
                   ebpFrame(kNt, kKeWaitForSingleObject, 0x200, 0x14), ebpFrame(kNt, kNtWaitForSingleObject, 0x100, 0xc)};
    auto w = std::make_unique<kd::X86WorldBuilder>(o, nt);

    kd::X86Module hal;
    hal.file = "hal.dll", hal.pdb = "halaacpi.pdb", hal.guid = "5EED0A86A1000000000000000000000A";
    hal.base = kHal, hal.size = 0x20300, hal.timestamp = 0x48025122, hal.checksum = 0x2a1f3;
    hal.funcs = {{0x1410, 0x20, 0, "KfLowerIrql"}};
    w->addModule(hal);
    kd::X86Module drv;
    drv.file = "mydrv.sys", drv.pdb = "mydrv.pdb", drv.guid = "5EED0A86D2000000000000000000000B";
    drv.base = kMyDrv, drv.size = 0x8000, drv.timestamp = 0x4a5bc3d1, drv.checksum = 0xc4d1;
    drv.funcs = {{0x1100, 0x80, 4, "MyDrvWorker"}, {0x1200, 0x40, 4, "MyDrvFaultyRead"}};
    drv.stackWin = {ebpFrame(kMyDrv, kMyDrvWorker, 0x80, 4), ebpFrame(kMyDrv, kMyDrvFaultyRead, 0x40, 4)};
    w->addModule(drv);

    f.system = w->systemProcess();
    f.systemDirBase = w->kernel().dtb();
    f.smss = w->addProcess({"smss.exe", 0x21c, 4, std::nullopt, std::nullopt, std::nullopt, 0x7ffdf000});
    f.csrss = w->addProcess({"csrss.exe", 0x26c, 0x21c, 0, std::nullopt, std::nullopt, 0x7ffdf000});
    f.notepad = w->addProcess({"notepad.exe", 0x6f0, 0x5c4, 0, std::nullopt, std::nullopt, 0x7ffdf000});

    // notepad's PEB (a user page: only the full dumps, 1 and 5, keep it):
    // InheritedAddressSpace.., Mutant -1, ImageBaseAddress, Ldr.
    for (auto [off, v] : {std::pair<uint32_t, uint32_t>{0, 0}, {4, 0xffffffff}, {8, 0x01000000}, {0xc, 0x00241ea0}})
        w->processSpace(f.notepad).writeU32(0x7ffdf000 + off, v);

    // The crash thread (System, mydrv's worker), running on processor 0.
    kd::X86ThreadSpec ct;
    ct.tid = 0x3c, ct.state = 2, ct.stackBase = kStackBase, ct.startAddress = kMyDrvWorker;
    f.crashThread = w->addThread(f.system, ct);
    w->setCurrentThread(0, f.crashThread);

    // The waiting threads: Waiting (5); KWAIT_REASON Executive 0, UserRequest 6, WrLpcReceive 16.
    kd::X86ThreadSpec s;
    s.tid = 0x220, s.state = 5, s.waitReason = 0, s.waitMode = 0, s.priority = 11, s.basePriority = 11;
    s.startAddress = kNt + 0x1000;
    f.smssThread = w->addThread(f.smss, s);
    w->waitOn(f.smssThread, {w->addEvent(false, false)});
    kd::X86ThreadSpec c = s;
    c.tid = 0x270, c.waitReason = 16, c.waitMode = 1, c.priority = 13, c.basePriority = 13;
    f.csrssThread = w->addThread(f.csrss, c);
    w->waitOn(f.csrssThread, {w->addEvent(false, false)});
    f.mutant = w->addMutant(f.csrssThread);
    kd::X86ThreadSpec a = s;
    a.tid = 0x6f4, a.waitReason = 6, a.waitMode = 1, a.priority = 10, a.basePriority = 8;
    f.npSyncWaiter = w->addThread(f.notepad, a);
    f.syncEvent = w->addEvent(true, false);
    w->waitOn(f.npSyncWaiter, {f.syncEvent});
    kd::X86ThreadSpec b = a;
    b.tid = 0x6f8, b.priority = 8;
    f.npMutantWaiter = w->addThread(f.notepad, b);
    w->waitOn(f.npMutantWaiter, {f.mutant});

    // Code: the faulting instruction (mov eax,dword ptr [ecx] with ecx = 0)
    // and the calls each return address follows.
    w->write(kFaultEip, bytesOf({0x8b, 0x01, 0x89, 0x46, 0x04, 0x5e, 0x5d, 0xc2, 0x04, 0x00, 0xcc, 0xcc, 0xcc, 0xcc,
                                 0xcc, 0xcc}));
    w->write(kMyDrvFaultyRead, bytesOf({0x8b, 0xff, 0x55, 0x8b, 0xec}));
    w->write(kKeBugCheckEx, bytesOf({0x8b, 0xff, 0x55, 0x8b, 0xec}));
    w->write(kKeBugCheckEx + 0x1b, bytesOf({0x8b, 0x45, 0x08, 0xa3, 0x90, 0x40, 0x55, 0x80, 0xe8, 0x10, 0x1b, 0x00,
                                            0x00, 0x6a, 0x00, 0x6a}));
    w->writeCall(kMyDrvWorker + 0x2a, kMyDrvFaultyRead);
    w->writeCall(kPspSystemThreadStartup + 0x34, kMyDrvWorker);
    w->write(kKiThreadStartup + 0x16 - 2, bytesOf({0xff, 0xd0}));  // call eax
    w->writeCall(kPspUnhandled + 0x1a, kKeBugCheckEx);
    w->writeCall(kPspSystemThreadStartup + 0x5e, kPspUnhandled);
    w->write(kKiIdleLoop, bytesOf({0xf3, 0x90, 0xfb, 0x90, 0xfa, 0x8b, 0x43, 0x08}));

    // The stack frames: ChildEBP -> {next ebp, return address, args}.
    struct Frame {
        uint64_t ebp, next, ret;
        std::vector<uint32_t> args;
    };
    const Frame frames[] = {
        {kE2, 0, kKiThreadStartup + 0x16, {static_cast<uint32_t>(kMyDrvWorker), 0x8211d000, 0}},
        {kE1, kE2, kPspSystemThreadStartup + 0x34, {0x8211d000, 0, 0}},
        {kE0, kE1, kMyDrvWorker + 0x2a, {0, 0x8211d000, 0}},
        {kB1, kE2, kPspSystemThreadStartup + 0x5e, {static_cast<uint32_t>(kExceptionPointers), 0, 0}},
        {kB0, kB1, kPspUnhandled + 0x1a,
         {0x1000007e, 0xc0000005, static_cast<uint32_t>(kFaultEip), static_cast<uint32_t>(kExr),
          static_cast<uint32_t>(kCxr)}}};
    for (const auto& fr : frames) {
        w->writeU32(fr.ebp, static_cast<uint32_t>(fr.next));
        w->writeU32(fr.ebp + 4, static_cast<uint32_t>(fr.ret));
        for (size_t i = 0; i < fr.args.size(); ++i) w->writeU32(fr.ebp + 8 + 4 * i, fr.args[i]);
    }
    // MyDrvFaultyRead's pushed esi and locals at the faulting esp.
    w->writeU32(kFaultEsp, 0x8211d020);
    w->writeU32(kFaultEsp + 4, 0);
    w->writeU32(kFaultEsp + 8, 0);

    // The faulting driver state, as the trap frame, the CONTEXT record and the TSS hold it.
    CpuContext fault(Machine::X86);
    fault.set(Reg::Rax, 0);
    fault.set(Reg::Rbx, 0);
    fault.set(Reg::Rcx, 0);
    fault.set(Reg::Rdx, 0x8211d000);
    fault.set(Reg::Rsi, 0x8211d020);
    fault.set(Reg::Rdi, 0x8211d000);
    fault.set(Reg::Rbp, kE0);
    fault.set(Reg::Rsp, kFaultEsp);
    fault.set(Reg::Rip, kFaultEip);
    fault.set(Reg::Cs, 0x8), fault.set(Reg::Ss, 0x10), fault.set(Reg::Ds, 0x23), fault.set(Reg::Es, 0x23);
    fault.set(Reg::Fs, 0x30), fault.set(Reg::Gs, 0);
    fault.set(Reg::Eflags, 0x10246);
    auto raw = fault.serialize();
    uint32_t full = 0x1001f;
    std::memcpy(raw.data(), &full, 4);
    w->write(kCxr, raw);
    // EXCEPTION_RECORD (32-bit): Code, Flags, Record, Address, NumberParameters, Information[15].
    w->write(kExr, std::vector<uint8_t>(0x50, 0));
    w->writeU32(kExr, 0xc0000005);
    w->writeU32(kExr + 0xc, static_cast<uint32_t>(kFaultEip));
    w->writeU32(kExr + 0x10, 2);  // a read (0) of address 0
    w->writeU32(kExceptionPointers, static_cast<uint32_t>(kExr));
    w->writeU32(kExceptionPointers + 4, static_cast<uint32_t>(kCxr));
    // KTRAP_FRAME of the page fault (KiTrap0E, kernel mode: HardwareEsp and
    // HardwareSegSs are the interrupted stack's own dwords).
    auto trap = [&](const char* field, uint64_t v) { w->setField(kTrap, "_KTRAP_FRAME", field, v); };
    trap("DbgEbp", kE0), trap("DbgEip", kFaultEip), trap("DbgArgMark", 0xbadb0d00);
    trap("SegGs", 0), trap("SegEs", 0x23), trap("SegDs", 0x23), trap("Edx", 0x8211d000), trap("Ecx", 0);
    trap("Eax", 0), trap("ExceptionList", kE2 - 0x10), trap("SegFs", 0x30), trap("Edi", 0x8211d000);
    trap("Esi", 0x8211d020), trap("Ebx", 0), trap("Ebp", kE0), trap("ErrCode", 0), trap("Eip", kFaultEip);
    trap("SegCs", 0x8), trap("EFlags", 0x10246);

    // Processor 0's TSS (selector 0x28, TR) with the driver state in its register fields.
    kd::X86TssState tss;
    tss.esp0 = kStackBase - 0x210;
    tss.cr3 = static_cast<uint32_t>(f.systemDirBase);
    tss.eip = static_cast<uint32_t>(kFaultEip), tss.eflags = 0x10246, tss.eax = 0, tss.ecx = 0, tss.edx = 0x8211d000;
    tss.ebx = 0, tss.esp = static_cast<uint32_t>(kFaultEsp), tss.ebp = static_cast<uint32_t>(kE0);
    tss.esi = 0x8211d020, tss.edi = 0x8211d000;
    w->addTss(0x28, kTss, tss, true);
    w->setCurrentTss(0, kTss, 0x28);

    // Processor 0: KeBugCheckEx called by the unhandled-exception filter.
    CpuContext ctx = fault;
    ctx.set(Reg::Rip, kKeBugCheckEx + 0x1b);
    ctx.set(Reg::Rsp, kBugcheckEsp);
    ctx.set(Reg::Rbp, kB0);
    ctx.set(Reg::Rax, 0x1000007e);
    ctx.set(Reg::Rcx, 0);
    ctx.set(Reg::Eflags, 0x246);
    w->setContext(ctx, 0);
    // Processor 1: its idle thread in KiIdleLoop (FPO; 0 at esp ends the stack).
    uint64_t idleEsp = w->threadSpec(w->idleThread(1)).stackBase - 0x300;
    w->writeU32(idleEsp, 0);
    CpuContext idle(Machine::X86);
    idle.set(Reg::Rip, kKiIdleLoop), idle.set(Reg::Rsp, idleEsp), idle.set(Reg::Rbp, 0);
    idle.set(Reg::Cs, 0x8), idle.set(Reg::Ss, 0x10), idle.set(Reg::Ds, 0x23), idle.set(Reg::Es, 0x23);
    idle.set(Reg::Fs, 0x30), idle.set(Reg::Eflags, 0x246);
    w->setContext(idle, 1);

    // !cpuinfo: family 6, model 15, stepping 11 at 2394 MHz.
    for (unsigned i = 0; i < 2; ++i) {
        std::string vendor = "GenuineIntel";
        std::vector<uint8_t> v(vendor.begin(), vendor.end());
        v.push_back(0);
        w->write(w->kprcb(i) + w->layout().offsetOf("_KPRCB", "VendorString"), v);
        w->setField(w->kprcb(i), "_KPRCB", "CpuStep", 0x0f0b);
        w->setField(w->kprcb(i), "_KPRCB", "MHz", 2394);
        w->setField(w->kprcb(i), "_KPRCB", "FeatureBits", 0x20033fff);
    }
    // !vm's counters and !locks' (empty) ExpSystemResourcesList: nt
    // variables in its globals page the XP KDBG points at (64-bit fields,
    // sign-extended pointers).
    const uint64_t data = kNt + 0x17d000, kdbgVa = w->kdbgAddress();
    auto kdbgPointer = [&](uint32_t off, uint64_t va) {
        w->writeU32(kdbgVa + off, static_cast<uint32_t>(va));
        w->writeU32(kdbgVa + off + 4, 0xffffffff);
    };
    const std::pair<uint32_t, uint32_t> counters[] = {{kMmNumberOfPhysicalPages, 0x3ff7e}, {kMmAvailablePages, 0x2d1a4},
                                                      {kMmResidentAvailablePages, 0x36e40},
                                                      {kMmTotalCommittedPages, 0x1b9c2}, {kMmTotalCommitLimit, 0x7bf6e}};
    for (size_t i = 0; i < std::size(counters); ++i) {
        w->writeU32(data + 0x800 + 4 * i, counters[i].second);
        kdbgPointer(counters[i].first, data + 0x800 + 4 * i);
    }
    w->kernel().writeEmptyList(data + 0x900);
    kdbgPointer(kExpSystemResourcesList, data + 0x900);

    // notepad's mutant waiter entered the kernel by sysenter: its user-mode
    // trap frame below the initial stack (KTHREAD.TrapFrame).
    f.userTrap = w->getField(f.npMutantWaiter, "_KTHREAD", "InitialStack") - 0x8c;
    w->setField(f.npMutantWaiter, "_KTHREAD", "TrapFrame", f.userTrap);
    auto utrap = [&](const char* field, uint64_t v) { w->setField(f.userTrap, "_KTRAP_FRAME", field, v); };
    utrap("DbgEbp", 0x0007fec0), utrap("DbgEip", 0x7c90e514), utrap("SegGs", 0), utrap("SegEs", 0x23);
    utrap("SegDs", 0x23), utrap("Edx", 0x7c90e514), utrap("Ecx", 0x7ffdd000), utrap("Eax", 0x103);
    utrap("ExceptionList", 0xffffffff), utrap("SegFs", 0x3b), utrap("Edi", 0), utrap("Esi", 0x7c);
    utrap("Ebx", 0), utrap("Ebp", 0x0007fec0), utrap("ErrCode", 0), utrap("Eip", 0x7c90e514);
    utrap("SegCs", 0x1b), utrap("EFlags", 0x246), utrap("HardwareEsp", 0x0007fe9c), utrap("HardwareSegSs", 0x23);

    // Every waiting thread parked by SwapContext: KTHREAD.KernelStack points
    // at SwapContext's frame (ExceptionList, flags, the return into
    // KiSwapContext), above it KiSwapContext's saved ebp/edi/esi/ebx and its
    // return into KeWaitForSingleObject, whose ebp frame leads to
    // NtWaitForSingleObject's, the last one. Below the user trap frame.
    w->writeCall(kKiSwapContext + 0x2e, kSwapContext);
    w->writeCall(kKeWaitForSingleObject + 0x1a3, kKiSwapContext);
    w->writeCall(kNtWaitForSingleObject + 0x5e, kKeWaitForSingleObject);
    for (uint64_t t : {f.smssThread, f.csrssThread, f.npSyncWaiter, f.npMutantWaiter}) {
        const uint64_t initial = w->getField(t, "_KTHREAD", "InitialStack");
        const uint64_t ks = initial - 0x200, ebpWait = initial - 0x180, ebpNt = initial - 0x100;
        const uint32_t words[] = {0xffffffff, 0x00000000, static_cast<uint32_t>(kKiSwapContext + 0x2e),
                                  static_cast<uint32_t>(ebpWait), 0, 0, 0,
                                  static_cast<uint32_t>(kKeWaitForSingleObject + 0x1a3)};
        for (size_t i = 0; i < std::size(words); ++i) w->writeU32(ks + 4 * i, words[i]);
        w->writeU32(ebpWait, static_cast<uint32_t>(ebpNt));
        w->writeU32(ebpWait + 4, static_cast<uint32_t>(kNtWaitForSingleObject + 0x5e));
        w->writeU32(ebpNt, 0);
        w->writeU32(ebpNt + 4, 0);
        w->setField(t, "_KTHREAD", "KernelStack", ks);
    }

    w->setBugcheck(0x1000007e, {0xc0000005, kFaultEip, kExr, kCxr});
    // The small dump keeps the bytes around the faulting instruction.
    w->addTriageDataBlock(kFaultEip & ~0xffull, 0x100);

    r.symDir = test::BinaryTempDir::get() + (pae ? "/sympae" : "/sym");
    w->writeSymbols(r.symDir);
    r.w = std::move(w);
    return r;
}

// ---- the dumps -----------------------------------------------------------------------------

struct XpCase {
    bool pae = false;
    uint32_t type = kd::kFull;
    std::string kind() const {
        static const std::map<uint32_t, std::string> kinds = {{kd::kFull, "full"},       {kd::kSummary, "summary"},
                                                              {kd::kTriage, "triage"},   {kd::kBitmapFull, "bitmap5"},
                                                              {kd::kBitmapKernel, "bitmap6"}};
        return kinds.at(type);
    }
    std::string name() const { return std::string(pae ? "x86xppae-" : "x86xp-") + kind(); }
};

void PrintTo(const XpCase& c, std::ostream* os) { *os << c.name(); }

std::vector<XpCase> allCases() {
    std::vector<XpCase> out;
    for (bool pae : {false, true})
        for (uint32_t t : {kd::kFull, kd::kSummary, kd::kTriage, kd::kBitmapFull, kd::kBitmapKernel})
            out.push_back({pae, t});
    return out;
}

const World& world(bool pae) {
    static std::map<bool, World> worlds;
    auto it = worlds.find(pae);
    if (it == worlds.end()) it = worlds.emplace(pae, buildWorld(pae)).first;
    return it->second;
}

const std::string& dumpPath(const XpCase& c) {
    static std::map<std::string, std::string> paths;
    auto it = paths.find(c.name());
    if (it != paths.end()) return it->second;
    std::string p = test::BinaryTempDir::get() + "/" + c.name() + ".dmp";
    const_cast<World&>(world(c.pae)).w->buildFile(p, c.type);
    return paths[c.name()] = p;
}

std::unique_ptr<Engine> openXp(const XpCase& c) {
    auto e = std::make_unique<Engine>(openDump(dumpPath(c)));
    e->symbols().setSymbolPath(world(c.pae).symDir);
    e->addTypeSource("nt", builtinTypesFor(Machine::X86, 2600));
    return e;
}

// The command list, the same on every dump type: what a small dump lacks
// (process list, other threads, the GDT) is said in the transcript.
std::vector<std::string> script(const XpCase& c) {
    (void)c;
    const Facts& f = world(c.pae).f;
    auto a = [](uint64_t v) { return addrPlain(v, false); };
    std::vector<std::string> cmds = {"vertarget", ".bugcheck", "lm", "r", "r cr3", "k", "kv", "!pcr", "!prcb", "!irql",
                                     "!running -i", "!running -t", "!vm", "!cpuinfo", "!locks", "db @$ip l10",
                                     "dt nt!_EPROCESS @$proc UniqueProcessId ImageFileName", "!process 0 0",
                                     "!process 0 2", "!process 0 0 notepad.exe", "!process -1 0",
                                     "!process " + a(f.notepad) + " 7", "!process 6f0 0", "!thread",
                                     ".process " + a(f.notepad), ".thread " + a(f.npMutantWaiter), "k", ".thread",
                                     "!thread " + a(f.npMutantWaiter), ".exr " + a(kExr), ".cxr " + a(kCxr), "k",
                                     ".cxr",
                                     // The kernel-mode trap frame of the fault (no ss:esp pushed), then
                                     // the user-mode one of notepad's waiter.
                                     ".trap " + a(kTrap), "k", ".trap " + a(f.userTrap), ".trap", ".tss 28", "k",
                                     ".cxr", "!object " + a(f.mutant), "!object " + a(f.syncEvent),
                                     // notepad's PEB through its DirBase (.process /p: user addresses
                                     // through that process): a user page, kept by the full dumps (1, 5).
                                     ".process /p " + a(f.notepad), "dd 7ffdf000 l4"};
    return cmds;
}

// ---- golden transcripts ----------------------------------------------------------------------

class X86XpGolden : public ::testing::TestWithParam<XpCase> {};

TEST_P(X86XpGolden, TranscriptMatches) {
    const XpCase& c = GetParam();
    auto e = openXp(c);
    auto cmds = script(c);
    std::string joined;
    for (const auto& cmd : cmds) joined += (joined.empty() ? "" : "; ") + cmd;
    static const std::map<uint32_t, std::string> kinds = {
        {kd::kFull, "1 (full)"}, {kd::kSummary, "2 (summary/kernel)"}, {kd::kTriage, "4 (triage/small)"},
        {kd::kBitmapFull, "5 (bitmap full)"}, {kd::kBitmapKernel, "6 (bitmap kernel)"}};
    std::string text = std::string("world: x86 ") + (c.pae ? "PAE" : "non-PAE") +
                       " Windows XP SP3 (X86WorldBuilder, kernel_x86_golden_test.cpp)\ndump type: " +
                       kinds.at(c.type) +
                       "\nsymbols: synthetic Breakpad .sym files; types: built-in XP SP3 table as \"nt\"\ncommands: " +
                       joined + "\n----\n" + test::kernelTranscript(*e, cmds);
    test::checkKernelGolden(c.name() + ".golden", test::withTempDirAsTmp(text));
}

INSTANTIATE_TEST_SUITE_P(Xp, X86XpGolden, ::testing::ValuesIn(allCases()), [](const auto& p) {
    std::string n = p.param.name();
    for (char& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return n;
});

// ---- focused facts: what the builder wrote ------------------------------------------------

std::string hex8(uint64_t v) { return addrPlain(v, false); }

class X86XpFacts : public ::testing::TestWithParam<XpCase> {};

TEST_P(X86XpFacts, CommandsNameTheBuiltObjects) {
    const XpCase& c = GetParam();
    const World& wd = world(c.pae);
    const Facts& f = wd.f;
    auto e = openXp(c);
    ASSERT_TRUE(e->target().isKernel());
    EXPECT_EQ(e->target().kernel->paging, c.pae ? PagingMode::X86Pae : PagingMode::X86);
    EXPECT_EQ(e->target().kernel->bugCheckCode, 0x1000007eu);
    EXPECT_EQ(e->execute("r cr3").text, "cr3=" + hex8(f.systemDirBase) + "\n");

    // !process 0 0: exactly the processes built, in creation order.
    Output ps = e->execute("!process 0 0");
    std::vector<std::string> images, blocks;
    for (const auto& l : test::outputLines(ps.text)) {
        if (l.rfind("    Image: ", 0) == 0) images.push_back(l.substr(11));
        if (l.rfind("PROCESS ", 0) == 0) blocks.push_back(l.substr(8, 8));
    }
    EXPECT_EQ(images, (std::vector<std::string>{"System", "smss.exe", "csrss.exe", "notepad.exe"})) << ps.text;
    EXPECT_EQ(blocks, (std::vector<std::string>{hex8(f.system), hex8(f.smss), hex8(f.csrss), hex8(f.notepad)}))
        << ps.text;
    for (uint64_t p : {f.smss, f.csrss, f.notepad})
        EXPECT_NE(ps.text.find("DirBase: " + hex8(wd.w->processSpace(p).dtb())), std::string::npos) << ps.text;

    // The mutant waiter: the wait on the mutant and its owner (csrss's thread).
    Output th = e->execute("!thread " + hex8(f.npMutantWaiter));
    EXPECT_NE(th.text.find("THREAD " + hex8(f.npMutantWaiter) + "  Cid 06f0.06f8"), std::string::npos) << th.text;
    EXPECT_NE(th.text.find("WAIT: (UserRequest) UserMode Non-Alertable"), std::string::npos) << th.text;
    EXPECT_TRUE(test::hasOutputLine(th.text, "    " + hex8(f.mutant) + "  Mutant - owning thread " + hex8(f.csrssThread)))
        << th.text;
    Output sync = e->execute("!thread " + hex8(f.npSyncWaiter));
    EXPECT_TRUE(test::hasOutputLine(sync.text, "    " + hex8(f.syncEvent) + "  SynchronizationEvent")) << sync.text;

    // The current thread is the crash thread, System's.
    Output cur = e->execute("!thread");
    EXPECT_NE(cur.text.find("THREAD " + hex8(f.crashThread) + "  Cid 0004.003c"), std::string::npos) << cur.text;
    EXPECT_NE(cur.text.find("RUNNING on processor 0"), std::string::npos) << cur.text;

    // .tss 28: the TSS's saved eip/esp/ebp become the scope.
    Output tss = e->execute(".tss 28");
    ASSERT_FALSE(tss.error) << tss.text;
    EXPECT_EQ(tss.json.value("tss", 0ull), kTss);
    EXPECT_NE(tss.text.find("mydrv!MyDrvFaultyRead+0x1c:"), std::string::npos) << tss.text;
    EXPECT_NE(tss.text.find("eip=" + hex8(kFaultEip) + " esp=" + hex8(kFaultEsp) + " ebp=" + hex8(kE0)),
              std::string::npos)
        << tss.text;
    e->execute(".cxr");

    // notepad's PEB through its DirBase: a user page, in the full dumps only.
    e->execute(".process /p " + hex8(f.notepad));
    Output peb = e->execute("dd 7ffdf000 l4");
    if (c.type == kd::kFull || c.type == kd::kBitmapFull)
        EXPECT_EQ(peb.text, "7ffdf000  00000000 ffffffff 01000000 00241ea0\n");
    else
        EXPECT_EQ(peb.text, "7ffdf000  ???????? ???????? ???????? ????????\n");
}

// What the small dump keeps: the bugcheck processor's stack (so the
// exception records and the stack behind .cxr), nt's globals; not the
// other processes or their threads.
class X86XpStack : public ::testing::TestWithParam<XpCase> {};

TEST_P(X86XpStack, RecordsOnTheCrashStackWork) {
    const XpCase& c = GetParam();
    const Facts& f = world(c.pae).f;
    auto e = openXp(c);
    Output exr = e->execute(".exr " + hex8(kExr));
    EXPECT_NE(exr.text.find("   ExceptionCode: c0000005 (Access violation)"), std::string::npos) << exr.text;
    EXPECT_NE(exr.text.find("ExceptionAddress: f7b2f21c"), std::string::npos) << exr.text;
    EXPECT_NE(exr.text.find("Attempt to read from address 00000000"), std::string::npos) << exr.text;
    Output cxr = e->execute(".cxr " + hex8(kCxr));
    ASSERT_FALSE(cxr.error) << cxr.text;
    EXPECT_NE(cxr.text.find("eip=f7b2f21c esp=f78c7d64 ebp=f78c7d70"), std::string::npos) << cxr.text;
    auto k = test::outputLines(e->execute("k").text);
    ASSERT_GE(k.size(), 6u);
    // Triage: mydrv's header page is not in the dump, so no CodeView record names its .sym.
    const bool small = c.type == kd::kTriage;
    EXPECT_EQ(k[2], small ? "00 f78c7d70 f7b2f12a     mydrv+0x121c" : "00 f78c7d70 f7b2f12a     mydrv!MyDrvFaultyRead+0x1c");
    EXPECT_EQ(k[4], "02 f78c7dd0 804ec7b9     nt!PspSystemThreadStartup+0x34");
    EXPECT_EQ(k[5], "03 00000000 00000000     nt!KiThreadStartup+0x16");
    e->execute(".cxr");
    auto kb = test::outputLines(e->execute("k").text);
    ASSERT_GE(kb.size(), 3u);
    EXPECT_EQ(kb[1], "00 f78c7958 8057d4d0     nt!KeBugCheckEx+0x1b");
    EXPECT_EQ(kb[2], "01 f78c7988 8057634a     nt!PspUnhandledExceptionInSystemThread+0x1a");
    if (small) {
        EXPECT_EQ(e->execute("!process " + hex8(f.notepad) + " 7").text, "Unable to read _EPROCESS @ " + hex8(f.notepad) + "\n");
    }
    // A waiting thread unwinds from its switch frame (KTHREAD.KernelStack):
    // the return into KiSwapContext, then its callers; a small dump does not
    // hold that stack and says so.
    e->execute(".thread " + hex8(f.npMutantWaiter));
    auto kw = test::outputLines(e->execute("k").text);
    if (small) {
        ASSERT_EQ(kw.size(), 1u);
        EXPECT_EQ(kw[0], "Unable to get current thread context");
    } else {
        ASSERT_EQ(kw.size(), 5u);
        EXPECT_EQ(kw[2].substr(0, 3) + kw[2].substr(25), "00 nt!KiSwapContext+0x2e");
        EXPECT_EQ(kw[3].substr(25), "nt!KeWaitForSingleObject+0x1a3");
        EXPECT_EQ(kw[4].substr(25), "nt!NtWaitForSingleObject+0x5e");
        EXPECT_EQ(kw[2].substr(12, 8), "804dc343");  // KeWaitForSingleObject+0x1a3
    }
    e->execute(".thread");
}

INSTANTIATE_TEST_SUITE_P(Xp, X86XpFacts,
                         ::testing::Values(XpCase{false, kd::kFull}, XpCase{true, kd::kBitmapKernel}),
                         [](const auto& p) { return p.param.pae ? std::string("PaeBitmap6") : std::string("Full"); });
INSTANTIATE_TEST_SUITE_P(Xp, X86XpStack,
                         ::testing::Values(XpCase{false, kd::kSummary}, XpCase{false, kd::kTriage},
                                           XpCase{true, kd::kTriage}),
                         [](const auto& p) {
                             std::string n = p.param.name();
                             for (char& ch : n)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

}  // namespace
}  // namespace nt
