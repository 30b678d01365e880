// SymFile over the real .sym files of the corpus. The answers come from
// independent sources: record counts from a plain line-prefix count of the
// file text; functions and lines from Breakpad's own minidump_stackwalk output
// (breakpad/expected/minidump2.stackwalk.out, parsed here); procedures and
// line numbers of CrashWithException from llvm-pdbutil-16 on the matching PDB.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "breakpad/sym_file.h"
#include "support/test_support.h"

namespace nt::breakpad {
namespace {

constexpr const char* kTestApp =
    "breakpad/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym";
constexpr const char* kKernel32 =
    "breakpad/symbols/kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym";

struct PrefixCounts {
    size_t func = 0, pub = 0, file = 0, stackWin = 0, cfiInit = 0, cfiDelta = 0, lines = 0;
};

// Counts records by the first characters of each line, nothing more.
PrefixCounts countPrefixes(const std::string& text) {
    PrefixCounts c;
    std::istringstream in(text);
    std::string l;
    bool first = true;
    while (std::getline(in, l)) {
        if (first) {
            first = false;
            continue;  // MODULE
        }
        if (l.rfind("FUNC ", 0) == 0) ++c.func;
        else if (l.rfind("PUBLIC ", 0) == 0) ++c.pub;
        else if (l.rfind("FILE ", 0) == 0) ++c.file;
        else if (l.rfind("STACK WIN ", 0) == 0) ++c.stackWin;
        else if (l.rfind("STACK CFI INIT ", 0) == 0) ++c.cfiInit;
        else if (l.rfind("STACK CFI ", 0) == 0) ++c.cfiDelta;
        else if (!l.empty() && std::isxdigit(static_cast<unsigned char>(l[0]))) ++c.lines;
    }
    return c;
}

void expectCounts(const SymFile& s, const std::string& text) {
    PrefixCounts c = countPrefixes(text);
    EXPECT_EQ(s.functions().size(), c.func);
    EXPECT_EQ(s.publics().size(), c.pub);
    EXPECT_EQ(s.files().size(), c.file);
    EXPECT_EQ(s.stackWinCount(), c.stackWin);
    EXPECT_EQ(s.cfiInits().size(), c.cfiInit);
    EXPECT_EQ(s.cfiDeltaCount(), c.cfiDelta);
    EXPECT_EQ(s.lines().size(), c.lines);
    EXPECT_EQ(s.stats().skipped, 0u) << (s.stats().messages.empty() ? "" : s.stats().messages[0]);
    EXPECT_EQ(s.stats().duplicateFuncs, 0u);
}

TEST(SymFileCorpus, TestAppModuleAndCounts) {
    NT_REQUIRE_CORPUS_FILE(path, kTestApp);
    SymFile s = SymFile::open(path);
    // The id and name are also the symbol-store directory names.
    EXPECT_EQ(s.module().os, "windows");
    EXPECT_EQ(s.module().arch, "x86");
    EXPECT_EQ(s.module().id, "5A9832E5287241C1838ED98914E9B7FF1");
    EXPECT_EQ(s.module().name, "test_app.pdb");
    expectCounts(s, test::readTextFile(path));
}

TEST(SymFileCorpus, Kernel32ModuleAndCounts) {
    NT_REQUIRE_CORPUS_FILE(path, kKernel32);
    SymFile s = SymFile::open(path);
    EXPECT_EQ(s.module().arch, "x86");
    EXPECT_EQ(s.module().id, "BCE8785C57B44245A669896B6A19B9542");
    EXPECT_EQ(s.module().name, "kernel32.pdb");
    expectCounts(s, test::readTextFile(path));
    EXPECT_TRUE(s.functions().empty());
}

TEST(SymFileCorpus, CrashSymModuleAndCounts) {
    NT_REQUIRE_CORPUS_FILE(path, "symbolic/crash.sym");
    SymFile s = SymFile::open(path);
    EXPECT_EQ(s.module().arch, "x86");
    EXPECT_EQ(s.module().id, "3249D99D0C4049318610F4E4FB0B69361");
    EXPECT_EQ(s.module().name, "crash.pdb");
    EXPECT_EQ(s.codeId(), "5AB380779000");
    EXPECT_EQ(s.codeFile(), "crash.exe");
    expectCounts(s, test::readTextFile(path));
}

TEST(SymFileCorpus, CrashWithExceptionAgainstPdb) {
    NT_REQUIRE_CORPUS_FILE(path, "symbolic/CrashWithException.pdb.sym");
    SymFile s = SymFile::open(path);
    EXPECT_EQ(s.module().arch, "x86_64");
    EXPECT_EQ(s.module().id, "F535C5FB2AE84BB8AA206C30BE566C5A1");
    EXPECT_EQ(s.codeId(), "5C9E09599000");
    EXPECT_EQ(s.codeFile(), "CrashWithException.exe");
    expectCounts(s, test::readTextFile(path));

    // llvm-pdbutil-16 dump -symbols CrashWithException.pdb: S_GPROC32 `test`
    // at 0001:0336 (decimal) size 24, `main` at 0001:0368 size 10; section 1
    // is at RVA 0x1000. dump -l: crashwithexception.cpp lines 29 at
    // 0001:0170 and 30 at 0001:0174.
    auto test = s.functionAt(0x1150 + 23);
    ASSERT_TRUE(test);
    EXPECT_EQ(test->name, "test()");
    EXPECT_EQ(test->address, 0x1150u);
    EXPECT_EQ(test->size, 24u);
    auto mainFn = s.functionAt(0x1170);
    ASSERT_TRUE(mainFn);
    EXPECT_EQ(mainFn->name, "main");
    EXPECT_EQ(mainFn->size, 10u);
    EXPECT_FALSE(mainFn->isPublic);
    auto l29 = s.lineAt(0x1173);
    ASSERT_TRUE(l29);
    EXPECT_EQ(l29->line, 29u);
    EXPECT_NE(l29->file.find("crashwithexception.cpp"), std::string_view::npos) << l29->file;
    auto l30 = s.lineAt(0x1179);
    ASSERT_TRUE(l30);
    EXPECT_EQ(l30->line, 30u);
    EXPECT_FALSE(s.lineAt(0x117a));  // one past main: _security_check_cookie has no lines here

    // 'm' FUNCs (5 in the file) keep their flag.
    size_t multiple = 0;
    for (const FuncRecord& f : s.functions()) multiple += f.multiple;
    EXPECT_EQ(multiple, 5u);

    // "STACK CFI INIT 1010 55 .cfa: $rsp .ra: .cfa 8 - ^" then
    // "STACK CFI 1010 .cfa: $rsp 80 +" (read from the file text): at 0x1010
    // the delta already applies; before 0x1010 nothing covers.
    auto rules = s.cfiAt(0x1010);
    ASSERT_EQ(rules.size(), 2u);
    EXPECT_EQ(rules[0].reg, ".cfa");
    EXPECT_EQ(rules[0].expression, "$rsp 80 +");
    EXPECT_EQ(rules[1].reg, ".ra");
    EXPECT_EQ(rules[1].expression, ".cfa 8 - ^");
    EXPECT_TRUE(s.cfiAt(0x100f).empty());
    EXPECT_TRUE(s.cfiAt(0x1010 + 0x55).empty() || s.cfiAt(0x1010 + 0x55)[0].expression != "$rsp 80 +");
}

TEST(SymFileCorpus, FizzbuzzCrlf) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/fizzbuzz.syms");
    SymFile s = SymFile::open(path);
    EXPECT_EQ(s.module().id, "0F45B7919A9646F9BF8F2D6076EA421A11");
    EXPECT_EQ(s.module().name, "fizzbuzz.pdb");  // no '\r' left from the CRLF
    ASSERT_EQ(s.publics().size(), 1u);
    auto hit = s.functionAt(0x1004);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->name, "main");
    EXPECT_TRUE(hit->isPublic);
    EXPECT_EQ(hit->address, 0x1000u);
    EXPECT_FALSE(s.functionAt(0xfff));
}

