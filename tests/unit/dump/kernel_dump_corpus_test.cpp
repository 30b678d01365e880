// KernelDumpFile on the real kernel dumps of the corpus. Expected values were
// read independently by a short Python script (struct.unpack at the offsets
// of rizin's dmp_specs.h / Volatility's crash vtypes), and agree with
// MANIFEST.md (third-party cdb output for triage_x64.dmp).
#include <gtest/gtest.h>

#include <algorithm>

#include "base/mapped_file.h"
#include "dump/kernel/kernel_dump_file.h"
#include "support/test_support.h"

namespace nt::kdump {
namespace {

const TriageDriver* findDriver(const Triage& t, const std::string& name) {
    for (const auto& d : t.drivers)
        if (d.name == name) return &d;
    return nullptr;
}

const TriageBlock* findBlock(const Triage& t, const std::string& what, uint64_t address) {
    for (const auto& b : t.blocks)
        if (b.what == what && b.address == address) return &b;
    return nullptr;
}

uint64_t u64At(Bytes b, uint64_t off) { return b.getOr<uint64_t>(off, ~0ull); }
uint32_t u32At(Bytes b, uint64_t off) { return b.getOr<uint32_t>(off, ~0u); }

TEST(KernelDumpCorpus, TriageX64) {
    NT_REQUIRE_CORPUS_FILE(path, "rizin-testbins/triage_x64.dmp");
    MappedFile mf = MappedFile::open(path);
    auto dump = KernelDumpFile::parse(mf.bytes());
    const Header& h = dump->header();
    EXPECT_TRUE(h.is64);
    EXPECT_EQ(h.dumpType, kTriage);
    EXPECT_EQ(h.machine, Machine::Amd64);
    EXPECT_EQ(h.majorVersion, 15u);
    EXPECT_EQ(h.minorVersion, 19041u);
    EXPECT_EQ(h.numberProcessors, 16u);
    EXPECT_EQ(h.bugCheckCode, 0x1000007eu);
    EXPECT_EQ(h.bugCheckParameters[0], 0xffffffffc0000005ull);
    EXPECT_EQ(h.bugCheckParameters[1], 0xfffff8048b58334cull);
    EXPECT_EQ(h.bugCheckParameters[2], 0xffff850429891ee8ull);
    EXPECT_EQ(h.bugCheckParameters[3], 0xffff850429891720ull);
    EXPECT_EQ(h.directoryTableBase, 0x1ad000u);
    EXPECT_EQ(h.psLoadedModuleList, 0xfffff8047c62a390ull);
    EXPECT_EQ(h.psActiveProcessHead, 0xfffff8047c61e200ull);
    EXPECT_EQ(h.kdDebuggerDataBlock, 0xfffff8047c600b20ull);
    EXPECT_EQ(h.systemTime, 0x1d707f23dbb3399ull);  // 2021-02-21
    EXPECT_EQ(h.versionUser, "");                   // "PAGE" fill: unset
    EXPECT_EQ(h.exception.code, 0x80000003u);
    EXPECT_EQ(h.exception.address, 0xfffff8047bdf5a80ull);
    EXPECT_EQ(dump->physical(), nullptr);
    EXPECT_FALSE(dump->truncated());

    const Triage* t = dump->triage();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->complete);
    EXPECT_EQ(t->driverCount, 151u);
    ASSERT_EQ(t->drivers.size(), 151u);
    EXPECT_EQ(t->drivers[0].name, "ntoskrnl.exe");
    EXPECT_EQ(t->drivers[0].path, "\\SystemRoot\\system32\\ntoskrnl.exe");
    EXPECT_EQ(t->drivers[0].base, 0xfffff8047ba00000ull);
    EXPECT_EQ(t->drivers[0].size, 0x1046000u);
    const TriageDriver* amd = findDriver(*t, "amdppm.sys");
    ASSERT_NE(amd, nullptr);
    EXPECT_EQ(amd->base, 0xfffff8048b580000ull);
    EXPECT_EQ(amd->size, 0x3b000u);
    EXPECT_EQ(amd->checksum, 0x38e6bu);
    EXPECT_EQ(amd->timestamp, 0xc9c03000u);
    EXPECT_EQ(amd - t->drivers.data(), 143);
    for (const auto& d : t->drivers) EXPECT_FALSE(d.name.empty());

