// Seed 001 (/work/shared/seeds/001_3e633882c5916c79.txt): a .NET console
// program blocked in Console.ReadLine, seen from the kernel in two dumps.
//
// 1. A notmyfault crash dump (full, Windows 10 x64): `!process 0 2
//    ConsoleApp1.exe` lists four threads and what each waits on; `.thread`
//    on the main thread, then `k`, walks its kernel stack from the switch
//    frame (nt!KiSwapContext) through the wait and the read down to
//    nt!KiSystemServiceCopyEnd, whose trap frame returns to user mode
//    (0x00007ffa`2fb4d124, no user module known).
// 2. A procdump -mk "kernel minidump" of the same process: the process list
//    is not in it (`!process 0 2 ...` -> "Unable to read _LIST_ENTRY @
//    <PsActiveProcessHead>"), the stored process is shown by `!process`, and
//    the main thread, caught by the snapshot APC while it waited, unwinds
//    from nt!DbgkpLkmdSnapThreadInContext.
//
// Both are rebuilt with NtWorldBuilder over the 19041 ISF at the seed's
// object addresses. nt's functions sit at that build's RVAs (not the seed's
// build), with made-up prologs whose frame sizes reproduce the seed's
// Child-SP column; the stack is unwound from .pdata/.xdata in the dump like
// a real one. The ISF has only public symbols: the seed's private frames
// (nt!IopWaitForSynchronousIoEvent, nt!IopReadFile) are folded into their
// public callers, and where the seed's offsets do not fit this build's
// function sizes the procdump dump's offsets are used (+0x238, +0x599).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "base/format.h"
#include "commands/engine.h"
#include "commands/kernel_process_commands.h"
#include "dump/open_dump.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/test_support.h"
#include "unit/commands/kernel_scenario.h"

