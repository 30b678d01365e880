// Layer 2 for 32-bit x86 kernels (non-PAE and PAE): a synthetic Windows XP
// (5.1.2600) world laid out with the built-in XP SP3 table
// (src/nt/builtin_types.h; no x86 ISF exists in the corpus): processes,
// threads, drivers with PE headers whose CodeView records name Breakpad .sym
// files written next to the dump, processors (KPCR at 0xffdff000, KPRCB,
// GDT, IDT, TSSs), the debugger data block and the dump header.
//
// What XP itself would hold is what is written: the KDBG is the 0x290-byte
// XP block (no Offset*/Size* fields: a debugger needs nt's types to find the
// current thread), EPROCESS.Pcb.DirectoryTableBase is a [2] Uint4B array,
// object headers are the XP form (a Type pointer, Body at +0x18).
//
// Objects may be placed at chosen addresses (the seeds' transcripts name
// them: KTHREAD 8ab54388, EPROCESS 885ba400...): the pages are mapped on
// demand in the kernel half every process shares.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arch/context.h"
#include "support/kdump_builder/address_space.h"
#include "support/kdump_builder/dump_writer.h"
#include "support/kdump_builder/physical_image.h"
#include "support/kdump_builder/type_layout.h"

namespace nt::test::kdump {

// Breakpad records of a synthetic module (rva relative to the module base).
struct SymFunc {
    uint32_t rva = 0, size = 0, paramSize = 0;
    std::string name;
};
struct SymPublic {
    uint32_t rva = 0, paramSize = 0;
    std::string name;
};
struct SymStackWin {
    uint32_t type = 4;  // 0 FPO, 2 FRAME_TSS, 3 non-FPO, 4 FrameData
    uint32_t rva = 0, codeSize = 0, prologSize = 0, epilogSize = 0, paramSize = 0, savedRegsSize = 0,
             localsSize = 0, maxStackSize = 0;
    std::string program;          // FrameData program (type 4); empty otherwise
    bool allocatesBasePointer = false;
};
// The program of a conventional `push ebp; mov ebp, esp` function.
inline constexpr const char* kEbpFrameProgram = "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =";

// STACK WIN records of the two shapes the synthetic worlds use: a
// conventional ebp frame (FrameData with kEbpFrameProgram), and a frameless
// function (FPO) with `locals` bytes between esp and its return address.
inline SymStackWin ebpFrameRecord(uint32_t rva, uint32_t size, uint32_t params) {
    SymStackWin s;
    s.type = 4, s.rva = rva, s.codeSize = size, s.prologSize = 3, s.paramSize = params;
    s.program = kEbpFrameProgram;
    return s;
}
inline SymStackWin fpoFrameRecord(uint32_t rva, uint32_t size, uint32_t locals = 0) {
    SymStackWin s;
    s.type = 0, s.rva = rva, s.codeSize = size, s.localsSize = locals;
    return s;
}

struct X86Module {
    std::string file;             // "ntoskrnl.exe", "fltMgr.sys"
    uint64_t base = 0;
    uint32_t size = 0, timestamp = 0, checksum = 0;
    std::string pdb;              // "ntoskrnl.pdb"; empty: no CodeView record
    std::string guid;             // 32 hex digits (Data1..Data4 as the store prints them)
    uint32_t age = 1;
    std::vector<SymFunc> funcs;
    std::vector<SymPublic> publics;
    std::vector<SymStackWin> stackWin;
    bool writeSym = true;         // false: the module has no symbol file (as in seed 002's HAIBAO)
};

struct X86WorldOptions {
    // The layouts: builtinTypesFor(Machine::X86, 2600) (src/nt/builtin_types.h),
    // passed in so that this library needs no link to the NT layer.
    std::shared_ptr<const types::TypeProvider> types;
    bool pae = false;
    uint32_t buildNumber = 2600;
    unsigned processors = 1;
    uint32_t kdbgSize = 0x290;          // XP's KDDEBUGGER_DATA64 size (0x308+ adds the Offset* fields)
    uint64_t kernelDirBasePfn = 0x30;   // System's DirBase 0x30000 (seed 002)
    uint64_t kpcr = 0xffdff000;         // processor 0's KPCR; others follow down by 0x1000... in pool
    uint64_t gdt = 0x8003f000, idt = 0x8003f400;
    uint32_t kernelDataRva = 0x17d000;  // nt's globals (list heads, KDBG, KiProcessorBlock) live here
    uint64_t poolBase = 0x82000000;     // objects not placed explicitly
    uint64_t systemPid = 4;             // 8 on Windows 2000 (seed 002 keeps it)
    std::optional<uint64_t> systemAddress;
    std::string buildLab = "2600.xpsp_sp3_gdr.080814-1236";
};

struct X86ProcessSpec {
    std::string name;
    uint64_t pid = 0, parentPid = 0;
    std::optional<uint32_t> sessionId;  // none: Session stays null
    std::optional<uint64_t> address;    // the EPROCESS (its object header sits 0x18 below)
    std::optional<uint64_t> dirBasePfn; // where its page directory (PDPT with PAE) goes
    uint64_t peb = 0x7ffdf000;          // mapped in the process for pid > 8
};

struct X86ThreadSpec {
    uint64_t tid = 0;
    uint8_t state = 5, waitReason = 0, waitMode = 0;  // Waiting, Executive, KernelMode
    int8_t priority = 8, basePriority = 8;
    std::optional<uint64_t> address;                  // the ETHREAD
    uint64_t stackBase = 0;                            // 0: allocated
    uint32_t stackSize = 0x3000;
    uint64_t startAddress = 0, win32StartAddress = 0, teb = 0;
};

// The state a TSS holds (Intel SDM vol. 3 §7.2.1; NT names EFLAGS..EDI NotUsed2).
struct X86TssState {
    uint16_t backlink = 0;
    uint32_t esp0 = 0;
    uint16_t ss0 = 0x10;
    uint32_t cr3 = 0, eip = 0, eflags = 0, eax = 0, ecx = 0, edx = 0, ebx = 0, esp = 0, ebp = 0, esi = 0, edi = 0;
    uint16_t es = 0x23, cs = 0x8, ss = 0x10, ds = 0x23, fs = 0x30, gs = 0, ldt = 0, flags = 0;
    uint16_t ioMapBase = 0x20ac;
};

class X86WorldBuilder {
public:
    X86WorldBuilder(X86WorldOptions options, X86Module kernel);
    ~X86WorldBuilder();