    // Context: the x64 CONTEXT's Rip (+0xf8) is the faulting amdppm address.
    EXPECT_EQ(u64At(t->context, 0xf8), 0xfffff8048b58334cull);
    ASSERT_TRUE(t->exception);
    EXPECT_EQ(t->exception->code, 0x80000003u);

    // Unloaded drivers: u32 count + pad, four entries.
    ASSERT_EQ(t->unloadedDrivers.size(), 4u);
    EXPECT_EQ(t->unloadedDrivers[0].name, "dam.sys");
    EXPECT_EQ(t->unloadedDrivers[0].start, 0xfffff80487de0000ull);
    EXPECT_EQ(t->unloadedDrivers[0].end, 0xfffff80487dfc000ull);
    EXPECT_EQ(t->unloadedDrivers[3].name, "mcupdate.dll");

    // Saved parts, each bounded by the next: KPRCB 0xaf00, EPROCESS 0xa40, ETHREAD 0x898.
    EXPECT_EQ(t->prcb.size(), 0xaf00u);
    EXPECT_EQ(t->process.size(), 0xa40u);
    EXPECT_EQ(t->thread.size(), 0x898u);
    EXPECT_EQ(t->mm.size(), 0x50u);

    // Call stack: 0x2118 bytes from TopOfStack.
    EXPECT_EQ(t->topOfStack, 0xffff850429890ee8ull);
    EXPECT_EQ(t->callStack.size(), 0x2118u);
    const TriageBlock* cs = findBlock(*t, "call stack", 0xffff850429890ee8ull);
    ASSERT_NE(cs, nullptr);
    EXPECT_EQ(cs->bytes.size(), 0x2118u);
    EXPECT_EQ(cs->bytes.data(), mf.bytes().data() + 0xe390);

    // Data blocks: 1831 of them; the PRCB's virtual address is block 1.
    EXPECT_EQ(t->dataBlocksCount, 1831u);
    size_t dataBlocks = std::count_if(t->blocks.begin(), t->blocks.end(),
                                      [](const TriageBlock& b) { return b.what == "data block"; });
    EXPECT_EQ(dataBlocks, 1831u);
    const TriageBlock* prcb = findBlock(*t, "data block", 0xfffff804782d4180ull);
    ASSERT_NE(prcb, nullptr);
    EXPECT_EQ(prcb->bytes.size(), 0xaf00u);
    const TriageBlock* first = findBlock(*t, "data block", 0xfffff8047c62a7a0ull);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->bytes.size(), 0x9cu);

    // KDDEBUGGER_DATA64 copy: "KDBG" at +0x10, KernBase at +0x18.
    ASSERT_EQ(t->debuggerData.size(), 0x380u);
    EXPECT_EQ(u32At(t->debuggerData, 0x10), 0x4742444bu);
    EXPECT_EQ(u64At(t->debuggerData, 0x18), 0xfffff8047ba00000ull);
    EXPECT_NE(findBlock(*t, "debugger data", 0xfffff8047c600b20ull), nullptr);
    EXPECT_TRUE(dump->warnings().empty()) << dump->warnings().front();
}

TEST(KernelDumpCorpus, TriageArm64Win11) {
    NT_REQUIRE_CORPUS_FILE(path, "rizin-testbins/triage_arm64.dmp");
    MappedFile mf = MappedFile::open(path);
    auto dump = KernelDumpFile::parse(mf.bytes());
    const Header& h = dump->header();
    EXPECT_EQ(h.machine, Machine::Arm64);
    EXPECT_EQ(h.minorVersion, 22000u);
    EXPECT_EQ(h.numberProcessors, 8u);
    EXPECT_EQ(h.bugCheckCode, 0x1c8u);
    EXPECT_EQ(h.bugCheckParameters[0], 0x1b58u);
    EXPECT_EQ(h.bugCheckParameters[1], 0xfffff803f3a20860ull);
    const Triage* t = dump->triage();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->complete);
    EXPECT_EQ(t->drivers.size(), 245u);
    const TriageDriver* clip = findDriver(*t, "clipsp.sys");
    ASSERT_NE(clip, nullptr);
    EXPECT_EQ(clip->base, 0xfffff803f5610000ull);
    EXPECT_EQ(clip->size, 0xf8000u);
    EXPECT_EQ(u64At(t->context, 0x108), 0xfffff803f32de014ull);  // ARM64 CONTEXT.Pc
    ASSERT_EQ(t->unloadedDrivers.size(), 11u);
    EXPECT_EQ(t->unloadedDrivers[0].name, "MSKSSRV.sys");
    EXPECT_EQ(t->prcb.size(), 0x9680u);
    EXPECT_EQ(t->process.size(), 0xc80u);
    EXPECT_EQ(t->thread.size(), 0x910u);
    EXPECT_NE(findBlock(*t, "call stack", 0xffffe00e0e4bc4a0ull), nullptr);
    EXPECT_EQ(t->callStack.size(), 0xb60u);
    EXPECT_EQ(u64At(t->debuggerData, 0x18), 0xfffff803f2e00000ull);
    EXPECT_EQ(std::count_if(t->blocks.begin(), t->blocks.end(),
                            [](const TriageBlock& b) { return b.what == "data block"; }),
              679);
}

