// db/dw/dd/dq/dps/da/du rendering (FACTS.md §2.8 line formats; MSDOCS
// default counts) on hand-built memory with holes, through the engine with
// continuation, and on lldb/sigsegv.dmp against `lldb-16 memory read`.
#include <gtest/gtest.h>

#include <cstring>

#include "commands/command_views.h"
#include "commands/engine.h"
#include "dump/open_dump.h"
#include "memory/range_memory.h"
#include "support/test_support.h"

namespace nt {
namespace {

struct Mem {
    RangeMemory mem;
    std::vector<std::vector<uint8_t>> keep;
    void add(uint64_t at, std::vector<uint8_t> bytes) {
        keep.push_back(std::move(bytes));
        mem.add(at, Bytes(keep.back().data(), keep.back().size()));
    }
    void addText(uint64_t at, const std::string& s) { add(at, std::vector<uint8_t>(s.begin(), s.end())); }
};

TEST(MemoryView, DbLineWithAsciiColumn) {
    // The IE "Cobalt Strike beacon" line quoted in FACTS.md §2.8.
    Mem m;
    m.addText(0x67f4b7, "IEX (New-Object Net.WebClient)");
    m.mem.finalize();
    Rendered r = dumpMemory(m.mem, 0x67f4b7, 16, MemStyle::Bytes, true, nullptr);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0], "00000000`0067f4b7  49 45 58 20 28 4e 65 77-2d 4f 62 6a 65 63 74 20  IEX (New-Object ");
    EXPECT_EQ(r.next, 0x67f4c7u);
    EXPECT_EQ(r.json["values"][0], 0x49);
}

TEST(MemoryView, DbMissingBytesAndPartialLine) {
    Mem m;
    m.add(0x1000, {0x41, 0x42, 0x00, 0x7f});
    m.add(0x1008, {0x43});
    m.mem.finalize();
    Rendered r = dumpMemory(m.mem, 0x1000, 0x10, MemStyle::Bytes, false, nullptr);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0], "00001000  41 42 00 7f ?? ?? ?? ??" "-43 ?? ?? ?? ?? ?? ?? ??  AB..????C???????");
    EXPECT_TRUE(r.json["values"][4].is_null());
    // A short count keeps the ASCII column where a full line puts it.
    r = dumpMemory(m.mem, 0x1000, 3, MemStyle::Bytes, false, nullptr);
    EXPECT_EQ(r.lines[0], "00001000  41 42 00                                         AB.");
}

TEST(MemoryView, DdDqAndDw) {
    // FACTS.md §2.8 dd line: ffffd001`c8acd348  487e9220 ffffe000 49d2f130 ffffe000
    Mem m;
    m.add(0xffffd001c8acd348, {0x20, 0x92, 0x7e, 0x48, 0x00, 0xe0, 0xff, 0xff, 0x30, 0xf1, 0xd2, 0x49, 0x00, 0xe0, 0xff, 0xff});
    m.mem.finalize();
    Rendered dd = dumpMemory(m.mem, 0xffffd001c8acd348, 6, MemStyle::Dwords, true, nullptr);
    ASSERT_EQ(dd.lines.size(), 2u);
    EXPECT_EQ(dd.lines[0], "ffffd001`c8acd348  487e9220 ffffe000 49d2f130 ffffe000");
    EXPECT_EQ(dd.lines[1], "ffffd001`c8acd358  ???????? ????????");
    Rendered dq = dumpMemory(m.mem, 0xffffd001c8acd348, 3, MemStyle::Qwords, true, nullptr);
    EXPECT_EQ(dq.lines[0], "ffffd001`c8acd348  ffffe000`487e9220 ffffe000`49d2f130");
    EXPECT_EQ(dq.lines[1], "ffffd001`c8acd358  ????????`????????");
    Rendered dw = dumpMemory(m.mem, 0xffffd001c8acd348, 8, MemStyle::Words, true, nullptr);
    EXPECT_EQ(dw.lines[0], "ffffd001`c8acd348  9220 487e e000 ffff f130 49d2 e000 ffff");
}

TEST(MemoryView, DpsShowsSymbols) {
    Mem m;
    m.add(0xfffff804789a2060, {0x10, 0xd1, 0xaa, 0x6f, 0x04, 0xf8, 0xff, 0xff, 5, 0, 0, 0, 0, 0, 0, 0});
    m.mem.finalize();
    SymbolizeFn sym = [](uint64_t a) { return a == 0xfffff8046faad110 ? std::string("nt!ExFreePoolWithTag") : std::string(); };
    Rendered r = dumpMemory(m.mem, 0xfffff804789a2060, 3, MemStyle::QwordSym, true, sym);
    ASSERT_EQ(r.lines.size(), 3u);
    EXPECT_EQ(r.lines[0], "fffff804`789a2060  fffff804`6faad110 nt!ExFreePoolWithTag");
    EXPECT_EQ(r.lines[1], "fffff804`789a2068  00000000`00000005");
    EXPECT_EQ(r.lines[2], "fffff804`789a2070  ????????`????????");
    EXPECT_EQ(r.json["symbols"][0], "nt!ExFreePoolWithTag");
    Rendered d = dumpMemory(m.mem, 0xfffff804789a2060, 1, MemStyle::DwordSym, true, sym);
    EXPECT_EQ(d.lines[0], "fffff804`789a2060  6faad110");
}

