// Shared by the seed-scenario tests (kernel_seed*_test.cpp): splitting
// command output into lines, a -c style transcript, the golden-file check
// (NTRIAGE_UPDATE_GOLDEN=1 rewrites), and a temporary directory of the
// test's own (ctest runs tests of one binary in parallel processes).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
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

inline bool hasOutputLine(const std::string& text, const std::string& line) {
    for (const auto& l : outputLines(text))
        if (l == line) return true;
    return false;
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

// One temporary directory for every dump and .sym file a test process
// writes (<tmp>/ntr_kernel_XXXXXX), removed at exit; NTRIAGE_KEEP_SEED_DUMPS=1 keeps
// it (and prints its path) for a manual look with the CLI.
class BinaryTempDir {
public:
    static const std::string& get() {
        static BinaryTempDir d;
        return d.path_;
    }
    ~BinaryTempDir() {
        std::error_code ec;
        if (const char* keep = std::getenv("NTRIAGE_KEEP_SEED_DUMPS"); keep && std::string(keep) == "1") {
            std::fprintf(stderr, "dumps kept in %s\n", path_.c_str());
            return;
        }
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }

private:
    BinaryTempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "ntr_kernel_XXXXXX").string();
        if (::mkdtemp(tmpl.data())) path_ = tmpl;
    }
    std::string path_;
};

// The text with BinaryTempDir's path written "<tmp>" (goldens must not
// depend on where the dumps were written).
inline std::string withTempDirAsTmp(std::string text) {
    const std::string from = BinaryTempDir::get() + "/";
    for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += 6) text.replace(at, from.size(), "<tmp>/");
    return text;
}

// <TempDir>/<stem>-<test name>-<pid>: unique per test process.
inline std::filesystem::path perTestTempDir(const std::string& stem) {
    return std::filesystem::path(::testing::TempDir()) /
           (stem + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
            std::to_string(::getpid()));
}

}  // namespace nt::test
