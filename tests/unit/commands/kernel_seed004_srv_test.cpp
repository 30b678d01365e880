// Seed 004, first half (/work/shared/seeds/004_e1bc695d02428917.txt): a
// Windows Server 2003 x64 crash, SYSTEM_THREAD_EXCEPTION_NOT_HANDLED (0x7E)
// in srv!memmove (an MS17-010 transaction-secondary bug), read with
// `.exr <Arg3>`, `.cxr <Arg4>`, `k` and `!process -1 0`.
//
// Rebuilt with NtWorldBuilder over the Windows 7 SP1 x64 ISF (the corpus has
// no Server 2003 layout; the commands need no field that differs). srv.sys
// is a driver image with .pdata/.xdata for its framed functions and a
// Breakpad .sym naming them (written next to the test); memmove is a leaf
// with no unwind data, as in the real srv.sys. The exception and context
// records sit on the worker thread's stack at the seed's addresses, the
// registers are the seed's, and `mov qword ptr [rcx],rax` is at the faulting
// address. srv's functions are at the seed's addresses except
// SrvRestartReceive, whose real code is split into chunks around
// SrvProcessSmb (its return address cannot be reproduced by one function);
// nt sits at the ISF's RVAs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/format.h"
#include "commands/engine.h"
#include "dump/open_dump.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/test_support.h"
#include "unit/commands/kernel_scenario.h"

