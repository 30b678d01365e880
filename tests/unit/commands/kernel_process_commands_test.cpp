// !process, !thread, .process and .thread on a synthetic kernel dump (the
// NT world of tests/support/kdump_builder written as a PAGEDU64 file) with
// the matching ISF found on the symbol path, and on the real small dump
// triage_x64.dmp. Expected lines follow FACTS.md §2.3/§2.4/§2.10; the values
// in them are what the builder wrote (or, for the real dump, what python3
// read from the file at the ISF offsets).
#include <gtest/gtest.h>

#include <cstring>

#include "base/format.h"
#include "commands/engine.h"
#include "unit/commands/kernel_scenario.h"
#include "commands/kernel_process_commands.h"
#include "dump/open_dump.h"
#include "isf/isf_file.h"
#include "memory/range_memory.h"
#include "support/kdump_builder/nt_world_builder.h"
#include "support/test_support.h"

namespace nt {
namespace {

namespace kd = test::kdump;

constexpr const char* kIsf = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

// The shared splitter (kernel_scenario.h), under the name these tests use.
std::vector<std::string> lines(const std::string& text) { return test::outputLines(text); }

class KernelProcessCommands : public ::testing::Test {
protected:
    void SetUp() override {
        isfPath_ = test::corpusFile(kIsf);
        if (isfPath_.empty()) GTEST_SKIP() << "corpus file not found: " << kIsf;
        w = std::make_unique<kd::NtWorldBuilder>(isfPath_);
    }
    Engine& open(uint32_t dumpType = 1) {
        bytes_ = w->build(dumpType);
        engine_ = std::make_unique<Engine>(openDumpBytes(Bytes(bytes_.data(), bytes_.size()), "world.dmp"));
        engine_->symbols().setSymbolPath(test::corpusFile("jpcert-isf"));
        return *engine_;
    }
    std::string p(uint64_t a) { return addrPlain(a, true); }

