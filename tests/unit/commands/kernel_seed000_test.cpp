// Seed 000 (/work/shared/seeds/000_e78b13544a4e45d0.txt): a Win7 SP1 x64
// full kernel dump read with `!process 1720`, `!thread`, `!object
// fffffa80cabf7570` and `dt nt!_OBJECT_HEADER fffffa80cabf7540`. The hung
// process 0x1720: thread 17c8 waits on thread 1570 (a Thread object), 1570
// waits on a SynchronizationEvent that 12 more threads of the process wait
// on too; the event's header has InfoMask 0x8 (QUOTA_INFO before it),
// HandleCount 1, PointerCount 13.
//
// Rebuilt with NtWorldBuilder over the Windows 7 SP1 ISF (6.1.7601.24540:
// no ObHeaderCookie, so TypeIndex 0xc is stored in clear; KWAIT_BLOCKs in a
// NextWaitBlock ring), at the seed's addresses for the process, the two
// threads and the event. The transcript is tests/golden/kernel/
// seed-000-win7.golden (NTRIAGE_UPDATE_GOLDEN=1 rewrites it).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

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

constexpr const char* kWin7Isf = "jpcert-isf/ntkrnlmp.pdb/339E74133576439CBCDF7E0229DA3773-1.json.xz";

// The seed's addresses.
constexpr uint64_t kProcess = 0xfffffa80cabf7b00ull;
constexpr uint64_t kThread17c8 = 0xfffffa80cac248b0ull;
constexpr uint64_t kThread1570 = 0xfffffa80caca9760ull;
constexpr uint64_t kEvent = 0xfffffa80cabf7570ull;
constexpr uint64_t kEventHeader = 0xfffffa80cabf7540ull;
// The other waiters on the event (the seed names 11; the 12th is made up).
constexpr uint64_t kOtherWaiters[] = {0x10dc, 0x1668, 0x1608, 0x1764, 0x179c, 0x1794,
                                      0x17fc, 0x1664, 0x1b0c, 0x19a4, 0x1b7c, 0x1a28};

std::string p(uint64_t a) { return addrPlain(a, true); }

struct Seed000World {
    std::unique_ptr<kd::NtWorldBuilder> w;
    std::map<uint64_t, uint64_t> threadByTid;
    std::vector<uint8_t> bytes;
};

kd::ThreadSpec waiting(uint64_t tid) {
    kd::ThreadSpec s;
    s.tid = tid;
    s.state = kd::Waiting;
    s.waitReason = 6;  // UserRequest
    s.waitMode = kd::UserMode;
    s.alertable = false;
    s.waitTime = 2877;
    s.priority = 10;
    s.basePriority = 10;
    return s;
}

Seed000World buildSeed000(const std::string& isf) {
    Seed000World s;
    kd::NtWorldOptions opt;
    opt.buildNumber = 7601;
    opt.buildLab = "7601.24540.amd64fre.win7sp1_ldr_escrow.191127-1706";
    opt.kernBase = 0xfffff80001c0c000ull;
    opt.kernelSizeOfImage = 0x5e9000;
    opt.processors = 4;
    s.w = std::make_unique<kd::NtWorldBuilder>(isf, opt);
    kd::NtWorldBuilder& w = *s.w;

    w.setPoolCursor(kProcess - 0x30);  // the EPROCESS body follows its 0x30-byte header
    uint64_t proc = w.addProcess(kd::ProcessSpec{"his_viewer.exe", 0x1720, 0x5a4, 1, 0});
    w.setPoolCursor(kEvent - 0x30 - 0x20);  // QUOTA_INFO (0x20) + header (0x30) before the body
    uint64_t ev = w.addEvent(true, false, uint8_t{0x8});
    w.setField(w.objectHeader(ev), "_OBJECT_HEADER", "PointerCount", 13);
    w.setField(w.objectHeader(ev), "_OBJECT_HEADER", "HandleCount", 1);
    w.setField(w.objectHeader(ev), "_OBJECT_HEADER", "ObjectCreateInfo", 0xfffffa80c9f35300ull);  // as in the seed's dt

    kd::ThreadSpec a = waiting(0x17c8);
    a.teb = 0x7ef67000;
    a.priority = 14;
    a.contextSwitches = 163;
    a.win32StartAddress = 0x765927c1;
    w.setPoolCursor(kThread17c8 - 0x30);
    uint64_t t17c8 = w.addThread(proc, a).ethread;
    w.setField(t17c8, "_ETHREAD", "Tcb.Win32Thread", 0xfffff900c1d55c10ull);

    kd::ThreadSpec b = waiting(0x1570);
    b.teb = 0x7ef61000;
    b.priority = 15;
    b.basePriority = 15;
    b.contextSwitches = 35;
    b.win32StartAddress = 0x5e2180eb;
    w.setPoolCursor(kThread1570 - 0x30);
    uint64_t t1570 = w.addThread(proc, b).ethread;
    w.setField(t1570, "_ETHREAD", "Tcb.Win32Thread", 0xfffff900c1d6a010ull);

    w.waitOn(t17c8, {t1570});
    w.waitOn(t1570, {ev});
    s.threadByTid[0x17c8] = t17c8;
    s.threadByTid[0x1570] = t1570;
    w.setPoolCursor(0xfffffa80cad00000ull);
    for (uint64_t tid : kOtherWaiters) {
        uint64_t t = w.addThread(proc, waiting(tid)).ethread;
        w.waitOn(t, {ev});
        s.threadByTid[tid] = t;
    }
    w.setBugcheck(0xe2, {0, 0, 0, 0});  // MANUALLY_INITIATED_CRASH: the hang was dumped by hand
    s.bytes = w.build(kd::kFull);
    return s;
}

