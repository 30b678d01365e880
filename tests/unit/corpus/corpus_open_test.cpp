// Every user-mode dump of the shared corpus opens, and what we read agrees
// with the MANIFEST and with LLVM's minidump reader (obj2yaml-16, run at
// test time). Every negative input fails with a FormatError, quickly.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "base/error.h"
#include "dump/open_dump.h"
#include "support/test_support.h"

using namespace nt;

namespace {

// MANIFEST section B: path, threads, modules, exception code (0: no
// exception stream), 64-bit dump.
struct Expected {
    const char* path;
    size_t threads, modules;
    uint32_t code;
    bool is64;
};
const Expected kUserDumps[] = {
    {"breakpad/ascii_read_av.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/ascii_read_av_block_write.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/ascii_read_av_clobber_write.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/ascii_read_av_conditional.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/ascii_read_av_then_jmp.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/ascii_read_av_xchg_write.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/ascii_write_av.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/ascii_write_av_arg_to_call.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/exec_av_on_stack.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/minidump2.dmp", 2, 13, 0xc0000005, false},
    {"breakpad/minidump_32bit_crash_addr.dmp", 2, 13, 0xc0000005, false},
    {"breakpad/null_read_av.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/null_write_av.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/read_av_clobber_write.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/read_av_conditional.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/read_av_non_null.dmp", 2, 26, 0xc0000005, false},
    {"breakpad/stack_exhaustion.dmp", 2, 26, 0xc00000fd, false},
    {"breakpad/thread_name_list.dmp", 6, 17, 0xc0000005, false},
    {"breakpad/tiny-exe-fastfail.dmp", 4, 21, 0xc0000409, true},
    {"breakpad/tiny-exe-with-cet-xsave-x86.dmp", 3, 19, 0, false},
    {"breakpad/tiny-exe-with-cet-xsave.dmp", 1, 25, 0, true},
    {"breakpad/write_av_non_canonical.dmp", 2, 15, 0xc0000005, true},
    {"breakpad/write_av_non_null.dmp", 2, 26, 0xc0000005, false},
    {"kdlibcpp/targetapp_minidump/target_minidump.dmp", 2, 7, 0x80000003, true},
    {"kdlibcpp/targetapp_stacktest_wow64/targetapp_stacktest_wow64.cab.dmp", 4, 11, 0x4000001f, true},  // 12 listed; the exe twice at one base
    {"kdlibcpp/targetapp_stacktest_wow64_release/targetapp_stacktest_wow64_release.dmp", 3, 11, 0x4000001f, true},
    {"kdlibcpp/targetapp_stacktest_x64_release/targetapp_stacktest_x64_release.dmp", 3, 7, 0x80000003, true},
    {"kdlibcpp/targetapp_test_cv_allreg_amd64/targetapp_test_cv_allreg_amd64.dmp", 4, 8, 0x80000003, true},
    {"kdlibcpp/targetapp_test_cv_allreg_i386/targetapp_test_cv_allreg_i386.dmp", 4, 8, 0x80000003, false},
    {"ksp-crash/crash.dmp", 47, 89, 0xc0000005, true},
    {"lldb/fizzbuzz_no_heap.dmp", 1, 6, 0xc0000005, false},
    {"lldb/sigsegv.dmp", 1, 4, 0xc0000005, true},
    {"rizin-testbins/calc.dmp", 5, 28, 0x80000003, true},
    {"rust-minidump/invalid-parameter.dmp", 6, 31, 0xc000000d, true},
    {"rust-minidump/test.dmp", 2, 13, 0xc0000005, false},
    {"symbolicator/windows.dmp", 4, 17, 0xc0000005, false},
    {"syzygy/minidump-no-kasko-stream.dmp", 39, 107, 0xc000008c, false},
    {"syzygy/notepad-larger-32bit.dmp", 1, 22, 0x80000003, false},
    {"syzygy/notepad-larger-64bit.dmp", 1, 5, 0x80000003, true},
    {"syzygy/notepad-small-32bit.dmp", 1, 22, 0x80000003, false},
    {"syzygy/notepad-small-64bit.dmp", 1, 5, 0x80000003, true},
    {"syzygy/use-after-free.dmp", 39, 107, 0xc000008c, false},
};

// MANIFEST section C.
const char* kNegative[] = {
    "breakpad/minidump_crashpad_annotation.dmp",  "ghost-in-the-memory/memory.dmp",
    "radare2-testbins/trunc_memory64.dmp",        "rizin-testbins/npe_r_mdmp.c-364_1.mdmp",
    "rizin-testbins/npe_w_bin_mdmp.c-111_1.mdmp", "rust-minidump/invalid-range.dmp",
    "rust-minidump/invalid-record-count.dmp",     "rust-minidump/linux-mini.dmp",
    "rust-minidump/simple-crashpad.dmp",
};

// What obj2yaml-16 says about a minidump (only the facts we compare).
struct Yaml {
    std::vector<uint32_t> threadIds;
    struct Mod {
        uint64_t base = 0, size = 0;
        std::string name;
    };
    std::vector<Mod> modules;
    bool hasException = false;
    uint32_t excThread = 0, excCode = 0;
    uint64_t excAddress = 0;
};

std::string trim(std::string s) {
    size_t a = s.find_first_not_of(' ');
    size_t b = s.find_last_not_of(" \r\n");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string unquote(std::string v) {
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
        v = v.substr(1, v.size() - 2);
        std::string out;
        for (size_t i = 0; i < v.size(); ++i) {
            out += v[i];
            if (v[i] == '\'' && i + 1 < v.size() && v[i + 1] == '\'') ++i;
        }
        return out;
    }
    return v;
}

// Minimal reader of LLVM's minidump YAML: "  - Type: X" opens a stream,
// "      - " opens a list entry inside it, "Key: value" fills it.
std::optional<Yaml> runObj2yaml(const std::string& path) {
    if (access("/usr/bin/obj2yaml-16", X_OK) != 0) return std::nullopt;
    std::string cmd = "/usr/bin/obj2yaml-16 '" + path + "' 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return std::nullopt;
    Yaml y;
    std::string section;
    char buf[8192];
    std::string line;
    auto hex = [](const std::string& v) { return std::stoull(v, nullptr, 16); };
    while (fgets(buf, sizeof buf, p)) {
        line = buf;
        if (line.size() > 400) line.resize(400);  // context/content hex: not needed
        size_t indent = line.find_first_not_of(' ');
        if (indent == std::string::npos) continue;
        std::string body = trim(line);
        bool item = body.rfind("- ", 0) == 0;
        if (item) body = body.substr(2);
        size_t colon = body.find(':');
        if (colon == std::string::npos) continue;
        std::string key = body.substr(0, colon), value = trim(body.substr(colon + 1));
        if (indent == 2 && item && key == "Type") {
            section = value;
            if (section == "Exception") y.hasException = true;
            continue;
        }
        if (section == "ThreadList" && indent == 6 && item) y.threadIds.push_back(0);
        if (section == "ModuleList" && indent == 6 && item) y.modules.push_back({});
        if (section == "ThreadList" && key == "Thread Id" && !y.threadIds.empty()) y.threadIds.back() = static_cast<uint32_t>(hex(value));
        if (section == "ModuleList" && !y.modules.empty()) {
            if (key == "Base of Image") y.modules.back().base = hex(value);
            if (key == "Size of Image") y.modules.back().size = hex(value);
            if (key == "Module Name") y.modules.back().name = unquote(value);
        }
        if (section == "Exception") {
            if (key == "Thread ID") y.excThread = static_cast<uint32_t>(hex(value));
            if (key == "Exception Code") y.excCode = static_cast<uint32_t>(hex(value));
            if (key == "Exception Address") y.excAddress = hex(value);
        }
    }
    if (pclose(p) != 0) return std::nullopt;
    return y;
}

// What lldb-16 says about a minidump's process and its selected (exception)
// thread: lldb shows the exception context for the faulting thread.
struct LldbFacts {
    uint64_t pid = 0, pc = 0, sp = 0;
    bool ok = false;
};
std::optional<LldbFacts> runLldb(const std::string& path) {
    if (access("/usr/bin/lldb-16", X_OK) != 0) return std::nullopt;
    std::string cmd = "timeout 60 /usr/bin/lldb-16 --batch -c '" + path +
                      "' -o 'process status' -o 'register read pc sp' 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return std::nullopt;
    LldbFacts f;
    char buf[4096];
    bool pid = false, pc = false, sp = false;
    while (fgets(buf, sizeof buf, p)) {
        std::string l = trim(buf);
        unsigned long long v;
        if (sscanf(l.c_str(), "Process %llu stopped", &v) == 1) f.pid = v, pid = true;
        if (sscanf(l.c_str(), "rip = 0x%llx", &v) == 1 || sscanf(l.c_str(), "eip = 0x%llx", &v) == 1) f.pc = v, pc = true;
        if (sscanf(l.c_str(), "rsp = 0x%llx", &v) == 1 || sscanf(l.c_str(), "esp = 0x%llx", &v) == 1) f.sp = v, sp = true;
    }
    pclose(p);
    f.ok = pid && pc && sp;
    return f;
}

}  // namespace

