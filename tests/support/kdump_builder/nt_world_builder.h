// Layer 2: a synthetic x64 NT kernel (the contract is /tmp/nt-world.md,
// kept in docs by the lead): processes, threads, dispatcher objects and
// their waits, resources, drivers, processors, the KDBG block, object
// headers with encoded TypeIndex, all laid out from an ISF (or any
// types::TypeProvider with symbol RVAs) so that no structure offset is
// hard-coded here.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
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
#include "support/kdump_builder/x64_code.h"

namespace nt::isf {
class IsfFile;
}

namespace nt::test::kdump {

// KTHREAD_STATE and dispatcher object types (values fixed by the kernel ABI).
enum ThreadState : uint8_t { Initialized = 0, Ready = 1, Running = 2, Standby = 3, Terminated = 4, Waiting = 5,
                             Transition = 6, DeferredReady = 7 };
enum WaitMode : uint8_t { KernelMode = 0, UserMode = 1 };

struct ProcessSpec {
    std::string name;                    // ImageFileName (first 14 characters kept)
    uint64_t pid = 0, parentPid = 0;
    std::optional<uint32_t> sessionId;   // none: Session stays null
    uint64_t peb = 0;                    // 0: a PEB page is mapped in the process (non-System)
    std::string imagePath;               // NT path for SeAuditProcessCreationInfo (empty: none)
};

struct ThreadSpec {
    uint64_t tid = 0;
    uint8_t state = Waiting;
    uint8_t waitReason = 0;              // KWAIT_REASON (see TypeLayout::enumValue)
    uint8_t waitMode = KernelMode;
    bool alertable = false;
    uint64_t startAddress = 0, win32StartAddress = 0;
    uint64_t teb = 0;                    // 0: none for System threads, a page otherwise
    int8_t priority = 8, basePriority = 8;
    uint32_t waitTime = 0, contextSwitches = 0, kernelTime = 0, userTime = 0;
    uint64_t stackBase = 0;              // 0: the next free kernel stack; else [stackBase - 0x6000, stackBase)
};

struct ThreadInfo {
    uint64_t ethread = 0;
    uint64_t process = 0;                // EPROCESS
    uint64_t stackBase = 0, stackLimit = 0, initialStack = 0, kernelStack = 0;
};

struct ResourceSpec {
    std::vector<uint64_t> owners;        // ETHREADs (exclusive: one)
    bool exclusive = false;
    std::vector<uint64_t> sharedWaiters, exclusiveWaiters;  // ETHREADs made to wait
    uint32_t contentionCount = 0;
};

struct NtWorldOptions {
    uint64_t kernBase = 0xfffff8047ba00000ull;
    unsigned processors = 1;
    unsigned bugcheckProcessor = 0;  // whose context is the header's (and the triage dump's PRCB/thread)
    uint8_t obHeaderCookie = 0x5a;
    uint32_t buildNumber = 19041;
    std::string buildLab;  // NtBuildLab text; empty: "<buildNumber>.1.amd64fre.vb_release.191206-1406"
    uint32_t kernelSizeOfImage = 0x1046000;
    uint32_t kernelTimestamp = 0x0d8333e6;
    bool includeKernelHeaderInTriage = true;  // a data block with nt's PE header page
    // Store the KDBG block in memory encoded the Windows 8+ way (with
    // KiWaitNever/KiWaitAlways set); the triage copy stays clear text.
    bool encodeKdbg = false;
    uint64_t kiWaitNever = 0x6c1b8a3d5e9f0427ull, kiWaitAlways = 0x13f2e5d4c7b6a985ull;
};

class NtWorldBuilder {
public:
    // Layouts and symbol RVAs from the ISF (e.g. corpusFile("jpcert-isf/
    // ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz")).
    explicit NtWorldBuilder(const std::string& isfPath, NtWorldOptions options = {});
    ~NtWorldBuilder();