    // ---- modules, objects -------------------------------------------------
    // PE header (+ CodeView) at base, a loader entry on PsLoadedModuleList.
    uint64_t addModule(const X86Module& m);
    uint64_t addProcess(const X86ProcessSpec& spec);
    uint64_t addThread(uint64_t process, const X86ThreadSpec& spec);
    const X86ThreadSpec& threadSpec(uint64_t ethread) const { return threads_.at(ethread); }
    // Dispatcher objects in pool (object header + body; their object types
    // "Event"/"Mutant" are made on first use) and a thread's wait on them
    // (XP: the KWAIT_BLOCKs inline in KTHREAD.WaitBlock, a NextWaitBlock ring).
    uint64_t addEvent(bool synchronization, bool signaled);
    uint64_t addMutant(uint64_t ownerThread);
    void waitOn(uint64_t thread, const std::vector<uint64_t>& objects, bool waitAll = false);

    // ---- processors, tasks and the crash -------------------------------------
    void setCurrentThread(unsigned processor, uint64_t thread);
    void setContext(const CpuContext& context, unsigned processor = 0);
    // A KTSS at va (mapped) and its GDT descriptor at `selector` (busy or available 32-bit TSS).
    uint64_t addTss(uint16_t selector, uint64_t va, const X86TssState& state, bool busy);
    // KPCR.TSS and KPRCB.ProcessorState.SpecialRegisters.Tr of a processor.
    void setCurrentTss(unsigned processor, uint64_t tssVa, uint16_t selector);
    // IDT entry `vector` as a task gate to `selector` (the double-fault gate).
    void setTaskGate(unsigned processor, unsigned vector, uint16_t selector);
    void setBugcheck(uint32_t code, std::array<uint64_t, 4> params);
    // The header's DirectoryTableBase (CR3 of the bugcheck processor); default: System's.
    void setHeaderCr3(uint64_t cr3) { headerCr3_ = cr3; }
    // Triage (4): besides nt's header page and nt's globals page, these bytes
    // go into the small dump as data blocks.
    void addTriageDataBlock(uint64_t va, uint64_t size) { extraBlocks_.push_back({va, size}); }