    std::string isfPath_;
    std::unique_ptr<kd::NtWorldBuilder> w;
    std::vector<uint8_t> bytes_;
    std::unique_ptr<Engine> engine_;
};

TEST_F(KernelProcessCommands, ActiveProcessDump) {
    uint64_t smss = w->addProcess("smss.exe", 0x1a0, 4);
    uint64_t app = w->addProcess(kd::ProcessSpec{"contoso.exe", 0xa50, 0x1a0, 1, 0x7ff6b661f000});
    Engine& e = open();
    Output o = e.execute("!process 0 0");
    ASSERT_FALSE(o.error) << o.text;
    auto l = lines(o.text);
    uint64_t sysDtb = w->getField(w->systemProcess(), "_EPROCESS", "Pcb.DirectoryTableBase");
    uint64_t sysTable = w->getField(w->systemProcess(), "_EPROCESS", "ObjectTable");
    ASSERT_GE(l.size(), 15u) << o.text;
    EXPECT_EQ(l[0], "**** NT ACTIVE PROCESS DUMP ****");
    EXPECT_EQ(l[1], "PROCESS " + p(w->systemProcess()));
    EXPECT_EQ(l[2], "    SessionId: none  Cid: 0004    Peb: 00000000  ParentCid: 0000");
    EXPECT_EQ(l[3], "    DirBase: " + hexPad(sysDtb, 8) + "  ObjectTable: " + p(sysTable) + "  HandleCount:   0.");
    EXPECT_EQ(l[4], "    Image: System");
    EXPECT_EQ(l[5], "");
    EXPECT_EQ(l[6], "PROCESS " + p(smss));
    EXPECT_EQ(l[7], "    SessionId: 1  Cid: 01a0    Peb: " + hex(w->getField(smss, "_EPROCESS", "Peb")) +
                        "  ParentCid: 0004");  // a PEB page the builder mapped
    EXPECT_EQ(l[9], "    Image: smss.exe");
    EXPECT_EQ(l[11], "PROCESS " + p(app));
    EXPECT_EQ(l[12], "    SessionId: 1  Cid: 0a50    Peb: 7ff6b661f000  ParentCid: 01a0");
    EXPECT_EQ(l[13], "    DirBase: " + hexPad(w->processSpace(app).dtb(), 8) + "  ObjectTable: " +
                         p(w->getField(app, "_EPROCESS", "ObjectTable")) + "  HandleCount:   0.");
    EXPECT_EQ(l[14], "    Image: contoso.exe");
    ASSERT_EQ(o.json["processes"].size(), 3u);
    EXPECT_EQ(o.json["processes"][2]["image"], "contoso.exe");
    EXPECT_EQ(o.json["processes"][2]["pid"], 0xa50);
    EXPECT_EQ(o.json["processes"][2]["peb"], 0x7ff6b661f000ull);

    // By image name (case-insensitive), by pid, by address.
    Output byName = e.execute("!process 0 0 CONTOSO.EXE");
    auto ln = lines(byName.text);
    ASSERT_EQ(ln.size(), 6u) << byName.text;
    EXPECT_EQ(ln[1], "PROCESS " + p(app));
    Output byPid = e.execute("!process a50 0");
    auto lp = lines(byPid.text);
    ASSERT_GE(lp.size(), 2u);
    EXPECT_EQ(lp[0], "Searching for Process with Cid == a50");
    EXPECT_EQ(lp[1], "PROCESS " + p(app));
    Output byAddr = e.execute("!process " + p(smss) + " 0");
    EXPECT_EQ(lines(byAddr.text)[0], "PROCESS " + p(smss));
    Output none = e.execute("!process 0 0 nothere.exe");
    EXPECT_EQ(none.text, "**** NT ACTIVE PROCESS DUMP ****\n");
    Output mismatch = e.execute("!process " + p(w->idleThread(0)) + " 0");
    EXPECT_EQ(mismatch.text, "TYPE mismatch for process object at " + p(w->idleThread(0)) + "\n");
}

TEST_F(KernelProcessCommands, ThreadsAndWaitObjects) {
    uint64_t app = w->addProcess("contoso.exe", 0x910, 4);
    kd::ThreadSpec a;
    a.tid = 0x90c;
    a.state = kd::Waiting;
    a.waitReason = 6;
    a.waitMode = kd::UserMode;
    a.teb = 0x7ff669b8c000;
    kd::ThreadInfo ta = w->addThread(app, a);
    kd::ThreadSpec b = a;
    b.tid = 0xad8;
    b.teb = 0x7ff669b8a000;
    b.waitReason = 13;  // WrUserRequest
    b.alertable = true;
    kd::ThreadInfo tb = w->addThread(app, b);
    uint64_t ev = w->addEvent(true, false);
    uint64_t nev = w->addEvent(false, false);
    uint64_t sem = w->addSemaphore(0xffff, 0);
    uint64_t mut = w->addMutant(ta.ethread);
    w->waitOn(ta.ethread, {ev});
    w->waitOn(tb.ethread, {nev, sem, mut});
    Engine& e = open();
    Output o = e.execute("!process " + p(app) + " 2");
    ASSERT_FALSE(o.error) << o.text;
    auto l = lines(o.text);
    ASSERT_GE(l.size(), 13u) << o.text;
    EXPECT_EQ(l[0], "PROCESS " + p(app));
    EXPECT_EQ(l[4], "");
    EXPECT_EQ(l[5], "        THREAD " + p(ta.ethread) +
                        "  Cid 0910.090c  Teb: 00007ff669b8c000 Win32Thread: 0000000000000000 WAIT: (UserRequest) UserMode Non-Alertable");
    EXPECT_EQ(l[6], "            " + p(ev) + "  SynchronizationEvent");
    EXPECT_EQ(l[7], "");
    EXPECT_EQ(l[8], "        THREAD " + p(tb.ethread) +
                        "  Cid 0910.0ad8  Teb: 00007ff669b8a000 Win32Thread: 0000000000000000 WAIT: (WrUserRequest) UserMode Alertable");
    EXPECT_EQ(l[9], "            " + p(nev) + "  NotificationEvent");
    EXPECT_EQ(l[10], "            " + p(sem) + "  Semaphore Limit 0xffff");
    EXPECT_EQ(l[11], "            " + p(mut) + "  Mutant - owning thread " + p(ta.ethread));
    auto& jt = o.json["processes"][0]["threads"];
    ASSERT_EQ(jt.size(), 2u);
    EXPECT_EQ(jt[1]["wait_objects"][2]["owner_thread"], ta.ethread);
    EXPECT_EQ(jt[1]["wait_reason_name"], "WrUserRequest");

    Output t = e.execute("!thread " + p(tb.ethread));
    ASSERT_FALSE(t.error) << t.text;
    auto lt = lines(t.text);
    ASSERT_GE(lt.size(), 14u) << t.text;
    EXPECT_EQ(lt[0], "THREAD " + p(tb.ethread) +
                         "  Cid 0910.0ad8  Teb: 00007ff669b8a000 Win32Thread: 0000000000000000 WAIT: (WrUserRequest) UserMode Alertable");
    EXPECT_EQ(lt[1], "    " + p(nev) + "  NotificationEvent");
    EXPECT_EQ(lt[4], "Not impersonating");
    EXPECT_EQ(lt[5].substr(0, 26), "DeviceMap                 ");
    EXPECT_EQ(lt[6], "Owning Process            " + p(app) + "       Image:         contoso.exe");
    EXPECT_EQ(lt[7], "Attached Process          N/A            Image:         N/A");
    EXPECT_EQ(lt[8].substr(0, 26), "Wait Start TickCount      ");
    EXPECT_EQ(lt[12].substr(0, 20), "Win32 Start Address ");
    bool sawStack = false, sawPrio = false;
    for (const auto& s : lt) {
        if (s == "Stack Init " + p(tb.initialStack) + " Current " + p(tb.kernelStack)) sawStack = true;
        if (s.rfind("Priority 8 BasePriority 8", 0) == 0) sawPrio = true;
    }
    EXPECT_TRUE(sawStack) << t.text;
    EXPECT_TRUE(sawPrio) << t.text;
    // Bit 2 without bit 1: one line per thread, no wait objects.
    auto l4 = lines(e.execute("!process " + p(app) + " 4").text);
    ASSERT_GE(l4.size(), 9u);
    EXPECT_EQ(l4[5].substr(0, 31), "        THREAD " + p(ta.ethread));
    EXPECT_EQ(l4[6], "");
    EXPECT_EQ(l4[7].substr(0, 31), "        THREAD " + p(tb.ethread));
    // -p: the owning process first; -t: by thread id.
    auto lp = lines(e.execute("!thread -p " + p(tb.ethread) + " 0").text);
    ASSERT_GE(lp.size(), 5u);
    EXPECT_EQ(lp[0], "PROCESS " + p(app));
    EXPECT_EQ(lp[4].substr(0, 23), "THREAD " + p(tb.ethread));
    EXPECT_EQ(lines(e.execute("!thread -t 90c 0").text)[0].substr(0, 23), "THREAD " + p(ta.ethread));
    Output missing = e.execute("!thread -t 1234 0");
    EXPECT_TRUE(missing.error);
    EXPECT_EQ(missing.text, "Could not find thread with id 1234\n");

    Output bad = e.execute("!thread " + p(app));
    EXPECT_TRUE(bad.error);
    EXPECT_EQ(bad.text, "TYPE mismatch for thread object at " + p(app) + "\n");
}

TEST_F(KernelProcessCommands, CurrentProcessAndImplicitContext) {
    uint64_t app = w->addProcess("contoso.exe", 0xa50, 4);
    uint64_t run = w->addThread(app, 0xa54, kd::Running, 0, kd::KernelMode);
    uint64_t other = w->addThread(app, 0xa58, kd::Waiting, 0, kd::KernelMode);
    w->setCurrentThread(0, run);
    Engine& e = open();
    Output cur = e.execute("!process -1 0");
    EXPECT_EQ(lines(cur.text)[0], "PROCESS " + p(app));
    Output th = e.execute("!thread -1 0");
    EXPECT_EQ(lines(th.text)[0], "THREAD " + p(run) + "  Cid 0a50.0a54  Teb: " + p(w->getField(run, "_ETHREAD", "Tcb.Teb")) +
                                     " Win32Thread: 0000000000000000 RUNNING on processor 0");

    Output dp = e.execute(".process /r /p " + p(w->systemProcess()));
    // /r loads the user half's DLLs: System has none (no PEB).
    EXPECT_EQ(dp.text, "Implicit process is now " + addrTick(w->systemProcess(), true) + "\nLoading User Symbols\n");
    EXPECT_EQ(dp.json["user_modules"], 0);
    EXPECT_EQ(dp.json["implicit_process"], w->systemProcess());
    EXPECT_EQ(lines(e.execute("!process").text)[0], "PROCESS " + p(w->systemProcess()));

    // `other` waits with no switch frame written: no registers for it, said,
    // and the stack commands then say so instead of showing another thread's.
    Output dt = e.execute(".thread " + p(other));
    EXPECT_EQ(dt.text, "Unable to get context of thread " + p(other) + "\nImplicit thread is now " +
                           addrTick(other, true) + "\n");
    EXPECT_EQ(e.execute("k").text, "Unable to get current thread context\n");
    EXPECT_EQ(e.execute("r").error, true);
    EXPECT_EQ(implicitProcess(e), app);  // the thread's process comes along
    EXPECT_EQ(lines(e.execute("!thread -1 0").text)[0].substr(0, 23), "THREAD " + p(other));
    Output reset = e.execute(".thread");
    EXPECT_EQ(reset.text, "Implicit thread is now " + addrTick(run, true) + "\n");
}

TEST_F(KernelProcessCommands, WaitingThreadStackStartsAtItsSwitchFrame) {
    uint64_t app = w->addProcess("contoso.exe", 0xa50, 4);
    kd::ThreadSpec s;
    s.tid = 0xa58;
    kd::ThreadInfo ti = w->addThread(app, s);
    uint64_t ret = w->symbol("KiSwapContext") + 0x76;
    w->kernel().writeU64(ti.kernelStack + 0x38, ret);
    Engine& e = open();
    Output t = e.execute("!thread " + p(ti.ethread));
    auto l = lines(t.text);
    size_t header = 0;
    while (header < l.size() && l[header].rfind("Child-SP", 0) != 0) ++header;
    ASSERT_LT(header + 1, l.size()) << t.text;
    // Child-SP = KernelStack + sizeof(_KSWITCH_FRAME), as WinDbg shows it.
    EXPECT_EQ(l[header + 1].substr(0, 17), addrTick(ti.kernelStack + 0x40, true)) << t.text;
    EXPECT_NE(l[header + 1].find(": nt!KiSwapContext+0x76"), std::string::npos) << t.text;
    EXPECT_EQ(t.json["thread"]["stack"][0]["instruction_pointer"], ret);

    Output dt = e.execute(".thread " + p(ti.ethread));
    EXPECT_EQ(dt.json["register_context"]["ip"], ret);
    EXPECT_EQ(dt.json["register_context"]["sp"], ti.kernelStack + 0x40);
    auto ctx = e.currentContext();
    ASSERT_TRUE(ctx);
    EXPECT_EQ(ctx->ip(), ret);
}

TEST_F(KernelProcessCommands, RealSmallDump) {
    NT_REQUIRE_CORPUS_FILE(dmp, "rizin-testbins/triage_x64.dmp");
    Engine e(openDump(dmp));
    e.symbols().setSymbolPath(test::corpusFile("jpcert-isf"));
    // The small dump: its stored process and thread.
    Output o = e.execute("!process -1 0");
    auto l = lines(o.text);
    ASSERT_EQ(l.size(), 4u) << o.text;
    EXPECT_EQ(l[0], "PROCESS ffffc08bdce94180");
    EXPECT_EQ(l[1], "    SessionId: none  Cid: 0004    Peb: 00000000  ParentCid: 0000");
    EXPECT_EQ(l[2], "    DirBase: 001ad000  ObjectTable: ffffad0ec107b080  HandleCount: <Data Not Accessible>");
    EXPECT_EQ(l[3], "    Image: System");
    Output t = e.execute("!thread -1 0");
    EXPECT_EQ(t.text,
              "THREAD ffffc08bde9e1640  Cid 0004.0108  Teb: 0000000000000000 Win32Thread: 0000000000000000 RUNNING on processor 0\n");
    EXPECT_EQ(t.json["thread"]["context_switches"], 408);
    EXPECT_EQ(t.json["thread"]["state_name"], "Running");
}

// A kernel "dump" whose memory is one long chain of list links: every
// 16-byte slot's Flink points to the next slot and the last back to the
// first (never to the head). Every process's thread list runs into the same
// chain. The walks must stop (cycle guard, caps, the per-command budget)
// and say so.
class ChainTarget : public Target {
public:
    const Memory& memory() const override { return mem; }
    RangeMemory mem;
    std::vector<uint8_t> bytes;
};

TEST(KernelProcessHostile, EndlessListsStop) {
    std::string isfPath = test::corpusFile(kIsf);
    if (isfPath.empty()) GTEST_SKIP() << "corpus file not found: " << kIsf;
    constexpr uint64_t kBase = 0xffffc08b00000000ull, kSlots = 4096;
    auto t = std::make_unique<ChainTarget>();
    t->machine = Machine::Amd64;
    t->bytes.resize(kSlots * 16 + 0x1000);
    for (uint64_t i = 0; i < kSlots; ++i) {
        uint64_t next = kBase + 0x1000 + ((i + 1) % kSlots) * 16;
        std::memcpy(&t->bytes[0x1000 + i * 16], &next, 8);
        std::memcpy(&t->bytes[0x1000 + i * 16 + 8], &next, 8);
    }
    uint64_t first = kBase + 0x1000;
    std::memcpy(&t->bytes[0], &first, 8);  // the head at kBase points into the chain
    t->mem.add(kBase, Bytes(t->bytes.data(), t->bytes.size()));
    t->mem.finalize();
    KernelInfo k;
    k.psActiveProcessHead = kBase;
    k.paging = PagingMode::X64;
    k.numberProcessors = 1;
    t->kernel = k;
    t->finalize();
    Engine e(std::move(t));
    e.addTypeSource("nt", std::shared_ptr<const types::TypeProvider>(isf::IsfFile::open(isfPath)));

    Output o = e.execute("!process 0 0");
    auto l = lines(o.text);
    EXPECT_EQ(l[0], "**** NT ACTIVE PROCESS DUMP ****");
    // The processes walked, then where the walk stopped.
    ASSERT_FALSE(l.empty());
    EXPECT_NE(l.back().find("loops back on itself"), std::string::npos) << l.back();
    EXPECT_EQ(l[1].rfind("PROCESS ", 0), 0u) << l[1];
    EXPECT_EQ(o.json["processes"].size(), kSlots);

    Output t2 = e.execute("!process 0 2");
    size_t threadLines = 0;
    bool stopped = false;
    for (const auto& line : lines(t2.text)) {
        if (line.rfind("        THREAD ", 0) == 0) ++threadLines;
        if (line.rfind("Thread lists not walked", 0) == 0) stopped = true;
    }
    EXPECT_TRUE(stopped);
    EXPECT_LE(threadLines, size_t{1} << 17);
}

}  // namespace
}  // namespace nt
