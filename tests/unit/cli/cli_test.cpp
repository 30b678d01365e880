// The program's contract: bad files get one clear line and a non-zero exit,
// never a crash or hang; --json renders the same facts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace nt::test {
namespace {

void expectCleanFailure(const std::string& path, const std::string& mustMention) {
    RunResult r = runNtriage({path, "-c", "~; k; lm"}, 20);
    EXPECT_EQ(r.exitCode, 2) << "stdout: " << r.out << "\nstderr: " << r.err;
    // One line on stderr, starting with the program's name.
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("ntriage: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(mustMention), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Cli, MissingFile) { expectCleanFailure("/nonexistent/x.dmp", "cannot open"); }

TEST(Cli, NotADump) {
    std::string p = "/tmp/ntriage-cli-notadump.txt";
    std::ofstream(p) << "hello, this is not a dump file at all\n";
    expectCleanFailure(p, "not a dump");
    unlink(p.c_str());
}

TEST(Cli, EmptyFile) {
    std::string p = "/tmp/ntriage-cli-empty.dmp";
    std::ofstream(p).close();
    expectCleanFailure(p, "truncated");
    unlink(p.c_str());
}

TEST(Cli, NegativeCorpusFilesFailCleanly) {
    const char* files[] = {
        "radare2-testbins/trunc_memory64.dmp", "rizin-testbins/npe_r_mdmp.c-364_1.mdmp",
        "rizin-testbins/npe_w_bin_mdmp.c-111_1.mdmp", "rust-minidump/invalid-range.dmp",
        "rust-minidump/invalid-record-count.dmp", "rust-minidump/linux-mini.dmp",
        "rust-minidump/simple-crashpad.dmp", "breakpad/minidump_crashpad_annotation.dmp",
        "ghost-in-the-memory/memory.dmp",
    };
    if (corpusDir().empty()) GTEST_SKIP() << "corpus not found";
    for (const char* f : files) {
        SCOPED_TRACE(f);
        std::string p = corpusFile(f);
        if (p.empty()) continue;
        RunResult r = runNtriage({p, "-c", "~; k; lm"}, 20);
        EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
        EXPECT_EQ(r.err.rfind("ntriage: error: ", 0), 0u) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

TEST(Cli, JsonRendersTheSameFacts) {
    NT_REQUIRE_CORPUS_FILE(dump, "lldb/sigsegv.dmp");
    RunResult r = runNtriage({dump, "--json", "-c", ".lastevent; ~"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    auto doc = nlohmann::json::parse(r.out);
    ASSERT_EQ(doc["results"].size(), 2u);
    EXPECT_EQ(doc["results"][0]["command"], ".lastevent");
    EXPECT_EQ(doc["results"][0]["result"]["code"], 0xC0000005u);
    EXPECT_EQ(doc["results"][1]["result"]["threads"].size(), 1u);
}

// Strings read from target memory are not UTF-8: the JSON must still be valid
// (bad bytes become U+FFFD), never an exception that ends the program.
TEST(Cli, JsonSurvivesNonUtf8TargetStrings) {
    NT_REQUIRE_CORPUS_FILE(dump, "lldb/sigsegv.dmp");
    RunResult r = runNtriage({dump, "--json", "-c", "da @rsp; du @rsp"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    auto doc = nlohmann::json::parse(r.out);
    std::string s = doc["results"][0]["result"]["string"];
    // The stack at rsp starts with bytes 36 64 27 ... then non-ASCII bytes.
    EXPECT_EQ(s.rfind("6d'", 0), 0u) << s;
    EXPECT_NE(s.find("\xEF\xBF\xBD"), std::string::npos) << s;
}

// Without -c the program is interactive: the opening banner, then the prompt
// (standard input here is empty, so it ends at once, cleanly).
TEST(Cli, InteractiveOpensWithBannerAndPrompt) {
    NT_REQUIRE_CORPUS_FILE(dump, "lldb/sigsegv.dmp");
    RunResult r = runNtriage({dump});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out.rfind("Loading Dump File [" + dump + "]\n", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("(32fc.2a6c): Access violation - code c0000005 (first/second chance not available)\n"),
              std::string::npos) << r.out;
    EXPECT_EQ(r.out.substr(r.out.size() - 7), "0:000> ") << r.out;
}

TEST(Cli, TranscriptEchoesPromptAndCommand) {
    NT_REQUIRE_CORPUS_FILE(dump, "lldb/sigsegv.dmp");
    RunResult r = runNtriage({dump, "-c", ".lastevent"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out.rfind("0:000> .lastevent\nLast event: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("Access violation - code c0000005 (first/second chance not available)"), std::string::npos);
}

// `-z table.json.xz` keeps the decoded table in the ISF cache like a table
// found on the symbol path: the first session writes the entry, the second
// maps it and answers the same.
TEST(Cli, IsfSessionUsesTheIsfCache) {
    NT_REQUIRE_CORPUS_FILE(isf, "jpcert-isf/ntkrnlmp.pdb/339E74133576439CBCDF7E0229DA3773-1.json.xz");
    std::string cache = "/tmp/ntriage-cli-isf-cache-" + std::to_string(getpid());
    std::string run = "rm -rf '" + cache + "'; NTRIAGE_CACHE='" + cache + "' '" + ntriageBinary() + "' -z '" + isf +
                      "' -c 'dt nt!_KTSS64 Rsp0 IoMapBase' 2>&1";
    std::string first = captureOutput(run);
    std::string entries = captureOutput("ls '" + cache + "/isf' 2>&1 | wc -l");
    std::string second = captureOutput("NTRIAGE_CACHE='" + cache + "' '" + ntriageBinary() + "' -z '" + isf +
                                       "' -c 'dt nt!_KTSS64 Rsp0 IoMapBase' 2>&1");
    captureOutput("rm -rf '" + cache + "'");
    EXPECT_NE(first.find("+0x004 Rsp0             : Uint8B"), std::string::npos) << first;
    EXPECT_NE(first.find("+0x066 IoMapBase        : Uint2B"), std::string::npos) << first;
    EXPECT_EQ(entries, "1\n");
    EXPECT_EQ(second, first);
}

}  // namespace
}  // namespace nt::test