TEST(CorpusOpen, EveryUserDumpMatchesTheManifest) {
    if (nt::test::corpusDir().empty()) GTEST_SKIP() << "corpus not found";
    for (const auto& e : kUserDumps) {
        SCOPED_TRACE(e.path);
        std::string path = nt::test::corpusFile(e.path);
        if (path.empty()) {
            ADD_FAILURE() << "missing corpus file";
            continue;
        }
        std::unique_ptr<Target> t;
        try {
            t = openDump(path);
        } catch (const FormatError& err) {
            ADD_FAILURE() << err.what();
            continue;
        }
        EXPECT_EQ(t->threads.size(), e.threads);
        EXPECT_EQ(t->modules.size(), e.modules);
        EXPECT_EQ(is64(t->machine), e.is64);
        if (e.code) {
            ASSERT_TRUE(t->exception);
            EXPECT_EQ(t->exception->code, e.code);
            // The event thread is the one that raised the exception.
            EXPECT_EQ(t->threads[t->eventThread].id, t->exception->threadId);
        } else {
            EXPECT_FALSE(t->exception);
        }
        for (const auto& th : t->threads) EXPECT_TRUE(th.context) << "thread " << th.id;
    }
}

TEST(CorpusOpen, MinidumpsAgreeWithObj2yaml) {
    if (nt::test::corpusDir().empty()) GTEST_SKIP() << "corpus not found";
    if (access("/usr/bin/obj2yaml-16", X_OK) != 0) GTEST_SKIP() << "obj2yaml-16 not installed";
    size_t compared = 0;
    for (const auto& e : kUserDumps) {
        std::string path = nt::test::corpusFile(e.path);
        if (path.empty()) continue;
        auto y = runObj2yaml(path);
        if (!y) continue;  // LLVM does not read the legacy USERDU64 format
        SCOPED_TRACE(e.path);
        ++compared;
        auto t = openDump(path);
        std::vector<uint32_t> ids;
        for (const auto& th : t->threads) ids.push_back(th.id);
        EXPECT_EQ(ids, y->threadIds);
        // Our modules are sorted by base; sort LLVM's the same (stable, as ours).
        std::stable_sort(y->modules.begin(), y->modules.end(),
                         [](const Yaml::Mod& a, const Yaml::Mod& b) { return a.base < b.base; });
        // A WoW64 list names the executable twice at one base; the model (like
        // WinDbg's lm) keeps one module per image.
        y->modules.erase(std::unique(y->modules.begin(), y->modules.end(),
                                     [](const Yaml::Mod& a, const Yaml::Mod& b) { return a.base == b.base && a.size == b.size; }),
                         y->modules.end());
        ASSERT_EQ(t->modules.size(), y->modules.size());
        for (size_t i = 0; i < y->modules.size(); ++i) {
            EXPECT_EQ(t->modules[i].base, y->modules[i].base) << i;
            EXPECT_EQ(t->modules[i].size, y->modules[i].size) << i;
            EXPECT_EQ(t->modules[i].path, y->modules[i].name) << i;
        }
        EXPECT_EQ(t->exception.has_value(), y->hasException);
        if (t->exception && y->hasException) {
            EXPECT_EQ(t->exception->threadId, y->excThread);
            EXPECT_EQ(t->exception->code, y->excCode);
            EXPECT_EQ(t->exception->address, y->excAddress);
        }
    }
    EXPECT_EQ(compared, std::size(kUserDumps) - 2);  // all but the two USERDU64 files
}

