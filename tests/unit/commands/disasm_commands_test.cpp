// u / ub / uf listings: symbol header lines, backward decoding, function
// extents from .pdata and by following the code. Instruction boundaries come
// from lldb-16 (`disassemble` on lldb/sigsegv.dmp), llvm-objdump-16 and
// llvm-pdbutil-16 (`dump -publics`) on the Wine fixture crash-x64-clang.
#include <gtest/gtest.h>

#include <map>
#include <unistd.h>

#include "commands/command_views.h"
#include "commands/engine.h"
#include "base/format.h"
#include "dump/open_dump.h"
#include "memory/range_memory.h"
#include "support/test_support.h"

namespace nt {
namespace {

ReadFn overBytes(uint64_t base, const std::vector<uint8_t>& code) {
    return [base, &code](uint64_t a, std::span<uint8_t> out) -> uint64_t {
        if (a < base || a >= base + code.size()) return 0;
        uint64_t n = std::min<uint64_t>(out.size(), base + code.size() - a);
        std::copy_n(code.begin() + static_cast<long>(a - base), n, out.begin());
        return n;
    };
}

// test eax,eax / je +3 / xor eax,eax / ret / mov eax,1 / ret (llvm-mc-16 --disassemble)
const std::vector<uint8_t> kBranchy = {0x85, 0xc0, 0x74, 0x03, 0x31, 0xc0, 0xc3, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3};

SymbolizeFn twoFunctions() {
    return [](uint64_t a) -> std::string {
        if (a >= 0x401000 && a < 0x401007) return a == 0x401000 ? "m!f" : "m!f+0x" + std::to_string(a - 0x401000);
        if (a >= 0x401007 && a < 0x401010) return a == 0x401007 ? "m!g" : "m!g+0x" + std::to_string(a - 0x401007);
        return "";
    };
}

TEST(DisasmView, HeaderOnFirstLineAndWhenTheSymbolChanges) {
    Disassembler d(Machine::X86);
    Rendered r = disassembleLines(d, 0x401002, 4, overBytes(0x401000, kBranchy), twoFunctions(), false);
    std::vector<std::string> want = {
        "m!f+0x2:",
        "00401002 7403            je      m!g (00401007)",
        "00401004 31c0            xor     eax,eax",
        "00401006 c3              ret",
        "m!g:",
        "00401007 b801000000      mov     eax,1",
    };
    EXPECT_EQ(r.lines, want);
    EXPECT_EQ(r.next, 0x40100cu);
    EXPECT_EQ(r.json["instructions"][0]["target"], 0x401007u);
}

TEST(DisasmView, FunctionByFollowingTheCode) {
    Disassembler d(Machine::X86);
    SymbolizeFn sym = [](uint64_t a) { return "m!f" + (a == 0x401000 ? std::string() : "+0x" + std::to_string(a - 0x401000)); };
    Rendered r = disassembleFunction(d, 0x401000, std::nullopt, overBytes(0x401000, kBranchy), sym, false);
    std::vector<std::string> want = {
        "m!f:",
        "00401000 85c0            test    eax,eax",
        "00401002 7403            je      m!f+0x7 (00401007)",
        "00401004 31c0            xor     eax,eax",
        "00401006 c3              ret",
        "m!f+0x7:",
        "00401007 b801000000      mov     eax,1",
        "0040100c c3              ret",
    };
    EXPECT_EQ(r.lines, want);
}

TEST(DisasmView, UnreadableCodeShowsQuestionMarks) {
    Disassembler d(Machine::Amd64);
    ReadFn none = [](uint64_t, std::span<uint8_t>) -> uint64_t { return 0; };
    Rendered r = disassembleLines(d, 0x1000, 2, none, nullptr, true);
    ASSERT_EQ(r.lines.size(), 2u);
    EXPECT_EQ(r.lines[0], "00000000`00001000 ??              ???");
    EXPECT_EQ(r.lines[1], "00000000`00001001 ??              ???");
}

TEST(DisasmCommands, SigsegvForwardAndBackward) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.dmp");
    Engine e(openDump(path));
    // lldb-16 `disassemble -s 0x7ff7a13110a0 -e 0x7ff7a13110f8`:
    //   ...b4 subq $0x28,%rsp / b8 leaq / bf callq / c4 movzbl / c9 testl / cb je 0x7ff7a13110e4
    //   cd leaq / d4 callq / d9 movl $0x0,0x0 / e4 leaq / eb callq / f0 addq / f4 retq
    Output u = e.execute("u 7ff7a13110d9 L4");
    std::vector<std::string> addrs;
    for (const auto& i : u.json["instructions"]) addrs.push_back(hex(i["address"].get<uint64_t>()));
    EXPECT_EQ(addrs, (std::vector<std::string>{"7ff7a13110d9", "7ff7a13110e4", "7ff7a13110eb", "7ff7a13110f0"}));
    EXPECT_NE(u.text.find("00007ff7`a13110d9 c704250000000000000000 mov     dword ptr [0],0\n"), std::string::npos) << u.text;
    EXPECT_NE(u.text.find("00007ff7`a13110f0 4883c428        add     rsp,28h\n"), std::string::npos) << u.text;
    // `u` again continues after the last instruction.
    Output more = e.execute("u");
    EXPECT_EQ(more.json["instructions"][0]["address"], 0x7ff7a13110f4u);
    EXPECT_EQ(more.json["instructions"][0]["text"], "ret");
    Output ub = e.execute("ub 7ff7a13110d9");
    addrs.clear();
    for (const auto& i : ub.json["instructions"]) addrs.push_back(hex(i["address"].get<uint64_t>()));
    EXPECT_EQ(addrs, (std::vector<std::string>{"7ff7a13110b4", "7ff7a13110b8", "7ff7a13110bf", "7ff7a13110c4",
                                               "7ff7a13110c9", "7ff7a13110cb", "7ff7a13110cd", "7ff7a13110d4"}));
    EXPECT_NE(ub.text.find("00007ff7`a13110cb 7417            je      "), std::string::npos) << ub.text;
}

TEST(DisasmCommands, UfUsesPdataExtentOfTheFixture) {
    std::string dir = test::fixtureFile("wine/out");
    NT_REQUIRE_FILE(path, dir + "/crash-x64-clang.dmp");
    Engine e(openDump(path));
    e.images().setImagePath({dir});
    // crash_level3 is at 0001:1328 = rva 0x1530 (llvm-pdbutil-16 dump -publics);
    // llvm-objdump-16 shows it from 140001530 (sub rsp,0x28) to the ret at 140001572,
    // with the null write `mov dword ptr [rax], ecx` at 140001565.
    Output o = e.execute("uf 140001565");
    ASSERT_FALSE(o.error) << o.text;
    const auto& ins = o.json["instructions"];
    ASSERT_EQ(ins.size(), 17u) << o.text;
    EXPECT_EQ(ins.front()["address"], 0x140001530u);
    EXPECT_EQ(ins.front()["text"], "sub     rsp,28h");
    EXPECT_EQ(ins.back()["address"], 0x140001572u);
    EXPECT_EQ(ins.back()["text"], "ret");
    EXPECT_NE(o.text.find("00000001`40001538 8d0449          lea     eax,[rcx+rcx*2]\n"), std::string::npos) << o.text;
    EXPECT_NE(o.text.find("00000001`4000153f c744242033333333 mov     dword ptr [rsp+20h],33333333h\n"), std::string::npos);
}

TEST(DisasmCommands, Arm64IsRefusedClearly) {
    class T : public Target {
    public:
        const Memory& memory() const override { return mem; }
        RangeMemory mem;
    };
    auto t = std::make_unique<T>();
    t->machine = Machine::Arm64;
    t->mem.finalize();
    t->finalize();
    Engine e(std::move(t));
    Output o = e.execute("u 1000");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "disassembly not supported for ARM64 yet\n");
}

}  // namespace
}  // namespace nt
