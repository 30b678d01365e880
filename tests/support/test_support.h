// Shared helpers for tests: where the corpus and fixtures are, and how to
// run the ntriage binary.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace nt::test {

// ../shared/corpus (or $NTRIAGE_CORPUS) — empty string when absent.
std::string corpusDir();
// Full path of a corpus file; empty when the corpus or the file is absent.
std::string corpusFile(const std::string& rel);
// tests/fixtures/<rel>
std::string fixtureFile(const std::string& rel);
// Path of the built ntriage binary.
std::string ntriageBinary();

struct RunResult {
    int exitCode = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};
// Runs ntriage with args (shell-quoted by the helper) with a timeout in seconds.
RunResult runNtriage(const std::vector<std::string>& args, int timeoutSeconds = 60);

std::string readTextFile(const std::string& path);

// Runs a shell command (an oracle tool such as lldb-16 or llvm-pdbutil-16)
// and returns its standard output; empty when it could not run.
std::string captureOutput(const std::string& shellCommand);

}  // namespace nt::test

// Skips the current test, saying why, when a corpus file is missing.
#define NT_REQUIRE_CORPUS_FILE(var, rel)                                           \
    std::string var = ::nt::test::corpusFile(rel);                                 \
    if (var.empty()) GTEST_SKIP() << "corpus file not found: " << (rel)            \
                                  << " (set NTRIAGE_CORPUS or place ../shared/corpus)"

#define NT_REQUIRE_FILE(var, path)                                                 \
    std::string var = (path);                                                      \
    if (access(var.c_str(), R_OK) != 0) GTEST_SKIP() << "file not found: " << var
