// `?` through the engine: WinDbg's "Evaluate expression" line for 32- and
// 64-bit targets, and the engine-backed ExprEnv (registers of the scope,
// pseudo-registers, memory, module names) on lldb/sigsegv.dmp, with facts
// from lldb-16 (register read, memory read, image list, thread list) and
// obj2yaml-16 (Environment Block = TEB).
#include <gtest/gtest.h>

#include "commands/engine.h"
#include "commands/expression.h"
#include "dump/open_dump.h"
#include "memory/range_memory.h"
#include "support/test_support.h"

namespace nt {
namespace {

class FakeTarget : public Target {
public:
    const Memory& memory() const override { return mem; }
    RangeMemory mem;
};

TEST(EvalCommands, X86Layout) {
    auto t = std::make_unique<FakeTarget>();
    t->machine = Machine::X86;
    t->mem.finalize();
    t->finalize();
    Engine e(std::move(t));
    EXPECT_EQ(e.execute("? 1066").text, "Evaluate expression: 4198 = 00001066\n");
    EXPECT_EQ(e.execute("? 0n10+0y11").text, "Evaluate expression: 13 = 0000000d\n");
    EXPECT_EQ(e.execute("? -1").text, "Evaluate expression: -1 = ffffffff\n");
    EXPECT_EQ(e.execute("?1+1").text, "Evaluate expression: 2 = 00000002\n");
    Output bad = e.execute("? 1/0");
    EXPECT_TRUE(bad.error);
    EXPECT_EQ(bad.text, "Divide by zero error at '0'\n");
    EXPECT_EQ(e.execute("? 5").json["value"], 5);
}

TEST(EvalCommands, SigsegvEngineEnvironment) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.dmp");
    Engine e(openDump(path));
    e.execute(".ecxr");
    EXPECT_EQ(e.execute("? rip").text, "Evaluate expression: 140701537997017 = 00007ff7`a13110d9\n");
    EXPECT_EQ(e.execute("? @$ip").text, "Evaluate expression: 140701537997017 = 00007ff7`a13110d9\n");
    // memory read at rsp: 10 30 31 a1 f7 7f 00 00
    EXPECT_EQ(e.execute("? poi(@rsp)").text, "Evaluate expression: 140701538005008 = 00007ff7`a1313010\n");
    EXPECT_EQ(e.execute("? by(rsp+8)").text, "Evaluate expression: 10 = 00000000`0000000a\n");
    // image list: sigsegv.exe at 0x00007ff7a1310000
    EXPECT_EQ(e.execute("? sigsegv").text, "Evaluate expression: 140701537992704 = 00007ff7`a1310000\n");
    EXPECT_EQ(e.execute("? rip-sigsegv").text, "Evaluate expression: 4313 = 00000000`000010d9\n");
    // thread list: tid = 0x2a6c; obj2yaml: Environment Block 0xADDAC91000
    EXPECT_EQ(e.execute("? $tid").text, "Evaluate expression: 10860 = 00000000`00002a6c\n");
    EXPECT_EQ(e.execute("? @$teb").text, "Evaluate expression: 746699952128 = 000000ad`dac91000\n");
    Output miss = e.execute("? poi(0)");
    EXPECT_TRUE(miss.error);
    EXPECT_EQ(miss.text, "Memory access error at '(0)'\n");
}

}  // namespace
}  // namespace nt