namespace nt {
namespace {

namespace kd = test::kdump;

constexpr const char* kIsf = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

// The seed's addresses (notmyfault dump).
constexpr uint64_t kKernBase = 0xfffff80052a00000ull;
constexpr uint64_t kProcess = 0xffffdb05c1641080ull;
constexpr uint64_t kMainThread = 0xffffdb05bf3c7080ull;  // 1bc8.0924
constexpr uint64_t kThread07c8 = 0xffffdb05c0fc6080ull;
constexpr uint64_t kThread17dc = 0xffffdb05be694080ull;
constexpr uint64_t kThread1020 = 0xffffdb05be7e2080ull;
constexpr uint64_t kReadEvent = 0xffffdb05c1902ef8ull;  // the console handle's FILE_OBJECT.Event
constexpr uint64_t kMainStackBase = 0xfffff50f606ee000ull;
constexpr uint64_t kMainKernelStack = 0xfffff50f606ed530ull;  // frame 00's Child-SP - sizeof(_KSWITCH_FRAME)
constexpr uint64_t kUserRip = 0x00007ffa2fb4d124ull, kUserRsp = 0x000000fd8797e108ull;

std::string p(uint64_t a) { return addrPlain(a, true); }

kd::ThreadSpec waiting(uint64_t tid, uint8_t reason, uint8_t mode, bool alertable, uint64_t teb) {
    kd::ThreadSpec s;
    s.tid = tid;
    s.state = kd::Waiting;
    s.waitReason = reason;
    s.waitMode = mode;
    s.alertable = alertable;
    s.teb = teb;
    s.priority = 9;
    s.basePriority = 8;
    return s;
}

// nt's functions on the main thread's stacks: frame sizes (pushes * 8 +
// alloc + 8 for the return address) are the seed's Child-SP differences.
// The two dumps come from two machines (nt at fffff800`52.. and
// fffff804`5e.., NtReadFile+0x8a8 and +0x599): NtReadFile's frame differs.
struct NtCode {
    const kd::X64Function *swapContext, *swapThread, *commitWait, *waitSingle, *serviceTail, *readFile, *copyEnd;
    const kd::X64Function *snapInContext = nullptr, *snapApc = nullptr, *deliverApc = nullptr;
};

const std::vector<uint8_t> kAllNonVolatile = {5, 3, 6, 7, 12, 13, 14, 15};

NtCode defineNtCode(kd::NtWorldBuilder& w, uint32_t readFileAlloc, bool snapshot) {
    NtCode c{};
    c.swapContext = &w.defineNtFunction("KiSwapContext", kd::framedProlog({}, 0x138));
    c.swapThread = &w.defineNtFunction("KiSwapThread", kd::framedProlog({3, 6, 7, 12, 13, 14, 15}, 0x70));
    c.commitWait = &w.defineNtFunction("KiCommitThreadWait", kd::framedProlog({3, 5, 6, 7, 14}, 0x70));
    c.waitSingle = &w.defineNtFunction("KeWaitForSingleObject", kd::framedProlog({3, 6, 7, 12, 13, 14, 15}, 0xb0));
    c.serviceTail = &w.defineNtFunction("IopSynchronousServiceTail", kd::framedProlog({3, 6, 7}, 0x80));
    c.readFile = &w.defineNtFunction("NtReadFile", kd::framedProlog(kAllNonVolatile, readFileAlloc));
    // KiSystemCall64's service-copy tail: the KTRAP_FRAME (its machine frame
    // at the Rip field, +0x168) starts 0x70 above this frame's Child-SP.
    kd::X64Prolog trap = kd::framedProlog({}, 0x70 + 0x168);
    trap.machineFrame = true;
    c.copyEnd = &w.defineNtFunction("KiSystemServiceCopyEnd", trap);
    if (snapshot) {
        c.snapInContext = &w.defineNtFunction("DbgkpLkmdSnapThreadInContext", kd::framedProlog(kAllNonVolatile, 0x4f8));
        c.snapApc = &w.defineNtFunction("DbgkpLkmdSnapThreadApc", kd::framedProlog({}, 0x28));
        c.deliverApc = &w.defineNtFunction("KiDeliverApc", kd::framedProlog(kAllNonVolatile, 0x68));
    }
    return c;
}

// From the wait in NtReadFile down to the system call.
std::vector<kd::X64FrameSite> readFileStack(const NtCode& c, uint32_t swapThreadOffset) {
    return {{c.swapThread, c.swapThread->start + swapThreadOffset}, {c.commitWait, c.commitWait->start + 0x14f},
            {c.waitSingle, c.waitSingle->start + 0x233},             {c.serviceTail, c.serviceTail->start + 0x238},
            {c.readFile, c.readFile->start + 0x599},                 {c.copyEnd, c.copyEnd->start + 0x25}};
}

struct NotMyFaultWorld {
    std::unique_ptr<kd::NtWorldBuilder> w;
    kd::X64StackLayout mainStack;
    std::vector<uint8_t> bytes;
};

NotMyFaultWorld buildNotMyFault(const std::string& isf) {
    NotMyFaultWorld s;
    kd::NtWorldOptions opt;
    opt.kernBase = kKernBase;
    opt.processors = 2;
    opt.bugcheckProcessor = 1;  // the seed's prompt is "1: kd>"
    s.w = std::make_unique<kd::NtWorldBuilder>(isf, opt);
    kd::NtWorldBuilder& w = *s.w;
    NtCode code = defineNtCode(w, 0x1f8, false);  // NtReadFile's frame also holds the seed's IopReadFile

    w.setPoolCursor(kProcess - 0x30);
    uint64_t proc = w.addProcess(kd::ProcessSpec{"ConsoleApp1.exe", 0x1bc8, 0x15ec, 1, 0xfd877dd000ull,
                                                 "\\Device\\HarddiskVolume3\\testdump\\ConsoleApp1.exe"});

    // The main thread reads the console synchronously: it waits (Executive,
    // KernelMode, Alertable) on the file object's own event.
    kd::ThreadSpec mainSpec = waiting(0x924, 0 /* Executive */, kd::KernelMode, true, 0xfd877de000ull);
    mainSpec.stackBase = kMainStackBase;
    w.setPoolCursor(kMainThread - 0x30);
    uint64_t main = w.addThread(proc, mainSpec).ethread;
    w.setField(main, "_ETHREAD", "Tcb.Win32Thread", 0xffffdb05c00d0ad0ull);
    const uint64_t eventOffset = w.layout().offsetOf("_FILE_OBJECT", "Event");
    w.setPoolCursor(kReadEvent - eventOffset - 0x30);
    uint64_t file = w.allocObject("File", w.layout().sizeOf("_FILE_OBJECT"));
    uint64_t ev = file + eventOffset;
    w.setField(ev, "_KEVENT", "Header.Type", 0);  // NotificationEvent
    w.setField(ev, "_KEVENT", "Header.Size", w.layout().sizeOf("_KEVENT") / 4);
    w.kernel().writeEmptyList(ev + w.layout().offsetOf("_KEVENT", "Header.WaitListHead"));
    w.waitOn(main, {ev});
    std::vector<kd::X64FrameSite> frames = readFileStack(code, 0x500);
    frames.insert(frames.begin(), {code.swapContext, code.swapContext->start + 0x76});
    s.mainStack = w.setWaitingStack(main, kMainKernelStack, frames, {kUserRip, kUserRsp});

    auto event = [&](uint64_t at, bool sync) {
        w.setPoolCursor(at - 0x30);
        return w.addEvent(sync, false);
    };
    w.setPoolCursor(kThread07c8 - 0x30);
    uint64_t t07c8 = w.addThread(proc, waiting(0x7c8, 6 /* UserRequest */, kd::UserMode, false, 0xfd877e4000ull)).ethread;
    w.waitOn(t07c8, {event(0xffffdb05be642ae0ull, false)});
    w.setPoolCursor(kThread17dc - 0x30);
    uint64_t t17dc = w.addThread(proc, waiting(0x17dc, 6, kd::UserMode, false, 0xfd877e6000ull)).ethread;
    w.waitOn(t17dc, {event(0xffffdb05be645860ull, true), event(0xffffdb05be646e60ull, true),
                     event(0xffffdb05be645d60ull, true)});
    w.setPoolCursor(kThread1020 - 0x30);
    uint64_t t1020 = w.addThread(proc, waiting(0x1020, 6, kd::UserMode, false, 0xfd877e8000ull)).ethread;
    w.waitOn(t1020, {event(0xffffdb05b68b53a0ull, false), event(0xffffdb05be651de0ull, true)});

    // notmyfault's default "High IRQL fault" on processor 1: myfault.sys
    // touches paged memory at DISPATCH_LEVEL from an IOCTL; the page fault's
    // trap frame (with its error code) sits between nt's bugcheck frames
    // and myfault's, the system call's between nt's and notmyfault64.exe's.
    constexpr uint64_t kMyfault = 0xfffff80067d60000ull;
    kd::X64Image& myfault = w.addDriverImage("myfault.sys", kMyfault, 0x7000, 0x5f4ad8b2, "myfault.pdb",
                                             "9A0F6C4E2B3D4F5A8C7E6D5B4A392817");
    const auto& ioctl = myfault.addFunction("myfault_ioctl", 0x12a0, 0x100, kd::framedProlog({3}, 0x20));
    const auto& dispatch = myfault.addFunction("myfault_dispatch", 0x1600, 0x200, kd::framedProlog({3, 6, 7}, 0x40));
    kd::X64Prolog pageFault = kd::framedProlog({}, 0x158);
    pageFault.machineFrame = pageFault.errorCode = true;
    const auto& bugcheck = w.defineNtFunction("KeBugCheckEx", kd::framedProlog({}, 0x108));
    const auto& bugDispatch = w.defineNtFunction("KiBugCheckDispatch", kd::framedProlog({}, 0x138));
    const auto& kiPageFault = w.defineNtFunction("KiPageFault", pageFault);
    const auto& callDriver = w.defineNtFunction("IofCallDriver", kd::framedProlog({3, 6}, 0x28));
    const auto& xxxControl = w.defineNtFunction("IopXxxControlFile", kd::framedProlog(kAllNonVolatile, 0x148));
    const auto& deviceIo = w.defineNtFunction("NtDeviceIoControlFile", kd::framedProlog({}, 0x68));
    w.setPoolCursor(0xffffdb05c3e1a080ull - 0x30);
    uint64_t nmf = w.addProcess(kd::ProcessSpec{"notmyfault64.exe", 0x2c40, 0x15ec, 1, 0, {}});
    kd::ThreadSpec crashSpec;
    crashSpec.tid = 0x2c44;
    crashSpec.state = kd::Running;
    crashSpec.stackBase = 0xfffff50f61e8a000ull;
    uint64_t crasher = w.addThread(nmf, crashSpec).ethread;
    const uint64_t faultSp = 0xfffff50f61e89500ull;  // myfault's rsp when it touched the page
    w.setRunningStack(1, crasher, 0xfffff50f61e88f08ull,
                      {{&bugcheck, bugcheck.start},
                       {&bugDispatch, bugDispatch.start + 0x69},
                       {&kiPageFault, kiPageFault.start + 0x469},
                       {&ioctl, kMyfault + 0x12f0, faultSp},
                       {&dispatch, dispatch.start + 0xa1},
                       {&callDriver, callDriver.start + 0x55},
                       {code.serviceTail, code.serviceTail->start + 0x1a8},
                       {&xxxControl, xxxControl.start + 0x5e5},
                       {&deviceIo, deviceIo.start + 0x56},
                       {code.copyEnd, code.copyEnd->start + 0x25}},
                      {0x00007ff6a3b21c4aull, 0x000000c2a57fe3f8ull});
    w.setBugcheck(0xd1, {0xffffdb05c4f5e010ull, 2, 0, kMyfault + 0x12f0});
    s.bytes = w.build(kd::kFull);
    return s;
}

// ---- the procdump -mk dump -----------------------------------------------------

constexpr uint64_t kMkKernBase = 0xfffff8045d600000ull;
constexpr uint64_t kMkProcess = 0xffffcf8d5d5b0080ull;
constexpr uint64_t kMkMain = 0xffffcf8d5ae14080ull;  // 3adc.5920, running the snapshot APC on processor 0
constexpr uint64_t kMkOthers[] = {0xffffcf8d4f63e080ull, 0xffffcf8d69a32080ull, 0xffffcf8d55003580ull};
constexpr uint64_t kMkOtherTids[] = {0x2240, 0x514, 0x3c68};
constexpr uint64_t kMkStackBase = 0xffffe10d62388000ull;
constexpr uint64_t kMkChildSp0 = 0xffffe10d62386fb0ull;
constexpr uint64_t kMkUserRip = 0x00007ffe6390d184ull, kMkUserRsp = 0x000000d67c9fe328ull;

struct KernelMinidumpWorld {
    std::unique_ptr<kd::NtWorldBuilder> w;
    kd::X64StackLayout mainStack;
    std::vector<uint8_t> bytes;
    std::vector<uint8_t> ntoskrnl;  // the kernel image file, for the image path
};

KernelMinidumpWorld buildKernelMinidump(const std::string& isf) {
    KernelMinidumpWorld s;
    kd::NtWorldOptions opt;
    opt.kernBase = kMkKernBase;
    opt.processors = 2;
    s.w = std::make_unique<kd::NtWorldBuilder>(isf, opt);
    kd::NtWorldBuilder& w = *s.w;
    NtCode code = defineNtCode(w, 0x98, true);

    w.setPoolCursor(kMkProcess - 0x30);
    uint64_t proc = w.addProcess(kd::ProcessSpec{"ConsoleApp1.exe", 0x3adc, 0x4c80, std::nullopt, 0xd67cb97000ull,
                                                 "\\Device\\HarddiskVolume3\\testdump\\ConsoleApp1.exe"});
    // The !process detail lines of the seed.
    auto set = [&](const char* path, uint64_t v) { w.setField(proc, "_EPROCESS", path, v); };
    set("VadRoot.Root", 0xffffcf8d5b20fcb0ull);
    set("VadCount", 90);
    set("NumberOfPrivatePages", 1529);
    set("ModifiedPageCount", 941);
    set("NumberOfLockedPages", 2);
    set("DeviceMap", 0xffff8e8172645110ull);
    set("Token", 0xffff8e815e216060ull | 0x7);  // EX_FAST_REF: 7 spare references
    set("ObjectTable", 0xffff8e81710bbb40ull);  // the handle table is not in this dump
    set("Vm.Instance.WorkingSetSize", 14126);
    set("Vm.Instance.MinimumWorkingSetSize", 50);
    set("Vm.Instance.MaximumWorkingSetSize", 345);
    set("Vm.Instance.PeakWorkingSetSize", 14033);
    set("Vm.Instance.PageFaultCount", 15757);
    set("VirtualSize", (2101882ull << 20) + 0x5000);
    set("PeakVirtualSize", 2101888ull << 20);
    set("Pcb.BasePriority", 8);
    set("CommitCharge", 1628);
    set("Job", 0xffffcf8d53a102c0ull);
    kd::ThreadSpec mainSpec;
    mainSpec.tid = 0x5920;
    mainSpec.state = kd::Running;
    mainSpec.teb = 0xd67cb98000ull;
    mainSpec.stackBase = kMkStackBase;
    w.setPoolCursor(kMkMain - 0x30);
    uint64_t main = w.addThread(proc, mainSpec).ethread;
    w.setField(main, "_ETHREAD", "Tcb.Win32Thread", 0xffffcf8d54c3a3b0ull);
    for (size_t i = 0; i < std::size(kMkOthers); ++i) {
        kd::ThreadSpec t = waiting(kMkOtherTids[i], 6, kd::UserMode, false, 0xd67cba0000ull + 0x2000 * i);
        w.setPoolCursor(kMkOthers[i] - 0x30);
        w.addThread(proc, t);
    }
    // The snapshot APC runs on the main thread while it waits in NtReadFile.
    std::vector<kd::X64FrameSite> frames = {{code.snapInContext, code.snapInContext->start + 0x95},
                                            {code.snapApc, code.snapApc->start + 0x3b},
                                            {code.deliverApc, code.deliverApc->start + 0x1b0}};
    for (const auto& f : readFileStack(code, 0x827)) frames.push_back(f);
    s.mainStack = w.setRunningStack(0, main, kMkChildSp0, frames, {kMkUserRip, kMkUserRsp});
    // The threads' objects are in the dump; the process list is not.
    for (uint64_t t : kMkOthers) w.addTriageDataBlock(t - 0x30, 0x30 + w.layout().sizeOf("_ETHREAD"));
    w.setBugcheck(0x161, {0, 0, 0, 0});  // LIVE_SYSTEM_DUMP
    s.bytes = w.build(kd::kTriage);
    s.ntoskrnl = w.ntImage().fileBytes();
    return s;
}

// ---- tests ---------------------------------------------------------------------

// The Child-SP and Call Site columns of `k`.
std::vector<std::pair<std::string, std::string>> kFrames(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& l : test::outputLines(text)) {
        if (l.size() < 44 || !std::isxdigit(static_cast<unsigned char>(l[0])) || l[2] != ' ') continue;
        out.emplace_back(l.substr(3, 17), l.substr(43));
    }
    return out;
}

class Seed001NotMyFault : public ::testing::Test {
protected:
    void SetUp() override {
        isf_ = test::corpusFile(kIsf);
        if (isf_.empty()) GTEST_SKIP() << "corpus file not found: " << kIsf;
        world_ = buildNotMyFault(isf_);
        e_ = std::make_unique<Engine>(openDumpBytes(Bytes(world_.bytes.data(), world_.bytes.size()), "memory.dmp"));
        e_->symbols().setSymbolPath(test::corpusFile("jpcert-isf"));
        e_->invalidateStacks();
    }
    std::string isf_;
    NotMyFaultWorld world_;
    std::unique_ptr<Engine> e_;
};

TEST_F(Seed001NotMyFault, ProcessListsTheFourThreadsAndTheirWaits) {
    Output o = e_->execute("!process 0 2 ConsoleApp1.exe");
    ASSERT_FALSE(o.error) << o.text;
    auto l = test::outputLines(o.text);
    auto has = [&](const std::string& want) { return std::find(l.begin(), l.end(), want) != l.end(); };
    EXPECT_TRUE(has("PROCESS " + p(kProcess))) << o.text;
    EXPECT_TRUE(has("    Image: ConsoleApp1.exe")) << o.text;  // the full name, from the audit path
    EXPECT_TRUE(has("        THREAD ffffdb05bf3c7080  Cid 1bc8.0924  Teb: 000000fd877de000 Win32Thread: "
                    "ffffdb05c00d0ad0 WAIT: (Executive) KernelMode Alertable"))
        << o.text;
    EXPECT_TRUE(has("            ffffdb05c1902ef8  NotificationEvent")) << o.text;
    for (const char* ev : {"ffffdb05be645860", "ffffdb05be646e60", "ffffdb05be645d60", "ffffdb05be651de0"})
        EXPECT_TRUE(has(std::string("            ") + ev + "  SynchronizationEvent")) << ev;
    EXPECT_EQ(o.json["processes"][0]["threads"].size(), 4u);
}

TEST_F(Seed001NotMyFault, ThreadThenKWalksTheKernelStackIntoUserMode) {
    Output t = e_->execute(".thread ffffdb05bf3c7080");
    EXPECT_EQ(t.text, "Implicit thread is now ffffdb05`bf3c7080\n");
    Output o = e_->execute("k");
    ASSERT_FALSE(o.error) << o.text;
    EXPECT_EQ(test::outputLines(o.text)[0], "  *** Stack trace for last set context - .thread/.cxr resets it");
    EXPECT_EQ(o.text.find("WARNING"), std::string::npos) << o.text;
    auto f = kFrames(o.text);
    const std::vector<std::pair<std::string, std::string>> want = {
        {"fffff50f`606ed570", "nt!KiSwapContext+0x76"},        {"fffff50f`606ed6b0", "nt!KiSwapThread+0x500"},
        {"fffff50f`606ed760", "nt!KiCommitThreadWait+0x14f"},  {"fffff50f`606ed800", "nt!KeWaitForSingleObject+0x233"},
        {"fffff50f`606ed8f0", "nt!IopSynchronousServiceTail+0x238"}, {"fffff50f`606ed990", "nt!NtReadFile+0x599"},
        {"fffff50f`606edbd0", "nt!KiSystemServiceCopyEnd+0x25"}, {"000000fd`8797e108", "0x00007ffa`2fb4d124"}};
    EXPECT_EQ(f, want) << o.text;
    // Every frame was unwound from the image's .pdata, none by scanning.
    for (const auto& fr : o.json["frames"]) EXPECT_NE(fr["trust"], "scan") << fr.dump();
    // The system call's return into user mode comes from the trap frame.
    EXPECT_EQ(o.json["frames"][6]["return_address"], kUserRip);
    EXPECT_EQ(world_.w->trapFrameOf(world_.mainStack), 0xfffff50f606edc40ull);
    Output v = e_->execute("kv");
    EXPECT_NE(v.text.find(": nt!KiSystemServiceCopyEnd+0x25 (TrapFrame @ fffff50f`606edc40)\n"), std::string::npos)
        << v.text;
}

TEST_F(Seed001NotMyFault, TheCrashStackCrossesTwoTrapFrames) {
    // Processor 1's own stack: nt's bugcheck frames, the page fault's trap
    // frame (a machine frame with an error code) back into myfault.sys,
    // the IOCTL path, and the system call's trap frame into user mode. The
    // trap frames are where KTRAP_FRAME.Rip (+0x168) holds the machine
    // frame: KiBugCheckDispatch's frame ends at ...9048+0x160 (ErrorCode).
    Output o = e_->execute("kv");
    ASSERT_FALSE(o.error) << o.text;
    std::vector<std::string> sites;
    for (const auto& [sp, site] : kFrames(o.text)) sites.push_back(site.substr(site.rfind(" : ") + 3));
    const std::vector<std::string> want = {
        "nt!KeBugCheckEx", "nt!KiBugCheckDispatch+0x69",
        "nt!KiPageFault+0x469 (TrapFrame @ fffff50f`61e89048)", "myfault+0x12f0", "myfault+0x16a1",
        "nt!IofCallDriver+0x55", "nt!IopSynchronousServiceTail+0x1a8", "nt!IopXxxControlFile+0x5e5",
        "nt!NtDeviceIoControlFile+0x56", "nt!KiSystemServiceCopyEnd+0x25 (TrapFrame @ fffff50f`61e898e0)",
        "0x00007ff6`a3b21c4a"};
    EXPECT_EQ(sites, want) << o.text;
    auto f = kFrames(o.text);
    ASSERT_EQ(f.size(), want.size());
    EXPECT_EQ(f[3].first, "fffff50f`61e89500");  // myfault resumes on the rsp the trap frame saved
}

TEST_F(Seed001NotMyFault, GoldenTranscript) {
    std::string text = "world: Windows 10 x64 NT world (NtWorldBuilder, ISF 19041), seed 001 notmyfault\n"
                       "dump type: 1 (full)\nsymbols: corpus:jpcert-isf\n----\n" +
                       test::kernelTranscript(*e_, {"!process 0 2 ConsoleApp1.exe", ".thread ffffdb05bf3c7080", "k", "kv",
                                        "!thread", ".thread", "kv"});
    test::checkKernelGolden("seed-001-notmyfault.golden", text);
}

class Seed001KernelMinidump : public ::testing::Test {
protected:
    void SetUp() override {
        isf_ = test::corpusFile(kIsf);
        if (isf_.empty()) GTEST_SKIP() << "corpus file not found: " << kIsf;
        world_ = buildKernelMinidump(isf_);
        dir_ = test::perTestTempDir("seed001-exepath");
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ / "ntoskrnl.exe", std::ios::binary)
            .write(reinterpret_cast<const char*>(world_.ntoskrnl.data()), static_cast<std::streamsize>(world_.ntoskrnl.size()));
        e_ = std::make_unique<Engine>(
            openDumpBytes(Bytes(world_.bytes.data(), world_.bytes.size()), "ConsoleApp1.exe_230605_162449.Kernel.dmp"));
        e_->symbols().setSymbolPath(test::corpusFile("jpcert-isf"));
        e_->invalidateStacks();
    }
    void TearDown() override {
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }
    std::string isf_;
    KernelMinidumpWorld world_;
    std::filesystem::path dir_;
    std::unique_ptr<Engine> e_;
};

