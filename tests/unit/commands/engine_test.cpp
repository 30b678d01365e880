// Engine dispatch and the thread/exception/module commands on a small
// hand-built target, checked against WinDbg's line formats.
#include <gtest/gtest.h>

#include "commands/engine.h"
#include "memory/range_memory.h"

namespace nt {
namespace {

class FakeTarget : public Target {
public:
    const Memory& memory() const override { return mem; }
    RangeMemory mem;
    std::vector<uint8_t> backing;
};

CpuContext x64Context(uint64_t rip, uint64_t rsp) {
    CpuContext c(Machine::Amd64);
    c.set(Reg::Rip, rip);
    c.set(Reg::Rsp, rsp);
    return c;
}

std::unique_ptr<FakeTarget> makeX64Target() {
    auto t = std::make_unique<FakeTarget>();
    t->machine = Machine::Amd64;
    t->misc.processId = 0x1a3c;
    for (uint32_t i = 0; i < 3; ++i) {
        Thread th;
        th.id = 0x2b8c + i;
        th.suspendCount = i == 2 ? 1 : 0;
        th.teb = 0x000000e5c5f0b000ull + 0x2000 * i;
        th.context = x64Context(0x7ff7a1311000 + i, 0x10000 + 0x100 * i);
        t->threads.push_back(th);
    }
    t->threads[1].name = "worker";
    Module m;
    m.base = 0x7ff7a1310000;
    m.size = 0x7000;
    m.path = "C:\\app\\sigsegv.exe";
    m.name = "sigsegv";
    t->modules.push_back(m);
    ExceptionInfo x;
    x.threadId = 0x2b8d;
    x.code = 0xC0000005;
    x.address = 0x7ff7a13110d9;
    x.parameters = {1, 0};
    x.context = x64Context(0x7ff7a13110d9, 0x10500);
    t->exception = x;
    t->finalize();
    t->mem.finalize();
    return t;
}

TEST(Engine, ThreadListMarksCurrentAndEventThread) {
    auto t = makeX64Target();
    Engine e(std::move(t));
    // The exception thread (index 1) is current at open.
    EXPECT_EQ(e.currentThread(), 1u);
    Output o = e.execute("~");
    EXPECT_EQ(o.text,
              "   0  Id: 1a3c.2b8c Suspend: 0 Teb: 000000e5`c5f0b000 Unfrozen\n"
              ".  1  Id: 1a3c.2b8d Suspend: 0 Teb: 000000e5`c5f0d000 Unfrozen \"worker\"\n"
              "   2  Id: 1a3c.2b8e Suspend: 1 Teb: 000000e5`c5f0f000 Unfrozen\n");
    ASSERT_EQ(o.json["threads"].size(), 3u);
    EXPECT_EQ(o.json["threads"][1]["id"], 0x2b8d);
    EXPECT_TRUE(o.json["threads"][1]["event_thread"].get<bool>());
}

TEST(Engine, SwitchingThreadChangesPromptAndMarks) {
    Engine e(makeX64Target());
    EXPECT_EQ(e.prompt(), "0:001> ");
    e.execute("~2s");
    EXPECT_EQ(e.prompt(), "0:002> ");
    Output o = e.execute("~");
    EXPECT_NE(o.text.find("#  1  Id: 1a3c.2b8d"), std::string::npos) << o.text;
    EXPECT_NE(o.text.find(".  2  Id: 1a3c.2b8e"), std::string::npos) << o.text;
    e.execute("~0 s");
    EXPECT_EQ(e.prompt(), "0:000> ");
}

TEST(Engine, IllegalThreadIsAnErrorNotACrash) {
    Engine e(makeX64Target());
    Output o = e.execute("~9s");
    EXPECT_TRUE(o.error);
    EXPECT_NE(o.text.find("Illegal thread"), std::string::npos);
    EXPECT_EQ(e.currentThread(), 1u);
    Output p = e.execute("~7 k");
    EXPECT_TRUE(p.error);
}

TEST(Engine, ThreadPrefixRunsCommandPerThreadAndRestoresCurrent) {
    Engine e(makeX64Target());
    Output o = e.execute("~* .lastevent");
    // One header line per thread, in order, each followed by the command's output.
    size_t a = o.text.find("   0  Id: 1a3c.2b8c");
    size_t b = o.text.find(".  1  Id: 1a3c.2b8d");
    size_t c = o.text.find("   2  Id: 1a3c.2b8e");
    ASSERT_NE(a, std::string::npos) << o.text;
    ASSERT_NE(b, std::string::npos) << o.text;
    ASSERT_NE(c, std::string::npos) << o.text;
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
    EXPECT_EQ(o.json["threads"].size(), 3u);
    EXPECT_EQ(e.currentThread(), 1u);
}

TEST(Engine, LastEventAndExceptionRecord) {
    Engine e(makeX64Target());
    Output le = e.execute(".lastevent");
    EXPECT_EQ(le.text, "Last event: 1a3c.2b8d: Access violation - code c0000005 (first/second chance not available)\n");
    Output x = e.execute(".exr -1");
    EXPECT_NE(x.text.find("ExceptionAddress: 00007ff7a13110d9"), std::string::npos) << x.text;
    EXPECT_NE(x.text.find("   ExceptionCode: c0000005 (Access violation)\n"), std::string::npos);
    EXPECT_NE(x.text.find("  ExceptionFlags: 00000000\n"), std::string::npos);
    EXPECT_NE(x.text.find("NumberParameters: 2\n"), std::string::npos);
    EXPECT_NE(x.text.find("   Parameter[0]: 0000000000000001\n"), std::string::npos);
    EXPECT_NE(x.text.find("Attempt to write to address 0000000000000000\n"), std::string::npos);
    EXPECT_EQ(x.json["code"], 0xC0000005u);
}

TEST(Engine, EcxrSwitchesScopeToExceptionContext) {
    Engine e(makeX64Target());
    e.execute("~0s");
    e.execute(".ecxr");
    EXPECT_EQ(e.currentThread(), 1u);
    ASSERT_TRUE(e.hasScopeContext());
    EXPECT_EQ(e.currentContext()->ip(), 0x7ff7a13110d9u);
    // Switching threads resets the scope, as in WinDbg.
    e.execute("~2s");
    EXPECT_FALSE(e.hasScopeContext());
    EXPECT_EQ(e.currentContext()->ip(), 0x7ff7a1311002u);
}

TEST(Engine, EffmachRefusesX86OnPlainX64Dump) {
    Engine e(makeX64Target());
    Output o = e.execute(".effmach x86");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(e.effectiveMachine(), Machine::Amd64);
    Output sw = e.execute("!wow64exts.sw");
    EXPECT_TRUE(sw.error);
}

TEST(Engine, UnknownCommandIsAnErrorAndWordCommandsNeedASeparator) {
    Engine e(makeX64Target());
    Output o = e.execute("qwerty");
    EXPECT_TRUE(o.error);
    EXPECT_FALSE(o.quit);
    EXPECT_EQ(o.text, "       ^ Syntax error in 'qwerty'\n");
    Output ext = e.execute("!nosuch 1");
    EXPECT_TRUE(ext.error);
    EXPECT_EQ(ext.text, "No export nosuch found\n");
    Output q = e.execute("q");
    EXPECT_TRUE(q.quit);
}

TEST(Engine, SplitCommandsHonoursQuotes) {
    auto v = Engine::splitCommands(" ~ ; k 3;; .echo \"a;b\" ;");
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0], "~");
    EXPECT_EQ(v[1], "k 3");
    EXPECT_EQ(v[2], ".echo \"a;b\"");
}

TEST(Engine, LmListsModulesWithWinDbgColumns) {
    Engine e(makeX64Target());
    Output o = e.execute("lm");
    std::string first = o.text.substr(0, o.text.find('\n'));
    EXPECT_EQ(first, "start             end                 module name");
    EXPECT_NE(o.text.find("00007ff7`a1310000 00007ff7`a1317000   sigsegv    "), std::string::npos) << o.text;
    Output none = e.execute("lm m nosuch*");
    EXPECT_EQ(none.json["modules"].size(), 0u);
    Output some = e.execute("lm m sig*");
    EXPECT_EQ(some.json["modules"].size(), 1u);
    // "a <address>" keeps the module holding the address; glued and spaced forms alike.
    Output byAddress = e.execute("lm a 7ff7`a1310010");
    ASSERT_EQ(byAddress.json["modules"].size(), 1u) << byAddress.text;
    EXPECT_EQ(byAddress.json["modules"][0]["name"], "sigsegv");
    EXPECT_EQ(e.execute("lmva7ff7`a1317000").json["modules"].size(), 0u);  // end is exclusive
    EXPECT_TRUE(e.execute("lm a").error);
}

}  // namespace
}  // namespace nt
