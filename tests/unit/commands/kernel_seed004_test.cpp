// Seed 004 (/work/shared/seeds/004_e1bc695d02428917.txt, second half: "VMware
// 에서 실행되는 Windows VM이 시스템 행"): a hung Windows 10 x64 VM read with
// `!vm`, `!locks`, `!cpuinfo` and `!running`. Nothing is held, all four
// processors run their idle threads; the processors are 6,79,1 GenuineIntel
// at 2295 MHz with update signature 0b00002a00000000 and features 311b3fff.
//
// Rebuilt with NtWorldBuilder over the Windows 10 ISF 5278AFF8...-1: the
// seed's CPU identity in each KPRCB, its memory counters in the system
// partition (MiSystemPartition.Vp: this kernel has no MmAvailablePages-style
// globals, and the debugger data's Mm* pointers are left empty so that the
// partition path is what is read), its page file, and 280 resources none of
// which is held (the seed's 89274 would print 2790 dots: one per 32 skipped
// resources; its author shortened the line to 9, which 257..288 resources
// give). The transcript is tests/golden/kernel/seed-004-hang.golden
// (NTRIAGE_UPDATE_GOLDEN=1 rewrites it).
#include <gtest/gtest.h>

#include <fstream>

#include "base/format.h"
#include "commands/engine.h"
#include "dump/open_dump.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/test_support.h"
#include "unit/commands/kernel_scenario.h"

