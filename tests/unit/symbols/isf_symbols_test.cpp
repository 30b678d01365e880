// A kernel module whose CodeView names ntkrnlmp.pdb 5278AFF8...B844 age 1
// gets its symbols and types from JPCERT's ISF table on the symbol path.
// RVAs below were read from the table's JSON with python3's json module:
// KiProcessorBlock 0xcfdc80, PsActiveProcessHead 0xc1e200.
#include <gtest/gtest.h>

#include "memory/range_memory.h"
#include "support/test_support.h"
#include "symbols/symbolizer.h"

namespace nt {
namespace {
using test::corpusFile;

class FakeTarget : public Target {
public:
    const Memory& memory() const override { return mem; }
    RangeMemory mem;
};

TEST(IsfSymbols, KernelModuleUsesTheMatchingIsfTable) {
    NT_REQUIRE_CORPUS_FILE(isf, "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz");
    FakeTarget t;
    t.machine = Machine::Amd64;
    Module nt;
    nt.base = 0xfffff80460000000;
    nt.size = 0x1046000;
    nt.path = "\\SystemRoot\\system32\\ntoskrnl.exe";
    nt.name = "nt";
    CodeViewInfo cv;
    // {5278AFF8-6C34-1677-D7D7-835C85B7B844} as stored: Data1..3 little-endian.
    const uint8_t guid[16] = {0xF8, 0xAF, 0x78, 0x52, 0x34, 0x6C, 0x77, 0x16,
                              0xD7, 0xD7, 0x83, 0x5C, 0x85, 0xB7, 0xB8, 0x44};
    std::copy(std::begin(guid), std::end(guid), cv.guid.begin());
    cv.age = 1;
    cv.pdbName = "ntkrnlmp.pdb";
    nt.codeView = cv;
    t.modules.push_back(nt);
    ASSERT_EQ(t.modules[0].codeView->guidString(), "5278AFF86C341677D7D7835C85B7B844");

    ModuleImages images(t);
    Symbolizer s(t, images);
    s.setSymbolPath(corpusFile("jpcert-isf"));
    EXPECT_EQ(s.format(nt.base + 0xcfdc80), "nt!KiProcessorBlock");
    EXPECT_EQ(s.format(nt.base + 0xc1e208), "nt!PsActiveProcessHead+0x8");
    EXPECT_EQ(s.resolve("nt!PsActiveProcessHead"), nt.base + 0xc1e200);
    EXPECT_EQ(s.state(t.modules[0]), SymbolState::PdbSymbols);
    SymbolProvider* p = s.provider(t.modules[0]);
    ASSERT_NE(p, nullptr);
    ASSERT_NE(p->types(), nullptr);
    auto eprocess = p->types()->findType("_EPROCESS");
    ASSERT_TRUE(eprocess);
    EXPECT_EQ(p->file(), corpusFile("jpcert-isf") + "/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz");
}

TEST(IsfSymbols, AnotherBuildsTableIsNotUsed) {
    NT_REQUIRE_CORPUS_FILE(isf, "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz");
    FakeTarget t;
    t.machine = Machine::Amd64;
    Module nt;
    nt.base = 0xfffff80460000000;
    nt.size = 0x1046000;
    nt.name = "nt";
    CodeViewInfo cv;
    cv.guid[0] = 0x12;  // no table has this GUID
    cv.age = 1;
    cv.pdbName = "ntkrnlmp.pdb";
    nt.codeView = cv;
    t.modules.push_back(nt);
    ModuleImages images(t);
    Symbolizer s(t, images);
    s.setSymbolPath(corpusFile("jpcert-isf"));
    EXPECT_EQ(s.format(nt.base + 0xcfdc80), "nt+0xcfdc80");
    EXPECT_EQ(s.state(t.modules[0]), SymbolState::NoSymbols);
}

}  // namespace
}  // namespace nt
