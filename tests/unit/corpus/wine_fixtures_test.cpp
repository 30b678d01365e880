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

// The full call chain of every thread: frame 0 at the exact ip, each caller at
// the exact return address, in the module the ground truth names.
TEST_P(WineFixture, CallChainsMatchGroundTruth) {
    std::string path = fixtureFile("wine/out/" + GetParam() + ".dmp");
    auto want = loadExpected(GetParam());
    Engine e(openDump(path));
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
        const StackWalk& sw = e.currentStack();
        ASSERT_GE(sw.frames.size(), wf.size()) << "frames found: " << sw.frames.size();
        for (size_t i = 0; i < wf.size(); ++i) {
            SCOPED_TRACE("frame " + std::to_string(i));
            uint64_t wantIp = wf[i].contains("ip") ? wf[i]["ip"].get<uint64_t>() : wf[i]["return_address"].get<uint64_t>();
            EXPECT_EQ(sw.frames[i].ip, wantIp) << std::hex << "got 0x" << sw.frames[i].ip << " want 0x" << wantIp;
            const Module* m = e.target().moduleAt(sw.frames[i].ip);
            ASSERT_NE(m, nullptr);
            EXPECT_EQ(lowerNoExt(m->fileName()), lowerNoExt(wf[i]["module"].get<std::string>()));
            // x64 has unwind data for every function here: nothing may come from
            // scanning. x86 libgcc frames have no frame pointer and no FPO data,
            // so a validated scan (call-preceded return address) is legitimate there.
            if (i > 0 && e.is64()) EXPECT_NE(sw.frames[i].trust, FrameTrust::Scan) << "frame found by scanning";
        }
        // No invented frames past the thread's start routine.
        EXPECT_LE(sw.frames.size(), wf.size() + 1);
    }
}

INSTANTIATE_TEST_SUITE_P(Wine, WineFixture, ::testing::ValuesIn(std::vector<std::string>(std::begin(kDumps), std::end(kDumps))),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n)
                                 if (c == '-') c = '_';
                             return n;
                         });

}  // namespace
}  // namespace nt::test
