// Every Windows minidump in the corpus against lldb-16 (run at test time;
// skipped when it is not installed): thread ids, module bases and paths, the
// CodeView GUID and age lldb shows as the module's UUID, and the exception
// code and address of lldb's stop reason.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "base/error.h"
#include "dump/open_dump.h"
#include "support/test_support.h"

namespace nt::test {
namespace {

struct LldbView {
    std::vector<uint32_t> tids;
    std::map<uint64_t, std::pair<std::string, std::string>> modules;  // base -> (uuid, path)
    std::optional<uint32_t> excCode;
    std::optional<uint64_t> excAddress;
};

LldbView runLldb(const std::string& dump) {
    std::string cmd = "lldb-16 --batch -c '" + dump + "' -o 'thread list' -o 'image list' 2>/dev/null";
    std::string out = captureOutput(cmd);
    LldbView v;
    static const std::regex tidRe(R"(thread #\d+: tid = 0x([0-9a-f]+))");
    static const std::regex excRe(R"(stop reason = Exception 0x([0-9a-f]+) encountered at address 0x([0-9a-f]+))");
    // "[  3] 59A40407-...-00000001 0x777a0000 C:\...\ntdll.dll"; the UUID is blank without CodeView.
    static const std::regex modRe(R"(^\[\s*\d+\]\s+(?:(\S+)\s+)?0x([0-9a-f]+) (.*?)\s*$)");
    std::istringstream in(out);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_search(line, m, tidRe)) v.tids.push_back(static_cast<uint32_t>(std::stoul(m[1], nullptr, 16)));
        if (std::regex_search(line, m, excRe) && !v.excCode) {
            v.excCode = static_cast<uint32_t>(std::stoul(m[1], nullptr, 16));
            v.excAddress = std::stoull(m[2], nullptr, 16);
        }
        if (std::regex_search(line, m, modRe)) v.modules[std::stoull(m[2], nullptr, 16)] = {m[1], m[3]};
    }
    return v;
}

// lldb's UUID for a PDB70 CodeView record: GUID with dashes, then "-" and the age as 8 hex digits.
std::string lldbUuid(const CodeViewInfo& cv) {
    std::string g = cv.guidString();
    char age[16];
    std::snprintf(age, sizeof age, "%08X", cv.age);
    return g.substr(0, 8) + "-" + g.substr(8, 4) + "-" + g.substr(12, 4) + "-" + g.substr(16, 4) + "-" + g.substr(20) + "-" + age;
}

std::vector<std::string> windowsMinidumps() {
    std::vector<std::string> out;
    std::string dir = corpusDir();
    if (dir.empty()) return out;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file() || e.path().extension() != ".dmp") continue;
        try {
            auto t = openDump(e.path().string());
            if (t->dumpKind.rfind("minidump", 0) == 0) out.push_back(std::filesystem::relative(e.path(), dir).string());
        } catch (const FormatError&) {
            // negative files and kernel dumps: covered elsewhere
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool haveLldb() { return std::system("command -v lldb-16 >/dev/null 2>&1") == 0; }

TEST(LldbOpen, EveryWindowsMinidumpAgreesWithLldb) {
    if (corpusDir().empty()) GTEST_SKIP() << "corpus not found";
    if (!haveLldb()) GTEST_SKIP() << "lldb-16 not installed";
    auto dumps = windowsMinidumps();
    ASSERT_GE(dumps.size(), 40u) << "expected the 40 Windows .dmp minidumps of the manifest";
    size_t uuidsCompared = 0;
    for (const auto& rel : dumps) {
        SCOPED_TRACE(rel);
        std::string path = corpusFile(rel);
        auto t = openDump(path);
        LldbView l = runLldb(path);
        std::vector<uint32_t> ours;
        for (const auto& th : t->threads) ours.push_back(th.id);
        EXPECT_EQ(ours, l.tids);
        // lldb lists each module once per base, as our model does.
        EXPECT_EQ(t->modules.size(), l.modules.size());
        for (const auto& m : t->modules) {
            auto it = l.modules.find(m.base);
            if (it == l.modules.end()) {
                ADD_FAILURE() << "lldb has no module at 0x" << std::hex << m.base << " (" << m.path << ")";
                continue;
            }
            EXPECT_EQ(it->second.second, m.path);
            if (m.codeView && m.codeView->isPdb70 && it->second.first.size() == 45) {
                EXPECT_EQ(it->second.first, lldbUuid(*m.codeView)) << m.path;
                ++uuidsCompared;
            }
        }
        if (t->exception && l.excCode) {
            EXPECT_EQ(t->exception->code, *l.excCode);
            EXPECT_EQ(t->exception->address, *l.excAddress);
        }
    }
    EXPECT_GT(uuidsCompared, 100u);
}

}  // namespace
}  // namespace nt::test
