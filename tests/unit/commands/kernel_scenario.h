// Shared by the seed-scenario tests (kernel_seed*_test.cpp): splitting
// command output into lines, a -c style transcript, the golden-file check
// (NTRIAGE_UPDATE_GOLDEN=1 rewrites), and a temporary directory of the
// test's own (ctest runs tests of one binary in parallel processes).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "commands/engine.h"
#include "support/test_support.h"

namespace nt::test {

inline std::vector<std::string> outputLines(const std::string& text) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < text.size()) {
        size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        out.push_back(text.substr(at, nl - at));
        at = nl + 1;
    }
    return out;
}

// Prompt, command, output, as the CLI prints a -c session.
inline std::string kernelTranscript(Engine& e, const std::vector<std::string>& cmds) {
    std::string body;
    for (const auto& cmd : cmds) {
        std::string prompt = e.prompt();
        Output o = e.execute(cmd);
        body += prompt + cmd + "\n" + o.text;
    }
    return body;
}

// Compares text with tests/golden/kernel/<name>; NTRIAGE_UPDATE_GOLDEN=1
// rewrites the file instead (and skips).
inline void checkKernelGolden(const std::string& name, const std::string& text) {
    std::string path = std::string(NTRIAGE_FIXTURES_DIR) + "/../golden/kernel/" + name;
    const char* update = std::getenv("NTRIAGE_UPDATE_GOLDEN");
    if (update && std::string(update) == "1") {
        std::ofstream(path, std::ios::binary) << text;
        GTEST_SKIP() << "rewrote " << path;
    }
    std::string expected = readTextFile(path);
    ASSERT_FALSE(expected.empty()) << "missing golden file " << path << " (run with NTRIAGE_UPDATE_GOLDEN=1)";
    EXPECT_EQ(text, expected) << "golden file: tests/golden/kernel/" << name;
}

// <TempDir>/<stem>-<test name>-<pid>: unique per test process.
inline std::filesystem::path perTestTempDir(const std::string& stem) {
    return std::filesystem::path(::testing::TempDir()) /
           (stem + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
            std::to_string(::getpid()));
}

}  // namespace nt::test