    // ---- memory helpers ----------------------------------------------------------
    uint64_t allocPool(uint64_t size, uint64_t align = 8);
    void write(uint64_t va, const std::vector<uint8_t>& bytes);  // maps as needed
    void writeU32(uint64_t va, uint32_t v);
    // `call target` (E8 rel32) ending at returnAddress.
    void writeCall(uint64_t returnAddress, uint64_t target);
    void setField(uint64_t address, const std::string& type, const std::string& path, uint64_t value);
    uint64_t getField(uint64_t address, const std::string& type, const std::string& path) const;

    // ---- output ---------------------------------------------------------------------
    // <dir>/<pdb>/<GUID><AGE>/<stem>.sym for every module with records.
    void writeSymbols(const std::string& dir) const;
    HeaderInfo header() const;
    // The small-dump view (type 4): processor 0's KPRCB, its current thread
    // and that thread's process, the stack from esp to the stack base, the
    // driver list, the KDBG copy (XP's 0x290 bytes) and the data blocks.
    TriageInfo triageInfo() const;
    std::vector<uint8_t> build(uint32_t dumpType);
    void buildFile(const std::string& path, uint32_t dumpType);

    // ---- access ------------------------------------------------------------------------
    AddressSpace& kernel() { return *kernel_; }
    PhysicalImage& phys() { return phys_; }
    const TypeLayout& layout() const { return *layout_; }
    const types::TypeProvider& types() const { return *types_; }
    uint64_t kernBase() const { return kernelModule_.base; }
    uint64_t kpcr(unsigned processor) const { return kpcrs_.at(processor); }
    uint64_t kprcb(unsigned processor) const { return kpcrs_.at(processor) + 0x120; }
    uint64_t systemProcess() const { return system_; }
    uint64_t idleThread(unsigned processor) const { return idleThreads_.at(processor); }
    uint64_t kdbgAddress() const { return global(kKdbg); }
    uint64_t psActiveProcessHead() const { return global(kActiveProcessHead); }
    uint64_t psLoadedModuleList() const { return global(kLoadedModuleList); }
    uint64_t kiProcessorBlock() const { return global(kProcessorBlock); }
    AddressSpace& processSpace(uint64_t eprocess) { return *spaceOf_.at(eprocess); }

private:
    // Offsets of nt's globals inside the kernel data area.
    enum Global : uint32_t { kActiveProcessHead = 0x0, kLoadedModuleList = 0x8, kProcessorBlock = 0x10,
                             kBugcheckData = 0x90, kBuildLab = 0xc0, kKdbg = 0x200, kPfnDatabase = 0x600 };
    uint64_t global(Global g) const { return kernelModule_.base + opt_.kernelDataRva + g; }
    uint64_t allocObject(const std::string& typeName, uint64_t bodySize, std::optional<uint64_t> at);
    void writePeHeader(const X86Module& m);
    void writeDescriptor(unsigned processor, uint16_t selector, uint64_t base, uint32_t limit, uint8_t access,
                         uint8_t flags);
    void createProcessors();
    void writeKdbg();
    uint64_t objectType(const std::string& name);
    void syncContexts();

    X86WorldOptions opt_;
    X86Module kernelModule_;
    std::shared_ptr<const types::TypeProvider> types_;
    std::unique_ptr<TypeLayout> layout_;
    PhysicalImage phys_;
    std::unique_ptr<AddressSpace> kernel_;
    std::deque<AddressSpace> spaces_;
    std::map<uint64_t, AddressSpace*> spaceOf_;
    std::map<uint64_t, X86ThreadSpec> threads_;
    std::map<std::string, uint64_t> typeObjects_;
    std::vector<X86Module> modules_;
    std::vector<uint64_t> kpcrs_, idleThreads_;
    std::vector<CpuContext> contexts_;
    uint32_t bugCheckCode_ = 0;
    std::array<uint64_t, 4> bugCheckParams_{};
    std::optional<uint64_t> headerCr3_;
    std::vector<std::pair<uint64_t, uint64_t>> extraBlocks_;
    std::vector<uint64_t> userPfns_;  // PEB pages: left out of kernel dumps (2, 6)
    uint64_t system_ = 0, idleProcess_ = 0;
    uint64_t poolNext_;
    uint64_t stackNext_ = 0xf8000000;
};

}  // namespace nt::test::kdump