// Breakpad's minidump_stackwalk output for minidump2.dmp, frame by frame:
// "N  module!function [file : line + 0xoff]" or "N  module!function + 0xoff",
// then "eip = 0x...", with module bases in "Loaded modules". Breakpad looks
// caller frames (N > 0) up at the return address - 1 (inside the call) and
// reports offsets from the return address itself; so do we.
TEST(SymFileCorpus, Minidump2StackwalkFrames) {
    NT_REQUIRE_CORPUS_FILE(out, "breakpad/expected/minidump2.stackwalk.out");
    NT_REQUIRE_CORPUS_FILE(appPath, kTestApp);
    NT_REQUIRE_CORPUS_FILE(k32Path, kKernel32);
    std::map<std::string, SymFile> syms;
    syms.emplace("test_app.exe", SymFile::open(appPath));
    syms.emplace("kernel32.dll", SymFile::open(k32Path));

    std::string text = test::readTextFile(out);
    std::map<std::string, uint64_t> bases;
    struct Frame {
        int n = 0;
        std::string module, function, file;
        unsigned line = 0;
        uint64_t offset = 0;
        uint64_t eip = 0;
    };
    std::vector<Frame> frames;
    std::istringstream in(text);
    std::string l;
    bool inThread0 = false;
    while (std::getline(in, l)) {
        if (l.rfind("Thread 0", 0) == 0) inThread0 = true;
        else if (l.rfind("Thread ", 0) == 0 || l.rfind("Loaded modules", 0) == 0) inThread0 = false;
        // "0x00400000 - 0x0042cfff  test_app.exe  ???  (main)"
        if (l.rfind("0x", 0) == 0 && l.find(" - 0x") != std::string::npos) {
            std::istringstream ls(l);
            std::string lo, dash, hi, name;
            ls >> lo >> dash >> hi >> name;
            bases[name] = std::stoull(lo, nullptr, 16);
            continue;
        }
        if (!inThread0) continue;
        // " 0  module!function [file : line + 0xoff]" or " 3  module!function + 0xoff"
        size_t bang = l.find('!');
        size_t digits = l.find_first_not_of(' ');
        if (bang != std::string::npos && digits != std::string::npos && std::isdigit(static_cast<unsigned char>(l[digits]))) {
            Frame f;
            size_t sp = l.find("  ", digits);
            f.n = std::stoi(l.substr(digits, sp - digits));
            f.module = l.substr(sp + 2, bang - sp - 2);
            std::string rest = l.substr(bang + 1);
            if (!rest.empty() && rest.back() == ']') {
                size_t open = rest.rfind(" [");
                f.function = rest.substr(0, open);
                std::string src = rest.substr(open + 2, rest.size() - open - 3);  // "file : line + 0xoff"
                size_t colon = src.rfind(" : ");
                size_t plus = src.rfind(" + 0x");
                f.file = src.substr(0, colon);
                f.line = static_cast<unsigned>(std::stoul(src.substr(colon + 3, plus - colon - 3)));
                f.offset = std::stoull(src.substr(plus + 5), nullptr, 16);
            } else {
                size_t plus = rest.rfind(" + 0x");
                f.function = rest.substr(0, plus);
                f.offset = std::stoull(rest.substr(plus + 5), nullptr, 16);
            }
            frames.push_back(f);
        } else if (!frames.empty() && frames.back().eip == 0) {
            size_t e = l.find("eip = 0x");
            if (e != std::string::npos) frames.back().eip = std::stoull(l.substr(e + 8), nullptr, 16);
        }
    }
    ASSERT_EQ(frames.size(), 4u) << "unexpected stackwalk output format";
    EXPECT_EQ(bases["test_app.exe"], 0x400000u);
    EXPECT_EQ(bases["kernel32.dll"], 0x7c800000u);

    for (const Frame& f : frames) {
        SCOPED_TRACE(testing::Message() << "frame " << f.n << " " << f.module << "!" << f.function);
        ASSERT_TRUE(syms.count(f.module));
        ASSERT_TRUE(bases.count(f.module));
        const SymFile& s = syms.at(f.module);
        uint64_t rva = f.eip - bases[f.module];
        uint64_t lookup = f.n == 0 ? rva : rva - 1;
        auto hit = s.functionAt(lookup);
        ASSERT_TRUE(hit);
        EXPECT_EQ(hit->name, f.function);
        if (!f.file.empty()) {
            auto line = s.lineAt(lookup);
            ASSERT_TRUE(line);
            std::string_view file = line->file;
            file = file.substr(file.find_last_of("\\/") + 1);
            EXPECT_EQ(file, f.file);
            EXPECT_EQ(line->line, f.line);
            EXPECT_EQ(rva - line->address, f.offset);
        } else {
            EXPECT_TRUE(hit->isPublic);
            EXPECT_EQ(rva - hit->address, f.offset);
            EXPECT_FALSE(s.lineAt(lookup));
        }
    }
}

