// Golden transcripts of the kernel commands on synthetic dumps (issue 4):
// one x64 NT world (tests/support/kdump_builder, layouts from the
// 19041.804 ISF) written as full (1), summary (2), triage (4) and bitmap (5,
// 6) dumps, and two layer-1 x86 machines (non-PAE and PAE) written as full
// and bitmap dumps. Each dump runs the same command script through the
// Engine; the transcript must equal tests/golden/kernel/<world>-<type>.golden
// (reviewed by hand, docs/GOLDEN.md). NTRIAGE_UPDATE_GOLDEN=1 rewrites the
// files instead of comparing (scripts/update-golden.sh sets it).
//
// Besides the text, a few facts per world are asserted directly against what
// the builder wrote (nt at KernBase in lm, cr3 = the DirBase built, the KPRCB
// address in !pcr, the bytes at the instruction pointer, PAE walks).
//
// The dumps are byte-for-byte deterministic (no clock, no randomness: the
// header's SystemTime is a fixed FILETIME), which a test checks by building
// the x64 world a second time.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <memory>
#include <ostream>
#include <sstream>

#include "base/format.h"
#include "commands/engine.h"
#include "dump/kernel/kdbg.h"
#include "dump/kernel/kernel_dump_file.h"
#include "dump/kernel/kernel_target.h"
#include "dump/open_dump.h"
#include "isf/isf_file.h"
#include "memory/page_table.h"
#include "support/kdump_builder/kdump_builder.h"
#include "support/test_support.h"

