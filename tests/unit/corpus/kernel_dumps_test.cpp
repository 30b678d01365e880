// The real kernel dumps of the corpus through the whole stack (reader,
// kernel target, commands). Expected values come from outside ntriage:
//  - MANIFEST.md: triage_x64.dmp is a 0x1000007E small dump of build 19041,
//    16 processors, 151 drivers, amdppm.sys at fffff8048b580000 size 0x3b000
//    holding the faulting address fffff8048b58334c (a third-party cdb-checked
//    test); its kernel is ntkrnlmp.pdb 5278AFF8...-1, matched by 10 KDBG RVAs.
//  - kdlibcpp expected/arm64dumptest.cpp and armdumptest.cpp: CPU types,
//    pointer sizes, "clipsp" present, the ARM dump's frame 0 in
//    FxRequest::CompleteInternal (Wdf01000).
//  - MANIFEST.md: dmp64.hexpat.bin is the first 16 KiB of a 19045 full dump
//    with 4 CPUs and bugcheck 0x5454414d.
#include <gtest/gtest.h>

#include "commands/engine.h"
#include "dump/open_dump.h"
#include "support/test_support.h"

namespace nt::test {
namespace {

std::vector<std::string> callSites(const Output& k) {
    std::vector<std::string> out;
    for (const auto& f : k.json["frames"]) out.push_back(f["call_site"].get<std::string>());
    return out;
}

TEST(KernelDumps, TriageX64HeaderDriversAndBugcheck) {
    NT_REQUIRE_CORPUS_FILE(dump, "rizin-testbins/triage_x64.dmp");
    Engine e(openDump(dump));
    const Target& t = e.target();
    ASSERT_TRUE(t.isKernel());
    const KernelInfo& k = *t.kernel;
    EXPECT_EQ(t.machine, Machine::Amd64);
    EXPECT_EQ(k.dumpType, 4u);
    EXPECT_TRUE(k.smallDump);
    EXPECT_EQ(k.buildNumber, 19041u);
    EXPECT_EQ(k.numberProcessors, 16u);
    EXPECT_EQ(t.threads.size(), 16u);
    EXPECT_EQ(k.bugCheckCode, 0x1000007eu);
    EXPECT_EQ(k.bugCheckParameters[0], 0xffffffffc0000005ull);
    EXPECT_EQ(k.bugCheckParameters[1], 0xfffff8048b58334cull);
    EXPECT_EQ(k.bugCheckParameters[2], 0xffff850429891ee8ull);
    EXPECT_EQ(k.bugCheckParameters[3], 0xffff850429891720ull);
    EXPECT_EQ(k.kernelBase, 0xfffff8047ba00000ull);
    EXPECT_EQ(t.modules.size(), 151u);
    const Module* amdppm = t.moduleByName("amdppm");
    ASSERT_NE(amdppm, nullptr);
    EXPECT_EQ(amdppm->base, 0xfffff8048b580000ull);
    EXPECT_EQ(amdppm->size, 0x3b000u);
    EXPECT_EQ(t.moduleAt(k.bugCheckParameters[1]), amdppm);
    const Module* nt = t.moduleByName("nt");
    ASSERT_NE(nt, nullptr);
    EXPECT_EQ(nt->base, k.kernelBase);

    Output v = e.execute("vertarget");
    EXPECT_NE(v.text.find("Windows 10 Kernel Version 19041 MP (16 procs) Free x64"), std::string::npos) << v.text;
    EXPECT_NE(v.text.find("Edition build lab: 19041.1.amd64fre.vb_release.191206-1406"), std::string::npos) << v.text;
    EXPECT_NE(v.text.find("Kernel base = 0xfffff804`7ba00000 PsLoadedModuleList = 0xfffff804`7c62a390"),
              std::string::npos) << v.text;
    EXPECT_EQ(e.prompt(), "0: kd> ");
    Output b = e.execute(".bugcheck");
    EXPECT_NE(b.text.find("Bugcheck code 1000007E"), std::string::npos) << b.text;
    Output lm = e.execute("lm m amdppm");
    EXPECT_NE(lm.text.find("fffff804`8b580000 fffff804`8b5bb000   amdppm"), std::string::npos) << lm.text;
    // The check the third-party test made with cdb: "lm a <faulting address>" names amdppm alone.
    Output byAddress = e.execute("lm a fffff8048b58334c");
    ASSERT_EQ(byAddress.json["modules"].size(), 1u) << byAddress.text;
    EXPECT_EQ(byAddress.json["modules"][0]["name"], "amdppm");
    EXPECT_EQ(byAddress.json["unloaded_modules"].size(), 0u);
}

TEST(KernelDumps, TriageX64StackExceptionAndContextRecords) {
    NT_REQUIRE_CORPUS_FILE(dump, "rizin-testbins/triage_x64.dmp");
    Engine e(openDump(dump));
    // The header context is the faulting one: rip is the bugcheck's Arg2.
    auto ctx = e.currentContext();
    ASSERT_TRUE(ctx);
    EXPECT_EQ(ctx->ip(), 0xfffff8048b58334cull);
    Output k = e.execute("k");
    auto sites = callSites(k);
    ASSERT_GE(sites.size(), 4u) << k.text;
    EXPECT_EQ(sites[0], "amdppm+0x334c");
    EXPECT_EQ(sites[1].rfind("amdppm+", 0), 0u) << k.text;
    // The stored stack reaches amdppm's caller in the framework.
    bool wdf = false;
    for (const auto& s : sites) wdf |= s.rfind("Wdf01000+", 0) == 0;
    EXPECT_TRUE(wdf) << k.text;

    // Arg3 is the exception record, Arg4 the context record (0x7E's arguments).
    Output x = e.execute(".exr ffff850429891ee8");
    ASSERT_FALSE(x.error) << x.text;
    EXPECT_NE(x.text.find("ExceptionAddress: fffff8048b58334c (amdppm+0x000000000000334c)"), std::string::npos) << x.text;
    EXPECT_NE(x.text.find("ExceptionCode: c0000005 (Access violation)"), std::string::npos) << x.text;
    EXPECT_NE(x.text.find("Attempt to write to address ffffffffffffffff"), std::string::npos) << x.text;
    Output c = e.execute(".cxr ffff850429891720");
    ASSERT_FALSE(c.error) << c.text;
    EXPECT_NE(c.text.find("rip=fffff8048b58334c rsp=ffff850429892120"), std::string::npos) << c.text;
    Output k2 = e.execute("k");
    EXPECT_NE(k2.text.find("*** Stack trace for last set context - .thread/.cxr resets it"), std::string::npos);
    EXPECT_EQ(callSites(k2).at(0), "amdppm+0x334c");
    Output reset = e.execute(".cxr");
    EXPECT_NE(reset.text.find("Resetting default scope"), std::string::npos);
    // cr3 of the bugcheck processor is the header's DirectoryTableBase.
    Output cr3 = e.execute("r cr3");
    EXPECT_EQ(cr3.text, "cr3=00000000001ad000\n");
}

TEST(KernelDumps, TriageX64StoredProcessAndThreadWithTheMatchingIsf) {
    NT_REQUIRE_CORPUS_FILE(dump, "rizin-testbins/triage_x64.dmp");
    Engine e(openDump(dump));
    e.symbols().setSymbolPath(corpusFile("jpcert-isf"));
    // Found by RVA: the dump holds no CodeView record for nt.
    EXPECT_EQ(e.symbols().resolve("nt!PsActiveProcessHead"), 0xfffff8047c61e200ull);
    EXPECT_EQ(e.symbols().resolve("nt!KiProcessorBlock"), 0xfffff8047ba00000ull + 0xcfdc80);
    Output lm = e.execute("lm m nt");
    EXPECT_NE(lm.text.find("5278AFF86C341677D7D7835C85B7B844-1.json.xz"), std::string::npos) << lm.text;
    // The KDBG copy places the stored PRCB, thread and process.
    EXPECT_EQ(e.kernelPrcb(), 0xfffff804782d4180ull);
    EXPECT_EQ(e.kernelThread(), 0xffffc08bde9e1640ull);
    EXPECT_EQ(e.kernelProcess(), 0xffffc08bdce94180ull);
    Output p = e.execute("dt nt!_EPROCESS @$proc UniqueProcessId ImageFileName");
    ASSERT_FALSE(p.error) << p.text;
    EXPECT_NE(p.text.find("+0x440 UniqueProcessId  : 0x00000000`00000004 Void"), std::string::npos) << p.text;
    EXPECT_NE(p.text.find("+0x5a8 ImageFileName    : [15]  \"System\""), std::string::npos) << p.text;
    Output th = e.execute("dt nt!_KTHREAD @$thread State");
    EXPECT_NE(th.text.find("+0x184 State            : 0x2"), std::string::npos) << th.text;  // Running
}

// Without any symbol path the built-in 19041 table (generated from the ISF
// files) reads the stored process and thread the same way the ISF does.
TEST(KernelDumps, TriageX64StoredProcessAndThreadWithoutSymbols) {
    NT_REQUIRE_CORPUS_FILE(dump, "rizin-testbins/triage_x64.dmp");
    Engine e(openDump(dump));
    Output p = e.execute("!process -1 0");
    ASSERT_FALSE(p.error) << p.text;
    EXPECT_NE(p.text.find("PROCESS ffffc08bdce94180"), std::string::npos) << p.text;
    EXPECT_NE(p.text.find("Cid: 0004"), std::string::npos) << p.text;
    EXPECT_NE(p.text.find("DirBase: 001ad000"), std::string::npos) << p.text;
    EXPECT_NE(p.text.find("Image: System"), std::string::npos) << p.text;
    Output t = e.execute("!thread");
    EXPECT_NE(t.text.find("THREAD ffffc08bde9e1640  Cid 0004.0108"), std::string::npos) << t.text;
    EXPECT_NE(t.text.find("RUNNING on processor 0"), std::string::npos) << t.text;
    Output d = e.execute("dt nt!_EPROCESS @$proc ImageFileName");
    EXPECT_NE(d.text.find("+0x5a8 ImageFileName    : [15]  \"System\""), std::string::npos) << d.text;
}

TEST(KernelDumps, ArmDumpsAsKdlibcppExpects) {
    NT_REQUIRE_CORPUS_FILE(arm64, "kdlibcpp/win10_arm64_mem/win10_arm64_mem.dmp");
    NT_REQUIRE_CORPUS_FILE(arm64b, "rizin-testbins/triage_arm64.dmp");
    NT_REQUIRE_CORPUS_FILE(arm, "kdlibcpp/win10_arm_rpi3_mem/RPi3_ARM_mini.cab.dmp");
    {
        Engine e(openDump(arm64));
        const Target& t = e.target();
        EXPECT_EQ(t.machine, Machine::Arm64);
        EXPECT_EQ(e.pointerSize(), 8u);
        EXPECT_EQ(t.kernel->dumpType, 4u);
        EXPECT_EQ(t.kernel->bugCheckCode, 0xe2u);
        EXPECT_EQ(t.kernel->buildNumber, 17134u);
        EXPECT_EQ(t.kernel->numberProcessors, 8u);
        EXPECT_EQ(t.modules.size(), 228u);
        EXPECT_NE(t.moduleByName("clipsp"), nullptr);
        Output k = e.execute("k");
        EXPECT_GE(callSites(k).size(), 11u) << k.text;  // kdlibcpp: getFrameCount() >= 11
    }
    {
        Engine e(openDump(arm64b));
        EXPECT_EQ(e.target().machine, Machine::Arm64);
        EXPECT_EQ(e.target().kernel->bugCheckCode, 0x1c8u);
        EXPECT_EQ(e.target().kernel->bugCheckParameters[1], 0xfffff803f3a20860ull);
        EXPECT_EQ(e.target().kernel->buildNumber, 22000u);
        EXPECT_EQ(e.target().kernel->numberProcessors, 8u);
        EXPECT_EQ(e.target().modules.size(), 245u);
    }
    {
        Engine e(openDump(arm));
        const Target& t = e.target();
        EXPECT_EQ(t.machine, Machine::Arm);
        EXPECT_EQ(e.pointerSize(), 4u);
        EXPECT_EQ(t.kernel->dumpType, 4u);
        EXPECT_EQ(t.kernel->numberProcessors, 4u);
        EXPECT_EQ(t.modules.size(), 136u);
        ASSERT_TRUE(t.exception);
        EXPECT_EQ(t.exception->code, 0x80000003u);  // a .dump /m from a break-in
        // Frame 0 is in the framework (kdlibcpp: FxRequest::CompleteInternal).
        Output k = e.execute("k");
        auto sites = callSites(k);
        ASSERT_GE(sites.size(), 1u);
        EXPECT_EQ(sites[0].rfind("Wdf01000+", 0), 0u) << k.text;
    }
}

TEST(KernelDumps, TruncatedFullDumpShowsTheHeaderAndMissingMemory) {
    NT_REQUIRE_CORPUS_FILE(dump, "imhex-patterns/dmp64.hexpat.bin");
    Engine e(openDump(dump));
    const Target& t = e.target();
    EXPECT_EQ(t.kernel->dumpType, 1u);
    EXPECT_EQ(t.kernel->buildNumber, 19045u);
    EXPECT_EQ(t.kernel->numberProcessors, 4u);
    EXPECT_EQ(t.kernel->bugCheckCode, 0x5454414du);
    bool said = false;
    for (const auto& n : t.kernel->notes) said |= n.find("trunc") != std::string::npos || n.find("cut") != std::string::npos;
    EXPECT_TRUE(said);
    // Memory past the 16 KiB is absent: question marks, not garbage, no crash.
    Output d = e.execute("db @rsp l10");
    EXPECT_NE(d.text.find("?? ?? ?? ?? ?? ?? ?? ?\?-?? ?? ?? ?? ?? ?? ?? ??"), std::string::npos) << d.text;
    Output k = e.execute("k");
    EXPECT_FALSE(k.text.empty());
}

}  // namespace
}  // namespace nt::test
