// SymFile on small hand-written files: lookup rules (FUNC vs PUBLIC, lines,
// inline frames, STACK WIN preference, CFI merging) and hostile input. The
// rule for a bad record is: skip it, count it in stats().skipped with a
// "line N: ..." message, and keep the rest of the file; only a missing or
// malformed MODULE line rejects the file (FormatError).
#include "breakpad/sym_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "base/error.h"

namespace nt::breakpad {
namespace {

SymFile parseText(const std::string& text) {
    return SymFile::parse(Bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

bool hasMessage(const SymFile& s, std::string_view needle) {
    for (const auto& m : s.stats().messages)
        if (m.find(needle) != std::string::npos) return true;
    return false;
}

const std::string kModule = "MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 t.pdb\n";

TEST(SymFile, FunctionsPublicsAndLines) {
    // Records deliberately out of order: lookups must not depend on file order.
    std::string text = kModule +
                       "FILE 2 c:\\src\\b.cc\n"
                       "FILE 1 c:\\src\\a.cc\n"
                       "FUNC 2000 20 4 Second(int)\n"
                       "2010 10 21 2\n"
                       "2000 10 20 2\n"
                       "FUNC 1000 10 0 `anonymous namespace'::First\n"
                       "1000 8 10 1\n"
                       "1008 8 11 7\n"
                       "PUBLIC 1800 8 Pub1800\n"
                       "PUBLIC 900 0 Pub900\n"
                       "PUBLIC 1000 0 ShadowedByFunc\n";
    SymFile s = parseText(text);
    EXPECT_EQ(s.stats().skipped, 0u);
    ASSERT_EQ(s.functions().size(), 2u);
    EXPECT_EQ(s.functions()[0].address, 0x1000u);

    auto f = s.functionAt(0x100f);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->name, "`anonymous namespace'::First");
    EXPECT_FALSE(f->isPublic);
    // Past the end of First: the nearest PUBLIC (0x900) is below First's
    // start, so it does not apply (Breakpad's rule) and nothing is found.
    EXPECT_FALSE(s.functionAt(0x1010));
    // Above a PUBLIC that is above the last FUNC start below it.
    auto p = s.functionAt(0x1805);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, "Pub1800");
    EXPECT_TRUE(p->isPublic);
    EXPECT_EQ(p->paramSize, 8u);
    auto p9 = s.functionAt(0x950);
    ASSERT_TRUE(p9);
    EXPECT_EQ(p9->name, "Pub900");
    EXPECT_FALSE(s.functionAt(0x8ff));

    auto l = s.lineAt(0x2015);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->line, 21u);
    EXPECT_EQ(l->file, "c:\\src\\b.cc");
    EXPECT_EQ(l->address, 0x2010u);
    auto l2 = s.lineAt(0x2000);
    ASSERT_TRUE(l2);
    EXPECT_EQ(l2->line, 20u);
    // FILE 7 is not declared: the line is still found, with no file name.
    auto l3 = s.lineAt(0x1009);
    ASSERT_TRUE(l3);
    EXPECT_EQ(l3->line, 11u);
    EXPECT_EQ(l3->fileId, 7u);
    EXPECT_TRUE(l3->file.empty());
    EXPECT_FALSE(s.lineAt(0x1805));  // PUBLIC: no lines
}

TEST(SymFile, InlineFramesOutermostFirst) {
    std::string text = kModule +
                       "FILE 1 a.cc\n"
                       "FILE 2 b.h\n"
                       "INLINE_ORIGIN 0 Outer()\n"
                       "INLINE_ORIGIN 1 Inner()\n"
                       "FUNC 1000 100 0 Caller\n"
                       "INLINE 1 40 2 1 1020 10\n"
                       "INLINE 0 12 1 0 1010 40 1080 8\n"
                       "1000 100 5 1\n";
    SymFile s = parseText(text);
    EXPECT_EQ(s.stats().skipped, 0u);
    auto frames = s.inlineFramesAt(0x1025);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].name, "Outer()");
    EXPECT_EQ(frames[0].callSiteFile, "a.cc");
    EXPECT_EQ(frames[0].callSiteLine, 12u);
    EXPECT_EQ(frames[1].name, "Inner()");
    EXPECT_EQ(frames[1].callSiteFile, "b.h");
    EXPECT_EQ(frames[1].callSiteLine, 40u);
    ASSERT_EQ(s.inlineFramesAt(0x1084).size(), 1u);  // Outer's second range
    EXPECT_TRUE(s.inlineFramesAt(0x1050).empty());
    EXPECT_TRUE(s.inlineFramesAt(0x5000).empty());
}

