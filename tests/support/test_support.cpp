#include "support/test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nt::test {

std::string corpusDir() {
    if (const char* env = std::getenv("NTRIAGE_CORPUS")) {
        if (access(env, R_OK) == 0) return env;
    }
    if (access(NTRIAGE_CORPUS_DIR, R_OK) == 0) return NTRIAGE_CORPUS_DIR;
    return {};
}

std::string corpusFile(const std::string& rel) {
    std::string d = corpusDir();
    if (d.empty()) return {};
    std::string p = d + "/" + rel;
    return access(p.c_str(), R_OK) == 0 ? p : std::string{};
}

std::string fixtureFile(const std::string& rel) { return std::string(NTRIAGE_FIXTURES_DIR) + "/" + rel; }

std::string ntriageBinary() { return NTRIAGE_BINARY; }

static std::string shellQuote(const std::string& s) {
    std::string r = "'";
    for (char c : s) {
        if (c == '\'') r += "'\\''";
        else r += c;
    }
    return r + "'";
}

std::string readTextFile(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string captureOutput(const std::string& shellCommand) {
    std::string out;
    if (FILE* p = popen(shellCommand.c_str(), "r")) {
        std::array<char, 65536> buf;
        size_t n;
        while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
        pclose(p);
    }
    return out;
}

RunResult runNtriage(const std::vector<std::string>& args, int timeoutSeconds) {
    char errTemplate[] = "/tmp/ntriage-test-err-XXXXXX";
    int errFd = mkstemp(errTemplate);
    if (errFd >= 0) close(errFd);
    std::string cmd = "timeout " + std::to_string(timeoutSeconds) + " " + shellQuote(ntriageBinary());
    for (const auto& a : args) cmd += " " + shellQuote(a);
    cmd += " 2>" + shellQuote(errTemplate) + " </dev/null";
    RunResult r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 65536> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int status = pclose(p);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.err = readTextFile(errTemplate);
    unlink(errTemplate);
    return r;
}

}  // namespace nt::test