class Seed000 : public ::testing::Test {
protected:
    void SetUp() override {
        isf_ = test::corpusFile(kWin7Isf);
        if (isf_.empty()) GTEST_SKIP() << "corpus file not found: " << kWin7Isf;
        world_ = buildSeed000(isf_);
        e_ = std::make_unique<Engine>(openDumpBytes(Bytes(world_.bytes.data(), world_.bytes.size()), "seed000.dmp"));
        e_->symbols().setSymbolPath(test::corpusFile("jpcert-isf"));
    }
    std::string isf_;
    Seed000World world_;
    std::unique_ptr<Engine> e_;
};

TEST_F(Seed000, BuiltAtTheSeedsAddresses) {
    EXPECT_EQ(world_.threadByTid[0x17c8], kThread17c8);
    EXPECT_EQ(world_.threadByTid[0x1570], kThread1570);
    EXPECT_EQ(world_.w->objectHeader(kEvent), kEventHeader);
    // Windows 7: no cookie, the Event type's index 0xc stored as is.
    EXPECT_EQ(world_.w->getField(kEventHeader, "_OBJECT_HEADER", "TypeIndex"), 0xcu);
}

TEST_F(Seed000, ProcessListsEveryWait) {
    Output o = e_->execute("!process 1720 2");
    ASSERT_FALSE(o.error) << o.text;
    auto l = test::outputLines(o.text);
    ASSERT_GE(l.size(), 2u) << o.text;
    EXPECT_EQ(l[0], "Searching for Process with Cid == 1720");
    EXPECT_EQ(l[1], "PROCESS " + p(kProcess)) << o.text;
    // Each THREAD line is followed by its wait object line.
    auto objectAfter = [&](uint64_t thread) -> std::string {
        for (size_t i = 0; i + 1 < l.size(); ++i)
            if (l[i].find("THREAD " + p(thread) + "  Cid 1720.") != std::string::npos) return l[i + 1];
        return "<no THREAD line for " + p(thread) + ">";
    };
    EXPECT_EQ(objectAfter(kThread17c8), "            " + p(kThread1570) + "  Thread") << o.text;
    EXPECT_EQ(objectAfter(kThread1570), "            " + p(kEvent) + "  SynchronizationEvent") << o.text;
    size_t onEvent = 0;
    for (uint64_t tid : kOtherWaiters) {
        EXPECT_EQ(objectAfter(world_.threadByTid[tid]), "            " + p(kEvent) + "  SynchronizationEvent");
        ++onEvent;
    }
    EXPECT_EQ(onEvent, 12u);
    EXPECT_NE(o.text.find("THREAD " + p(kThread17c8) + "  Cid 1720.17c8  Teb: 000000007ef67000 Win32Thread: "
                          "fffff900c1d55c10 WAIT: (UserRequest) UserMode Non-Alertable"),
              std::string::npos)
        << o.text;
}

TEST_F(Seed000, ThreadShowsTheWaitOnThread1570) {
    Output o = e_->execute("!thread " + p(kThread17c8));
    ASSERT_FALSE(o.error) << o.text;
    auto l = test::outputLines(o.text);
    ASSERT_GE(l.size(), 2u) << o.text;
    EXPECT_NE(l[0].find("WAIT: (UserRequest) UserMode Non-Alertable"), std::string::npos) << o.text;
    EXPECT_EQ(l[1], "    " + p(kThread1570) + "  Thread") << o.text;
    EXPECT_EQ(o.json["thread"]["wait_objects"][0]["address"], kThread1570) << o.json.dump();
}