TEST(KernelDumpCorpus, TriageArm64Win10) {
    NT_REQUIRE_CORPUS_FILE(path, "kdlibcpp/win10_arm64_mem/win10_arm64_mem.dmp");
    MappedFile mf = MappedFile::open(path);
    auto dump = KernelDumpFile::parse(mf.bytes());
    const Header& h = dump->header();
    EXPECT_EQ(h.machine, Machine::Arm64);
    EXPECT_EQ(h.minorVersion, 17134u);
    EXPECT_EQ(h.numberProcessors, 8u);
    EXPECT_EQ(h.bugCheckCode, 0xe2u);
    const Triage* t = dump->triage();
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->drivers.size(), 228u);
    const TriageDriver* clip = findDriver(*t, "clipsp.sys");
    ASSERT_NE(clip, nullptr);
    EXPECT_EQ(clip->base, 0xfffff8009dad0000ull);
    EXPECT_EQ(clip->size, 0xd6000u);
    EXPECT_EQ(t->unloadedDrivers.size(), 9u);
    EXPECT_EQ(t->unloadedDrivers[1].name, "dump_storpor");  // 12-WCHAR field, no NUL
    EXPECT_EQ(t->debuggerData.size(), 0x368u);
    EXPECT_EQ(u64At(t->debuggerData, 0x18), 0xfffff801bcb30000ull);
    EXPECT_EQ(t->prcb.size(), 0x6400u);
}

TEST(KernelDumpCorpus, TriageArm32) {
    NT_REQUIRE_CORPUS_FILE(path, "kdlibcpp/win10_arm_rpi3_mem/RPi3_ARM_mini.cab.dmp");
    MappedFile mf = MappedFile::open(path);
    auto dump = KernelDumpFile::parse(mf.bytes());
    const Header& h = dump->header();
    EXPECT_FALSE(h.is64);
    EXPECT_EQ(h.headerSize, 0x1000u);
    EXPECT_EQ(h.machine, Machine::Arm);
    EXPECT_EQ(h.machineImageType, 0x1c4u);
    EXPECT_EQ(h.dumpType, kTriage);
    EXPECT_EQ(h.minorVersion, 17134u);
    EXPECT_EQ(h.numberProcessors, 4u);
    EXPECT_EQ(h.bugCheckCode, 0u);
    EXPECT_EQ(h.kdDebuggerDataBlock, 0x80deec58u);
    EXPECT_EQ(h.psLoadedModuleList, 0x80e16d78u);
    EXPECT_EQ(h.exception.code, 0x80000003u);
    EXPECT_EQ(h.exception.address, 0x80c31e40u);
    EXPECT_EQ(h.systemTime, 0x01d41d41b482b936ull);  // at 0xfc0 (Volatility), 2018-07
    EXPECT_EQ(h.systemUpTime, 0x1bc78e58u);
    EXPECT_EQ(h.requiredDumpSpace, 0x52410u);
    const Triage* t = dump->triage();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->complete);
    ASSERT_EQ(t->drivers.size(), 136u);
    EXPECT_EQ(t->drivers[0].name, "ntoskrnl.exe");
    EXPECT_EQ(t->drivers[0].base, 0x80c06000u);
    EXPECT_EQ(t->drivers[0].size, 0x5b1000u);
    EXPECT_EQ(t->drivers[2].name, "kdcom.dll");
    ASSERT_TRUE(t->exception);
    EXPECT_EQ(t->exception->code, 0x80000003u);
    EXPECT_EQ(u32At(t->context, 0x40), 0x83edaf2du);  // ARM CONTEXT.Pc
    ASSERT_EQ(t->unloadedDrivers.size(), 3u);
    EXPECT_EQ(t->unloadedDrivers[0].name, "ft5406_touch");
    EXPECT_EQ(t->unloadedDrivers[0].start, 0x87ac0000u);
    EXPECT_EQ(t->unloadedDrivers[0].end, 0x87acc000u);
    EXPECT_NE(findBlock(*t, "call stack", 0x80a75cd0u), nullptr);
    EXPECT_EQ(t->callStack.size(), 0x1000u);
    // 16-byte data block entries with sign-extended addresses, narrowed to 32 bits.
    const TriageBlock* first = findBlock(*t, "data block", 0x80e171a0u);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->bytes.size(), 0x84u);
    EXPECT_EQ(std::count_if(t->blocks.begin(), t->blocks.end(),
                            [](const TriageBlock& b) { return b.what == "data block"; }),
              732);
    EXPECT_EQ(t->debuggerData.size(), 0x368u);
    EXPECT_EQ(u64At(t->debuggerData, 0x18), 0xffffffff80c06000ull);  // KDBG64, sign-extended
    EXPECT_TRUE(dump->warnings().empty()) << dump->warnings().front();
}