namespace nt {
namespace {

namespace kd = test::kdump;

constexpr const char* kWin7Isf = "jpcert-isf/ntkrnlmp.pdb/339E74133576439CBCDF7E0229DA3773-1.json.xz";

constexpr uint64_t kSrvBase = 0xfffffadf26a00000ull;
constexpr uint32_t kSrvSize = 0x100000;
constexpr const char* kSrvGuid = "4F3C2A1B5D6E7F8091A2B3C4D5E6F708";
constexpr uint64_t kFaultIp = 0xfffffadf26a2ce30ull;  // srv!memmove+0x64
constexpr uint64_t kExceptionRecord = 0xfffffadf27925950ull, kContextRecord = 0xfffffadf27925360ull;
constexpr uint64_t kStackBase = 0xfffffadf27926000ull;
constexpr uint64_t kFaultRsp = 0xfffffadf27925b78ull;

// srv's functions: RVA, size, name (the .sym file and the image agree).
struct SrvFunction {
    uint32_t rva, size;
    const char* name;
};
constexpr SrvFunction kMemmove{0x2cdcc, 0x180, "memmove"};
constexpr SrvFunction kTransSecondary{0xe20e0, 0x600, "SrvSmbNtTransactionSecondary"};
constexpr SrvFunction kProcessSmb{0x2c758, 0x300, "SrvProcessSmb"};
constexpr SrvFunction kRestartReceive{0x40000, 0x200, "SrvRestartReceive"};
constexpr SrvFunction kWorkerThread{0x8cfae, 0x300, "WorkerThread"};

struct SrvWorld {
    std::unique_ptr<kd::NtWorldBuilder> w;
    std::vector<uint8_t> bytes;
    uint64_t system = 0, worker = 0;
};

// The seed's registers at the fault.
CpuContext faultContext() {
    CpuContext c(Machine::Amd64);
    const std::pair<Reg, uint64_t> regs[] = {
        {Reg::Rax, 0x893f0},           {Reg::Rbx, 0xfffffadf36263958ull}, {Reg::Rcx, 0x100089458ull},
        {Reg::Rdx, 0xfffffade3720f0f0ull}, {Reg::Rsi, 0xfffffadf3734cb20ull}, {Reg::Rdi, 0x893f0},
        {Reg::Rip, kFaultIp},          {Reg::Rsp, kFaultRsp},              {Reg::Rbp, 0},
        {Reg::R8, 0x18},               {Reg::R9, 3},                       {Reg::R10, 0x12},
        {Reg::R11, 0x100089458ull},    {Reg::R12, 0},                      {Reg::R13, 0x18},
        {Reg::R14, 0xffffff84ull},     {Reg::R15, 0},                      {Reg::Cs, 0x10},
        {Reg::Ss, 0x18},               {Reg::Ds, 0x2b},                    {Reg::Es, 0x2b},
        {Reg::Fs, 0x53},               {Reg::Gs, 0x2b},                    {Reg::Eflags, 0x10206}};
    for (const auto& [r, v] : regs) c.set(r, v);
    return c;
}

SrvWorld buildSrvWorld(const std::string& isf) {
    SrvWorld s;
    kd::NtWorldOptions opt;
    opt.buildNumber = 7601;
    opt.buildLab = "7601.24540.amd64fre.win7sp1_ldr_escrow.191127-1706";
    opt.kernBase = 0xfffff80001000000ull;
    opt.kernelSizeOfImage = 0x5e9000;
    opt.processors = 4;
    opt.bugcheckProcessor = 3;  // the seed's prompt is "3: kd>"
    s.w = std::make_unique<kd::NtWorldBuilder>(isf, opt);
    kd::NtWorldBuilder& w = *s.w;
    s.system = w.systemProcess();

    // srv.sys and its code.
    kd::X64Image& srv = w.addDriverImage("srv.sys", kSrvBase, kSrvSize, 0x45d6a0b1, "srv.pdb", kSrvGuid);
    w.kernel().ensureMapped(kSrvBase + kMemmove.rva, kMemmove.size);
    const std::vector<uint8_t> mov = {0x48, 0x89, 0x01};  // mov qword ptr [rcx],rax
    w.kernel().write(kFaultIp, mov);
    const auto& trans = srv.addFunction(kTransSecondary.name, kTransSecondary.rva, kTransSecondary.size,
                                        kd::framedProlog({3, 5, 6, 7, 12}, 0x90));
    const auto& processSmb = srv.addFunction(kProcessSmb.name, kProcessSmb.rva, kProcessSmb.size, kd::framedProlog({3, 6, 7}, 0x40));
    const auto& restart = srv.addFunction(kRestartReceive.name, kRestartReceive.rva, kRestartReceive.size, kd::framedProlog({3, 6}, 0x58));
    const auto& worker = srv.addFunction(kWorkerThread.name, kWorkerThread.rva, kWorkerThread.size, kd::framedProlog({3, 5, 6, 7}, 0x38));
    const auto& startup = w.defineNtFunction("PspSystemThreadStartup", kd::framedProlog({3, 6, 7}, 0x40));
    const auto& start = w.defineNtFunction("KiStartSystemThread", kd::framedProlog({}, 0x28));
    const auto& bugcheck = w.defineNtFunction("KeBugCheckEx", kd::framedProlog({}, 0x108));
    const auto& unhandled = w.defineNtFunction("PspUnhandledExceptionInSystemThread", kd::framedProlog({3}, 0x20));

    // A srv worker thread of System, running on processor 3.
    kd::ThreadSpec spec;
    spec.tid = 0x7c;
    spec.state = kd::Running;
    spec.stackBase = kStackBase;
    spec.priority = 13;
    spec.basePriority = 13;
    spec.startAddress = worker.start;
    s.worker = w.addThread(s.system, spec).ethread;

    // The stack at the fault: memmove is a leaf, so the return address is
    // at the faulting rsp; the framed functions follow their unwind data.
    w.kernel().writeU64(kFaultRsp, trans.start + 0x3e9);
    std::vector<kd::X64FrameSite> frames = {{&trans, trans.start + 0x3e9},       {&processSmb, processSmb.start + 0x19f},
                                            {&restart, restart.start + 0xca},    {&worker, worker.start + 0x144},
                                            {&startup, startup.start + 0x3e},    {&start, start.start + 0x16}};
    kd::writeX64Stack(w.kernel(), kFaultRsp + 8, frames);
    // The bugcheck itself, deeper on the same stack: KeBugCheckEx called by
    // the system thread's unhandled-exception filter.
    w.setRunningStack(3, s.worker, 0xfffffadf27924f08ull,
                      {{&bugcheck, bugcheck.start}, {&unhandled, unhandled.start + 0x25}});

    // EXCEPTION_RECORD64 and CONTEXT where the bugcheck arguments point.
    std::vector<uint8_t> exr(0x98, 0);
    auto put32 = [&](size_t o, uint32_t v) { std::memcpy(exr.data() + o, &v, 4); };
    auto put64 = [&](size_t o, uint64_t v) { std::memcpy(exr.data() + o, &v, 8); };
    put32(0, 0xc0000005);
    put64(0x10, kFaultIp);
    put32(0x18, 2);
    put64(0x20, 1);  // write
    put64(0x28, 0x100089458ull);
    w.kernel().write(kExceptionRecord, exr);
    CpuContext ctx = faultContext();
    std::vector<uint8_t> cxr = ctx.serialize();
    uint32_t flags = 0x10001f;  // CONTEXT_AMD64 | CONTROL | INTEGER | SEGMENTS | FLOATING_POINT | DEBUG
    std::memcpy(cxr.data() + 0x30, &flags, 4);
    w.kernel().write(kContextRecord, cxr);

    w.setBugcheck(0x7e, {0xffffffffc0000005ull, kFaultIp, kExceptionRecord, kContextRecord});
    s.bytes = w.build(kd::kFull);
    return s;
}

class Seed004Srv : public ::testing::Test {
protected:
    void SetUp() override {
        isf_ = test::corpusFile(kWin7Isf);
        if (isf_.empty()) GTEST_SKIP() << "corpus file not found: " << kWin7Isf;
        world_ = buildSrvWorld(isf_);
        // srv's Breakpad symbols in the symbol-store layout.
        symDir_ = test::perTestTempDir("seed004-srv-symbols");
        auto dir = symDir_ / "srv.pdb" / (std::string(kSrvGuid) + "1");
        std::filesystem::create_directories(dir);
        std::ofstream sym(dir / "srv.sym");
        sym << "MODULE windows x86_64 " << kSrvGuid << "1 srv.pdb\n";
        for (const SrvFunction& f : {kProcessSmb, kMemmove, kRestartReceive, kWorkerThread, kTransSecondary})
            sym << "FUNC " << std::hex << f.rva << " " << f.size << " 0 " << f.name << "\n";
        sym.close();
        e_ = std::make_unique<Engine>(openDumpBytes(Bytes(world_.bytes.data(), world_.bytes.size()), "MEMORY.DMP"));
        e_->symbols().setSymbolPath(test::corpusFile("jpcert-isf") + ";" + symDir_.string());
        e_->invalidateStacks();
    }
    void TearDown() override {
        std::error_code ec;
        if (!symDir_.empty()) std::filesystem::remove_all(symDir_, ec);
    }
    std::string isf_;
    SrvWorld world_;
    std::filesystem::path symDir_;
    std::unique_ptr<Engine> e_;
};

TEST_F(Seed004Srv, ExceptionRecordAsTheSeedShowsIt) {
    Output o = e_->execute(".exr 0xfffffadf27925950");
    ASSERT_FALSE(o.error) << o.text;
    const std::vector<std::string> want = {"ExceptionAddress: fffffadf26a2ce30 (srv!memmove+0x0000000000000064)",
                                           "   ExceptionCode: c0000005 (Access violation)",
                                           "  ExceptionFlags: 00000000",
                                           "NumberParameters: 2",
                                           "   Parameter[0]: 0000000000000001",
                                           "   Parameter[1]: 0000000100089458",
                                           "Attempt to write to address 0000000100089458"};
    auto l = test::outputLines(o.text);
    l.erase(std::remove(l.begin(), l.end(), std::string()), l.end());
    EXPECT_EQ(l, want) << o.text;
}

TEST_F(Seed004Srv, ContextRecordAndTheStackBehindIt) {
    Output c = e_->execute(".cxr 0xfffffadf27925360");
    ASSERT_FALSE(c.error) << c.text;
    auto l = test::outputLines(c.text);
    ASSERT_GE(l.size(), 10u) << c.text;
    EXPECT_EQ(l[0], "rax=00000000000893f0 rbx=fffffadf36263958 rcx=0000000100089458");
    EXPECT_EQ(l[2], "rip=fffffadf26a2ce30 rsp=fffffadf27925b78 rbp=0000000000000000");
    EXPECT_EQ(l[5], "r14=00000000ffffff84 r15=0000000000000000");
    // (The seed prints "po" for efl 10206, whose parity flag is set; we
    // print "pe" as the flag says.)
    EXPECT_EQ(l[7], "cs=0010  ss=0018  ds=002b  es=002b  fs=0053  gs=002b             efl=00010206");
    EXPECT_EQ(l[8], "srv!memmove+0x64:");
    EXPECT_EQ(l[9], "fffffadf`26a2ce30 488901          mov     qword ptr [rcx],rax ds:002b:00000001`00089458=????????????????");

    Output k = e_->execute("k");
    ASSERT_FALSE(k.error) << k.text;
    auto kl = test::outputLines(k.text);
    EXPECT_EQ(kl[0], "  *** Stack trace for last set context - .thread/.cxr resets it");
    // The seed's frames; RetAddr differs only where srv's chunked
    // SrvRestartReceive and nt's build do.
    const std::vector<std::string> want = {
        "00 fffffadf`27925b78 fffffadf`26ae24c9     srv!memmove+0x64",
        "01 fffffadf`27925b80 fffffadf`26a2c8f7     srv!SrvSmbNtTransactionSecondary+0x3e9",
        "02 fffffadf`27925c40 fffffadf`26a400ca     srv!SrvProcessSmb+0x19f",
        "03 fffffadf`27925ca0 fffffadf`26a8d0f2     srv!SrvRestartReceive+0xca",
        "04 fffffadf`27925d10 fffff800`0133f192     srv!WorkerThread+0x144",
        "05 fffffadf`27925d70 fffff800`01099ec6     nt!PspSystemThreadStartup+0x3e",
        "06 fffffadf`27925dd0 00000000`00000000     nt!KiStartSystemThread+0x16"};
    ASSERT_EQ(kl.size(), want.size() + 2) << k.text;
    EXPECT_EQ(std::vector<std::string>(kl.begin() + 2, kl.end()), want) << k.text;
    // memmove has no unwind data (a leaf); the rest were unwound from srv's
    // and nt's .pdata, none found by scanning.
    for (const auto& f : k.json["frames"]) EXPECT_NE(f["trust"], "scan") << f.dump();
}

TEST_F(Seed004Srv, TheCrashingProcessIsSystem) {
    Output o = e_->execute("!process -1 0");
    ASSERT_FALSE(o.error) << o.text;
    auto l = test::outputLines(o.text);
    ASSERT_GE(l.size(), 4u) << o.text;
    EXPECT_EQ(l[0], "PROCESS " + addrPlain(world_.system, true));
    EXPECT_EQ(l[1], "    SessionId: none  Cid: 0004    Peb: 00000000  ParentCid: 0000");
    EXPECT_EQ(l[3], "    Image: System");
}

TEST_F(Seed004Srv, GoldenTranscript) {
    std::string body = test::kernelTranscript(*e_, std::vector<std::string>{".bugcheck", ".exr 0xfffffadf27925950", ".cxr 0xfffffadf27925360", "k", "kv",
                            "!process -1 0", ".cxr", "k"});
    std::string text = "world: Win7 SP1 x64 NT world standing in for Server 2003 x64 (NtWorldBuilder), seed 004 0x7E in srv\n"
                       "dump type: 1 (full)\nsymbols: corpus:jpcert-isf; srv.sym (Breakpad) written by the test\n----\n" +
                       body;
    test::checkKernelGolden("seed-004-srv-0x7e.golden", text);
}

}  // namespace
}  // namespace nt
