// The two x86 seed scenarios, rebuilt as synthetic Windows XP kernel dumps
// (tests/support/kdump_builder/x86_world_builder.h, layouts from the
// built-in XP SP3 table) and read with the commands the seeds used:
//
//  * Seed 002 (/work/shared/seeds/002_9adf51833c0396a9.txt, a double fault):
//    bugcheck 0x7F {8,0,0,0}; processor 0 runs the double-fault task
//    (nt!KiTrap08+0x41, its TSS 80474850 with Backlink 0x28 and CR3 0x30000 =
//    System's DirBase) while the current thread is still csrss.exe's
//    (DirBase 0ff2f000): the banner warns, kv shows the task gate, .tss 28
//    loads the interrupted task (HAIBAO+0x3af2). Non-PAE full dump and PAE
//    bitmap dump.
//  * Seed 003 (/work/shared/seeds/003_9c331a2e5ebe0d32.txt): XP SP3,
//    INVALID_PROCESS_DETACH_ATTEMPT (6) from KeUnstackDetachProcess because a
//    kernel APC is queued to the detaching thread (esi = the thread).
//
// Addresses are the seeds' own where they print them. Each transcript is
// also a golden file (tests/golden/kernel/x86-seed-*.golden; same
// convention as kernel_golden_test.cpp: NTRIAGE_UPDATE_GOLDEN=1 rewrites).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "commands/engine.h"
#include "commands/kernel_views.h"
#include "dump/open_dump.h"
#include "nt/builtin_types.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/kdump_builder/x86_world_builder.h"
#include "unit/commands/kernel_scenario.h"
#include "support/test_support.h"

