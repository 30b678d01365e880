// Kernel bootstrap on synthetic dumps: the debugger data block in clear text
// and encoded the Windows 8+ way (decoded once nt's symbols are found), the
// processor contexts taken from each KPRCB, and the kernel's ISF found by
// the CodeView record of nt's PE header.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "commands/engine.h"
#include "dump/open_dump.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/test_support.h"

namespace nt::test {
namespace {

namespace kd = nt::test::kdump;
const char* kIsf = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

std::string tempDump(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / "ntriage-kernel-bootstrap";
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

CpuContext contextAt(uint64_t rip, uint64_t rsp) {
    CpuContext c(Machine::Amd64);
    c.setIp(rip);
    c.setSp(rsp);
    c.set(Reg::Cs, 0x10);
    c.set(Reg::Ss, 0x18);
    return c;
}

TEST(KernelBootstrap, EncodedKdbgIsDecodedOnceNtSymbolsAreKnown) {
    NT_REQUIRE_CORPUS_FILE(isf, kIsf);
    kd::NtWorldOptions o;
    o.encodeKdbg = true;
    o.processors = 2;
    kd::NtWorldBuilder w(isf, o);
    uint64_t notepad = w.addProcess("notepad.exe", 0x1234, 4);
    uint64_t t = w.addThread(notepad, 0x1238, kd::Running, 0, kd::KernelMode);
    w.setCurrentThread(1, t);
    w.setContext(contextAt(w.kernBase() + 0x1000, 0xfffff80000100000ull), 0);
    w.setContext(contextAt(w.kernBase() + 0x2000, 0xfffff80000200000ull), 1);
    w.setBugcheck(0xe2, {0, 0, 0, 0});
    std::string path = tempDump("encoded-full.dmp");
    w.buildFile(path, kd::kFull);

    Engine e(openDump(path));
    const KernelInfo& k = *e.target().kernel;
    EXPECT_FALSE(k.kdbg.present);  // the tag is unreadable until decoded
    bool said = false;
    for (const auto& n : k.notes) said |= n.rfind("KdDebuggerDataBlock is encoded", 0) == 0;
    EXPECT_TRUE(said);
    // nt is known from PsLoadedModuleList (the header names it) even so.
    const Module* nt = e.target().moduleByName("nt");
    ASSERT_NE(nt, nullptr);
    EXPECT_EQ(nt->base, w.kernBase());

    e.symbols().setSymbolPath(corpusFile("jpcert-isf"));
    e.invalidateStacks();
    const KernelInfo& k2 = *e.target().kernel;
    ASSERT_TRUE(k2.kdbg.present);
    EXPECT_TRUE(k2.kdbg.wasEncoded);
    EXPECT_EQ(k2.kdbg.kernBase, w.kernBase());
    EXPECT_EQ(k2.kdbg.psActiveProcessHead, w.symbol("PsActiveProcessHead"));
    EXPECT_EQ(k2.kdbg.kiProcessorBlock, w.symbol("KiProcessorBlock"));
    EXPECT_EQ(k2.kdbg.sizeEProcess, 0xa40);
    EXPECT_EQ(k2.kernelBase, w.kernBase());
    // Processor 1's context comes from its KPRCB once the PRCB array is known.
    ASSERT_GE(e.target().threads.size(), 2u);
    ASSERT_TRUE(e.target().threads[1].context);
    EXPECT_EQ(e.target().threads[1].context->ip(), w.kernBase() + 0x2000);
    e.setCurrentThread(1);
    EXPECT_EQ(e.prompt(), "1: kd> ");
    EXPECT_EQ(e.kernelThread(), t);
    EXPECT_EQ(e.kernelProcess(), notepad);
    Output dt = e.execute("dt nt!_EPROCESS @$proc ImageFileName");
    EXPECT_NE(dt.text.find("\"notepad.exe\""), std::string::npos) << dt.text;
    std::remove(path.c_str());
}

TEST(KernelBootstrap, ClearKdbgInBitmapDumpGivesProcessorsAndModules) {
    NT_REQUIRE_CORPUS_FILE(isf, kIsf);
    kd::NtWorldOptions o;
    o.processors = 2;
    kd::NtWorldBuilder w(isf, o);
    w.addDriver("mydrv.sys", 0xfffff80490000000ull, 0x8000, 0x5f000000);
    w.setContext(contextAt(w.kernBase() + 0x1000, 0xfffff80000100000ull), 0);
    w.setBugcheck(0x7e, {0xc0000005, 0xfffff80490001234ull, 0, 0});
    std::string path = tempDump("clear-bitmap.dmp");
    w.buildFile(path, kd::kBitmapKernel);
    Engine e(openDump(path));
    const KernelInfo& k = *e.target().kernel;
    ASSERT_TRUE(k.kdbg.present);
    EXPECT_FALSE(k.kdbg.wasEncoded);
    EXPECT_EQ(k.kernelBase, w.kernBase());
    EXPECT_EQ(k.dumpType, 6u);
    const Module* drv = e.target().moduleByName("mydrv");
    ASSERT_NE(drv, nullptr);
    EXPECT_EQ(drv->base, 0xfffff80490000000ull);
    EXPECT_EQ(drv->size, 0x8000u);
    EXPECT_EQ(e.target().moduleAt(k.bugCheckParameters[1]), drv);
    // r cr3 is the header's DirectoryTableBase (System's DirBase).
    Output cr3 = e.execute("r cr3");
    EXPECT_EQ(cr3.text, fmt::format("cr3={:016x}\n", w.header().directoryTableBase)) << cr3.text;
    std::remove(path.c_str());
}

}  // namespace
}  // namespace nt::test