namespace nt {
namespace {

namespace kd = test::kdump;

constexpr const char* kWin10Isf = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";
constexpr unsigned kProcessors = 4;

// The seed's !cpuinfo values.
constexpr uint64_t kFamily = 6, kModel = 79, kStepping = 1, kMhz = 2295;
constexpr uint64_t kUpdateSignature = 0x0b00002a00000000ull;
constexpr uint64_t kFeatureBits = 0x311b3fff;

// The seed's !vm values, in pages (4 KiB).
constexpr uint64_t kPhysicalPages = 4194156, kAvailablePages = 3479978, kResAvailPages = 4063051;
constexpr uint64_t kSharedCommit = 51347, kProcessLockedFilePages = 12;
constexpr uint64_t kCommittedPages = 792925, kCommitLimit = 4456300;
// "Current: 1048576 Kb  Free Space: 807844 Kb / Minimum: 1048576 Kb  Maximum: 10485500 Kb".
constexpr uint64_t kPageFileSize = 1048576 / 4, kPageFileFree = 807844 / 4, kPageFileMin = 1048576 / 4,
                   kPageFileMax = 10485500 / 4;
constexpr const char* kPageFileName = "\\??\\C:\\pagefile.sys";

constexpr unsigned kResources = 280;

std::string p(uint64_t a) { return addrPlain(a, true); }

void setCpuIdentity(kd::NtWorldBuilder& w, unsigned cpu) {
    const uint64_t prcb = w.kprcb(cpu);
    w.setField(prcb, "_KPRCB", "CpuType", kFamily);
    w.setField(prcb, "_KPRCB", "CpuModel", kModel);
    w.setField(prcb, "_KPRCB", "CpuStepping", kStepping);
    w.setField(prcb, "_KPRCB", "MHz", kMhz);
    w.setField(prcb, "_KPRCB", "UpdateSignature", kUpdateSignature);
    w.setField(prcb, "_KPRCB", "FeatureBits", kFeatureBits);
    const std::string vendor = "GenuineIntel";
    w.kernel().write(prcb + w.layout().offsetOf("_KPRCB", "VendorString"),
                     std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(vendor.c_str()), vendor.size() + 1));
}

// The memory manager's counters of Windows 10 1607+: MiSystemPartition.Vp.
void setMemoryCounters(kd::NtWorldBuilder& w) {
    const uint64_t part = w.symbol("MiSystemPartition");
    w.kernel().ensureMapped(part, w.layout().sizeOf("_MI_PARTITION"));
    auto set = [&](const char* path, uint64_t v) { w.setField(part, "_MI_PARTITION", path, v); };
    set("Vp.NumberOfPhysicalPages", kPhysicalPages);
    set("Vp.AvailablePages", kAvailablePages);
    set("Vp.ResidentAvailablePages", kResAvailPages);
    set("Vp.ModifiedNoWritePageListHead.Total", 0);
    set("Vp.SharedCommit", kSharedCommit);
    set("Vp.ProcessLockedFilePages", kProcessLockedFilePages);
    set("Vp.TotalCommittedPages", kCommittedPages);
    set("Vp.TotalCommitLimit", kCommitLimit);

    const uint64_t pf = w.allocPool(w.layout().sizeOf("_MMPAGING_FILE"), 16);
    w.setField(pf, "_MMPAGING_FILE", "Size", kPageFileSize);
    w.setField(pf, "_MMPAGING_FILE", "FreeSpace", kPageFileFree);
    w.setField(pf, "_MMPAGING_FILE", "MinimumSize", kPageFileMin);
    w.setField(pf, "_MMPAGING_FILE", "MaximumSize", kPageFileMax);
    const std::string name = kPageFileName;
    const uint64_t buf = w.allocPool(2 * name.size() + 2, 8);
    w.kernel().writeUnicodeString(pf + w.layout().offsetOf("_MMPAGING_FILE", "PageFileName"), buf, name);
    set("Vp.NumberOfPagingFiles", 1);
    set("Vp.PagingFile[0]", pf);
}

struct Seed004World {
    std::unique_ptr<kd::NtWorldBuilder> w;
    std::vector<uint8_t> bytes;
};

// The seed's machine. `busy` (for the tests of the non-idle columns) makes
// processor 2 run a priority-8 thread with a priority-14 one queued next,
// owning queued spin lock 0 and waiting for lock 2.
Seed004World buildSeed004(const std::string& isf, bool busy = false) {
    Seed004World s;
    kd::NtWorldOptions opt;
    opt.processors = kProcessors;
    s.w = std::make_unique<kd::NtWorldBuilder>(isf, opt);
    kd::NtWorldBuilder& w = *s.w;
    for (unsigned i = 0; i < kProcessors; ++i) setCpuIdentity(w, i);
    setMemoryCounters(w);
    for (unsigned i = 0; i < kResources; ++i) w.addResource(kd::ResourceSpec{});
    if (busy) {
        uint64_t proc = w.addProcess("vmtoolsd.exe", 0x9a4, 0x2f0);
        kd::ThreadSpec running;
        running.tid = 0x9b0;
        running.state = kd::Running;
        running.priority = 8;
        kd::ThreadSpec ready;
        ready.tid = 0x9b4;
        ready.state = kd::Standby;
        ready.priority = 14;
        uint64_t cur = w.addThread(proc, running).ethread;
        uint64_t next = w.addThread(proc, ready).ethread;
        w.setCurrentThread(2, cur);
        w.setField(w.kprcb(2), "_KPRCB", "NextThread", next);
        const uint64_t lock0 = w.allocPool(8, 8), lock2 = w.allocPool(8, 8);
        w.setField(w.kprcb(2), "_KPRCB", "LockQueue[0].Lock", lock0 | 2);  // LOCK_QUEUE_OWNER
        w.setField(w.kprcb(2), "_KPRCB", "LockQueue[2].Lock", lock2 | 1);  // LOCK_QUEUE_WAIT
    }
    s.bytes = w.build(kd::kFull);
    return s;
}

class Seed004 : public ::testing::Test {
protected:
    void SetUp() override {
        isf_ = test::corpusFile(kWin10Isf);
        if (isf_.empty()) GTEST_SKIP() << "corpus file not found: " << kWin10Isf;
    }
    Engine& open(bool busy = false) {
        world_ = buildSeed004(isf_, busy);
        e_ = std::make_unique<Engine>(openDumpBytes(Bytes(world_.bytes.data(), world_.bytes.size()), "seed004.dmp"));
        e_->symbols().setSymbolPath(test::corpusFile("jpcert-isf"));
        return *e_;
    }
    std::string isf_;
    Seed004World world_;
    std::unique_ptr<Engine> e_;
};

TEST_F(Seed004, CpuinfoRowsReadTheKprcb) {
    Engine& e = open();
    Output o = e.execute("!cpuinfo");
    ASSERT_FALSE(o.error) << o.text;
    auto l = test::outputLines(o.text);
    ASSERT_EQ(l.size(), 1u + kProcessors) << o.text;
    EXPECT_EQ(l[0], "CP  F/M/S Manufacturer  MHz PRCB Signature    MSR 8B Signature Features");
    EXPECT_EQ(l[1], " 0  6,79,1 GenuineIntel 2295 0b00002a00000000                   311b3fff");
    EXPECT_EQ(l[4], " 3  6,79,1 GenuineIntel 2295 0b00002a00000000                   311b3fff");
    ASSERT_EQ(o.json["processors"].size(), kProcessors);
    const auto& j = o.json["processors"][2];
    EXPECT_EQ(j["family"], kFamily);
    EXPECT_EQ(j["model"], kModel);
    EXPECT_EQ(j["stepping"], kStepping);
    EXPECT_EQ(j["vendor"], "GenuineIntel");
    EXPECT_EQ(j["mhz"], kMhz);
    EXPECT_EQ(j["update_signature"], kUpdateSignature);
    EXPECT_EQ(j["features"], kFeatureBits);
    EXPECT_EQ(j["prcb"], world_.w->kprcb(2));
}

TEST_F(Seed004, CpuinfoNeverPrintsGarbage) {
    // A vendor string with control bytes, and a processor whose KPRCB is not
    // in the dump (KiProcessorBlock[3] points at unmapped memory).
    world_ = buildSeed004(isf_);
    kd::NtWorldBuilder& w = *world_.w;
    const uint8_t bad[] = {'G', 'e', 0x1b, '[', '2', 'J', 0};
    w.kernel().write(w.kprcb(1) + w.layout().offsetOf("_KPRCB", "VendorString"), bad);
    const uint64_t unmapped = 0xffffa1ff00000000ull;
    ASSERT_FALSE(w.kernel().isMapped(unmapped));
    w.kernel().writeU64(w.symbol("KiProcessorBlock") + 8 * 3, unmapped);
    world_.bytes = w.build(kd::kFull);
    e_ = std::make_unique<Engine>(openDumpBytes(Bytes(world_.bytes.data(), world_.bytes.size()), "seed004.dmp"));
    e_->symbols().setSymbolPath(test::corpusFile("jpcert-isf"));
    Output o = e_->execute("!cpuinfo");
    auto l = test::outputLines(o.text);
    ASSERT_EQ(l.size(), 1u + kProcessors) << o.text;
    EXPECT_EQ(l[2], " 1  6,79,1 Ge?[2J 2295 0b00002a00000000                   311b3fff");
    EXPECT_EQ(l[4], " 3  ?,?,? ?    ? ?" + std::string(15 + 1 + 18, ' ') + "?") << o.text;
    EXPECT_TRUE(o.json["processors"][3]["family"].is_null());
}

TEST_F(Seed004, VmReadsTheSystemPartition) {
    Engine& e = open();
    Output o = e.execute("!vm");
    ASSERT_FALSE(o.error) << o.text;
    auto l = test::outputLines(o.text);
    ASSERT_GE(l.size(), 12u) << o.text;
    EXPECT_EQ(l[0], "Page File: \\??\\C:\\pagefile.sys");
    EXPECT_EQ(l[1], "  Current:   1048576 Kb  Free Space:    807844 Kb");
    EXPECT_EQ(l[2], "  Minimum:   1048576 Kb  Maximum:     10485500 Kb");
    EXPECT_EQ(l[3], "");
    // Column widths as in the seed: counts end in column 33, Kb right-aligned in 11.
    EXPECT_EQ(l[4], "Physical Memory:          4194156 (   16776624 Kb)");
    EXPECT_EQ(l[5], "Available Pages:          3479978 (   13919912 Kb)");
    EXPECT_EQ(l[6], "ResAvail Pages:           4063051 (   16252204 Kb)");
    EXPECT_EQ(l[7], "Modified No Write Pages:        0 (          0 Kb)");
    EXPECT_EQ(l[8], "Shared Commit:              51347 (     205388 Kb)");
    EXPECT_EQ(l[9], "ProcessLockedFilePages:        12 (         48 Kb)");
    EXPECT_EQ(l[10], "Committed pages:           792925 (    3171700 Kb)");
    EXPECT_EQ(l[11], "Commit limit:             4456300 (   17825200 Kb)");
    EXPECT_EQ(o.json["physical_pages"], kPhysicalPages);
    EXPECT_EQ(o.json["commit_limit"], kCommitLimit);
    EXPECT_EQ(o.json["page_files"][0]["name"], kPageFileName);
    EXPECT_EQ(o.json["page_files"][0]["maximum_pages"], kPageFileMax);
    EXPECT_EQ(o.text.find("*** Virtual Memory Usage ***"), std::string::npos) << "legacy banner on Windows 10";
}

TEST_F(Seed004, LocksWithNothingHeld) {
    Engine& e = open();
    Output o = e.execute("!locks");
    ASSERT_FALSE(o.error) << o.text;
    EXPECT_EQ(o.text,
              "**** DUMP OF ALL RESOURCE OBJECTS ****\n"
              "KD: Scanning for held locks.........\n"
              "280 total locks\n");
    EXPECT_EQ(o.json["total"], kResources);
    EXPECT_EQ(o.json["held"], 0);
}

TEST_F(Seed004, RunningWhenAllProcessorsAreIdle) {
    Engine& e = open();
    Output o = e.execute("!running");
    ASSERT_FALSE(o.error) << o.text;
    EXPECT_EQ(o.text,
              "System Processors:  (000000000000000f)\n"
              "  Idle Processors:  (000000000000000f)\n"
              "All processors idle.\n");
    o = e.execute("!running -i");
    auto l = test::outputLines(o.text);
    ASSERT_EQ(l.size(), 5u + kProcessors) << o.text;
    EXPECT_EQ(l[4], "       Prcbs             Current         (pri) Next            (pri) Idle");
    const kd::NtWorldBuilder& w = *world_.w;
    EXPECT_EQ(l[5], "  0    " + p(w.kprcb(0)) + "  " + p(w.idleThread(0)) + " ( 0)                       " +
                        p(w.idleThread(0)) + "  ................");
    EXPECT_EQ(o.json["processors"][1]["current_priority"], 0);
    EXPECT_EQ(o.json["processors"][1]["lock_queue"], "................");
}

TEST_F(Seed004, RunningShowsPrioritiesAndQueuedLocks) {
    Engine& e = open(true);
    const kd::NtWorldBuilder& w = *world_.w;
    uint64_t cur = w.getField(w.kprcb(2), "_KPRCB", "CurrentThread");
    uint64_t next = w.getField(w.kprcb(2), "_KPRCB", "NextThread");
    Output o = e.execute("!running");
    ASSERT_FALSE(o.error) << o.text;
    auto l = test::outputLines(o.text);
    ASSERT_EQ(l.size(), 5u) << o.text;
    EXPECT_EQ(l[1], "  Idle Processors:  (000000000000000b)");
    EXPECT_EQ(l[2], "");
    EXPECT_EQ(l[4], "  2    " + p(w.kprcb(2)) + "  " + p(cur) + " ( 8) " + p(next) + " (14) " + p(w.idleThread(2)) +
                        "  O.W.............");
    EXPECT_EQ(o.json["processors"][0]["next_priority"], 14);

    // -t adds each shown processor's stack; flags may be grouped.
    o = e.execute("!running -it");
    EXPECT_GT(test::outputLines(o.text).size(), 5u + kProcessors) << o.text;
    EXPECT_NE(o.text.find("Child-SP"), std::string::npos) << o.text;
    EXPECT_EQ(o.json["processors"].size(), kProcessors);
    o = e.execute("!running -x");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "!running [-i] [-t]: unknown option -x\n");
}

TEST_F(Seed004, GoldenTranscript) {
    Engine& e = open();
    const std::vector<std::string> cmds = {"!vm", "!locks", "!cpuinfo", "!running", "!running -i"};
    std::string body = test::kernelTranscript(e, cmds);
    std::string text = "world: Windows 10 x64 NT world (NtWorldBuilder, ISF 5278AFF8...-1), seed 004, 4 idle processors\n"
                       "dump type: 1 (full)\nsymbols: corpus:jpcert-isf\n----\n" + body;
    test::checkKernelGolden("seed-004-hang.golden", text);
}

}  // namespace
}  // namespace nt