TEST_F(Seed001KernelMinidump, ProcessListIsNotInTheDump) {
    Output o = e_->execute("!process 0 2 ConsoleApp1.exe");
    uint64_t head = world_.w->symbol("PsActiveProcessHead");
    EXPECT_NE(o.text.find("Unable to read _LIST_ENTRY @ " + p(head)), std::string::npos) << o.text;
}

TEST_F(Seed001KernelMinidump, KUnwindsWithTheKernelImageFromTheImagePath) {
    e_->execute(".exepath " + dir_.string());
    Output t = e_->execute(".thread " + p(kMkMain));
    ASSERT_FALSE(t.error) << t.text;
    Output o = e_->execute("k");
    ASSERT_FALSE(o.error) << o.text;
    auto f = kFrames(o.text);
    // The seed's Child-SP column, frame for frame.
    const std::vector<std::pair<std::string, std::string>> want = {
        {"ffffe10d`62386fb0", "nt!DbgkpLkmdSnapThreadInContext+0x95"},
        {"ffffe10d`623874f0", "nt!DbgkpLkmdSnapThreadApc+0x3b"},
        {"ffffe10d`62387520", "nt!KiDeliverApc+0x1b0"},
        {"ffffe10d`623875d0", "nt!KiSwapThread+0x827"},
        {"ffffe10d`62387680", "nt!KiCommitThreadWait+0x14f"},
        {"ffffe10d`62387720", "nt!KeWaitForSingleObject+0x233"},
        {"ffffe10d`62387810", "nt!IopSynchronousServiceTail+0x238"},
        {"ffffe10d`623878b0", "nt!NtReadFile+0x599"},
        {"ffffe10d`62387990", "nt!KiSystemServiceCopyEnd+0x25"},
        {"000000d6`7c9fe328", "0x00007ffe`6390d184"}};
    EXPECT_EQ(f, want) << o.text;
}