TEST(SymFile, StackWinPrefersFrameDataAndInnermost) {
    std::string text = kModule +
                       "STACK WIN 0 1000 100 0 0 8 0 0 0 0 1\n"
                       "STACK WIN 4 1000 50 3 0 4 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ =\n"
                       "STACK WIN 4 1010 10 0 0 4 0 0 0 1 $eip $esp ^ =\n";
    SymFile s = parseText(text);
    EXPECT_EQ(s.stats().skipped, 0u);
    ASSERT_EQ(s.stackWinCount(), 3u);
    const StackWinRecord* a = s.stackWinAt(0x1005);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->type, StackWinType::FrameData);  // both types cover: type 4 wins
    EXPECT_EQ(a->rva, 0x1000u);
    const StackWinRecord* inner = s.stackWinAt(0x1015);
    ASSERT_NE(inner, nullptr);
    EXPECT_EQ(inner->rva, 0x1010u);  // nested: the innermost
    EXPECT_EQ(inner->programString, "$eip $esp ^ =");
    const StackWinRecord* after = s.stackWinAt(0x1020);
    ASSERT_NE(after, nullptr);
    EXPECT_EQ(after->rva, 0x1000u);  // back in the outer FrameData record
    const StackWinRecord* fpo = s.stackWinAt(0x1060);
    ASSERT_NE(fpo, nullptr);
    EXPECT_EQ(fpo->type, StackWinType::Fpo);  // only the FPO record covers
    EXPECT_TRUE(fpo->allocatesBasePointer);
    EXPECT_EQ(fpo->paramSize, 8u);
    EXPECT_EQ(s.stackWinAt(0x1100), nullptr);
}

TEST(SymFile, CfiMergesDeltasUpToAddress) {
    std::string text = kModule +
                       "STACK CFI INIT 1000 40 .cfa: $esp 4 + .ra: .cfa 4 - ^\n"
                       "STACK CFI 1001 .cfa: $esp 8 + $ebp: .cfa 8 - ^\n"
                       "STACK CFI 1003 .cfa: $ebp 8 +\n";
    SymFile s = parseText(text);
    EXPECT_EQ(s.stats().skipped, 0u);
    auto r0 = s.cfiAt(0x1000);
    ASSERT_EQ(r0.size(), 2u);
    EXPECT_EQ(r0[0].expression, "$esp 4 +");
    auto r2 = s.cfiAt(0x1002);
    ASSERT_EQ(r2.size(), 3u);
    EXPECT_EQ(r2[0].expression, "$esp 8 +");
    EXPECT_EQ(r2[2].reg, "$ebp");
    EXPECT_EQ(r2[2].expression, ".cfa 8 - ^");
    auto r3 = s.cfiAt(0x103f);
    ASSERT_EQ(r3.size(), 3u);
    EXPECT_EQ(r3[0].expression, "$ebp 8 +");
    EXPECT_EQ(r3[1].expression, ".cfa 4 - ^");
    EXPECT_TRUE(s.cfiAt(0x1040).empty());
}

TEST(SymFile, RejectsFilesWithoutModule) {
    EXPECT_THROW(parseText(""), FormatError);
    EXPECT_THROW(parseText("FUNC 1000 10 0 f\n"), FormatError);
    EXPECT_THROW(parseText("MODULE windows x86\n"), FormatError);  // no id, no name
    EXPECT_THROW(parseText(std::string("\x7f" "ELF\x02\x01", 6)), FormatError);
    EXPECT_THROW(SymFile::open("/nonexistent/x.sym"), FormatError);
}