    // ---- objects -------------------------------------------------------
    uint64_t addProcess(const ProcessSpec& spec);
    uint64_t addProcess(const std::string& name, uint64_t pid, uint64_t parentPid) {
        return addProcess(ProcessSpec{name, pid, parentPid, pid == 4 ? std::nullopt : std::optional<uint32_t>(1), 0});
    }
    ThreadInfo addThread(uint64_t process, const ThreadSpec& spec);
    uint64_t addThread(uint64_t process, uint64_t tid, uint8_t state, uint8_t waitReason, uint8_t waitMode) {
        ThreadSpec s;
        s.tid = tid, s.state = state, s.waitReason = waitReason, s.waitMode = waitMode;
        return addThread(process, s).ethread;
    }
    // The thread waits on the objects (WaitAny unless waitAll): fills
    // Tcb.WaitBlock[] (or a pool array past 4), WaitBlockList,
    // WaitBlockCount and links each block into the object's WaitListHead.
    void waitOn(uint64_t thread, const std::vector<uint64_t>& objects, bool waitAll = false);
    uint64_t addEvent(bool synchronization, bool signaled, const std::string& name = {});
    // An event with the optional headers infoMask selects (0x8: QUOTA_INFO
    // before the header, as the seed-000 event), zero-filled except NAME_INFO.
    uint64_t addEvent(bool synchronization, bool signaled, uint8_t infoMask, const std::string& name = {});
    uint64_t addMutant(uint64_t ownerThread, const std::string& name = {});
    uint64_t addSemaphore(int32_t limit, int32_t count, const std::string& name = {});
    uint64_t addResource(const ResourceSpec& spec);
    uint64_t addDriver(const std::string& name, uint64_t base, uint32_t size, uint32_t timestamp,
                       uint32_t checksum = 0);
    void addUnloadedDriver(const std::string& name, uint64_t start, uint64_t end);

    // ---- processors and the crash --------------------------------------
    // Processor i's current thread (default: its idle thread).
    void setCurrentThread(unsigned processor, uint64_t thread);
    void setContext(const CpuContext& context, unsigned processor = 0);
    void setBugcheck(uint32_t code, std::array<uint64_t, 4> params);
    void setException(const ExceptionInfo& e) { exception_ = e; }
    void addTriageDataBlock(uint64_t va, uint64_t size) { extraBlocks_.push_back({va, size}); }

    // ---- code and stacks (x64 unwind data, see x64_code.h) ---------------
    // nt's function `name` at its ISF RVA with the given prolog; its size
    // runs to the next ISF symbol (at most maxSize bytes).
    const X64Function& defineNtFunction(const std::string& name, const X64Prolog& prolog, uint32_t maxSize = 0x2000);
    // A driver with a PE header (CodeView record for pdbName/guid/age) whose
    // code defineFunction can fill; also on PsLoadedModuleList.
    X64Image& addDriverImage(const std::string& name, uint64_t base, uint32_t size, uint32_t timestamp,
                             const std::string& pdbName, const std::string& guidHex, uint32_t age = 1);
    X64Image& ntImage() { return *images_.at(opt_.kernBase); }
    // A DLL in a process's address space: its PE header (for code and
    // unwind data) and its loader entry at the tail of PEB.Ldr's
    // InLoadOrderModuleList (the PEB and loader data created as needed).
    X64Image& addUserModule(uint64_t process, const std::string& name, uint64_t base, uint32_t size,
                            uint32_t timestamp, const std::string& pdbName, const std::string& guidHex,
                            uint32_t age = 1);
    // A waiting thread's kernel stack: the switch frame at kernelStack
    // (return = frames[0].ip, as SwapContext leaves it), then the frames;
    // a machine frame at the end returns to `user` and becomes the thread's
    // TrapFrame. Sets Tcb.KernelStack. kernelStack must lie in the thread's stack.
    X64StackLayout setWaitingStack(uint64_t thread, uint64_t kernelStack, const std::vector<X64FrameSite>& frames,
                                   const X64MachineReturn& user = {});
    // The same frames for a thread running on a processor: frame 0's
    // registers become the processor's context (rip = frames[0].ip, rsp = childSp).
    X64StackLayout setRunningStack(unsigned processor, uint64_t thread, uint64_t childSp,
                                   const std::vector<X64FrameSite>& frames, const X64MachineReturn& user = {});
    // The address of the KTRAP_FRAME whose rip slot is a machine frame.
    uint64_t trapFrameOf(const X64StackLayout& l) const;

    // ---- output ---------------------------------------------------------
    std::vector<uint8_t> build(uint32_t dumpType, const Corruption& damage = {});
    void buildFile(const std::string& path, uint32_t dumpType, const Corruption& damage = {});
    HeaderInfo header() const;