TEST_F(Seed000, ObjectAndHeaderOfTheEvent) {
    Output o = e_->execute("!object " + p(kEvent));
    ASSERT_FALSE(o.error) << o.text;
    auto l = test::outputLines(o.text);
    ASSERT_EQ(l.size(), 3u) << o.text;
    EXPECT_EQ(l[0], "Object: fffffa80cabf7570  Type: (" + p(world_.w->typeObject("Event")) + ") Event");
    EXPECT_EQ(l[1], "    ObjectHeader: fffffa80cabf7540 (new version)");
    EXPECT_EQ(l[2], "    HandleCount: 1  PointerCount: 13");
    EXPECT_EQ(o.json["type_index"], 0xc);
    EXPECT_EQ(o.json["optional_headers"][0]["type"], "_OBJECT_HEADER_QUOTA_INFO");
    EXPECT_EQ(o.json["optional_headers"][0]["address"], kEventHeader - 0x20);

    o = e_->execute("dt nt!_OBJECT_HEADER fffffa80cabf7540");
    ASSERT_FALSE(o.error) << o.text;
    EXPECT_NE(o.text.find("+0x000 PointerCount     : 0n13"), std::string::npos) << o.text;
    EXPECT_NE(o.text.find("+0x018 TypeIndex        : 0xc ''"), std::string::npos) << o.text;
    EXPECT_NE(o.text.find("+0x01a InfoMask         : 0x8 ''"), std::string::npos) << o.text;
    EXPECT_NE(o.text.find("+0x030 Body             : _QUAD"), std::string::npos) << o.text;
}

TEST_F(Seed000, WaitChainThroughTheObjectModel) {
    Kernel& k = kernelObjects(*e_, "test");
    ThreadInfo a = k.thread(kThread17c8);
    auto aw = k.waitObjects(a);
    ASSERT_EQ(aw.size(), 1u);
    EXPECT_EQ(aw[0].address, kThread1570);
    EXPECT_EQ(aw[0].type, 6);
    ThreadInfo b = k.thread(aw[0].address);
    EXPECT_EQ(b.tid, 0x1570u);
    auto bw = k.waitObjects(b);
    ASSERT_EQ(bw.size(), 1u);
    EXPECT_EQ(bw[0].address, kEvent);
    EXPECT_EQ(bw[0].name, "SynchronizationEvent");
    // Who else waits on the event: its WaitListHead's wait blocks.
    auto head = k.layout().offset("_DISPATCHER_HEADER", "WaitListHead");
    auto link = k.layout().offset("_KWAIT_BLOCK", "WaitListEntry");
    ASSERT_TRUE(head && link);
    ListWalk walk = walkList(k.memory(), kEvent + *head, k.pointerSize());
    ASSERT_TRUE(walk.complete()) << walk.error(8);
    std::set<uint64_t> tids;
    for (uint64_t e : walk.entries) {
        StructView wb(k.memory(), k.layout(), "_KWAIT_BLOCK", e - *link);
        auto t = wb.ptr("Thread");
        ASSERT_TRUE(t);
        ThreadInfo ti = k.thread(*t);
        EXPECT_EQ(ti.pid, 0x1720u);
        tids.insert(ti.tid.value_or(0));
    }
    EXPECT_EQ(walk.entries.size(), 13u);
    std::set<uint64_t> expected(std::begin(kOtherWaiters), std::end(kOtherWaiters));
    expected.insert(0x1570);
    EXPECT_EQ(tids, expected);
    // The event's PointerCount is the waiters' count: one reference each.
    EXPECT_EQ(k.objectHeader(kEvent)->pointerCount, 13);
}

TEST_F(Seed000, GoldenTranscript) {
    const std::vector<std::string> cmds = {"!process 1720 2", "!thread " + p(kThread17c8), "!thread " + p(kThread1570),
                                           "!object fffffa80cabf7570", "dt nt!_OBJECT_HEADER fffffa80cabf7540"};
    std::string body = test::kernelTranscript(*e_, cmds);
    std::string text = "world: Win7 SP1 x64 NT world (NtWorldBuilder, ISF 6.1.7601.24540), seed 000\n"
                       "dump type: 1 (full)\nsymbols: corpus:jpcert-isf\n----\n" + body;
    test::checkKernelGolden("seed-000-win7.golden", text);
}

}  // namespace
}  // namespace nt