TEST(CorpusOpen, SigsegvFactsFromTheLldbTest) {
    // lldb's test: "Exception 0xc0000005 encountered at address 0x7ff7a13110d9".
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.dmp");
    auto t = openDump(path);
    ASSERT_TRUE(t->exception);
    EXPECT_EQ(t->exception->address, 0x7ff7a13110d9u);
    ASSERT_TRUE(t->exception->context);
    EXPECT_EQ(t->exception->context->ip(), 0x7ff7a13110d9u);
    const Module* exe = t->moduleByName("sigsegv");
    ASSERT_NE(exe, nullptr);
    ASSERT_TRUE(exe->codeView);
    // MANIFEST: sigsegv.pdb 7DD47A9FC2E8499AA78EC14AE2C965A2 / 1.
    EXPECT_EQ(exe->codeView->guidString(), "7DD47A9FC2E8499AA78EC14AE2C965A2");
    EXPECT_EQ(exe->codeView->age, 1u);
    // The faulting instruction "movl $0x0, 0x0" is C7 04 25 00 00 00 00 00 00 00 00.
    std::array<uint8_t, 3> code{};
    ASSERT_TRUE(t->memory().readExact(0x7ff7a13110d9, code));
    EXPECT_EQ(code, (std::array<uint8_t, 3>{0xc7, 0x04, 0x25}));
}