TEST_F(Seed001KernelMinidump, WithoutTheImageTheStackStopsHonestly) {
    // No image path: the dump has nt's header page but not its .pdata.
    Output t = e_->execute(".thread " + p(kMkMain));
    Output o = e_->execute("k");
    auto f = kFrames(o.text);
    ASSERT_FALSE(f.empty()) << o.text;
    EXPECT_EQ(f[0].second, "nt!DbgkpLkmdSnapThreadInContext+0x95");
    EXPECT_LT(f.size(), 10u) << o.text;
}

TEST_F(Seed001KernelMinidump, GoldenTranscript) {
    // The image path is a temporary directory: set it directly so that the
    // transcript does not print its name.
    e_->images().setImagePath({dir_.string()});
    e_->invalidateStacks();
    std::string text = "world: Windows 10 x64 NT world (NtWorldBuilder, ISF 19041), seed 001 procdump -mk\n"
                       "dump type: 4 (triage: the process, its threads, the main thread's stack)\n"
                       "symbols: corpus:jpcert-isf; image path: ntoskrnl.exe written by the builder\n----\n" +
                       test::kernelTranscript(*e_, {"!process 0 2 ConsoleApp1.exe", ".process 3adc", "!process",
                                        ".thread " + p(kMkMain), "k", "kv"});
    test::checkKernelGolden("seed-001-procdump-mk.golden", text);
}

}  // namespace
}  // namespace nt