TEST(MemoryView, AsciiAndUnicodeStrings) {
    Mem m;
    std::string longText(60, 'a');
    longText[3] = '\n';
    m.add(0x2000, std::vector<uint8_t>(longText.begin(), longText.end()));
    m.add(0x2000 + 60, {0});
    const char16_t w[] = u"C:\\temp";
    std::vector<uint8_t> wb(sizeof w);
    std::memcpy(wb.data(), w, sizeof w);
    m.add(0x3000, wb);
    m.mem.finalize();
    Rendered a = dumpMemory(m.mem, 0x2000, 0x100, MemStyle::Ascii, false, nullptr);
    ASSERT_EQ(a.lines.size(), 2u);  // 48 characters per line
    EXPECT_EQ(a.lines[0], "00002000  \"aaa." + std::string(44, 'a') + "\"");
    EXPECT_EQ(a.lines[1], "00002030  \"" + std::string(12, 'a') + "\"");
    EXPECT_EQ(a.json["string"].get<std::string>().size(), 60u);
    Rendered u = dumpMemory(m.mem, 0x3000, 0x100, MemStyle::Unicode, false, nullptr);
    ASSERT_EQ(u.lines.size(), 1u);
    EXPECT_EQ(u.lines[0], "00003000  \"C:\\temp\"");
    Rendered miss = dumpMemory(m.mem, 0x9000, 0x100, MemStyle::Ascii, false, nullptr);
    EXPECT_EQ(miss.lines[0], "00009000  ????????");
}

TEST(MemoryView, RangeAtTopOfAddressSpaceStops) {
    Mem m;
    m.mem.finalize();
    Rendered r = dumpMemory(m.mem, 0xfffffffffffffff8, 0x80, MemStyle::Bytes, true, nullptr);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0].substr(0, 19), "ffffffff`fffffff8  ");
}

class FakeTarget : public Target {
public:
    const Memory& memory() const override { return m.mem; }
    Mem m;
};

TEST(MemoryCommands, EngineDisplaysAndContinues) {
    auto t = std::make_unique<FakeTarget>();
    t->machine = Machine::X86;
    std::vector<uint8_t> bytes(0x40);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
    t->m.add(0x401000, bytes);
    t->m.mem.finalize();
    Thread th;
    th.id = 1;
    CpuContext c(Machine::X86);
    c.set(Reg::Rip, 0x401000);
    c.set(Reg::Rsp, 0x401010);
    th.context = c;
    t->threads.push_back(th);
    t->finalize();
    Engine e(std::move(t));
    Output o = e.execute("dd esp L2");
    EXPECT_EQ(o.text, "00401010  13121110 17161514\n");
    // A repeated command without arguments continues where the last ended.
    o = e.execute("dd");
    EXPECT_EQ(o.text.substr(0, 28), "00401018  1b1a1918 1f1e1d1c ");
    o = e.execute("db 401000 40100f");
    EXPECT_EQ(o.text, "00401000  00 01 02 03 04 05 06 07-08 09 0a 0b 0c 0d 0e 0f  ................\n");
    o = e.execute("dp @esp l1");
    EXPECT_EQ(o.text, "00401010  13121110\n");
    o = e.execute("db nosuch");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "Couldn't resolve error at 'nosuch'\n");
}

TEST(MemoryCommands, SigsegvStackMatchesLldb) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.dmp");
    Engine e(openDump(path));
    e.execute(".ecxr");
    // lldb-16: `memory read -s1 -c32 $rsp` (rsp = 0x000000addabaf6b0 in the exception context)
    //   0xaddabaf6b0: 10 30 31 a1 f7 7f 00 00 0a 00 00 00 00 00 00 00
    //   0xaddabaf6c0: 00 00 00 60 b8 1e 09 40 60 30 31 a1 f7 7f 00 00
    Output o = e.execute("db @rsp L20");
    EXPECT_EQ(o.text,
              "000000ad`dabaf6b0  10 30 31 a1 f7 7f 00 00-0a 00 00 00 00 00 00 00  .01.............\n"
              "000000ad`dabaf6c0  00 00 00 60 b8 1e 09 40-60 30 31 a1 f7 7f 00 00  ...`...@`01.....\n");
    o = e.execute("dq rsp l3");
    EXPECT_EQ(o.text,
              "000000ad`dabaf6b0  00007ff7`a1313010 00000000`0000000a\n"
              "000000ad`dabaf6c0  40091eb8`60000000\n");
}

}  // namespace
}  // namespace nt