// STACK WIN on the corpus: kernel32 has only FrameData records; test_app has
// both kinds. Fields as written in the file text (read with grep).
TEST(SymFileCorpus, StackWinRecords) {
    NT_REQUIRE_CORPUS_FILE(k32Path, kKernel32);
    NT_REQUIRE_CORPUS_FILE(appPath, kTestApp);
    SymFile k32 = SymFile::open(k32Path);
    // STACK WIN 4 16fb4 4f c 0 4 8 1c 0 1 $T0 $ebp = ...
    const StackWinRecord* r = k32.stackWinAt(0x16fb4 + 0x3c);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->type, StackWinType::FrameData);
    EXPECT_EQ(r->rva, 0x16fb4u);
    EXPECT_EQ(r->codeSize, 0x4fu);
    EXPECT_EQ(r->prologSize, 0xcu);
    EXPECT_EQ(r->paramSize, 4u);
    EXPECT_EQ(r->savedRegisterSize, 8u);
    EXPECT_EQ(r->localSize, 0x1cu);
    EXPECT_EQ(r->programString.substr(0, 15), "$T0 $ebp = $eip");
    EXPECT_EQ(r->programString.substr(r->programString.size() - 24), "$P $T0 4 + .cbParams + =");
    // FrameData ranges overlap partially here: 16fb4+4f runs to 17003, past
    // the next records at 16ff1 (size 9a) and 17002 (size 80). The record
    // with the greatest start wins, i.e. the function's own record.
    const StackWinRecord* next = k32.stackWinAt(0x16ff5);
    ASSERT_NE(next, nullptr);
    EXPECT_EQ(next->rva, 0x16ff1u);
    const StackWinRecord* third = k32.stackWinAt(0x17002);
    ASSERT_NE(third, nullptr);
    EXPECT_EQ(third->rva, 0x17002u);

    SymFile app = SymFile::open(appPath);
    // STACK WIN 0 1000 13 0 0 4 0 0 0 0 0: an FPO record, no program.
    const StackWinRecord* fpo = app.stackWinAt(0x1012);
    ASSERT_NE(fpo, nullptr);
    EXPECT_EQ(fpo->type, StackWinType::Fpo);
    EXPECT_EQ(fpo->rva, 0x1000u);
    EXPECT_EQ(fpo->codeSize, 0x13u);
    EXPECT_EQ(fpo->paramSize, 4u);
    EXPECT_FALSE(fpo->hasProgramString);
    EXPECT_FALSE(fpo->allocatesBasePointer);
}

}  // namespace
}  // namespace nt::breakpad