// Each bad line is skipped and reported; the good lines around it survive.
TEST(SymFile, MalformedRecordsAreSkipped) {
    std::string text = kModule +
                       "FUNC 1000\n"                                 // truncated
                       "FUNC 1000 10 0\n"                            // no name
                       "FUNC zz 10 0 f\n"                            // not hex
                       "FUNC 11112222333344445 10 0 f\n"             // 17 hex digits
                       "FUNC ffffffffffffff00 200 0 wraps\n"         // address + size wraps
                       "FUNC 0 100000000 0 huge\n"                   // 4 GiB: implausible
                       "1000 4 1 1\n"                                // line with no valid FUNC before
                       "FUNC 3000 10 100000000 badparam\n"           // param size over 32 bits
                       "FUNC 2000 10 0 good\n"
                       "2000 4\n"                                    // truncated line record
                       "2004 4 99999999999 1\n"                      // line number over 32 bits
                       "2008 4 -3 1\n"                               // negative line
                       "200c 4 7 1\n"
                       "PUBLIC 4000\n"                               // no param size, no name
                       "STACK WIN 4 5000 10\n"                       // truncated
                       "STACK WIN 9 5000 10 0 0 0 0 0 0 0 0\n"       // unknown type
                       "STACK WIN 4 5000 10 0 0 0 0 0 0 1\n"         // program string missing
                       "STACK WIN 0 5000 10 0 0 0 0 0 0 2 0\n"       // has_program_string not 0/1
                       "STACK CFI 6000 .cfa: $esp\n"                 // delta without INIT
                       "STACK CFI INIT 6000 10 $esp 4 +\n"           // rules without a register
                       "STACK CFI INIT 6000 10 .cfa:\n"              // register without a rule
                       "INLINE 0 1 1 0\n"                            // no FUNC and no range
                       "FILE x a.cc\n"
                       "FILE 99999999999 a.cc\n"
                       "INLINE_ORIGIN 1\n"
                       "MODULE windows x86 AAAA other.pdb\n"
                       "SOMETHING_NEW 1 2 3\n";                      // unknown: ignored, not an error
    SymFile s = parseText(text);
    ASSERT_EQ(s.functions().size(), 1u);
    EXPECT_EQ(s.functions()[0].name, "good");
    auto l = s.lineAt(0x200c);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->line, 7u);
    EXPECT_FALSE(s.lineAt(0x2004));
    EXPECT_TRUE(s.publics().empty());
    EXPECT_EQ(s.stackWinCount(), 0u);
    EXPECT_TRUE(s.cfiInits().empty());
    EXPECT_TRUE(s.files().empty());
    EXPECT_EQ(s.stats().unknownRecords, 1u);
    EXPECT_EQ(s.stats().orphanLines, 1u);
    EXPECT_EQ(s.stats().skipped, 24u);  // every commented line above but the unknown one
    EXPECT_EQ(s.stats().messages.size(), SymFile::kMaxMessages);
    EXPECT_TRUE(hasMessage(s, "line 2: FUNC: missing or malformed field"));
    EXPECT_TRUE(hasMessage(s, "line 6: FUNC: size too large or range wraps"));
    EXPECT_TRUE(hasMessage(s, "line 7: FUNC: size too large or range wraps"));
    EXPECT_TRUE(hasMessage(s, "line 8: line record without a FUNC"));
    EXPECT_EQ(s.module().name, "t.pdb");  // the second MODULE is ignored
}

TEST(SymFile, OverlappingAndDuplicateFunctions) {
    std::string text = kModule +
                       "FUNC 1000 ffffff 0 Huge\n"  // overlaps everything after it
                       "FUNC 2000 10 0 A\n"
                       "FUNC 2000 20 0 A2\n"        // same address: the first wins
                       "FUNC 2008 4 0 Nested\n"
                       "PUBLIC 2100 0 P\n";
    SymFile s = parseText(text);
    EXPECT_EQ(s.stats().duplicateFuncs, 1u);
    EXPECT_EQ(s.stats().truncatedFuncs, 2u);  // Huge at 0x2000, A at 0x2008
    ASSERT_EQ(s.functions().size(), 3u);
    EXPECT_EQ(s.functionAt(0x1fff)->name, "Huge");
    EXPECT_EQ(s.functionAt(0x2000)->name, "A");
    EXPECT_EQ(s.functionAt(0x2009)->name, "Nested");
    // After Nested ends, A no longer covers (truncated): the PUBLIC rule
    // applies, and no PUBLIC lies above Nested's start below 0x2010.
    EXPECT_FALSE(s.functionAt(0x2010));
    auto p = s.functionAt(0x2100);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, "P");
}

TEST(SymFile, OverlongLinesAndOddBytes) {
    std::string text = kModule + "FUNC 1000 10 0 " + std::string(SymFile::kMaxLineLength, 'x') + "\n" +
                       "FUNC 2000 10 0 ok\n" + std::string("\0\0\0\n", 4) + "\xff\xfe garbage\n" +
                       "FUNC 3000 10 0 last";  // no final newline
    SymFile s = parseText(text);
    EXPECT_EQ(s.stats().overlongLines, 1u);
    ASSERT_EQ(s.functions().size(), 2u);
    EXPECT_EQ(s.functionAt(0x300f)->name, "last");
    EXPECT_FALSE(s.functionAt(0x1000));
}

// Many records do not cost quadratic time in lookups; huge nested STACK WIN
// records stay correct (the innermost wins).
TEST(SymFile, ManyNestedStackWinRecords) {
    std::string text = kModule;
    for (int i = 0; i < 2000; ++i) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "STACK WIN 4 %x %x 0 0 0 0 0 0 1 $eip %d =\n", 0x1000 + i,
                      0x100000 - i * 2, i);
        text += buf;
    }
    SymFile s = parseText(text);
    ASSERT_EQ(s.stackWinCount(), 2000u);
    const StackWinRecord* r = s.stackWinAt(0x1000 + 1999);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->rva, 0x1000u + 1999);
    r = s.stackWinAt(0x1000 + 500);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->rva, 0x1000u + 500);
}

}  // namespace
}  // namespace nt::breakpad