TEST(CorpusOpen, ThreadNamesFromBreakpad) {
    NT_REQUIRE_CORPUS_FILE(path, "breakpad/thread_name_list.dmp");
    auto t = openDump(path);
    size_t named = 0;
    for (const auto& th : t->threads) named += !th.name.empty();
    EXPECT_GE(named, 1u);
    ASSERT_NE(t->threadById(0x19a4), nullptr);
    EXPECT_EQ(t->threadById(0x19a4)->name, "main thread");
}

TEST(CorpusOpen, NegativeInputsFailCleanlyAndQuickly) {
    if (nt::test::corpusDir().empty()) GTEST_SKIP() << "corpus not found";
    for (const char* rel : kNegative) {
        SCOPED_TRACE(rel);
        std::string path = nt::test::corpusFile(rel);
        if (path.empty()) {
            ADD_FAILURE() << "missing corpus file";
            continue;
        }
        auto start = std::chrono::steady_clock::now();
        try {
            openDump(path);
            ADD_FAILURE() << "opened";
        } catch (const FormatError& err) {
            std::string msg = err.what();
            EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
            EXPECT_EQ(msg.rfind(path, 0), 0u) << msg;  // names the file
        }
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    }
}

TEST(CorpusOpen, NonWindowsMinidumpsSayWhichPlatform) {
    struct {
        const char* rel;
        const char* platform;
    } cases[] = {{"rust-minidump/linux-mini.dmp", "platform Linux"},
                 {"rust-minidump/simple-crashpad.dmp", "platform macOS"},
                 {"breakpad/minidump_crashpad_annotation.dmp", "platform iOS"}};
    for (const auto& c : cases) {
        std::string path = nt::test::corpusFile(c.rel);
        if (path.empty()) continue;
        try {
            openDump(path);
            ADD_FAILURE() << c.rel << " opened";
        } catch (const FormatError& err) {
            EXPECT_NE(std::string(err.what()).find(std::string("not a Windows minidump: ") + c.platform),
                      std::string::npos)
                << err.what();
        }
    }
}

TEST(CorpusOpen, ProcessIdAndExceptionContextAgreeWithLldb) {
    if (nt::test::corpusDir().empty()) GTEST_SKIP() << "corpus not found";
    if (access("/usr/bin/lldb-16", X_OK) != 0) GTEST_SKIP() << "lldb-16 not installed";
    const char* files[] = {"lldb/sigsegv.dmp", "breakpad/minidump2.dmp", "rizin-testbins/calc.dmp",
                           "kdlibcpp/targetapp_minidump/target_minidump.dmp", "breakpad/tiny-exe-fastfail.dmp",
                           "breakpad/thread_name_list.dmp", "syzygy/use-after-free.dmp"};
    size_t compared = 0;
    for (const char* rel : files) {
        std::string path = nt::test::corpusFile(rel);
        if (path.empty()) continue;
        auto l = runLldb(path);
        if (!l || !l->ok) continue;
        SCOPED_TRACE(rel);
        ++compared;
        auto t = openDump(path);
        ASSERT_TRUE(t->misc.processId);
        EXPECT_EQ(*t->misc.processId, l->pid);
        ASSERT_TRUE(t->exception && t->exception->context);
        EXPECT_EQ(t->exception->context->ip(), l->pc);
        EXPECT_EQ(t->exception->context->sp(), l->sp);
    }
    EXPECT_GE(compared, 5u);
}