    // ---- access for tests ------------------------------------------------
    AddressSpace& kernel() { return *kernel_; }
    PhysicalImage& phys() { return phys_; }
    const TypeLayout& layout() const { return *layout_; }
    const isf::IsfFile& isf() const { return *isf_; }
    uint64_t kernBase() const { return opt_.kernBase; }
    uint64_t symbol(const std::string& name) const;  // KernBase + RVA; throws when unknown
    // The KDBG block in clear text (what the memory holds unless encodeKdbg).
    const std::vector<uint8_t>& kdbgClearText() const { return kdbgClear_; }
    uint64_t systemProcess() const { return system_; }
    uint64_t idleThread(unsigned processor) const { return idleThreads_.at(processor); }
    uint64_t kpcr(unsigned processor) const { return kpcrs_.at(processor); }
    uint64_t kprcb(unsigned processor) const;
    uint64_t typeObject(const std::string& typeName) const { return typeObjects_.at(typeName); }
    uint8_t typeIndex(const std::string& typeName) const { return typeIndices_.at(typeName); }
    uint64_t objectHeader(uint64_t object) const;
    AddressSpace& processSpace(uint64_t eprocess);
    const ThreadInfo& thread(uint64_t ethread) const { return threads_.at(ethread); }
    uint64_t ldrEntry(const std::string& baseName) const { return drivers_.at(baseName); }

    // Field writes by path (bitfields read-modify-written).
    void setField(uint64_t address, const std::string& type, const std::string& path, uint64_t value);
    // The same in another address space (a process's user half).
    void setFieldIn(AddressSpace& space, uint64_t address, const std::string& type, const std::string& path,
                    uint64_t value);
    uint64_t getField(uint64_t address, const std::string& type, const std::string& path) const;
    // Fresh zeroed kernel memory (nonpaged pool), mapped.
    uint64_t allocPool(uint64_t size, uint64_t align = 16);
    // A kernel object: optional NAME_INFO, the _OBJECT_HEADER, the body.
    uint64_t allocObject(const std::string& typeName, uint64_t bodySize, const std::string& name = {});
    // The same with any set of optional headers (InfoMask bits), laid out
    // from the type source's sizes; TypeIndex encoded only when the kernel
    // has ObHeaderCookie (Windows 10+), in clear otherwise (Windows 7/8).
    uint64_t allocObjectWithInfo(const std::string& typeName, uint64_t bodySize, uint8_t infoMask,
                                 const std::string& name = {});
    // Place the next pool allocations at va (to reproduce a real dump's
    // addresses); the caller keeps them from overlapping earlier ones.
    void setPoolCursor(uint64_t va) { poolNext_ = va; }
    bool hasSymbol(const std::string& name) const;
    // "_KLDR_DATA_TABLE_ENTRY", or "_LDR_DATA_TABLE_ENTRY" where the kernel has no K variant (Windows 7).
    std::string ldrEntryType() const;

private:
    void syncContexts();  // CONTEXTs into each KPRCB.ProcessorState.ContextFrame
    void writeKernelImageHeader();
    void writeUnwindData();  // each image's .pdata, once, before the first build
    void writeKdbg();
    void createTypes();
    void createProcessors();
    uint64_t createThreadObject(uint64_t process, const ThreadSpec& spec, ThreadInfo& info);
    TriageInfo triageInfo() const;
    std::vector<uint8_t> readKernel(uint64_t va, uint64_t size) const;
    std::vector<uint8_t> kdbgClear_;  // the clear block (for the triage copy when encoded)

    NtWorldOptions opt_;
    std::unique_ptr<isf::IsfFile> isf_;
    std::unique_ptr<TypeLayout> layout_;
    PhysicalImage phys_;
    std::unique_ptr<AddressSpace> kernel_;
    std::deque<AddressSpace> spaces_;
    std::map<uint64_t, AddressSpace*> spaceOf_;  // EPROCESS -> its address space
    std::map<uint64_t, ThreadInfo> threads_;
    std::map<std::string, uint64_t> typeObjects_;
    std::map<std::string, uint8_t> typeIndices_;
    std::map<std::string, uint64_t> drivers_;
    std::vector<TriageUnloadedDriver> unloaded_;
    std::vector<uint64_t> kpcrs_, idleThreads_, currentThreads_;
    std::vector<CpuContext> contexts_;
    std::vector<std::pair<uint64_t, uint64_t>> extraBlocks_;
    std::map<uint64_t, std::unique_ptr<X64Image>> images_;  // by base (user images: base ^ dtb << 1)
    std::map<uint64_t, uint64_t> userHeap_;                 // EPROCESS -> next free loader-heap byte
    std::vector<uint64_t> symbolRvas_;                     // ISF symbols in address order (lazily)
    bool unwindWritten_ = false;
    std::optional<ExceptionInfo> exception_;
    uint32_t bugCheckCode_ = 0;
    std::array<uint64_t, 4> bugCheckParams_{};
    uint64_t system_ = 0, idleProcess_ = 0;
    uint64_t poolNext_ = 0xffffa10000000000ull;
    uint64_t stackNext_ = 0xfffff68000000000ull;
    uint64_t userNext_ = 0x000000d000000000ull;
};

}  // namespace nt::test::kdump
