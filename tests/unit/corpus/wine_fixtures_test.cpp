// Our own Wine-made dumps (tests/fixtures/wine): every fact checked against
// the independent ground truth in out/<dump>.expected.json, which
// tools/groundtruth.py computed without any ntriage code (PDB ranges from
// llvm-pdbutil, x64 unwinding from the image files, x86 EBP chains).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "commands/engine.h"
#include "dump/open_dump.h"
#include "support/test_support.h"

namespace nt::test {
namespace {

const char* kDumps[] = {
    "crash-x64-clang", "crash-x86-clang", "crash-x64-mingw", "crash-x86-mingw", "throw-x64-clang",
    "throw-x86-clang", "overflow-x64-clang", "overflow-x86-clang", "deadlock-x64-clang", "deadlock-x86-clang",
};

nlohmann::json loadExpected(const std::string& name) {
    std::ifstream f(fixtureFile("wine/out/" + name + ".expected.json"));
    return nlohmann::json::parse(f);
}

std::string lowerNoExt(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto dot = s.rfind('.');
    return dot == std::string::npos ? s : s.substr(0, dot);
}

class WineFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(WineFixture, ThreadsModulesAndExceptionMatchGroundTruth) {
    std::string path = fixtureFile("wine/out/" + GetParam() + ".dmp");
    ASSERT_EQ(access(path.c_str(), R_OK), 0) << path;
    auto want = loadExpected(GetParam());
    auto t = openDump(path);
    ASSERT_EQ(t->threads.size(), want["thread_count"].get<size_t>());
    for (size_t i = 0; i < t->threads.size(); ++i) EXPECT_EQ(t->threads[i].id, want["thread_ids"][i].get<uint32_t>());
    EXPECT_EQ(t->misc.processId.value_or(0), want["process_id"].get<uint32_t>());
    ASSERT_EQ(t->modules.size(), want["modules"].size());
    for (const auto& wm : want["modules"]) {
        const Module* m = t->moduleAt(wm["base"].get<uint64_t>());
        ASSERT_NE(m, nullptr) << wm["name"];
        EXPECT_EQ(m->base, wm["base"].get<uint64_t>());
        EXPECT_EQ(m->size, wm["size"].get<uint64_t>());
        EXPECT_EQ(m->timestamp, wm["timestamp"].get<uint32_t>());
        EXPECT_EQ(m->path, wm["path"].get<std::string>());
    }
    if (want["exception"].is_null()) {
        EXPECT_FALSE(t->exception);
    } else {
        ASSERT_TRUE(t->exception);
        EXPECT_EQ(t->exception->code, want["exception"]["code"].get<uint32_t>());
        EXPECT_EQ(t->exception->address, want["exception"]["address"].get<uint64_t>());
        EXPECT_EQ(t->exception->threadId, want["exception"]["thread_id"].get<uint32_t>());
        std::vector<uint64_t> params;
        for (auto& p : want["exception"]["parameters"]) params.push_back(p.get<uint64_t>());
        EXPECT_EQ(t->exception->parameters, params);
    }
}

// Wine's own DLL images, when Wine is installed on this machine. Wine's
// dbghelp writes no PE headers or .pdata into a MiniDumpNormal dump, so, as
// with WinDbg and a symbol server, x64 unwinding through its DLLs needs the
// image files.
std::vector<std::string> wineImageDirs() {
    std::vector<std::string> dirs;
    for (const char* d : {"/usr/lib/x86_64-linux-gnu/wine/x86_64-windows", "/usr/lib/i386-linux-gnu/wine/i386-windows"})
        if (access((std::string(d) + "/ntdll.dll").c_str(), R_OK) == 0) dirs.push_back(d);
    return dirs;
}

// Checks the call chain of every thread against the ground truth: frame 0 at
// the exact ip, each caller at the exact return address, in the module the
// ground truth names. With `exeOnly`, only the leading frames that lie in
// the program's own image (committed beside the dump) are compared.
void checkChains(const std::string& name, bool exeOnly) {
    std::string path = fixtureFile("wine/out/" + name + ".dmp");
    auto want = loadExpected(name);
    Engine e(openDump(path));
    std::vector<std::string> dirs = {fixtureFile("wine/out")};
    if (!exeOnly)
        for (auto& d : wineImageDirs()) dirs.push_back(d);
    e.images().setImagePath(dirs);
    std::string exe = lowerNoExt(name + ".exe");
    for (const auto& wt : want["threads"]) {
        const auto& wf = wt["frames"];
        if (wf.empty()) continue;
        uint32_t tid = wt["thread_id"].get<uint32_t>();
        SCOPED_TRACE("thread " + std::to_string(tid));
        size_t idx = 0;
        for (; idx < e.target().threads.size(); ++idx)
            if (e.target().threads[idx].id == tid) break;
        ASSERT_LT(idx, e.target().threads.size());
        e.setCurrentThread(idx);
        // The crashing thread's chain starts at the exception context (.ecxr),
        // as in WinDbg; its thread context is inside the dump writer.
        if (wt["crashing"].get<bool>() && e.target().exception && e.target().exception->context)
            e.setScopeContext(*e.target().exception->context);
        const StackWalk& sw = e.currentStack();
        size_t n = wf.size();
        if (exeOnly) {
            // The leading run of frames in the exe (a thread stopped in a
            // system DLL has none: nothing to compare without its image).
            n = 0;
            while (n < wf.size() && lowerNoExt(wf[n]["module"].get<std::string>()) == exe) ++n;
            if (n == 0) continue;
        }
        ASSERT_GE(sw.frames.size(), n) << "frames found: " << sw.frames.size();
        for (size_t i = 0; i < n; ++i) {
            SCOPED_TRACE("frame " + std::to_string(i));
            uint64_t wantIp = wf[i].contains("ip") ? wf[i]["ip"].get<uint64_t>() : wf[i]["return_address"].get<uint64_t>();
            EXPECT_EQ(sw.frames[i].ip, wantIp) << std::hex << "got 0x" << sw.frames[i].ip << " want 0x" << wantIp;
            const Module* m = e.target().moduleAt(sw.frames[i].ip);
            ASSERT_NE(m, nullptr);
            EXPECT_EQ(lowerNoExt(m->fileName()), lowerNoExt(wf[i]["module"].get<std::string>()));
        }
        if (!exeOnly) {
            // No invented frames past the thread's start routine.
            EXPECT_LE(sw.frames.size(), wf.size() + 1);
        }
    }
}

TEST_P(WineFixture, CallChainThroughTheProgramMatchesGroundTruth) { checkChains(GetParam(), true); }

TEST_P(WineFixture, FullCallChainWithWineImagesMatchesGroundTruth) {
    if (wineImageDirs().empty()) GTEST_SKIP() << "Wine's DLL images are not installed here (tests/fixtures/wine/regen.sh --install)";
    checkChains(GetParam(), false);
}

INSTANTIATE_TEST_SUITE_P(Wine, WineFixture, ::testing::ValuesIn(std::vector<std::string>(std::begin(kDumps), std::end(kDumps))),
                         [](const auto& p) {
                             std::string n = p.param;
                             for (char& c : n)
                                 if (c == '-') c = '_';
                             return n;
                         });

}  // namespace
}  // namespace nt::test