TEST(CorpusOpen, SigsegvSystemFacts) {
    // Values read from the file's bytes with a hex dump (SystemMemoryInfo,
    // ProcessVmCounters) and from obj2yaml-16 (SystemInfo: AMD64, 48
    // processors, build 16299).
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.dmp");
    auto t = openDump(path);
    EXPECT_EQ(t->system.numberOfProcessors, 48);
    EXPECT_EQ(t->system.buildNumber, 16299u);
    EXPECT_EQ(t->system.majorVersion, 10u);
    ASSERT_TRUE(t->systemMemory.present);
    EXPECT_EQ(t->systemMemory.pageSize, 0x1000u);
    EXPECT_EQ(t->systemMemory.maximumUserAddress, 0x7ffffffeffffu);
    EXPECT_EQ(t->systemMemory.numberOfProcessors, 48u);
    ASSERT_TRUE(t->vmCounters.present);
    EXPECT_EQ(t->vmCounters.pageFaultCount, 0x1e0u);
    EXPECT_EQ(t->vmCounters.privateUsage, 0x59000u);
    EXPECT_EQ(t->vmCounters.privateUsage, t->vmCounters.pagefileUsage);
    EXPECT_EQ(t->misc.version, 5u);  // SizeOfInfo 1364
    EXPECT_EQ(t->misc.processId, 13052u);
}

TEST(CorpusOpen, Minidump2AgreesWithBreakpadsExpectedDump) {
    // Expectations from breakpad's own minidump_dump output,
    // breakpad/expected/minidump2.dump.out.
    NT_REQUIRE_CORPUS_FILE(path, "breakpad/minidump2.dmp");
    auto t = openDump(path);
    EXPECT_EQ(t->machine, Machine::X86);
    // MDRawSystemInfo
    EXPECT_EQ(t->system.processorLevel, 6);
    EXPECT_EQ(t->system.processorRevision, 0xd08);
    EXPECT_EQ(t->system.numberOfProcessors, 1);
    EXPECT_EQ(t->system.majorVersion, 5u);
    EXPECT_EQ(t->system.minorVersion, 1u);
    EXPECT_EQ(t->system.buildNumber, 2600u);
    EXPECT_EQ(t->system.csdVersion, "Service Pack 2");
    EXPECT_EQ(t->system.cpuVendor, "GenuineIntel");
    EXPECT_EQ(t->system.cpuVersionInformation, 0x6d8u);
    EXPECT_EQ(t->system.cpuFeatureInformation, 0xafe9fbffu);
    // MDRawMiscInfo: size_of_info 24, flags1 3
    EXPECT_EQ(t->misc.version, 1u);
    EXPECT_EQ(t->misc.flags1, 3u);
    EXPECT_EQ(t->misc.processId, 3932u);
    EXPECT_EQ(t->misc.processCreateTime, 0x45d35f73u);
    // MDRawThread 0
    ASSERT_EQ(t->threads.size(), 2u);
    EXPECT_EQ(t->threads[0].id, 0xbf4u);
    EXPECT_EQ(t->threads[0].teb, 0x7ffdf000u);
    EXPECT_EQ(t->threads[0].stackStart, 0x12f31cu);
    EXPECT_EQ(t->threads[0].stackSize, 0xce4u);
    // MDRawModule 0
    const Module* app = t->moduleAt(0x400000);
    ASSERT_NE(app, nullptr);
    EXPECT_EQ(app->path, "c:\\test_app.exe");
    EXPECT_EQ(app->name, "test_app");
    EXPECT_EQ(app->size, 0x2d000u);
    EXPECT_EQ(app->timestamp, 0x45d35f6cu);
    ASSERT_TRUE(app->codeView);
    EXPECT_EQ(app->codeView->guidString(), "5A9832E5287241C1838ED98914E9B7FF");
    EXPECT_EQ(app->codeView->age, 1u);
    EXPECT_EQ(app->codeView->pdbName, "c:\\test_app.pdb");
    EXPECT_FALSE(app->version.present);  // version_info.signature = 0x0
    // MDException
    ASSERT_TRUE(t->exception);
    EXPECT_EQ(t->exception->threadId, 0xbf4u);
    EXPECT_EQ(t->exception->address, 0x40429eu);
    EXPECT_EQ(t->exception->parameters, (std::vector<uint64_t>{0x1, 0x45}));
    // MinidumpMemoryList region[0]: 0x7c90eb14, 0x100 bytes starting ff 83 c4 ec.
    std::array<uint8_t, 4> b{};
    ASSERT_TRUE(t->memory().readExact(0x7c90eb14, b));
    EXPECT_EQ(b, (std::array<uint8_t, 4>{0xff, 0x83, 0xc4, 0xec}));
    EXPECT_TRUE(t->memory().readValue<uint8_t>(0x7c90eb14 + 0xff));
    EXPECT_FALSE(t->memory().readValue<uint8_t>(0x7c90eb14 + 0x100));
    // Region[1] is thread 0's stack: 00 00 00 00 c0 e9 90 7c at 0x12f31c.
    EXPECT_EQ(t->memory().readValue<uint32_t>(0x12f31c + 4), 0x7c90e9c0u);
}