namespace nt {
namespace {

namespace kd = test::kdump;
namespace fs = std::filesystem;

// ---- helpers -------------------------------------------------------------------

std::vector<uint8_t> bytesOf(std::initializer_list<int> b) {
    std::vector<uint8_t> v;
    for (int x : b) v.push_back(static_cast<uint8_t>(x));
    return v;
}


// ---- seed 002: the double fault ---------------------------------------------------

constexpr uint64_t kNt2 = 0x80400000, kKiTrap08 = 0x80468358, kKeBugCheckEx = 0x8042ac72;
constexpr uint64_t kPsGetCurrentProcessId = 0x80455ab4;
constexpr uint64_t kHaibao = 0xaebc3000;
constexpr uint64_t kCsrss = 0x885ba400, kCsrssThread = 0x885bbda0, kSystem2 = 0x890598a0;
constexpr uint64_t kNormalTss = 0x80042000, kDoubleFaultTss = 0x80474850;
constexpr uint64_t kFaultEbp = 0xf655d7dc, kFaultEsp = 0xf655d7d0, kFaultEip = kHaibao + 0x3af2;
constexpr uint64_t kDfStack = 0x80471850;

struct Seed002 {
    std::unique_ptr<kd::X86WorldBuilder> w;
    std::string symDir;
};

Seed002 buildSeed002(bool pae) {
    kd::X86WorldOptions o;
    o.types = builtinTypesFor(Machine::X86, 2600);
    o.pae = pae;
    o.systemPid = 8;  // the seed's System (a Windows 2000 numbering kept as printed)
    o.systemAddress = kSystem2;
    kd::X86Module nt;
    nt.file = pae ? "ntkrnlpa.exe" : "ntoskrnl.exe";
    nt.pdb = pae ? "ntkrnlpa.pdb" : "ntoskrnl.pdb";
    nt.guid = pae ? "5EED0002AE0000000000000000000002" : "5EED0002000000000000000000000001";
    nt.base = kNt2, nt.size = 0x1a0000, nt.timestamp = 0x3ee650b3, nt.checksum = 0x1a3d2b;
    nt.funcs = {{0x2ac72, 0x120, 0x14, "KeBugCheckEx"},
                {0x55ab4, 0xd, 0, "PsGetCurrentProcessId"},
                {0x68358, 0x50, 0, "KiTrap08"}};
    // KiTrap08's .FPO(0,0,0,0,0,2): a FRAME_TSS record.
    kd::SymStackWin tss;
    tss.type = 2, tss.rva = 0x68358, tss.codeSize = 0x50;
    nt.stackWin = {kd::ebpFrameRecord(0x2ac72, 0x120, 0x14), tss};
    auto w = std::make_unique<kd::X86WorldBuilder>(o, nt);

    kd::X86Module haibao;  // a third-party driver without symbols, as in the seed
    haibao.file = "HAIBAO.sys", haibao.base = kHaibao, haibao.size = 0x8000, haibao.timestamp = 0x4a5bc3d1;
    haibao.writeSym = false;
    w->addModule(haibao);

    uint64_t smss = w->addProcess({"smss.exe", 0xc4, 8, 0, std::nullopt, std::nullopt, 0x7ffdf000});
    (void)smss;
    kd::X86ProcessSpec cs{"csrss.exe", 0xe0, 0xc4, 0, kCsrss, 0xff2f, 0x7ffdf000};
    uint64_t csrss = w->addProcess(cs);
    kd::X86ThreadSpec t;
    t.tid = 0xe4, t.state = 2, t.address = kCsrssThread, t.stackBase = 0xf6560000, t.priority = 13;
    t.basePriority = 13;
    uint64_t thread = w->addThread(csrss, t);
    w->setCurrentThread(0, thread);

    // nt's code the seed disassembles: KiTrap08 from +0x2a (ub) and the jmp
    // back at +0x41; PsGetCurrentProcessId with XP's Cid offset (0x1ec).
    w->write(kKiTrap08 + 0x2a, bytesOf({0x81, 0x24, 0x24, 0xff, 0xbf, 0xff, 0xff, 0x9d, 0x6a, 0x00, 0x6a, 0x00,
                                        0x6a, 0x00, 0x6a, 0x08, 0x6a, 0x7f, 0xe8, 0xd9, 0x28, 0xfc, 0xff, 0xeb, 0xef}));
    w->write(kPsGetCurrentProcessId,
             bytesOf({0x64, 0xa1, 0x24, 0x01, 0x00, 0x00, 0x8b, 0x80, 0xec, 0x01, 0x00, 0x00, 0xc3}));
    w->write(kKeBugCheckEx, bytesOf({0x8b, 0xff, 0x55, 0x8b, 0xec}));

    // The interrupted task: HAIBAO's frame on csrss's thread stack.
    w->write(kFaultEip - 3, bytesOf({0x8b, 0x45, 0x08, 0xff, 0x30}));  // mov eax,[ebp+8]; push [eax]
    w->writeU32(kFaultEbp, kFaultEbp + 0x2c);
    w->writeU32(kFaultEbp + 4, 0);  // the seed's RetAddr 00000000
    w->writeU32(kFaultEbp + 8, 0xf655d7ec);
    w->writeU32(kFaultEbp + 12, 0xf655e09c);
    std::string key = "HKLM\\SYSTEM\\CurrentControlSet";
    w->write(0xf655d7ec, std::vector<uint8_t>(key.begin(), key.end()));
    // Linear 0 of System's space maps the real-mode vectors (the seed's
    // frame-00 args: int 2 at F000:E2C3, int 3/4 at F000:EEF3).
    w->kernel().mapNew(0, 0x1000);
    for (uint32_t v = 0; v < 0x100; ++v) w->kernel().writeU32(4 * v, 0xf000eef3);
    w->kernel().writeU32(8, 0xf000e2c3);

    // The TSSs: 0x28 saved the interrupted task (busy, nested), 0x50 is the
    // double-fault task KiTrap08 runs in (Backlink 0x28; KiTrap08 cleared its busy bit).
    kd::X86TssState normal;
    normal.esp0 = 0xf6560000 - 0x210;
    normal.cr3 = 0x0ff2f000;
    normal.eip = kFaultEip, normal.eflags = 0x10282, normal.eax = 0xf655d7ec, normal.ecx = 0x1b, normal.edx = 0;
    normal.ebx = 0x885bbda0, normal.esp = kFaultEsp, normal.ebp = kFaultEbp, normal.esi = 0xe1034a08;
    normal.edi = 0;
    w->addTss(0x28, kNormalTss, normal, true);
    kd::X86TssState df;
    df.backlink = 0x28, df.esp0 = kDfStack, df.cr3 = 0x30000, df.eip = kKiTrap08, df.esp = kDfStack;
    w->addTss(0x50, kDoubleFaultTss, df, false);
    w->setCurrentTss(0, kDoubleFaultTss, 0x50);
    w->setTaskGate(0, 8, 0x50);

    CpuContext ctx(Machine::X86);
    ctx.set(Reg::Rip, kKiTrap08 + 0x41);
    ctx.set(Reg::Rsp, kDfStack - 0x14);
    ctx.set(Reg::Rbp, 0);
    ctx.set(Reg::Cs, 0x8), ctx.set(Reg::Ss, 0x10), ctx.set(Reg::Ds, 0x23), ctx.set(Reg::Es, 0x23);
    ctx.set(Reg::Fs, 0x30), ctx.set(Reg::Gs, 0);
    ctx.set(Reg::Eflags, 0x46);
    w->setContext(ctx, 0);
    w->setBugcheck(0x7f, {8, 0, 0, 0});

    Seed002 r;
    r.symDir = test::BinaryTempDir::get() + (pae ? "/sym002pae" : "/sym002");
    w->writeSymbols(r.symDir);
    r.w = std::move(w);
    return r;
}

// ---- seed 003: KeUnstackDetachProcess with a kernel APC queued ----------------------

constexpr uint64_t kNt3 = 0x804d7000;
constexpr uint64_t kKeBugCheck = 0x805376cb, kKeBugCheckEx3 = 0x80536f10, kKeUnstack = 0x80508c17,
                   kMmProbe = 0x8062cf6e, kPspStartup = 0x805762ec, kKiThreadStartup = 0x804ec7a3,
                   kIopCompleteRequest = 0x804ef2c6;
constexpr uint64_t kFltMgr = 0xf7447000, kFltSendMessage = 0xf7456472;
constexpr uint64_t kBfilter = 0xba70f000;
constexpr uint64_t kThread3 = 0x8ab54388, kBavsvc = 0x8a6bdbb0, kApc = 0x8a3f6248;

struct Seed003 {
    std::unique_ptr<kd::X86WorldBuilder> w;
    std::string symDir;
};

Seed003 buildSeed003() {
    kd::X86WorldOptions o;
    o.types = builtinTypesFor(Machine::X86, 2600);
    kd::X86Module nt;
    nt.file = "ntoskrnl.exe", nt.pdb = "ntoskrnl.pdb", nt.guid = "5EED0003000000000000000000000001";
    nt.base = kNt3, nt.size = 0x1f8580, nt.timestamp = 0x4802516a, nt.checksum = 0x1f2c3d;
    auto rva = [](uint64_t a) { return static_cast<uint32_t>(a - kNt3); };
    nt.funcs = {{rva(kKeBugCheck), 0x20, 4, "KeBugCheck"},
                {rva(kKeBugCheckEx3), 0x40, 0x14, "KeBugCheckEx"},
                {rva(kKeUnstack), 0x120, 4, "KeUnstackDetachProcess"},
                {rva(kMmProbe), 0x90, 0x10, "MmProbeAndLockProcessPages"},
                {rva(kPspStartup), 0x50, 8, "PspSystemThreadStartup"},
                {rva(kKiThreadStartup), 0x20, 0, "KiThreadStartup"},
                {rva(kIopCompleteRequest), 0x300, 0x14, "IopCompleteRequest"}};
    kd::SymStackWin fpo;  // KiThreadStartup: no frame, nothing pushed, the thread's first frame
    fpo.type = 0, fpo.rva = rva(kKiThreadStartup), fpo.codeSize = 0x20;
    nt.stackWin = {kd::ebpFrameRecord(rva(kKeBugCheck), 0x20, 4), kd::ebpFrameRecord(rva(kKeUnstack), 0x120, 4),
                   kd::ebpFrameRecord(rva(kMmProbe), 0x90, 0x10), kd::ebpFrameRecord(rva(kPspStartup), 0x50, 8), fpo};
    auto w = std::make_unique<kd::X86WorldBuilder>(o, nt);

    kd::X86Module flt;
    flt.file = "fltMgr.sys", flt.pdb = "fltMgr.pdb", flt.guid = "5EED0003F17000000000000000000001";
    flt.base = kFltMgr, flt.size = 0x18000, flt.timestamp = 0x48025247;
    flt.funcs = {{static_cast<uint32_t>(kFltSendMessage - kFltMgr), 0x220, 0x1c, "FltSendMessage"}};
    flt.stackWin = {kd::ebpFrameRecord(static_cast<uint32_t>(kFltSendMessage - kFltMgr), 0x220, 0x1c)};
    w->addModule(flt);
    kd::X86Module bf;  // publics only; the FltSendMessage caller ends right at ScUnInitExcludePath
    bf.file = "Bfilter.sys", bf.pdb = "Bfilter.pdb", bf.guid = "5EED0003BF0000000000000000000001";
    bf.base = kBfilter, bf.size = 0x9000, bf.timestamp = 0x5596a1b2;
    bf.publics = {{0x2870, 0, "ScUnInitExcludePath"}, {0x28a0, 4, "ScMessageThread"}};
    bf.stackWin = {kd::ebpFrameRecord(0x27c0, 0xb0, 0)};
    w->addModule(bf);

    uint64_t sys = w->systemProcess();
    w->addProcess({"smss.exe", 0x220, 4, std::nullopt, std::nullopt, std::nullopt, 0x7ffdf000});
    w->addProcess({"csrss.exe", 0x270, 0x220, 0, std::nullopt, std::nullopt, 0x7ffdf000});
    w->addProcess({"services.exe", 0x2f4, 0x288, 0, std::nullopt, std::nullopt, 0x7ffdf000});
    kd::X86ProcessSpec bav{"BAVSvc.exe", 0x5d0, 0x2f4, 0, kBavsvc, std::nullopt, 0x7ffdf000};
    uint64_t bavsvc = w->addProcess(bav);
    // Attached: CR3 is BAVSvc.exe's page directory.
    uint64_t cr3 = w->processSpace(bavsvc).dtb();
    w->setHeaderCr3(cr3);
    w->setField(w->kprcb(0), "_KPRCB", "ProcessorState.SpecialRegisters.Cr3", cr3);

    // Bfilter's system thread, attached to BAVSvc.exe by MmProbeAndLockProcessPages.
    kd::X86ThreadSpec t;
    t.tid = 0x6b4, t.state = 2, t.address = kThread3, t.stackBase = 0xba6e6000, t.startAddress = kBfilter + 0x28a0;
    uint64_t thread = w->addThread(sys, t);
    w->setCurrentThread(0, thread);
    const kd::TypeLayout& L = w->layout();
    w->setField(thread, "_KTHREAD", "ApcState.Process", bavsvc);
    w->setField(thread, "_KTHREAD", "SavedApcState.Process", sys);
    w->setField(thread, "_KTHREAD", "ApcStateIndex", 1);
    w->setField(thread, "_KTHREAD", "ApcStatePointer[0]", thread + L.offsetOf("_KTHREAD", "SavedApcState"));
    w->setField(thread, "_KTHREAD", "ApcStatePointer[1]", thread + L.offsetOf("_KTHREAD", "ApcState"));
    w->setField(thread, "_KTHREAD", "ApcState.KernelApcPending", 1);
    // The I/O completion APC queued while attached (the seed's 8a3f6254 in ApcListHead[0]).
    w->kernel().ensureMapped(kApc - 0x18, 0x48);
    w->setField(kApc, "_KAPC", "Type", 0x12);
    w->setField(kApc, "_KAPC", "Size", 0x30);
    w->setField(kApc, "_KAPC", "Thread", thread);
    w->setField(kApc, "_KAPC", "KernelRoutine", kIopCompleteRequest);
    w->setField(kApc, "_KAPC", "SystemArgument1", 0x8a3105e8);
    w->setField(kApc, "_KAPC", "Inserted", 1);
    w->kernel().insertTailList(thread + L.offsetOf("_KTHREAD", "ApcState.ApcListHead[0]"),
                               kApc + L.offsetOf("_KAPC", "ApcListEntry"));

    // The stack of STACK_TEXT: ChildEBP, RetAddr, Args per frame.
    struct Frame {
        uint32_t ebp, next, ret, a0, a1, a2;
    };
    const Frame frames[] = {{0xba6e5be0, 0xba6e5c00, 0x80508d2f, 0x00000006, 0x8a715818, 0x00000000},
                            {0xba6e5c00, 0xba6e5c50, 0x8062cfd8, 0xba6e5c18, 0x8a715818, 0x00000000},
                            {0xba6e5c50, 0xba6e5d54, 0xf745664d, 0x8a3105e8, 0x8a6bdbb0, 0x00000001},
                            {0xba6e5d54, 0xba6e5dac, 0xba711870, 0x8ab61818, 0xba71708c, 0xe4446410},
                            {0xba6e5dac, 0xba6e5ddc, 0x80576320, 0x00000000, 0x00000000, 0x00000000},
                            {0xba6e5ddc, 0x00000000, 0x804ec7b9, 0xba7118a0, 0x00000000, 0x00000000}};
    for (const auto& f : frames) {
        w->writeU32(f.ebp, f.next);
        w->writeU32(f.ebp + 4, f.ret);
        w->writeU32(f.ebp + 8, f.a0);
        w->writeU32(f.ebp + 12, f.a1);
        w->writeU32(f.ebp + 16, f.a2);
    }
    // The calls those return addresses follow (KiThreadStartup's `call eax`).
    w->writeCall(0x80508d2f, kKeBugCheck);
    w->writeCall(0x8062cfd8, kKeUnstack);
    w->writeCall(0xf745664d, kMmProbe);
    w->writeCall(0xba711870, kFltSendMessage);
    w->writeCall(0x80576320, kBfilter + 0x28a0);
    w->write(0x804ec7b9 - 2, bytesOf({0xff, 0xd0}));
    // KeBugCheck: push ebp; mov ebp,esp; ... call KeBugCheckEx; the context is
    // the caller's view after it (KeBugCheck+0x14).
    w->write(kKeBugCheck, bytesOf({0x8b, 0xff, 0x55, 0x8b, 0xec}));
    w->writeCall(kKeBugCheck + 0x14, kKeBugCheckEx3);
    w->write(kKeBugCheck + 0x14, bytesOf({0x90, 0x5d, 0xc2, 0x04, 0x00}));

    CpuContext ctx(Machine::X86);
    ctx.set(Reg::Rip, kKeBugCheck + 0x14);
    ctx.set(Reg::Rsp, 0xba6e5bd0);
    ctx.set(Reg::Rbp, 0xba6e5be0);
    ctx.set(Reg::Rsi, thread);
    ctx.set(Reg::Rdi, 0x8a715818);
    ctx.set(Reg::Rbx, 0);
    ctx.set(Reg::Rax, 0);
    ctx.set(Reg::Rcx, 0xba6e5c18);
    ctx.set(Reg::Rdx, 0);
    ctx.set(Reg::Cs, 0x8), ctx.set(Reg::Ss, 0x10), ctx.set(Reg::Ds, 0x23), ctx.set(Reg::Es, 0x23);
    ctx.set(Reg::Fs, 0x30), ctx.set(Reg::Gs, 0);
    ctx.set(Reg::Eflags, 0x246);
    w->setContext(ctx, 0);
    w->setBugcheck(6, {0, 0, 0, 0});

    Seed003 r;
    r.symDir = test::BinaryTempDir::get() + "/sym003";
    w->writeSymbols(r.symDir);
    r.w = std::move(w);
    return r;
}

// ---- the dumps -----------------------------------------------------------------------------

struct SeedCase {
    std::string seed;  // "002", "003"
    bool pae = false;
    uint32_t type = kd::kFull;
    std::string name() const {
        static const std::map<uint32_t, std::string> kinds = {{kd::kFull, "full"}, {kd::kBitmapFull, "bitmap5"},
                                                              {kd::kBitmapKernel, "bitmap6"}};
        return "x86-seed-" + seed + (pae ? "-pae" : "") + "-" + kinds.at(type);
    }
};

const std::vector<SeedCase>& cases() {
    static const std::vector<SeedCase> c = {
        {"002", false, kd::kFull}, {"002", true, kd::kBitmapFull}, {"003", false, kd::kBitmapKernel}, {"003", false, kd::kFull}};
    return c;
}

struct Built {
    std::string dump, symDir;
};

const Built& built(const SeedCase& c) {
    static std::map<std::string, Built> cache;
    auto it = cache.find(c.name());
    if (it != cache.end()) return it->second;
    Built b;
    b.dump = test::BinaryTempDir::get() + "/" + c.name() + ".dmp";
    if (c.seed == "002") {
        Seed002 s = buildSeed002(c.pae);
        s.w->buildFile(b.dump, c.type);
        b.symDir = s.symDir;
    } else {
        Seed003 s = buildSeed003();
        s.w->buildFile(b.dump, c.type);
        b.symDir = s.symDir;
    }
    return cache[c.name()] = b;
}

std::unique_ptr<Engine> openSeed(const SeedCase& c) {
    const Built& b = built(c);
    auto e = std::make_unique<Engine>(openDump(b.dump));
    e->symbols().setSymbolPath(b.symDir);
    e->addTypeSource("nt", builtinTypesFor(Machine::X86, 2600));
    return e;
}

std::vector<std::string> script(const SeedCase& c) {
    if (c.seed == "002")
        return {".bugcheck", "r cr3", "kvn", "ub nt!KiTrap08+0x41", "dd 885bbda0+44 l1", "dt nt!_KTSS 80474850",
                ".tss 28", "kv", ".cxr", "lm"};
    return {".bugcheck", "k", "db @esi+165 l1", "db @esi+48 l1", "? @esi+34", "dd 8ab543bc l1",
            "dt nt!_KTHREAD @esi ApcState.", "dt nt!_KAPC_STATE @esi+34", "dt nt!_KAPC 8a3f6248", "lm"};
}

// ---- golden transcripts ----------------------------------------------------------------------

class X86SeedGolden : public ::testing::TestWithParam<SeedCase> {};

TEST_P(X86SeedGolden, TranscriptMatches) {
    const SeedCase& c = GetParam();
    auto e = openSeed(c);
    auto cmds = script(c);
    std::string joined;
    for (const auto& cmd : cmds) joined += (joined.empty() ? "" : "; ") + cmd;
    static const std::map<uint32_t, std::string> kinds = {
        {kd::kFull, "1 (full)"}, {kd::kBitmapFull, "5 (bitmap full)"}, {kd::kBitmapKernel, "6 (bitmap kernel)"}};
    std::string text = "world: seed " + c.seed + ", x86 " + (c.pae ? "PAE" : "non-PAE") +
                       " Windows XP (X86WorldBuilder, built-in XP SP3 types)\ndump type: " + kinds.at(c.type) +
                       "\nsymbols: synthetic Breakpad .sym files; types: built-in XP SP3 table as \"nt\"\n" +
                       "banner: " + kernelDirBaseWarning(*e).value_or("(no CR3 warning)") + "\ncommands: " + joined +
                       "\n----\n" + test::kernelTranscript(*e, cmds);
    test::checkKernelGolden(c.name() + ".golden", test::withTempDirAsTmp(text));
}

INSTANTIATE_TEST_SUITE_P(Seeds, X86SeedGolden, ::testing::ValuesIn(cases()), [](const auto& p) {
    std::string n = p.param.name();
    for (char& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return n;
});

// ---- seed 002: focused facts -------------------------------------------------------------------

class Seed002Facts : public ::testing::TestWithParam<SeedCase> {};

TEST_P(Seed002Facts, DoubleFaultReadsAsTheSeedReadsIt) {
    auto e = openSeed(GetParam());
    const Target& t = e->target();
    ASSERT_TRUE(t.isKernel());
    EXPECT_EQ(t.kernel->paging, GetParam().pae ? PagingMode::X86Pae : PagingMode::X86);
    EXPECT_EQ(t.kernel->bugCheckCode, 0x7fu);
    EXPECT_EQ(t.kernel->bugCheckParameters[0], 8u);
    EXPECT_EQ(t.kernel->kdbg.size, 0x290);  // XP's block: no offset fields

    // The banner's warning: csrss's DirBase against the double-fault task's CR3.
    EXPECT_EQ(kernelDirBaseWarning(*e), "WARNING: Process directory table base 0FF2F000 doesn't match CR3 00030000");
    EXPECT_EQ(e->execute("r cr3").text, "cr3=00030000\n");
    // PsGetCurrentProcess: fs:[124h] -> the thread, +0x44 -> csrss's EPROCESS.
    EXPECT_EQ(e->execute("dd ffdff124 l1").text, "ffdff124  885bbda0\n");
    EXPECT_EQ(e->execute("dd 885bbda0+44 l1").text, "885bbde4  885ba400\n");

    // kvn: frame 00 is KiTrap08+0x41 left through the task gate, frame 01 the
    // interrupted task's HAIBAO+0x3af2 with the seed's ChildEBP and args.
    Output kv = e->execute("kvn");
    auto l = test::outputLines(kv.text);
    ASSERT_GE(l.size(), 3u) << kv.text;
    EXPECT_EQ(l[1], "00 00000000 aebc6af2     f000e2c3 f000eef3 f000eef3 nt!KiTrap08+0x41 (FPO: TaskGate 28:0)")
        << kv.text;
    EXPECT_EQ(l[2], "01 f655d7dc 00000000     f655d7ec f655e09c 4d4c4b48 HAIBAO+0x3af2") << kv.text;
    EXPECT_EQ(l.size(), 3u) << kv.text;

    // dt _KTSS of the current TSS (KPCR.TSS).
    Output dt = e->execute("dt nt!_KTSS 80474850");
    EXPECT_TRUE(test::hasOutputLine(dt.text, "   +0x000 Backlink         : 0x28")) << dt.text;
    EXPECT_TRUE(test::hasOutputLine(dt.text, "   +0x01c CR3              : 0x30000")) << dt.text;
    EXPECT_TRUE(test::hasOutputLine(dt.text, "   +0x020 Eip              : 0x80468358")) << dt.text;
    EXPECT_TRUE(test::hasOutputLine(dt.text, "   +0x066 IoMapBase        : 0x20ac")) << dt.text;

    // .tss 28: the interrupted task's registers become the scope; kv walks its stack.
    Output tss = e->execute(".tss 28");
    ASSERT_FALSE(tss.error) << tss.text;
    EXPECT_EQ(tss.json.value("tss", 0ull), 0x80042000ull);
    EXPECT_NE(tss.text.find("eip=aebc6af2 esp=f655d7d0 ebp=f655d7dc"), std::string::npos) << tss.text;
    EXPECT_NE(tss.text.find("cs=0008  ss=0010  ds=0023  es=0023  fs=0030  gs=0000"), std::string::npos) << tss.text;
    Output kv2 = e->execute("kv");
    auto l2 = test::outputLines(kv2.text);
    ASSERT_GE(l2.size(), 3u) << kv2.text;
    EXPECT_EQ(l2[0], "  *** Stack trace for last set context - .thread/.cxr resets it");
    EXPECT_EQ(l2[2], "00 f655d7dc 00000000     f655d7ec f655e09c 4d4c4b48 HAIBAO+0x3af2") << kv2.text;
    // A TSS by address, and a selector that is not a TSS.
    EXPECT_EQ(e->execute(".tss 80474850").json.value("tss", 0ull), kDoubleFaultTss);
    EXPECT_TRUE(e->execute(".tss 10").error);
    // Hostile or missing input: an unmapped TSS address, no argument.
    Output bad = e->execute(".tss 12345678");
    EXPECT_TRUE(bad.error);
    EXPECT_EQ(bad.text, "Unable to read the TSS at 12345678\n");
    EXPECT_TRUE(e->execute(".tss").error);

    if (e->commands().count("!process")) {
        Output p = e->execute("!process -1 0");
        EXPECT_NE(p.text.find("csrss.exe"), std::string::npos) << p.text;
        EXPECT_NE(p.text.find("DirBase: 0ff2f000"), std::string::npos) << p.text;
        // The seed's `!process 8 1`: System by its Cid, with CR3's DirBase.
        Output s8 = e->execute("!process 8 1");
        EXPECT_NE(s8.text.find("Image: System"), std::string::npos) << s8.text;
        EXPECT_NE(s8.text.find("DirBase: 00030000"), std::string::npos) << s8.text;
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Seed002Facts,
                         ::testing::Values(SeedCase{"002", false, kd::kFull}, SeedCase{"002", true, kd::kBitmapFull}),
                         [](const auto& p) { return p.param.pae ? std::string("Pae") : std::string("NonPae"); });

// ---- seed 003: focused facts -------------------------------------------------------------------

TEST(X86Seed003, DetachWithAQueuedKernelApc) {
    auto e = openSeed({"003", false, kd::kBitmapKernel});
    EXPECT_EQ(e->target().kernel->bugCheckCode, 6u);
    // System's thread attached to BAVSvc.exe: CR3 is BAVSvc's DirBase, no warning.
    EXPECT_FALSE(kernelDirBaseWarning(*e).has_value());
    auto ctx = e->currentContext();
    ASSERT_TRUE(ctx);
    EXPECT_EQ(ctx->get(Reg::Rsi), kThread3);

    Output k = e->execute("k");
    const char* expected[] = {"00 ba6e5be0 80508d2f     nt!KeBugCheck+0x14",
                              "01 ba6e5c00 8062cfd8     nt!KeUnstackDetachProcess+0x118",
                              "02 ba6e5c50 f745664d     nt!MmProbeAndLockProcessPages+0x6a",
                              "03 ba6e5d54 ba711870     fltMgr!FltSendMessage+0x1db",
                              "04 ba6e5dac 80576320     Bfilter!ScUnInitExcludePath",
                              "05 ba6e5ddc 804ec7b9     nt!PspSystemThreadStartup+0x34",
                              "06 00000000 00000000     nt!KiThreadStartup+0x16"};
    auto l = test::outputLines(k.text);
    ASSERT_EQ(l.size(), 8u) << k.text;
    for (size_t i = 0; i < 7; ++i) EXPECT_EQ(l[i + 1], expected[i]) << k.text;
    Output kb = e->execute("kb");
    EXPECT_TRUE(test::hasOutputLine(kb.text, "03 ba6e5d54 ba711870     8ab61818 ba71708c e4446410 fltMgr!FltSendMessage+0x1db"))
        << kb.text;
    EXPECT_TRUE(test::hasOutputLine(kb.text, "06 00000000 00000000     00000000 00000000 00000000 nt!KiThreadStartup+0x16"))
        << kb.text;

    EXPECT_EQ(e->execute("db @esi+165 l1").text.substr(0, 12), "8ab544ed  01");
    EXPECT_EQ(e->execute("db @esi+48 l1").text.substr(0, 12), "8ab543d0  00");
    EXPECT_EQ(e->execute("? @esi+34").text, "Evaluate expression: -1967832132 = 8ab543bc\n");
    EXPECT_EQ(e->execute("dd 8ab543bc l1").text, "8ab543bc  8a3f6254\n");  // not 8ab543bc: the list is not empty

    Output dt = e->execute("dt nt!_KTHREAD @esi ApcState");
    EXPECT_TRUE(test::hasOutputLine(dt.text, "   +0x034 ApcState         : _KAPC_STATE")) << dt.text;
    Output dt2 = e->execute("dt nt!_KTHREAD @esi ApcState.");
    EXPECT_TRUE(test::hasOutputLine(dt2.text, "      +0x015 KernelApcPending : 0x1 ''")) << dt2.text;
    EXPECT_TRUE(test::hasOutputLine(dt2.text, "      +0x014 KernelApcInProgress : 0 ''")) << dt2.text;
    Output st = e->execute("dt nt!_KAPC_STATE @esi+34");
    EXPECT_TRUE(test::hasOutputLine(st.text, "   +0x010 Process          : 0x8a6bdbb0 _KPROCESS")) << st.text;
    EXPECT_TRUE(test::hasOutputLine(st.text, "   +0x014 KernelApcInProgress : 0 ''")) << st.text;
    EXPECT_TRUE(test::hasOutputLine(st.text, "   +0x015 KernelApcPending : 0x1 ''")) << st.text;
}

}  // namespace
}  // namespace nt