TEST(KernelDumpCorpus, FullDumpCutTo16KiB) {
    NT_REQUIRE_CORPUS_FILE(path, "imhex-patterns/dmp64.hexpat.bin");
    MappedFile mf = MappedFile::open(path);
    auto dump = KernelDumpFile::parse(mf.bytes());
    const Header& h = dump->header();
    EXPECT_EQ(h.dumpType, kFull);
    EXPECT_EQ(h.machine, Machine::Amd64);
    EXPECT_EQ(h.minorVersion, 19045u);
    EXPECT_EQ(h.numberProcessors, 4u);
    EXPECT_EQ(h.bugCheckCode, 0x5454414du);
    EXPECT_EQ(h.bugCheckParameters[0], 0x4e4f4f4du);
    EXPECT_EQ(h.requiredDumpSpace, 0x7fe88000u);
    EXPECT_EQ(h.physicalPages, 0x7fe86u);
    ASSERT_EQ(h.physicalRuns.size(), 5u);
    EXPECT_EQ(h.physicalRuns[0].basePage, 2u);
    EXPECT_EQ(h.physicalRuns[0].pageCount, 0x9eu);
    EXPECT_EQ(h.physicalRuns[4].basePage, 0xfbffu);
    EXPECT_EQ(h.physicalRuns[4].pageCount, 0x70401u);
    EXPECT_EQ(h.firstPageOffset, 0x2000u);
    EXPECT_TRUE(dump->truncated());
    // Only the cut is reported: the five runs add up to NumberOfPages.
    ASSERT_EQ(dump->warnings().size(), 1u);
    EXPECT_NE(dump->warnings()[0].find("cut"), std::string::npos) << dump->warnings()[0];
    const PhysicalMemory* pm = dump->physical();
    ASSERT_NE(pm, nullptr);
    // 16 KiB - 8 KiB header: two pages survive, those of the first run.
    EXPECT_EQ(pm->presentPages(), 2u);
    uint64_t first = h.physicalRuns[0].basePage;
    EXPECT_EQ(first, 2u);
    Bytes p0 = pm->page(first);
    ASSERT_EQ(p0.size(), 0x1000u);
    EXPECT_EQ(p0.data(), mf.bytes().data() + 0x2000);
    EXPECT_EQ(pm->page(first + 1).data(), mf.bytes().data() + 0x3000);
    EXPECT_TRUE(pm->page(first + 2).empty());  // beyond the 16 KiB
    EXPECT_TRUE(pm->page(h.physicalRuns[4].basePage).empty());
    EXPECT_EQ(pm->nextPresentPfn(0), first);
    EXPECT_FALSE(pm->nextPresentPfn(first + 2));
    uint8_t buf[16];
    EXPECT_EQ(pm->read((first + 1) * 0x1000 + 0xff8, buf), 8u);  // stops at the missing page
}

}  // namespace
}  // namespace nt::kdump
