// The FrameData / CFI postfix evaluator: hand-computed results, the real
// kernel32.sym and test_app.sym programs against a small fake stack, and
// malformed programs (every error is a value naming the problem).
#include "breakpad/program_string.h"

#include <gtest/gtest.h>

#include <map>

#include "breakpad/sym_file.h"
#include "support/test_support.h"

namespace nt::breakpad {
namespace {

// A sparse little-endian 32-bit memory; reads of unset words fail.
struct FakeMemory {
    std::map<uint64_t, uint32_t> words;
    int reads = 0;
    ProgramMemoryRead reader() {
        return [this](uint64_t addr, unsigned size) -> std::optional<uint64_t> {
            ++reads;
            auto it = words.find(addr);
            if (size != 4 || it == words.end()) return std::nullopt;
            return it->second;
        };
    }
};

uint64_t var(const ProgramVariables& v, std::string_view name) {
    auto x = v.get(name);
    EXPECT_TRUE(x.has_value()) << name;
    return x.value_or(0xdeadbeef);
}

TEST(ProgramString, Arithmetic) {
    ProgramVariables v;
    FakeMemory mem;
    // 7 3 - = 4; 6 * 7 = 42; 100 7 / = 14; 100 7 % = 2; 0x1237 aligned to 16 = 0x1230.
    ASSERT_FALSE(evaluateProgram("$a 7 3 - = $b 6 7 * = $c 100 7 / = $d 100 7 % = $e 4663 16 @ =", v,
                                 mem.reader()));
    EXPECT_EQ(var(v, "$a"), 4u);
    EXPECT_EQ(var(v, "$b"), 42u);
    EXPECT_EQ(var(v, "$c"), 14u);
    EXPECT_EQ(var(v, "$d"), 2u);
    EXPECT_EQ(var(v, "$e"), 0x1230u);
}

TEST(ProgramString, WrapsAtThirtyTwoBits) {
    ProgramVariables v;
    FakeMemory mem;
    ASSERT_FALSE(evaluateProgram("$a 0 1 - = $b 4294967295 1 + = $c -4 =", v, mem.reader()));
    EXPECT_EQ(var(v, "$a"), 0xffffffffu);
    EXPECT_EQ(var(v, "$b"), 0u);
    EXPECT_EQ(var(v, "$c"), 0xfffffffcu);
    ProgramVariables w;
    ASSERT_FALSE(evaluateProgram("$a 0 1 - =", w, mem.reader(), ProgramWidth::k64));
    EXPECT_EQ(var(w, "$a"), 0xffffffffffffffffu);
}

TEST(ProgramString, AssignmentsAreSequential) {
    // $T0 is read after being assigned in the same program, and $ebp's new
    // value is what the later "$ebp 4 +" sees.
    ProgramVariables v;
    v.set("$ebp", 0x1000);
    FakeMemory mem;
    ASSERT_FALSE(evaluateProgram("$T0 $ebp = $ebp $T0 16 + = $x $ebp 4 + =", v, mem.reader()));
    EXPECT_EQ(var(v, "$T0"), 0x1000u);
    EXPECT_EQ(var(v, "$ebp"), 0x1010u);
    EXPECT_EQ(var(v, "$x"), 0x1014u);
}

// "=$eip": the assignment glued to the next name, as in symbolic/crash.sym.
TEST(ProgramString, GluedAssignment) {
    ProgramVariables v;
    v.set("$ebp", 0x100);
    FakeMemory mem;
    mem.words[0x100 + 204 + 4] = 0x401000;
    ASSERT_FALSE(evaluateProgram("$T0 $ebp 204 + =$eip $T0 4 + ^ =", v, mem.reader()));
    EXPECT_EQ(var(v, "$T0"), 0x100u + 204);
    EXPECT_EQ(var(v, "$eip"), 0x401000u);
}

TEST(ProgramString, DereferenceThroughCallback) {
    ProgramVariables v;
    v.set("$esp", 0x2000);
    FakeMemory mem;
    mem.words[0x2004] = 0x401234;
    ASSERT_FALSE(evaluateProgram("$eip $esp 4 + ^ =", v, mem.reader()));
    EXPECT_EQ(var(v, "$eip"), 0x401234u);
    EXPECT_EQ(mem.reads, 1);
}

TEST(ProgramString, Expression) {
    ProgramVariables v;
    v.set(".cfa", 0x7000);
    FakeMemory mem;
    mem.words[0x6ff8] = 0x1111;
    auto r = evaluateExpression(".cfa 8 - ^", v, mem.reader());
    ASSERT_TRUE(r.value) << r.error->message;
    EXPECT_EQ(*r.value, 0x1111u);
    auto bare = evaluateExpression("$rsp", v, mem.reader());
    ASSERT_FALSE(bare.value);
    EXPECT_NE(bare.error->message.find("undefined variable '$rsp'"), std::string::npos);
    EXPECT_TRUE(evaluateExpression("1 2", v, mem.reader()).error);
    EXPECT_TRUE(evaluateExpression("$a 1 =", v, mem.reader()).error);
}

// Errors are values with a message naming the problem and the token index.
TEST(ProgramString, Errors) {
    FakeMemory mem;
    struct Case {
        const char* program;
        const char* message;
        size_t token;
    } cases[] = {
        {"1 +", "stack underflow", 1},
        {"$a +", "undefined variable '$a'", 1},
        {"$a 1 0 / =", "division by zero", 3},
        {"$a 1 0 % =", "division by zero", 3},
        {"$a $nope =", "undefined variable '$nope'", 2},
        {"$a 16 ^ =", "cannot read 4 bytes at 0x10", 2},
        {"5 1 =", "not a $variable", 2},
        {".cbParams 1 =", "not a $variable", 2},
        {"$a 1", "2 value(s) left", 2},
        {"=", "stack underflow", 0},
        {"$a 99999999999999999999 =", "number out of range", 1},
        {"$a 12x =", "bad token '12x'", 1},
    };
    for (const auto& c : cases) {
        ProgramVariables v;
        auto err = evaluateProgram(c.program, v, mem.reader());
        ASSERT_TRUE(err) << c.program;
        EXPECT_NE(err->message.find(c.message), std::string::npos) << c.program << ": " << err->message;
        EXPECT_EQ(err->tokenIndex, c.token) << c.program;
    }
}

TEST(ProgramString, Bounds) {
    FakeMemory mem;
    ProgramVariables v;
    std::string deep = "$a";
    for (int i = 0; i < 100; ++i) deep += " 1";
    auto e = evaluateProgram(deep, v, mem.reader());
    ASSERT_TRUE(e);
    EXPECT_NE(e->message.find("stack overflow"), std::string::npos);

    std::string many;
    for (int i = 0; i < 500; ++i) many += "$a 1 = ";  // 1500 tokens in 3500 bytes
    e = evaluateProgram(many, v, mem.reader());
    ASSERT_TRUE(e);
    EXPECT_NE(e->message.find("too many tokens"), std::string::npos);

    e = evaluateProgram(std::string(5000, ' '), v, mem.reader());
    ASSERT_TRUE(e);
    EXPECT_NE(e->message.find("too long"), std::string::npos);

    ProgramVariables full;
    std::string vars;
    for (int i = 0; i < 200; ++i) vars += "$v" + std::to_string(i) + " 1 = ";
    e = evaluateProgram(vars, full, mem.reader());
    ASSERT_TRUE(e);
    EXPECT_NE(e->message.find("too many variables"), std::string::npos);
    EXPECT_EQ(full.size(), ProgramVariables::kMaxVariables);

    // No memory callback at all: '^' fails cleanly.
    ProgramVariables w;
    e = evaluateProgram("$a 4 ^ =", w, nullptr);
    ASSERT_TRUE(e);
    EXPECT_NE(e->message.find("cannot read"), std::string::npos);
}

// kernel32!BaseProcessStart's FrameData program (STACK WIN 4 16fb4 in the
// corpus kernel32.sym), with the frame-3 registers of
// breakpad/expected/minidump2.stackwalk.out (ebp = 0x0012fff0) and a fake
// stack holding a saved ebp of 0 and a return address. Hand-computed:
// $T0 = ebp; $eip = [T0+4]; $ebp = [T0]; $esp = T0+8;
// $L = T0 - cbSavedRegs(8); $P = T0 + 4 + cbParams(4).
TEST(ProgramString, Kernel32FrameDataProgram) {
    NT_REQUIRE_CORPUS_FILE(path, "breakpad/symbols/kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym");
    SymFile sym = SymFile::open(path);
    const StackWinRecord* rec = sym.stackWinAt(0x16fd6);
    ASSERT_NE(rec, nullptr);
    ASSERT_EQ(rec->rva, 0x16fb4u);
    ASSERT_TRUE(rec->hasProgramString);

    ProgramVariables v;
    v.set("$ebp", 0x12fff0);
    v.set("$esp", 0x12ffc8);
    v.set("$eip", 0x7c816fd7);
    v.set(".cbSavedRegs", rec->savedRegisterSize);
    v.set(".cbParams", rec->paramSize);
    v.set(".cbLocals", rec->localSize);
    FakeMemory mem;
    mem.words[0x12fff0] = 0;
    mem.words[0x12fff4] = 0x11223344;
    auto err = evaluateProgram(rec->programString, v, mem.reader());
    ASSERT_FALSE(err) << err->message;
    EXPECT_EQ(var(v, "$T0"), 0x12fff0u);
    EXPECT_EQ(var(v, "$eip"), 0x11223344u);
    EXPECT_EQ(var(v, "$ebp"), 0u);
    EXPECT_EQ(var(v, "$esp"), 0x12fff8u);
    EXPECT_EQ(var(v, "$L"), 0x12ffe8u);
    EXPECT_EQ(var(v, "$P"), 0x12fff8u);
}

// test_app!main's program (STACK WIN 4 41b0) run with frame 1's ebp from
// minidump2.stackwalk.out; the fake stack holds what that output says the
// caller (frame 2) has: eip 0x004053ec, ebp 0x0012ffc0. The program must
// produce frame 2's esp, 0x0012ff78, which Breakpad computed from the dump.
TEST(ProgramString, TestAppMainRecoversCallerFromStackwalk) {
    NT_REQUIRE_CORPUS_FILE(path, "breakpad/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym");
    SymFile sym = SymFile::open(path);
    const StackWinRecord* rec = sym.stackWinAt(0x41ff);
    ASSERT_NE(rec, nullptr);
    ASSERT_EQ(rec->type, StackWinType::FrameData);
    ASSERT_EQ(rec->rva, 0x41b0u);
    ProgramVariables v;
    v.set("$ebp", 0x12ff70);
    v.set("$esp", 0x12fe90);
    v.set("$eip", 0x404200);
    v.set(".cbSavedRegs", rec->savedRegisterSize);
    v.set(".cbParams", rec->paramSize);
    v.set(".cbLocals", rec->localSize);
    FakeMemory mem;
    mem.words[0x12ff70] = 0x12ffc0;
    mem.words[0x12ff74] = 0x4053ec;
    auto err = evaluateProgram(rec->programString, v, mem.reader());
    ASSERT_FALSE(err) << err->message;
    EXPECT_EQ(var(v, "$eip"), 0x4053ecu);
    EXPECT_EQ(var(v, "$ebp"), 0x12ffc0u);
    EXPECT_EQ(var(v, "$esp"), 0x12ff78u);
}

// Every program string in the corpus files parses and, given every variable
// it may name, runs to completion against a memory that answers every read.
TEST(ProgramString, AllCorpusProgramsRun) {
    for (const char* rel : {"breakpad/symbols/kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym",
                            "breakpad/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym",
                            "symbolic/crash.sym"}) {
        std::string path = test::corpusFile(rel);
        if (path.empty()) GTEST_SKIP() << "corpus file not found: " << rel;
        SymFile sym = SymFile::open(path);
        int programs = 0;
        ProgramMemoryRead any = [](uint64_t addr, unsigned) -> std::optional<uint64_t> { return addr + 4; };
        for (const FuncRecord& f : sym.functions()) {
            const StackWinRecord* rec = sym.stackWinAt(f.address);
            if (!rec || !rec->hasProgramString) continue;
            ProgramVariables v;
            for (const char* r : {"$eip", "$esp", "$ebp", "$ebx", "$esi", "$edi"}) v.set(r, 0x10000);
            for (const char* c : {".cbSavedRegs", ".cbParams", ".cbLocals", ".raSearchStart", ".raSearch",
                                  ".cbCalleeParams"})
                v.set(c, 0x10);
            auto err = evaluateProgram(rec->programString, v, any);
            EXPECT_FALSE(err) << rel << " " << rec->programString << ": " << (err ? err->message : "");
            ++programs;
        }
        for (const PublicRecord& p : sym.publics()) {
            const StackWinRecord* rec = sym.stackWinAt(p.address);
            if (!rec || !rec->hasProgramString) continue;
            ProgramVariables v;
            for (const char* r : {"$eip", "$esp", "$ebp", "$ebx", "$esi", "$edi"}) v.set(r, 0x10000);
            for (const char* c : {".cbSavedRegs", ".cbParams", ".cbLocals", ".raSearchStart", ".raSearch",
                                  ".cbCalleeParams"})
                v.set(c, 0x10);
            auto err = evaluateProgram(rec->programString, v, any);
            EXPECT_FALSE(err) << rel << " " << rec->programString << ": " << (err ? err->message : "");
            ++programs;
        }
        EXPECT_GT(programs, 0) << rel;
    }
}

}  // namespace
}  // namespace nt::breakpad
