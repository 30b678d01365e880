// ln and x: line layouts, and on a target whose kernel32 image comes from
// the corpus (rizin-testbins/kernel32.dll; export RVAs from
// `llvm-readobj-16 --coff-exports`: Sleep 0x16630, DeviceIoControl 0x16640,
// SleepEx 0x24270; SleepConditionVariable* are forwarders).
#include <gtest/gtest.h>

#include "commands/command_views.h"
#include "commands/engine.h"
#include "memory/range_memory.h"
#include "support/test_support.h"

namespace nt {
namespace {

TEST(SymbolView, LnLine) {
    EXPECT_EQ(lnLine(0x7ff7a13110d9, NearSymbol{"sigsegv!crash", 0x7ff7a1311080}, NearSymbol{"sigsegv!main", 0x7ff7a1311100}, true),
              "(00007ff7`a1311080)   sigsegv!crash+0x59   |  (00007ff7`a1311100)   sigsegv!main");
    EXPECT_EQ(lnLine(0x401000, NearSymbol{"m!f", 0x401000}, std::nullopt, false), "(00401000)   m!f");
    EXPECT_EQ(lnLine(0x400ff0, std::nullopt, NearSymbol{"m!f", 0x401000}, false), "(00401000)   m!f");
}

TEST(SymbolView, XLine) {
    EXPECT_EQ(xLine(0x7ff966b7c203, "ntdll!RtlReportCriticalFailure", true),
              "00007ff9`66b7c203 ntdll!RtlReportCriticalFailure (<no parameter info>)");
}

class FakeTarget : public Target {
public:
    const Memory& memory() const override { return mem; }
    RangeMemory mem;
};

constexpr uint64_t kBase = 0x7ffbdbe10000;

std::unique_ptr<Engine> kernel32Engine(const std::string& dir) {
    auto t = std::make_unique<FakeTarget>();
    t->machine = Machine::Amd64;
    Module m;
    m.base = kBase;
    m.size = 704512;           // SizeOfImage
    m.timestamp = 0x59028368;  // TimeDateStamp
    m.path = "C:\\Windows\\System32\\kernel32.dll";
    m.name = "kernel32";
    t->modules.push_back(m);
    t->mem.finalize();
    t->finalize();
    auto e = std::make_unique<Engine>(std::move(t));
    e->images().setImagePath({dir});
    return e;
}

TEST(SymbolCommands, LnAndXOverExports) {
    NT_REQUIRE_CORPUS_FILE(dll, "rizin-testbins/kernel32.dll");
    auto e = kernel32Engine(dll.substr(0, dll.rfind('/')));
    Output ln = e->execute("ln kernel32!Sleep+3");
    ASSERT_FALSE(ln.error) << ln.text;
    EXPECT_EQ(ln.text, "(00007ffb`dbe26630)   kernel32!Sleep+0x3   |  (00007ffb`dbe26640)   kernel32!DeviceIoControl\n");
    EXPECT_EQ(ln.json["previous"]["displacement"], 3);
    Output exact = e->execute("ln kernel32!Sleep");
    EXPECT_EQ(exact.text,
              "(00007ffb`dbe26630)   kernel32!Sleep   |  (00007ffb`dbe26640)   kernel32!DeviceIoControl\n"
              "Exact matches:\n"
              "    kernel32!Sleep (<no parameter info>)\n");
    Output x = e->execute("x kernel32!Sleep*");
    EXPECT_NE(x.text.find("00007ffb`dbe26630 kernel32!Sleep (<no parameter info>)\n"), std::string::npos) << x.text;
    EXPECT_NE(x.text.find("00007ffb`dbe34270 kernel32!SleepEx (<no parameter info>)\n"), std::string::npos) << x.text;
    // Sorted by address: Sleep before SleepEx.
    EXPECT_LT(x.text.find("kernel32!Sleep "), x.text.find("kernel32!SleepEx"));
    Output none = e->execute("x kernel32!NoSuchThing*");
    EXPECT_EQ(none.text, "");
    EXPECT_EQ(none.json["symbols"].size(), 0u);
}

}  // namespace
}  // namespace nt
