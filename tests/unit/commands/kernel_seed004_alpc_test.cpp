// Seed 004, second half (/work/shared/seeds/004_e1bc695d02428917.txt): the
// hang's one waiting client, an svchost.exe thread that sent an ALPC
// message to explorer.exe during logoff. `kc` on it shows the kernel wait
// (nt!KiSwapContext ... nt!NtAlpcSendWaitReceivePort,
// nt!KiSystemServiceCopyEnd) and then the user-mode side: ntdll's system
// call stub, RPC and COM down to combase!CStdMarshal::Disconnect.
//
// Rebuilt with NtWorldBuilder over the 19041 ISF: nt's functions at that
// build's RVAs with made-up prologs; ntdll, RPCRT4, combase and KERNEL32
// are DLLs in svchost's address space (PE headers, .pdata/.xdata, loader
// entries on PEB.Ldr) with Breakpad .sym files naming their functions
// (written by the test); ntdll's system-call stub is a leaf without unwind
// data, as in the real ntdll. The user frames appear once `.thread /p /r`
// has switched to the thread's process and loaded its DLLs, as in WinDbg.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "base/format.h"
#include "commands/engine.h"
#include "dump/open_dump.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/test_support.h"
#include "unit/commands/kernel_scenario.h"

namespace nt {
namespace {

namespace kd = test::kdump;

constexpr const char* kIsf = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";
constexpr uint64_t kClientThread = 0xffffab06b1b28800ull;
constexpr uint64_t kSvchost = 0xffffab06b1a0c080ull;
constexpr uint64_t kKernelStack = 0xffffd98a3e8a6f20ull;
constexpr uint64_t kStackBase = 0xffffd98a3e8a8000ull;
constexpr uint64_t kUserRsp = 0x000000a01e7fd6f8ull;

// A user DLL and the functions on the stack, innermost first per module.
struct Dll {
    const char* file;
    const char* pdb;
    const char* guid;
    uint64_t base;
    uint32_t size;
};
constexpr Dll kNtdll{"ntdll.dll", "ntdll.pdb", "1EB9FACB04EA273BB4BA52C2A7A5E3E1", 0x00007ffd2a7e0000ull, 0x1f0000};
constexpr Dll kRpcrt4{"RPCRT4.dll", "rpcrt4.pdb", "0B4B8D3B8E8C7C3B2A6F0D4E1C2B3A49", 0x00007ffd28a40000ull, 0x120000};
constexpr Dll kCombase{"combase.dll", "combase.pdb", "5D2C7B9A1E3F4A6B8C0D2E4F6A8B0C1D", 0x00007ffd27f10000ull, 0x330000};
constexpr Dll kKernel32{"KERNEL32.DLL", "kernel32.pdb", "7E1F3A5B9C0D2E4F6A8B1C3D5E7F9A0B", 0x00007ffd28860000ull, 0xb0000};

// The seed's user frames 09..1c, then the thread's start.
struct UserFrame {
    const Dll* dll;
    const char* name;
};
const std::vector<UserFrame> kUserFrames = {
    {&kNtdll, "NtAlpcSendWaitReceivePort"},
    {&kRpcrt4, "LRPC_BASE_CCALL::DoSendReceive"},
    {&kRpcrt4, "I_RpcSendReceive"},
    {&kCombase, "CMessageCall::CallI_RpcSendReceive"},
    {&kCombase, "ThreadSendReceive"},
    {&kCombase, "CSyncClientCall::SwitchAptAndDispatchCall"},
    {&kCombase, "CSyncClientCall::SendReceive2"},
    {&kCombase, "SyncClientCallRetryContext::SendReceiveWithRetry"},
    {&kCombase, "CSyncClientCall::SendReceiveInRetryContext"},
    {&kCombase, "DefaultSendReceive"},
    {&kCombase, "CSyncClientCall::SendReceive"},
    {&kCombase, "CClientChannel::SendReceive"},
    {&kCombase, "NdrExtpProxySendReceive"},
    {&kRpcrt4, "NdrpClientCall3"},
    {&kCombase, "ObjectStublessClient"},
    {&kCombase, "ObjectStubless"},
    {&kCombase, "RemoteReleaseRifRefHelper"},
    {&kCombase, "RemoteReleaseRifRef"},
    {&kCombase, "CStdMarshal::DisconnectCliIPIDs"},
    {&kCombase, "CStdMarshal::Disconnect"},
    {&kKernel32, "BaseThreadInitThunk"},
    {&kNtdll, "RtlUserThreadStart"}};

struct AlpcWorld {
    std::unique_ptr<kd::NtWorldBuilder> w;
    std::vector<uint8_t> bytes;
    // Breakpad FUNC records per DLL: rva, size, name.
    std::map<const Dll*, std::vector<std::tuple<uint32_t, uint32_t, std::string>>> funcs;
};

AlpcWorld buildAlpcWorld(const std::string& isf) {
    AlpcWorld s;
    kd::NtWorldOptions opt;
    opt.processors = 4;
    s.w = std::make_unique<kd::NtWorldBuilder>(isf, opt);
    kd::NtWorldBuilder& w = *s.w;

    w.setPoolCursor(kSvchost - 0x30);
    uint64_t svchost = w.addProcess(kd::ProcessSpec{"svchost.exe", 0x1e4c, 0x2f0, 0, 0x000000a01e5a7000ull,
                                                    "\\Device\\HarddiskVolume1\\Windows\\System32\\svchost.exe"});
    kd::ThreadSpec spec;
    spec.tid = 0x2a18;
    spec.state = kd::Waiting;
    spec.waitReason = 17;  // WrLpcReply
    spec.waitMode = kd::UserMode;
    spec.teb = 0x000000a01e5b4000ull;
    spec.stackBase = kStackBase;
    w.setPoolCursor(kClientThread - 0x30);
    uint64_t thread = w.addThread(svchost, spec).ethread;
    w.waitOn(thread, {w.addSemaphore(1, 0)});

    // nt: the ALPC send-and-wait-for-reply path.
    auto nt = [&](const char* name, kd::X64Prolog p) { return &w.defineNtFunction(name, p); };
    kd::X64Prolog trap = kd::framedProlog({}, 0x70 + 0x168);
    trap.machineFrame = true;
    std::vector<kd::X64FrameSite> frames = {
        {nt("KiSwapContext", kd::framedProlog({}, 0x138)), 0x76},
        {nt("KiSwapThread", kd::framedProlog({3, 6, 7, 12, 13, 14, 15}, 0x70)), 0x1a8},
        {nt("KiCommitThreadWait", kd::framedProlog({3, 5, 6, 7, 14}, 0x70)), 0x14f},
        {nt("KeWaitForSingleObject", kd::framedProlog({3, 6, 7, 12, 13, 14, 15}, 0xb0)), 0x233},
        {nt("AlpcpSignalAndWait", kd::framedProlog({3, 6, 7}, 0x40)), 0x159},
        {nt("AlpcpReceiveSynchronousReply", kd::framedProlog({3, 5, 6, 7, 14}, 0x50)), 0x5c},
        {nt("AlpcpProcessSynchronousRequest", kd::framedProlog({3, 5, 6, 7, 12, 13, 14, 15}, 0xb8)), 0x3a0},
        {nt("NtAlpcSendWaitReceivePort", kd::framedProlog({3, 5, 6, 7, 12, 13, 14, 15}, 0x88)), 0x1ab},
        {nt("KiSystemServiceCopyEnd", trap), 0x25}};
    for (auto& f : frames) f.ip += f.fn->start;  // offsets -> addresses

    // The DLLs and their functions, 0x400 apart from RVA 0x10000.
    std::map<const Dll*, kd::X64Image*> images;
    for (const Dll* d : {&kNtdll, &kRpcrt4, &kCombase, &kKernel32})
        images[d] = &w.addUserModule(svchost, d->file, d->base, d->size, 0x5f3e2b1a, d->pdb, d->guid);
    std::map<const Dll*, uint32_t> nextRva;
    std::vector<kd::X64FrameSite> user;
    for (size_t i = 0; i < kUserFrames.size(); ++i) {
        const UserFrame& u = kUserFrames[i];
        uint32_t& rva = nextRva[u.dll];
        if (rva == 0) rva = 0x10000;
        kd::X64Prolog p = i == 0 ? kd::X64Prolog{} : kd::framedProlog({3, 6, 7}, 0x40 + 0x10 * static_cast<uint32_t>(i % 5));
        p.leaf = i == 0;  // the system-call stub
        const auto& fn = images[u.dll]->addFunction(u.name, rva, 0x300, p);
        s.funcs[u.dll].emplace_back(rva, 0x300, u.name);
        rva += 0x400;
        user.push_back({&fn, fn.start + (i == 0 ? 0x14 : 0x40 + 7 * static_cast<uint32_t>(i))});
    }
    kd::writeX64Stack(w.processSpace(svchost), kUserRsp, user);
    w.setWaitingStack(thread, kKernelStack, frames, {user.front().ip, kUserRsp});

    w.setBugcheck(0xe2, {0, 0, 0, 0});  // the hang was dumped by hand
    s.bytes = w.build(kd::kFull);
    return s;
}

class Seed004Alpc : public ::testing::Test {
protected:
    void SetUp() override {
        isf_ = test::corpusFile(kIsf);
        if (isf_.empty()) GTEST_SKIP() << "corpus file not found: " << kIsf;
        world_ = buildAlpcWorld(isf_);
        symDir_ = test::perTestTempDir("seed004-alpc-symbols");
        for (const auto& [dll, funcs] : world_.funcs) {
            auto dir = symDir_ / dll->pdb / (std::string(dll->guid) + "1");
            std::filesystem::create_directories(dir);
            std::string stem = std::filesystem::path(dll->pdb).stem().string();
            std::ofstream sym(dir / (stem + ".sym"));
            sym << "MODULE windows x86_64 " << dll->guid << "1 " << dll->pdb << "\n";
            for (const auto& [rva, size, name] : funcs) sym << "FUNC " << std::hex << rva << " " << size << " 0 " << name << "\n";
        }
        e_ = std::make_unique<Engine>(openDumpBytes(Bytes(world_.bytes.data(), world_.bytes.size()), "MEMORY.DMP"));
        e_->symbols().setSymbolPath(test::corpusFile("jpcert-isf") + ";" + symDir_.string());
        e_->invalidateStacks();
    }
    void TearDown() override {
        std::error_code ec;
        if (!symDir_.empty()) std::filesystem::remove_all(symDir_, ec);
    }
    std::string isf_;
    AlpcWorld world_;
    std::filesystem::path symDir_;
    std::unique_ptr<Engine> e_;
};

// The seed's kc, 00 through 1c (the blog cut the list there).
const std::vector<std::string> kSeedKc = {
    "00 nt!KiSwapContext", "01 nt!KiSwapThread", "02 nt!KiCommitThreadWait", "03 nt!KeWaitForSingleObject",
    "04 nt!AlpcpSignalAndWait", "05 nt!AlpcpReceiveSynchronousReply", "06 nt!AlpcpProcessSynchronousRequest",
    "07 nt!NtAlpcSendWaitReceivePort", "08 nt!KiSystemServiceCopyEnd", "09 ntdll!NtAlpcSendWaitReceivePort",
    "0a RPCRT4!LRPC_BASE_CCALL::DoSendReceive", "0b RPCRT4!I_RpcSendReceive",
    "0c combase!CMessageCall::CallI_RpcSendReceive", "0d combase!ThreadSendReceive",
    "0e combase!CSyncClientCall::SwitchAptAndDispatchCall", "0f combase!CSyncClientCall::SendReceive2",
    "10 combase!SyncClientCallRetryContext::SendReceiveWithRetry",
    "11 combase!CSyncClientCall::SendReceiveInRetryContext", "12 combase!DefaultSendReceive",
    "13 combase!CSyncClientCall::SendReceive", "14 combase!CClientChannel::SendReceive",
    "15 combase!NdrExtpProxySendReceive", "16 RPCRT4!NdrpClientCall3", "17 combase!ObjectStublessClient",
    "18 combase!ObjectStubless", "19 combase!RemoteReleaseRifRefHelper", "1a combase!RemoteReleaseRifRef",
    "1b combase!CStdMarshal::DisconnectCliIPIDs", "1c combase!CStdMarshal::Disconnect"};

TEST_F(Seed004Alpc, KcWithUserModulesReadsAsTheSeed) {
    Output t = e_->execute(".thread /p /r ffffab06b1b28800");
    ASSERT_FALSE(t.error) << t.text;
    auto tl = test::outputLines(t.text);
    ASSERT_GE(tl.size(), 4u) << t.text;
    EXPECT_EQ(tl[0], "Implicit thread is now ffffab06`b1b28800");
    EXPECT_EQ(tl[1], "Implicit process is now ffffab06`b1a0c080");
    EXPECT_EQ(tl[2], "Loading User Symbols");
    EXPECT_EQ(tl[3], "....");  // ntdll, RPCRT4, combase, KERNEL32
    Output o = e_->execute("kc");
    ASSERT_FALSE(o.error) << o.text;
    auto l = test::outputLines(o.text);
    ASSERT_GE(l.size(), 2 + kSeedKc.size()) << o.text;
    EXPECT_EQ(l[0], "  *** Stack trace for last set context - .thread/.cxr resets it");
    EXPECT_EQ(l[1], " # Call Site");
    EXPECT_EQ(std::vector<std::string>(l.begin() + 2, l.begin() + 2 + static_cast<long>(kSeedKc.size())), kSeedKc)
        << o.text;
    // ...then the thread's start, and nothing found by scanning.
    EXPECT_EQ(l[2 + kSeedKc.size() + 1], "1e ntdll!RtlUserThreadStart") << o.text;
    Output k = e_->execute("k");
    for (const auto& f : k.json["frames"]) EXPECT_NE(f["trust"], "scan") << f.dump();
}

TEST_F(Seed004Alpc, WithoutTheProcessContextUserFramesAreBareAddresses) {
    // Plain .thread: the thread's process is not the dump's current one, so
    // its user half is neither translated nor its DLLs known: the walk ends
    // at the first user-mode address, as in WinDbg (seed 001).
    e_->execute(".thread ffffab06b1b28800");
    Output o = e_->execute("kc");
    auto l = test::outputLines(o.text);
    ASSERT_GE(l.size(), 12u) << o.text;
    EXPECT_EQ(l[10], "08 nt!KiSystemServiceCopyEnd");
    EXPECT_EQ(l[11], "09 0x00007ffd`2a7f0014") << o.text;
}

TEST_F(Seed004Alpc, ReloadUserOnTheImplicitProcess) {
    e_->execute(".process /p ffffab06b1a0c080");
    Output r = e_->execute(".reload /user");
    EXPECT_EQ(r.text, "Loading User Symbols\n....\n");
    Output lm = e_->execute("lm");
    EXPECT_NE(lm.text.find("combase"), std::string::npos) << lm.text;
    EXPECT_NE(lm.text.find("nt "), std::string::npos) << lm.text;  // the kernel keeps its name
}

TEST_F(Seed004Alpc, GoldenTranscript) {
    std::string body = test::kernelTranscript(*e_, std::vector<std::string>{".thread ffffab06b1b28800", "kc", ".thread /p /r ffffab06b1b28800", "kc", "k",
                            "!thread ffffab06b1b28800"});
    std::string text = "world: Windows 10 x64 NT world (NtWorldBuilder, ISF 19041), seed 004 ALPC client in svchost\n"
                       "dump type: 1 (full)\nsymbols: corpus:jpcert-isf; ntdll/RPCRT4/combase/KERNEL32 .sym (Breakpad) "
                       "written by the test\n----\n" + body;
    test::checkKernelGolden("seed-004-alpc-kc.golden", text);
}

}  // namespace
}  // namespace nt
