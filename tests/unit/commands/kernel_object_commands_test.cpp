// !object, !locks and !prcb on synthetic kernel dumps (NtWorldBuilder over
// the 19041 ISF) and on the real small dump triage_x64.dmp. Expected lines
// follow FACTS.md §2.11; the values are what the builder wrote, or for the
// real dump the stored PRCB/thread of its triage header.
#include <gtest/gtest.h>

#include <algorithm>

#include "base/format.h"
#include "commands/engine.h"
#include "unit/commands/kernel_scenario.h"
#include "dump/open_dump.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/test_support.h"

namespace nt {
namespace {

namespace kd = test::kdump;

constexpr const char* kIsf = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

// The shared splitter (kernel_scenario.h), under the name these tests use.
std::vector<std::string> lines(const std::string& text) { return test::outputLines(text); }

bool hasLine(const std::string& text, const std::string& line) {
    auto l = lines(text);
    return std::find(l.begin(), l.end(), line) != l.end();
}

class KernelObjectCommands : public ::testing::Test {
protected:
    void SetUp() override {
        isfPath_ = test::corpusFile(kIsf);
        if (isfPath_.empty()) GTEST_SKIP() << "corpus file not found: " << kIsf;
        w = std::make_unique<kd::NtWorldBuilder>(isfPath_);
    }
    Engine& open(uint32_t dumpType = kd::kFull) {
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

TEST_F(KernelObjectCommands, ObjectShowsTypeHeaderCountsAndName) {
    uint64_t ev = w->addEvent(false, false, "ShutdownEvent");
    uint64_t hdr = w->objectHeader(ev);
    w->setField(hdr, "_OBJECT_HEADER", "PointerCount", 6);
    Engine& e = open();
    Output o = e.execute("!object " + p(ev));
    ASSERT_FALSE(o.error) << o.text;
    auto l = lines(o.text);
    ASSERT_EQ(l.size(), 4u) << o.text;
    EXPECT_EQ(l[0], "Object: " + p(ev) + "  Type: (" + p(w->typeObject("Event")) + ") Event");
    EXPECT_EQ(l[1], "    ObjectHeader: " + p(ev - 0x30) + " (new version)");
    EXPECT_EQ(l[2], "    HandleCount: 1  PointerCount: 6");
    EXPECT_EQ(l[3], "    Directory Object: 0000000000000000  Name: ShutdownEvent");
    EXPECT_EQ(o.json["type_name"], "Event");
    EXPECT_EQ(o.json["type_index"], 16);  // Event's index on 19041, decoded through ObHeaderCookie
    EXPECT_EQ(o.json["header"], hdr);
    EXPECT_EQ(o.json["info_mask"], 2);
    EXPECT_EQ(o.json["optional_headers"][0]["address"], hdr - 0x20);  // NAME_INFO is 0x20 bytes on x64
}

TEST_F(KernelObjectCommands, ObjectOfProcessAndThread) {
    uint64_t proc = w->addProcess("notepad.exe", 0x1234, 4);
    uint64_t th = w->addThread(proc, 0x1238, kd::Waiting, 6, kd::UserMode);
    Engine& e = open();
    Output o = e.execute("!object " + p(proc));
    ASSERT_FALSE(o.error) << o.text;
    EXPECT_EQ(lines(o.text)[0], "Object: " + p(proc) + "  Type: (" + p(w->typeObject("Process")) + ") Process");
    EXPECT_EQ(lines(o.text)[2], "    HandleCount: 0  PointerCount: 1");
    o = e.execute("!object " + p(th));
    EXPECT_EQ(lines(o.text)[0], "Object: " + p(th) + "  Type: (" + p(w->typeObject("Thread")) + ") Thread");
    EXPECT_EQ(o.json["type_index"], 8);
}

TEST_F(KernelObjectCommands, ObjectRejectsNonObjects) {
    // Readable zeros whose TypeIndex decodes to an empty ObTypeIndexTable slot.
    uint64_t pool = w->allocPool(0x100);
    uint64_t body = pool + 0x40;
    uint64_t hdr = body - 0x30;
    w->setField(hdr, "_OBJECT_HEADER", "TypeIndex", 60 ^ 0x5a ^ ((hdr >> 8) & 0xff));
    Engine& e = open();
    Output o = e.execute("!object " + p(body));
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "Not a valid object (ObjectType invalid)\n");
    EXPECT_EQ(o.json["type_index"], 60);
    // Not mapped at all.
    o = e.execute("!object fffff80000123450");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "Not a valid object (ObjectType invalid)\n");
    EXPECT_EQ(o.json["header_readable"], false);
}

TEST_F(KernelObjectCommands, LocksListsHeldResourcesWithOwnersAndWaiters) {
    uint64_t proc = w->addProcess("svc.exe", 0x300, 4);
    uint64_t a = w->addThread(proc, 0x304, kd::Running, 0, kd::KernelMode);
    uint64_t b = w->addThread(proc, 0x308, kd::Ready, 0, kd::KernelMode);
    uint64_t waiter = w->addThread(proc, 0x30c, kd::Waiting, 0, kd::KernelMode);
    uint64_t c = w->addThread(proc, 0x310, kd::Running, 0, kd::KernelMode);
    kd::ResourceSpec shared;
    shared.owners = {a, b};
    shared.exclusiveWaiters = {waiter};
    shared.contentionCount = 3;
    uint64_t r1 = w->addResource(shared);
    kd::ResourceSpec excl;
    excl.owners = {c};
    excl.exclusive = true;
    uint64_t r2 = w->addResource(excl);
    uint64_t r3 = w->addResource(kd::ResourceSpec{});  // not held
    Engine& e = open();
    Output o = e.execute("!locks");
    ASSERT_FALSE(o.error) << o.text;
    auto l = lines(o.text);
    // kdexts: a blank line before each shown resource; the skipped one (r3)
    // opens a "KD: Scanning for held locks." progress line.
    ASSERT_EQ(l.size(), 11u) << o.text;
    EXPECT_EQ(l[0], "**** DUMP OF ALL RESOURCE OBJECTS ****");
    EXPECT_EQ(l[1], "");
    EXPECT_EQ(l[2], "Resource @ 0x" + hex(r1) + "    Shared 2 owning threads");
    EXPECT_EQ(l[3], "    Contention Count = 3");
    EXPECT_EQ(l[4], "    NumberOfExclusiveWaiters = 1");
    EXPECT_EQ(l[5], "     Threads: " + p(a) + "-01<*> " + p(b) + "-01<*> " + p(waiter) + "-01    ");
    EXPECT_EQ(l[6], "");
    EXPECT_EQ(l[7], "Resource @ 0x" + hex(r2) + "    Exclusively owned");
    EXPECT_EQ(l[8], "     Threads: " + p(c) + "-01<*>");
    EXPECT_EQ(l[9], "KD: Scanning for held locks.");
    EXPECT_EQ(l[10], "3 total locks, 2 locks currently held");
    EXPECT_EQ(o.json["total"], 3);
    EXPECT_EQ(o.json["held"], 2);
    EXPECT_EQ(o.json["resources"][0]["waiters"][0], waiter);
    EXPECT_EQ(o.json["resources"][1]["exclusive"], true);

    // -v: every resource, owners' thread lines.
    o = e.execute("!locks -v");
    EXPECT_TRUE(hasLine(o.text, "Resource @ 0x" + hex(r3) + "    Available")) << o.text;
    EXPECT_NE(o.text.find("     THREAD " + p(c) + "  Cid 0300.0310"), std::string::npos) << o.text;
    EXPECT_TRUE(hasLine(o.text, "3 total locks, 2 locks currently held"));
}

TEST_F(KernelObjectCommands, PrcbShowsThreadsAndNumbers) {
    uint64_t prcb = w->kprcb(0);
    w->setField(prcb, "_KPRCB", "GroupSetMember", 1);
    w->setField(prcb, "_KPRCB", "InterruptCount", 0xa7b2d5);
    w->setField(prcb, "_KPRCB", "KernelTime", 0x6d5b4);
    Engine& e = open();
    Output o = e.execute("!prcb");
    ASSERT_FALSE(o.error) << o.text;
    auto l = lines(o.text);
    ASSERT_GE(l.size(), 7u) << o.text;
    EXPECT_EQ(l[0], "PRCB for Processor 0 at " + p(prcb) + ":");
    EXPECT_EQ(l[1], "Current IRQL -- 0");
    EXPECT_EQ(l[2], "Threads--  Current " + p(w->idleThread(0)) + " Next 0000000000000000 Idle " + p(w->idleThread(0)));
    EXPECT_EQ(l[3], "Processor Index 0 Number (0, 0) GroupSetMember 1");
    EXPECT_EQ(l[4], "Interrupt Count -- 00a7b2d5");
    EXPECT_EQ(l[6], "         Kernel 0006d5b4 User      00000000 ");
    EXPECT_EQ(o.json["prcb"], prcb);
    EXPECT_EQ(o.json["interrupt_count"], 0xa7b2d5);
    o = e.execute("!prcb 3");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "Cannot get PRCB address for processor 3\n");
}

// ---- the real small dump --------------------------------------------------------

class TriageX64Objects : public ::testing::Test {
protected:
    void SetUp() override {
        dmp_ = test::corpusFile("rizin-testbins/triage_x64.dmp");
        if (dmp_.empty() || test::corpusFile(kIsf).empty()) GTEST_SKIP() << "corpus files not found";
        e_ = std::make_unique<Engine>(openDump(dmp_));
        e_->symbols().setSymbolPath(test::corpusFile("jpcert-isf"));
    }
    std::string dmp_;
    std::unique_ptr<Engine> e_;
};

TEST_F(TriageX64Objects, PrcbIsTheStoredOne) {
    Output o = e_->execute("!prcb");
    ASSERT_FALSE(o.error) << o.text;
    auto l = lines(o.text);
    ASSERT_GE(l.size(), 4u) << o.text;
    EXPECT_EQ(l[0], "PRCB for Processor 0 at fffff804782d4180:");
    EXPECT_EQ(l[2].substr(0, 36), "Threads--  Current ffffc08bde9e1640 ");
    EXPECT_EQ(o.json["current_thread"], 0xffffc08bde9e1640ull);
}

TEST_F(TriageX64Objects, ObjectOfTheCurrentProcess) {
    // The small dump keeps the EPROCESS body (ffffc08bdce94180) but not the
    // 0x30 bytes of _OBJECT_HEADER before it, nor ObTypeIndexTable: the type
    // cannot be named, and WinDbg's words for that are printed.
    Output o = e_->execute("!object @$proc");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "Not a valid object (ObjectType invalid)\n");
    EXPECT_EQ(o.json["object"], 0xffffc08bdce94180ull);
    EXPECT_EQ(o.json["header"], 0xffffc08bdce94150ull);
    EXPECT_EQ(o.json["header_readable"], false);
    // The body itself is there: its dispatcher header says Process (3).
    o = e_->execute("!process @$proc 0");
    EXPECT_FALSE(o.error) << o.text;
}

TEST_F(TriageX64Objects, LocksWithoutTheResourceList) {
    Output o = e_->execute("!locks");
    auto l = lines(o.text);
    ASSERT_GE(l.size(), 3u) << o.text;
    EXPECT_EQ(l[0], "**** DUMP OF ALL RESOURCE OBJECTS ****");
    EXPECT_EQ(l.back().empty() ? l[l.size() - 2] : l.back(), "0 total locks");  // ", N locks currently held" only when N > 0
    EXPECT_EQ(o.json["total"], 0);
    EXPECT_EQ(o.json["list_complete"], false);
    EXPECT_TRUE(o.error);
}

}  // namespace
}  // namespace nt