namespace nt {
namespace {

namespace kd = test::kdump;
namespace fs = std::filesystem;

constexpr const char* kIsf = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

// ---- what each world holds (for the focused assertions) --------------------

struct WorldFacts {
    bool is64 = true;
    PagingMode mode = PagingMode::X64;
    uint64_t kernBase = 0, dtb = 0, kpcr = 0, kprcb = 0, currentThread = 0, idleThread = 0;
    uint64_t ip = 0, sp = 0, fp = 0;
    std::vector<uint8_t> code;  // 16 bytes at ip
    uint64_t codePa = 0;        // physical address of ip (through the world's tables)
    uint64_t firstRet = 0;      // x86: the return address at ebp+4
    uint8_t irql = 0;
    // x64 only: scenario objects.
    uint64_t notepad = 0, notepadSyncWaiter = 0, notepadMutantWaiter = 0, mutant = 0, mutantOwner = 0;
    uint64_t notepadPebPfn = 0;
    std::set<uint64_t> userPfns;  // PEB/TEB pages: absent from kernel-only dumps (2, 6)
};

// ---- x64: the NT world --------------------------------------------------------

constexpr uint64_t kDiskBase = 0xfffff8048b400000ull, kMyDrvBase = 0xfffff8048b580000ull;

// A minimal PE header (PE32+ or PE32) with one executable .text section from
// RVA 0x1000 to the end of the image: what lm reads the timestamp from and
// what the stack walker checks return addresses against.
std::vector<uint8_t> peHeader(bool is64, uint64_t base, uint32_t size, uint32_t timestamp) {
    std::vector<uint8_t> h(0x400, 0);
    auto p16 = [&](size_t o, uint16_t v) { std::memcpy(h.data() + o, &v, 2); };
    auto p32 = [&](size_t o, uint32_t v) { std::memcpy(h.data() + o, &v, 4); };
    h[0] = 'M', h[1] = 'Z';
    const uint32_t pe = 0xe8, coff = pe + 4, opt = coff + 20, optSize = is64 ? 0xf0 : 0xe0;
    p32(0x3c, pe);
    std::memcpy(h.data() + pe, "PE\0\0", 4);
    p16(coff + 0, is64 ? 0x8664 : 0x14c);
    p16(coff + 2, 1);  // NumberOfSections
    p32(coff + 4, timestamp);
    p16(coff + 16, static_cast<uint16_t>(optSize));
    p16(coff + 18, is64 ? 0x22 : 0x102);
    p16(opt + 0, is64 ? 0x20b : 0x10b);
    if (is64) std::memcpy(h.data() + opt + 24, &base, 8);
    else p32(opt + 28, static_cast<uint32_t>(base));
    p32(opt + 32, 0x1000);  // SectionAlignment
    p32(opt + 36, 0x200);   // FileAlignment
    p32(opt + 56, size);    // SizeOfImage
    p32(opt + 60, 0x400);   // SizeOfHeaders
    p32(opt + (is64 ? 108 : 92), 16);  // NumberOfRvaAndSizes
    const uint32_t sect = opt + optSize;
    std::memcpy(h.data() + sect, ".text\0\0\0", 8);
    p32(sect + 8, size - 0x1000);
    p32(sect + 12, 0x1000);
    p32(sect + 16, size - 0x1000);
    p32(sect + 20, 0x400);
    p32(sect + 36, 0x60000020);  // code, execute, read
    return h;
}

// `call rel32` ending at ret, to target.
std::vector<uint8_t> callRel32(uint64_t ret, uint64_t target) {
    int32_t rel = static_cast<int32_t>(target - ret);
    std::vector<uint8_t> b = {0xe8, 0, 0, 0, 0};
    std::memcpy(b.data() + 1, &rel, 4);
    return b;
}

struct X64World {
    std::unique_ptr<kd::NtWorldBuilder> w;
    WorldFacts facts;
};

// System + smss.exe, csrss.exe, notepad.exe; a System thread of mydrv.sys
// faulting on processor 0 (bugcheck 0x7E), processor 1 idle; waits on a
// NotificationEvent (smss), a Semaphore (csrss, which owns a Mutant), a
// SynchronizationEvent and that Mutant (notepad's two threads).
X64World buildX64World(const std::string& isfPath) {
    X64World r;
    kd::NtWorldOptions o;
    o.processors = 2;
    r.w = std::make_unique<kd::NtWorldBuilder>(isfPath, o);
    kd::NtWorldBuilder& w = *r.w;
    const kd::TypeLayout& L = w.layout();
    auto reason = [&](const char* n) { return static_cast<uint8_t>(L.enumValue("_KWAIT_REASON", n).value()); };

    w.addDriver("disk.sys", kDiskBase, 0x1a000, 0x5e8c6b21, 0x2a1f3);
    w.addDriver("mydrv.sys", kMyDrvBase, 0x3b000, 0x5f3e2a10, 0x3c4d1);
    w.kernel().mapNew(kDiskBase, 0x1000);
    w.kernel().write(kDiskBase, peHeader(true, kDiskBase, 0x1a000, 0x5e8c6b21));
    w.kernel().mapNew(kMyDrvBase, 0x1000);
    w.kernel().write(kMyDrvBase, peHeader(true, kMyDrvBase, 0x3b000, 0x5f3e2a10));

    uint64_t smss = w.addProcess(kd::ProcessSpec{"smss.exe", 0x1a0, 4, std::nullopt, 0});
    uint64_t csrss = w.addProcess(kd::ProcessSpec{"csrss.exe", 0x1f8, 0x1ec, 0, 0});
    uint64_t notepad = w.addProcess(kd::ProcessSpec{"notepad.exe", 0x1b4c, 0xd10, 1, 0});

    kd::ThreadSpec crash;
    crash.tid = 0x4c;
    crash.state = kd::Running;
    crash.waitReason = reason("Executive");
    crash.startAddress = kMyDrvBase + 0x1010;
    crash.priority = 8;
    crash.basePriority = 8;
    crash.contextSwitches = 0x11;
    kd::ThreadInfo ct = w.addThread(w.systemProcess(), crash);

    kd::ThreadSpec s;
    s.tid = 0x1a4;
    s.state = kd::Waiting;
    s.waitReason = reason("UserRequest");
    s.waitMode = kd::UserMode;
    s.priority = 11;
    s.basePriority = 11;
    s.waitTime = 0x1f4;
    s.contextSwitches = 0x2b;
    uint64_t smssThread = w.addThread(smss, s).ethread;
    w.waitOn(smssThread, {w.addEvent(false, false)});

    kd::ThreadSpec c = s;
    c.tid = 0x200;
    c.waitReason = reason("WrLpcReceive");
    c.priority = 13;
    c.basePriority = 13;
    uint64_t csrssThread = w.addThread(csrss, c).ethread;
    w.waitOn(csrssThread, {w.addSemaphore(0x7fffffff, 0)});
    uint64_t mutant = w.addMutant(csrssThread);

    kd::ThreadSpec a = s;
    a.tid = 0x1b50;
    a.waitReason = reason("WrUserRequest");
    a.priority = 10;
    a.basePriority = 8;
    uint64_t npA = w.addThread(notepad, a).ethread;
    w.waitOn(npA, {w.addEvent(true, false)});
    kd::ThreadSpec b = s;
    b.tid = 0x1b54;
    b.waitReason = reason("UserRequest");
    b.alertable = true;
    b.priority = 8;
    b.basePriority = 8;
    uint64_t npB = w.addThread(notepad, b).ethread;
    w.waitOn(npB, {mutant});

    // The faulting instruction: mov rax,qword ptr [rcx] with rcx = 0.
    const uint64_t rip = kMyDrvBase + 0x334c;
    w.kernel().mapNew(kMyDrvBase + 0x3000, 0x1000);
    std::vector<uint8_t> code = {0x48, 0x8b, 0x01, 0x48, 0x89, 0x43, 0x08, 0x48,
                                 0x83, 0xc4, 0x28, 0xc3, 0xcc, 0xcc, 0xcc, 0xcc};
    w.kernel().write(rip, code);

    // The stack of the faulting thread: a return into the driver (after a
    // call to the faulting function), then nt's thread start (after `call
    // rbx`), then KiStartSystemThread (after a call to PspSystemThreadStartup).
    // No unwind data is in the dump, so `k` finds them by scanning.
    const uint64_t rsp = ct.kernelStack;
    const uint64_t ret0 = kMyDrvBase + 0x1a7f, ret1 = w.symbol("PspSystemThreadStartup") + 0x55,
                   ret2 = w.symbol("KiStartSystemThread") + 0x28;
    w.kernel().mapNew(kMyDrvBase + 0x1000, 0x1000);
    w.kernel().write(ret0 - 5, callRel32(ret0, kMyDrvBase + 0x3300));
    w.kernel().ensureMapped(ret1 - 2, 2);
    w.kernel().write(ret1 - 2, std::vector<uint8_t>{0xff, 0xd3});
    w.kernel().ensureMapped(ret2 - 5, 5);
    w.kernel().write(ret2 - 5, callRel32(ret2, w.symbol("PspSystemThreadStartup")));
    w.kernel().writeU64(rsp, ret0);
    w.kernel().writeU64(rsp + 0x30, ret1);
    w.kernel().writeU64(rsp + 0x80, ret2);

    CpuContext ctx(Machine::Amd64);
    ctx.set(Reg::Rax, 0);
    ctx.set(Reg::Rbx, 0xffffa10000042a10ull);
    ctx.set(Reg::Rcx, 0);
    ctx.set(Reg::Rdx, kMyDrvBase + 0x5e000);
    ctx.set(Reg::Rsi, 1);
    ctx.set(Reg::Rdi, ct.ethread);
    ctx.set(Reg::Rbp, ct.stackBase - 0x100);
    ctx.set(Reg::Rsp, rsp);
    ctx.set(Reg::Rip, rip);
    ctx.set(Reg::R8, 0x20);
    ctx.set(Reg::R9, 0x7ffe0000);
    ctx.set(Reg::R10, 0xfffff8047ba01000ull);
    ctx.set(Reg::R11, rsp - 0x40);
    ctx.set(Reg::Cs, 0x10);
    ctx.set(Reg::Ss, 0x18);
    ctx.set(Reg::Ds, 0x2b);
    ctx.set(Reg::Es, 0x2b);
    ctx.set(Reg::Fs, 0x53);
    ctx.set(Reg::Gs, 0x2b);
    ctx.set(Reg::Eflags, 0x10246);
    w.setContext(ctx, 0);
    w.setCurrentThread(0, ct.ethread);

    // 0x7E: exception code, address, EXCEPTION_RECORD, CONTEXT (both in pool).
    uint64_t exr = w.allocPool(0x98, 16), cxr = w.allocPool(CpuContext::kAmd64Size, 16);
    w.kernel().writeU32(exr, 0xc0000005);
    w.kernel().writeU64(exr + 0x10, rip);
    w.kernel().writeU32(exr + 0x18, 2);  // NumberParameters: read of address 0
    auto raw = ctx.serialize();
    uint32_t full = 0x10001f;
    std::memcpy(raw.data() + 0x30, &full, 4);
    w.kernel().write(cxr, raw);
    w.setBugcheck(0x7e, {0xffffffffc0000005ull, rip, exr, cxr});

    // KPCR fields !pcr and !irql show.
    for (unsigned i = 0; i < 2; ++i) {
        w.setField(w.kpcr(i), "_KPCR", "MajorVersion", 1);
        w.setField(w.kpcr(i), "_KPCR", "MinorVersion", 1);
        if (L.has("_KPCR", "NtTib.ExceptionList"))
            w.setField(w.kpcr(i), "_KPCR", "NtTib.ExceptionList", 0xfffff80479fb8fb0ull + i * 0x10000);
    }
    w.setField(w.kpcr(0), "_KPCR", "Irql", 2);  // DISPATCH_LEVEL

    // !vm counters: the KDBG's Mm* pointers to kernel variables.
    const uint64_t kdbgVa = w.symbol("KdDebuggerDataBlock");
    struct Counter {
        uint32_t kdbgOffset;
        const char* symbol;
        uint64_t value;
    };
    const Counter counters[] = {{kdbg::kMmNumberOfPhysicalPages, "MmNumberOfPhysicalPages", 0x7ff6e},
                                {kdbg::kMmAvailablePages, "MmAvailablePages", 0x5a2c1},
                                {kdbg::kMmResidentAvailablePages, "MmResidentAvailablePages", 0x6e4f0},
                                {kdbg::kMmTotalCommittedPages, "MmTotalCommittedPages", 0x3b9c2},
                                {kdbg::kMmTotalCommitLimit, "MmTotalCommitLimit", 0xb7f6e}};
    for (const auto& cnt : counters) {
        uint64_t at = w.isf().rvaOf(cnt.symbol) ? w.symbol(cnt.symbol) : w.allocPool(8, 8);
        w.kernel().ensureMapped(at, 8);
        w.kernel().writeU64(at, cnt.value);
        w.kernel().writeU64(kdbgVa + cnt.kdbgOffset, at);
    }

    // A small dump keeps what a real one does: the processor block and the
    // bytes around the faulting instruction.
    w.addTriageDataBlock(w.symbol("KiProcessorBlock"), 16);
    w.addTriageDataBlock(rip & ~0xffull, 0x100);

    WorldFacts& f = r.facts;
    f.is64 = true;
    f.mode = PagingMode::X64;
    f.kernBase = w.kernBase();
    f.dtb = w.kernel().dtb();
    f.kpcr = w.kpcr(0);
    f.kprcb = w.kprcb(0);
    f.currentThread = ct.ethread;
    f.idleThread = w.idleThread(0);
    f.ip = rip;
    f.sp = rsp;
    f.code = code;
    f.codePa = *w.kernel().translate(rip);
    f.irql = 2;
    f.notepad = notepad;
    f.notepadSyncWaiter = npA;
    f.notepadMutantWaiter = npB;
    f.mutant = mutant;
    f.mutantOwner = csrssThread;
    // User pages of the processes (PEBs, TEBs): a kernel dump leaves them out.
    const std::pair<uint64_t, std::vector<uint64_t>> users[] = {
        {smss, {smssThread}}, {csrss, {csrssThread}}, {notepad, {npA, npB}}};
    for (const auto& [proc, threads] : users) {
        kd::AddressSpace& space = w.processSpace(proc);
        f.userPfns.insert(*space.translate(w.getField(proc, "_EPROCESS", "Peb")) >> 12);
        for (uint64_t t : threads) {
            uint64_t teb = w.getField(t, "_ETHREAD", "Tcb.Teb");
            f.userPfns.insert(*space.translate(teb) >> 12);
            f.userPfns.insert(*space.translate(teb + 0x1000) >> 12);
        }
    }
    f.notepadPebPfn = *w.processSpace(notepad).translate(w.getField(notepad, "_EPROCESS", "Peb")) >> 12;
    return r;
}

// ---- x86 and x86 PAE: layer-1 machines -------------------------------------

// Windows 7 SP1-like 32-bit layout. No NT objects: the KDBG block, the
// loader's list (KLDR_DATA_TABLE_ENTRY32), one processor's KPCR/KPRCB and a
// stack with an EBP chain. KPCR/KPRCB offsets are the public x86 ones: KPCR
// SelfPcr 0x1c, Prcb 0x20, Irql 0x24, MajorVersion 0x44, MinorVersion 0x46,
// PrcbData 0x120; KPRCB CurrentThread 4, NextThread 8, IdleThread 0xc,
// ProcessorState 0x18 (CONTEXT 0x2cc bytes, then KSPECIAL_REGISTERS: Cr0, Cr2,
// Cr3, Cr4).
struct X86World {
    std::unique_ptr<kd::PhysicalImage> phys;
    std::unique_ptr<kd::AddressSpace> as;
    kd::HeaderInfo header;
    WorldFacts facts;
    // The small-dump view of the same machine: the PRCB, the stack from esp,
    // the drivers, the KDBG block, and the pages of nt's header and the
    // faulting code as data blocks (no thread or process objects exist).
    kd::TriageInfo triage;
};

constexpr uint32_t kNt32 = 0x82a44000, kNt32Size = 0x413000, kHal32 = 0x82a0d000, kHal32Size = 0x37000;

X86World buildX86World(bool pae) {
    X86World r;
    const PagingMode mode = pae ? PagingMode::X86Pae : PagingMode::X86;
    r.phys = std::make_unique<kd::PhysicalImage>(1);
    r.phys->setNextPfn(0x100);
    r.as = std::make_unique<kd::AddressSpace>(*r.phys, mode);
    kd::AddressSpace& as = *r.as;

    as.mapNew(kNt32, 0x1000);
    as.write(kNt32, peHeader(false, kNt32, kNt32Size, 0x5e0eb7a3));
    as.mapNew(kHal32, 0x1000);
    as.write(kHal32, peHeader(false, kHal32, kHal32Size, 0x5e0ea5c1));

    // nt's data: the KDBG block, list heads, KiProcessorBlock, NtBuildLab,
    // the Mm counters; KiInitialPcr with its PRCB on the following pages.
    const uint32_t data = kNt32 + 0x16c000;
    as.mapNew(data, 0x2000);
    const uint32_t kdbgVa = data + 0x100, modules = data + 0x600, processes = data + 0x610,
                   procBlock = data + 0x620, buildLab = data + 0x700, counters = data + 0x800;
    const uint32_t pcr = kNt32 + 0x170c00, prcb = pcr + 0x120;
    as.mapNew(kNt32 + 0x170000, 0x5000);
    as.writeEmptyList(modules);
    as.writeEmptyList(processes);
    as.writeU32(procBlock, prcb);
    const std::string lab = "7601.24544.x86fre.win7sp1_ldr_escrow.200102-1707";
    std::vector<uint8_t> labBytes(lab.begin(), lab.end());
    labBytes.push_back(0);
    as.write(buildLab, labBytes);
    const uint32_t mmValues[] = {0x3ff7e, 0x2d1a4, 0x36e40, 0x1b9c2, 0x7bf6e};
    for (int i = 0; i < 5; ++i) as.writeU32(counters + 4 * i, mmValues[i]);

    kd::KdbgFields k;
    k.is64 = false;
    k.address = kdbgVa;
    k.kernBase = kNt32;
    k.psLoadedModuleList = modules;
    k.psActiveProcessHead = processes;
    k.kiProcessorBlock = procBlock;
    k.mmPfnDatabase = 0x84000000;
    k.ntBuildLab = buildLab;
    k.sizeEProcess = 0x2c0;
    k.sizeEThread = 0x2b8;
    k.sizePrcb = 0x3628;
    std::vector<uint8_t> block = kd::makeKdbgBlock(k);
    auto p16 = [&](uint32_t off, uint16_t v) { std::memcpy(block.data() + off, &v, 2); };
    auto p64 = [&](uint32_t off, uint32_t v) {
        uint64_t x = uint64_t(int64_t(int32_t(v)));  // sign-extended, as 32-bit kernels store pointers
        std::memcpy(block.data() + off, &x, 8);
    };
    p16(kdbg::kOffsetPrcbCurrentThread, 0x4);
    p16(kdbg::kOffsetPrcbProcStateContext, 0x18);
    p16(kdbg::kOffsetPrcbNumber, 0x3cc);
    p16(kdbg::kOffsetPcrSelfPcr, 0x1c);
    p16(kdbg::kOffsetPcrCurrentPrcb, 0x20);
    p16(kdbg::kOffsetPcrContainedPrcb, 0x120);
    p16(kdbg::kOffsetPrcbProcStateSpecialReg, 0x18 + 0x2cc);
    p16(kdbg::kGdtR0Code, 0x8);
    p16(kdbg::kGdtR0Data, 0x10);
    p16(kdbg::kGdtR3Code, 0x1b);
    p16(kdbg::kGdtR3Data, 0x23);
    p16(kdbg::kGdtR3Teb, 0x3b);
    p16(kdbg::kGdtTss, 0x28);
    const uint32_t counterFields[] = {kdbg::kMmNumberOfPhysicalPages, kdbg::kMmAvailablePages,
                                      kdbg::kMmResidentAvailablePages, kdbg::kMmTotalCommittedPages,
                                      kdbg::kMmTotalCommitLimit};
    for (int i = 0; i < 5; ++i) p64(counterFields[i], counters + 4 * i);
    as.write(kdbgVa, block);

    // The loader's list: nt then hal (KLDR_DATA_TABLE_ENTRY32).
    const uint32_t pool = 0x85a01000;
    as.mapNew(pool, 0x1000);
    struct Mod {
        const char* name;
        uint32_t base, size, timestamp, checksum;
    };
    const Mod mods[] = {{pae ? "ntkrpamp.exe" : "ntoskrnl.exe", kNt32, kNt32Size, 0x5e0eb7a3, 0x3d8b5c},
                        {"halmacpi.dll", kHal32, kHal32Size, 0x5e0ea5c1, 0x3f6a1}};
    uint32_t strings = pool + 0x400;
    for (int i = 0; i < 2; ++i) {
        const uint32_t e = pool + 0x80 * i;
        const std::string full = std::string("\\SystemRoot\\system32\\") + mods[i].name;
        as.writeUnicodeString(e + 0x24, strings, full);
        strings += static_cast<uint32_t>(2 * full.size() + 2 + 6) & ~7u;
        as.writeUnicodeString(e + 0x2c, strings, mods[i].name);
        strings += static_cast<uint32_t>(2 * std::strlen(mods[i].name) + 2 + 6) & ~7u;
        as.writeU32(e + 0x18, mods[i].base);
        as.writeU32(e + 0x1c, mods[i].base + 0x1000);
        as.writeU32(e + 0x20, mods[i].size);
        as.writeU32(e + 0x34, 0x09104000);
        as.writeU16(e + 0x38, 1);
        as.writeU32(e + 0x40, mods[i].checksum);
        as.writeU32(e + 0x44, mods[i].timestamp);
        as.insertTailList(modules, e);
    }

    // The PAE machine keeps its code and stack pages above 4 GiB, where only
    // PAE's 64-bit entries can point.
    if (pae) r.phys->setNextPfn(0x100100);

    // The faulting instruction (bugcheck 0xA reading address 0x1c):
    // mov ecx,dword ptr [eax] with eax = 0x1c.
    const uint32_t eip = kNt32 + 0x7a3c1;
    as.mapNew(eip & ~0xfffu, 0x1000);
    std::vector<uint8_t> code = {0x8b, 0x08, 0x89, 0x4e, 0x04, 0x5e, 0x5d, 0xc2,
                                 0x08, 0x00, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc};
    as.write(eip, code);

    // Stack with an EBP chain: nt+0x7a3c1 <- nt+0x4b2e1 <- nt+0xc5f12 <- hal+0x6a2e.
    const uint32_t stack = 0x8d3f0000;
    as.mapNew(stack, 0x3000);
    const uint32_t esp = stack + 0x2bb8, ebp0 = stack + 0x2bd0, ebp1 = stack + 0x2c10, ebp2 = stack + 0x2c60;
    const uint32_t ret0 = kNt32 + 0x4b2e1, ret1 = kNt32 + 0xc5f12, ret2 = kHal32 + 0x6a2e;
    as.writeU32(ebp0, ebp1);
    as.writeU32(ebp0 + 4, ret0);
    as.writeU32(ebp0 + 8, 0x85c3e008);
    as.writeU32(ebp0 + 12, 0x1c);
    as.writeU32(ebp1, ebp2);
    as.writeU32(ebp1 + 4, ret1);
    as.writeU32(ebp2, 0);
    as.writeU32(ebp2 + 4, ret2);
    // Each return address follows a call into the function its callee frame
    // runs in (what the EBP-chain walker checks).
    for (auto [ret, target] : {std::pair<uint32_t, uint32_t>{ret0, kNt32 + 0x7a390}, {ret1, kNt32 + 0x4b200},
                               {ret2, kNt32 + 0xc5e00}}) {
        as.ensureMapped(ret - 5, 5);
        as.write(ret - 5, callRel32(ret, target));
    }

    CpuContext ctx(Machine::X86);
    ctx.set(Reg::Rax, 0x1c);
    ctx.set(Reg::Rbx, 0x85b2ad48);
    ctx.set(Reg::Rcx, 0);
    ctx.set(Reg::Rdx, pcr);
    ctx.set(Reg::Rsi, 0x85c3e008);
    ctx.set(Reg::Rdi, 0);
    ctx.set(Reg::Rsp, esp);
    ctx.set(Reg::Rbp, ebp0);
    ctx.set(Reg::Rip, eip);
    ctx.set(Reg::Cs, 0x8);
    ctx.set(Reg::Ss, 0x10);
    ctx.set(Reg::Ds, 0x23);
    ctx.set(Reg::Es, 0x23);
    ctx.set(Reg::Fs, 0x30);
    ctx.set(Reg::Gs, 0);
    ctx.set(Reg::Eflags, 0x10286);
    std::vector<uint8_t> raw = ctx.serialize();
    uint32_t flags = 0x1001f;  // CONTEXT_i386 | CONTROL | INTEGER | SEGMENTS | FLOATING_POINT | DEBUG_REGISTERS
    std::memcpy(raw.data(), &flags, 4);

    // KPCR and KPRCB of processor 0.
    const uint32_t thread = 0x85b2ad48, idle = kNt32 + 0x17d380;
    as.writeU32(pcr + 0x0, stack + 0x2f9c);  // NtTib.ExceptionList
    as.writeU32(pcr + 0x1c, pcr);
    as.writeU32(pcr + 0x20, prcb);
    as.writeU8(pcr + 0x24, 2);  // Irql: DISPATCH_LEVEL
    as.writeU16(pcr + 0x44, 1);
    as.writeU16(pcr + 0x46, 1);
    as.writeU16(prcb + 0x0, 1);
    as.writeU16(prcb + 0x2, 1);
    as.writeU32(prcb + 0x4, thread);
    as.writeU32(prcb + 0xc, idle);
    as.write(prcb + 0x18, raw);
    const uint32_t special = prcb + 0x18 + 0x2cc;
    as.writeU32(special + 0, 0x8001003b);
    as.writeU32(special + 8, static_cast<uint32_t>(as.dtb()));
    as.writeU32(special + 12, pae ? 0x000406f9 : 0x000406d9);

    kd::HeaderInfo& h = r.header;
    h.is64 = false;
    h.paeEnabled = pae;
    h.machineImageType = 0x14c;
    h.majorVersion = 0xf;
    h.minorVersion = 7601;
    h.directoryTableBase = as.dtb();
    h.pfnDataBase = 0x84000000;
    h.psLoadedModuleList = modules;
    h.psActiveProcessHead = processes;
    h.kdDebuggerDataBlock = kdbgVa;
    h.numberProcessors = 1;
    h.bugCheckCode = 0xa;
    h.bugCheckParameters = {0x1c, 2, 0, eip};
    h.context = raw;

    kd::TriageInfo& t = r.triage;
    t.servicePackBuild = 0x1db1;
    t.prcb = as.read(prcb, 0x3628);
    t.topOfStack = esp;
    t.callStack = as.read(esp, stack + 0x3000 - esp);
    for (const Mod& m : mods)
        t.drivers.push_back({std::string("\\SystemRoot\\system32\\") + m.name, m.base, m.size, m.timestamp, m.checksum,
                             0x09104000});
    t.debuggerData = block;
    t.dataBlocks.push_back({kNt32, as.read(kNt32, 0x1000)});
    // nt's data pages: KiProcessorBlock (how the PRCB copy is placed), the
    // list heads and the Mm counters the KDBG block points at.
    t.dataBlocks.push_back({data, as.read(data, 0x2000)});
    t.dataBlocks.push_back({eip & ~0xfffu, as.read(eip & ~0xfffu, 0x1000)});

    WorldFacts& f = r.facts;
    f.is64 = false;
    f.mode = mode;
    f.kernBase = kNt32;
    f.dtb = as.dtb();
    f.kpcr = pcr;
    f.kprcb = prcb;
    f.currentThread = thread;
    f.idleThread = idle;
    f.ip = eip;
    f.sp = esp;
    f.fp = ebp0;
    f.code = code;
    f.codePa = *as.translate(eip);
    f.firstRet = ret0;
    f.irql = 2;
    return r;
}

// ---- the set of dumps -----------------------------------------------------------

struct DumpCase {
    std::string world;  // "x64", "x86", "x86pae"
    uint32_t type;
    std::string name() const {
        static const std::map<uint32_t, std::string> kinds = {
            {kd::kFull, "full"}, {kd::kSummary, "summary"}, {kd::kTriage, "triage"},
            {kd::kBitmapFull, "bitmap5"}, {kd::kBitmapKernel, "bitmap6"}};
        return world + "-" + kinds.at(type);
    }
};

void PrintTo(const DumpCase& c, std::ostream* os) { *os << c.name(); }

const std::vector<DumpCase>& allCases() {
    static const std::vector<DumpCase> cases = {
        {"x64", kd::kFull},    {"x64", kd::kBitmapFull}, {"x64", kd::kBitmapKernel}, {"x64", kd::kSummary},
        {"x64", kd::kTriage},  {"x86", kd::kFull},       {"x86", kd::kBitmapFull},   {"x86", kd::kBitmapKernel},
        {"x86", kd::kSummary}, {"x86", kd::kTriage},     {"x86pae", kd::kFull},      {"x86pae", kd::kBitmapFull},
        {"x86pae", kd::kBitmapKernel}, {"x86pae", kd::kSummary}, {"x86pae", kd::kTriage}};
    return cases;
}

// Builds every world once and writes all dumps into a fresh temp dir.
class Worlds {
public:
    static Worlds& get() {
        static Worlds w;
        return w;
    }
    bool ready() const { return ready_; }
    const std::string& dir() const { return dir_; }
    std::string path(const DumpCase& c) const { return dir_ + "/" + c.name() + ".dmp"; }
    const WorldFacts& facts(const std::string& world) const { return facts_.at(world); }
    const std::string& isfPath() const { return isf_; }
    ~Worlds() {
        if (!dir_.empty()) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
        }
    }

private:
    Worlds() {
        isf_ = test::corpusFile(kIsf);
        if (isf_.empty()) return;
        std::string tmpl = (fs::temp_directory_path() / "ntr_kgolden_XXXXXX").string();
        if (!mkdtemp(tmpl.data())) return;
        dir_ = tmpl;
        X64World x64 = buildX64World(isf_);
        facts_["x64"] = x64.facts;
        X86World x86 = buildX86World(false), pae = buildX86World(true);
        facts_["x86"] = x86.facts;
        facts_["x86pae"] = pae.facts;
        for (const auto& c : allCases()) {
            if (c.world == "x64" && (c.type == kd::kSummary || c.type == kd::kBitmapKernel)) {
                // Kernel-only dumps: every page but the processes' user pages.
                kd::DumpWriter dw(x64.w->phys(), x64.w->header());
                const std::set<uint64_t>& user = x64.facts.userPfns;
                dw.setPageFilter([&user](uint64_t pfn) { return user.count(pfn) == 0; });
                dw.writeFile(path(c), c.type);
            } else if (c.world == "x64") {
                x64.w->buildFile(path(c), c.type);
            } else {
                X86World& m = c.world == "x86" ? x86 : pae;
                kd::DumpWriter dw(*m.phys, m.header);
                if (c.type == kd::kTriage) dw.setTriage(m.triage);
                dw.writeFile(path(c), c.type);
            }
        }
        ready_ = true;
    }
    bool ready_ = false;
    std::string isf_, dir_;
    std::map<std::string, WorldFacts> facts_;
};

std::unique_ptr<Engine> openEngine(const DumpCase& c) {
    auto e = std::make_unique<Engine>(openDump(Worlds::get().path(c)));
    // The ISF folder stands in for a symbol store (nt's RSDS names it); the
    // x86 kernels have no symbols there, which the transcripts show.
    e->symbols().setSymbolPath(test::corpusFile("jpcert-isf"));
    return e;
}

// "kv" -> "k", ".cxr ffff..." -> ".cxr": the registered command name.
std::string splitCommand(const std::string& c) {
    std::string name = c.substr(0, c.find(' '));
    if (name.size() > 1 && name[0] == 'k' && name != "k") name = "k";
    return name;
}

// The command script: the machine-level commands, then the process/thread
// ones when this build registers them.
std::vector<std::string> script(Engine& e, const DumpCase& c) {
    std::vector<std::string> cmds = {"vertarget", ".bugcheck", "lm",    "r",          "r cr3",
                                     "k",         "!pcr",      "!running -i", "!vm", "!irql",
                                     "db @$ip l10", "dt nt!_EPROCESS @$proc UniqueProcessId ImageFileName"};
    const auto& reg = e.commands();
    if (c.world == "x64") {
        const WorldFacts& f = Worlds::get().facts("x64");
        if (reg.count("!process")) {
            cmds.push_back("!process 0 0");
            cmds.push_back("!process 0 2");
        }
        if (reg.count("!thread")) cmds.push_back("!thread");
        if (reg.count("!process")) cmds.push_back("!process 0 0 notepad.exe");
        if (reg.count(".process")) cmds.push_back(".process " + addrPlain(f.notepad, true));
        if (reg.count(".thread")) cmds.push_back(".thread " + addrPlain(f.notepadMutantWaiter, true));
        // The rest of issue 4's command list: the bugcheck's records and the
        // stack behind them, the processor and object views, the other
        // !process forms.
        for (const char* c2 : {".thread", "kv", ".exr ffffa10000012d70", ".cxr ffffa10000012e10", "k", ".cxr", "!prcb",
                               "!cpuinfo", "!locks", "!running -t", "!process -1 0"})
            if (reg.count(splitCommand(c2))) cmds.push_back(c2);
        if (reg.count("!process")) cmds.push_back("!process " + addrPlain(f.notepad, true) + " 7");
        if (reg.count("!object")) cmds.push_back("!object " + addrPlain(f.mutant, true));
    } else {
        // No NT types for the 32-bit machines: what the commands say then.
        if (reg.count("!process")) cmds.push_back("!process 0 0");
        if (reg.count("!thread")) cmds.push_back("!thread");
    }
    return cmds;
}

void replaceAll(std::string& s, const std::string& from, const std::string& to) {
    for (size_t at = 0; !from.empty() && (at = s.find(from, at)) != std::string::npos; at += to.size())
        s.replace(at, from.size(), to);
}

// The transcript as the CLI prints a -c session: prompt, command, output.
std::string transcript(Engine& e, const std::vector<std::string>& cmds) {
    std::string out;
    for (const auto& cmd : cmds) {
        std::string prompt = e.prompt();
        Output o = e.execute(cmd);
        out += prompt + cmd + "\n" + o.text;
    }
    replaceAll(out, test::corpusFile(""), "<corpus>/");
    replaceAll(out, Worlds::get().dir() + "/", "<tmp>/");
    return out;
}

std::string goldenText(const DumpCase& c, const std::vector<std::string>& cmds, const std::string& body) {
    static const std::map<uint32_t, std::string> kinds = {
        {kd::kFull, "1 (full)"}, {kd::kSummary, "2 (summary/kernel)"}, {kd::kTriage, "4 (triage/small)"},
        {kd::kBitmapFull, "5 (bitmap full)"}, {kd::kBitmapKernel, "6 (bitmap kernel)"}};
    std::string joined;
    for (const auto& cmd : cmds) joined += (joined.empty() ? "" : "; ") + cmd;
    std::string world = c.world == "x64"    ? "x64 NT world (NtWorldBuilder, ISF 19041.804)"
                        : c.world == "x86"  ? "x86 non-PAE machine (layer 1, no NT types)"
                                            : "x86 PAE machine (layer 1, no NT types)";
    return "world: " + world + "\ndump type: " + kinds.at(c.type) + "\nsymbols: corpus:jpcert-isf\ncommands: " +
           joined + "\n----\n" + body;
}

std::string goldenPath(const DumpCase& c) {
    return std::string(NTRIAGE_FIXTURES_DIR) + "/../golden/kernel/" + c.name() + ".golden";
}

bool updating() {
    const char* v = std::getenv("NTRIAGE_UPDATE_GOLDEN");
    return v && std::string(v) == "1";
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

bool hasLine(const std::string& text, const std::string& line) {
    auto l = lines(text);
    return std::find(l.begin(), l.end(), line) != l.end();
}

// ---- golden comparison ------------------------------------------------------------

class KernelGolden : public ::testing::TestWithParam<DumpCase> {
protected:
    void SetUp() override {
        if (!Worlds::get().ready()) GTEST_SKIP() << "corpus file not found: " << kIsf;
    }
};

TEST_P(KernelGolden, TranscriptMatches) {
    const DumpCase& c = GetParam();
    auto e = openEngine(c);
    auto cmds = script(*e, c);
    std::string text = goldenText(c, cmds, transcript(*e, cmds));
    std::string path = goldenPath(c);
    if (updating()) {
        fs::create_directories(fs::path(path).parent_path());
        std::ofstream(path, std::ios::binary) << text;
        GTEST_SKIP() << "rewrote " << path;
    }
    std::string expected = test::readTextFile(path);
    ASSERT_FALSE(expected.empty()) << "missing golden file " << path << " (run with NTRIAGE_UPDATE_GOLDEN=1)";
    EXPECT_EQ(text, expected) << "golden file: tests/golden/kernel/" << c.name() << ".golden";
}

INSTANTIATE_TEST_SUITE_P(Kernel, KernelGolden, ::testing::ValuesIn(allCases()),
                         [](const auto& p) {
                             std::string n = p.param.name();
                             for (char& ch : n)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

// ---- focused facts, per dump ---------------------------------------------------------

class KernelFacts : public KernelGolden {};

// lm lists nt at KernBase; r cr3 is the DirBase built; !pcr names the KPCR
// and KPRCB built; db shows the bytes written at the instruction pointer.
TEST_P(KernelFacts, MachineFactsMatchTheBuiltWorld) {
    const DumpCase& c = GetParam();
    const WorldFacts& f = Worlds::get().facts(c.world);
    auto e = openEngine(c);
    const bool w = f.is64;

    Output lm = e->execute("lm");
    bool ntAtBase = false;
    for (const auto& l : lines(lm.text))
        if (l.rfind(addrTick(f.kernBase, w) + " ", 0) == 0 && l.find("   nt ") != std::string::npos) ntAtBase = true;
    EXPECT_TRUE(ntAtBase) << lm.text;

    Output cr3 = e->execute("r cr3");
    EXPECT_EQ(cr3.text, "cr3=" + hexPad(f.dtb, w ? 16 : 8) + "\n");

    Output pcr = e->execute("!pcr");
    ASSERT_FALSE(pcr.error) << pcr.text;
    EXPECT_EQ(lines(pcr.text).at(0), "KPCR for Processor 0 at " + addrPlain(f.kpcr, w) + ":");
    EXPECT_TRUE(hasLine(pcr.text, "\t               Prcb: " + addrPlain(f.kprcb, w))) << pcr.text;
    EXPECT_TRUE(hasLine(pcr.text, "\t      CurrentThread: " + addrPlain(f.currentThread, w))) << pcr.text;
    EXPECT_TRUE(hasLine(pcr.text, "\t         IdleThread: " + addrPlain(f.idleThread, w))) << pcr.text;

    // A small dump holds the KPRCB copy but not the KPCR around it.
    Output irql = e->execute("!irql");
    if (c.type == kd::kTriage) EXPECT_TRUE(irql.json["irql"].is_null()) << irql.text;
    else EXPECT_EQ(irql.json["irql"].get<int>(), f.irql) << irql.text;

    Output db = e->execute("db @$ip l10");
    std::string bytes;
    for (size_t i = 0; i < 16; ++i) bytes += hexPad(f.code[i], 2) + (i == 7 ? "-" : i == 15 ? "" : " ");
    EXPECT_EQ(lines(db.text).at(0).substr(0, addrTick(f.ip, w).size() + 2 + bytes.size()),
              addrTick(f.ip, w) + "  " + bytes);
}

INSTANTIATE_TEST_SUITE_P(Kernel, KernelFacts, ::testing::ValuesIn(allCases()),
                         [](const auto& p) {
                             std::string n = p.param.name();
                             for (char& ch : n)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

// The PAE machine's code and stack pages sit above 4 GiB: only a PAE walk
// reaches them, and `k` and `db` read through it.
TEST(KernelGoldenPae, StackAndCodeReadThroughPaeTables) {
    if (!Worlds::get().ready()) GTEST_SKIP() << "corpus file not found: " << kIsf;
    const WorldFacts& f = Worlds::get().facts("x86pae");
    EXPECT_GE(f.codePa, 0x100000000ull);
    for (uint32_t type : {kd::kFull, kd::kBitmapFull}) {
        DumpCase c{"x86pae", type};
        auto e = openEngine(c);
        ASSERT_TRUE(e->target().kernel);
        EXPECT_EQ(e->target().kernel->paging, PagingMode::X86Pae);
        Output k = e->execute("k");
        auto l = lines(k.text);
        ASSERT_GE(l.size(), 2u) << k.text;
        // Frame 0: ChildEBP = ebp, RetAddr = [ebp+4], both from the page above 4 GiB.
        EXPECT_EQ(l[1].substr(0, 20), "00 " + hexPad(f.fp, 8) + " " + hexPad(f.firstRet, 8)) << k.text;
        Output db = e->execute("db " + hexPad(f.ip, 8) + " l4");
        EXPECT_EQ(lines(db.text).at(0).substr(0, 8 + 2 + 11), hexPad(f.ip, 8) + "  8b 08 89 4e") << db.text;
    }
}

// x64 world: the notepad threads and the mutant are where !process says.
TEST(KernelGoldenX64, ProcessCommandsNameTheBuiltObjects) {
    if (!Worlds::get().ready()) GTEST_SKIP() << "corpus file not found: " << kIsf;
    const WorldFacts& f = Worlds::get().facts("x64");
    auto e = openEngine({"x64", kd::kBitmapFull});
    if (!e->commands().count("!process")) GTEST_SKIP() << "!process not registered in this build";
    Output o = e->execute("!process 0 2 notepad.exe");
    ASSERT_FALSE(o.error) << o.text;
    EXPECT_TRUE(hasLine(o.text, "PROCESS " + addrPlain(f.notepad, true))) << o.text;
    bool syncWaiter = false, mutantLine = false;
    for (const auto& l : lines(o.text)) {
        if (l.find("THREAD " + addrPlain(f.notepadSyncWaiter, true)) != std::string::npos) syncWaiter = true;
        if (l.find(addrPlain(f.mutant, true) + "  Mutant - owning thread " + addrPlain(f.mutantOwner, true)) !=
            std::string::npos)
            mutantLine = true;
    }
    EXPECT_TRUE(syncWaiter) << o.text;
    EXPECT_TRUE(mutantLine) << o.text;
}

// x64 `k` scans the faulting thread's stack (no unwind data in the dump):
// the driver frame, then nt's frames named through the ISF on the symbol
// path. A small dump lacks the driver's code page, so the scan stops there.
TEST(KernelGoldenX64, StackScanNamesNtFramesThroughTheIsf) {
    if (!Worlds::get().ready()) GTEST_SKIP() << "corpus file not found: " << kIsf;
    const WorldFacts& f = Worlds::get().facts("x64");
    auto e = openEngine({"x64", kd::kFull});
    auto l = lines(e->execute("k").text);
    ASSERT_EQ(l.size(), 6u);
    EXPECT_EQ(l[2], "00 " + addrTick(f.sp, true) + " " + addrTick(kMyDrvBase + 0x1a7f, true) + "     mydrv+0x334c");
    auto endsWith = [](const std::string& a, const std::string& b) {
        return a.size() >= b.size() && a.compare(a.size() - b.size(), b.size(), b) == 0;
    };
    EXPECT_TRUE(endsWith(l[3], "     mydrv+0x1a7f")) << l[3];
    EXPECT_TRUE(endsWith(l[4], "     nt!PspSystemThreadStartup+0x55")) << l[4];
    EXPECT_TRUE(endsWith(l[5], "     nt!KiStartSystemThread+0x28")) << l[5];
    auto small = openEngine({"x64", kd::kTriage});
    auto t = lines(small->execute("k").text);
    EXPECT_EQ(t.size(), 3u);
}

// Kernel-only dumps (2, 6) leave the processes' user pages out; the full
// and bitmap-full dumps keep them.
TEST(KernelGoldenX64, KernelOnlyDumpsLackUserPages) {
    if (!Worlds::get().ready()) GTEST_SKIP() << "corpus file not found: " << kIsf;
    const WorldFacts& f = Worlds::get().facts("x64");
    ASSERT_EQ(f.userPfns.size(), 3u + 2u * 4u);
    for (uint32_t type : {kd::kFull, kd::kSummary, kd::kBitmapFull, kd::kBitmapKernel}) {
        auto e = openEngine({"x64", type});
        const auto* kt = dynamic_cast<const KernelDumpTarget*>(&e->target());
        ASSERT_TRUE(kt && kt->dump && kt->dump->physical());
        bool kernelOnly = type == kd::kSummary || type == kd::kBitmapKernel;
        EXPECT_EQ(kt->dump->physical()->page(f.notepadPebPfn).empty(), kernelOnly) << "dump type " << type;
        EXPECT_FALSE(kt->dump->physical()->page(f.dtb >> 12).empty());
    }
}

// The dumps are byte-for-byte reproducible (goldens depend on it).
TEST(KernelGoldenX64, WorldIsDeterministic) {
    if (!Worlds::get().ready()) GTEST_SKIP() << "corpus file not found: " << kIsf;
    X64World again = buildX64World(Worlds::get().isfPath());
    std::vector<uint8_t> bytes = again.w->build(kd::kBitmapFull);
    std::ifstream in(Worlds::get().path({"x64", kd::kBitmapFull}), std::ios::binary);
    std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(file.size(), bytes.size());
    EXPECT_TRUE(file == bytes);
    X86World pae = buildX86World(true);
    std::vector<uint8_t> paeBytes = kd::DumpWriter(*pae.phys, pae.header).write(kd::kFull);
    std::ifstream in2(Worlds::get().path({"x86pae", kd::kFull}), std::ios::binary);
    std::vector<uint8_t> file2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(file2 == paeBytes);
}

}  // namespace
}  // namespace nt
