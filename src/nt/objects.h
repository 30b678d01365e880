// The NT kernel's objects as the debugger sees them: processes, threads,
// their wait blocks and the dispatcher objects they wait on, object headers,
// the loaded-module list and ERESOURCEs, read from a kernel address space
// (nt::Memory) through an NtLayout.
//
// Every value is optional: a dump may lack any byte, and a missing byte is
// reported as missing, never replaced by a made-up 0. Every list walk has a
// cycle guard and a length cap, and stops at the first link it cannot read,
// saying where ("Unable to read _LIST_ENTRY @ fffff8047c61e200", as WinDbg).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memory/memory.h"
#include "nt/layout.h"
#include "target/kernel_info.h"

namespace nt {

// ---- field access ---------------------------------------------------------

// One structure instance in target memory, read field by field.
class StructView {
public:
    StructView(const Memory& mem, const NtLayout& layout, std::string_view type, uint64_t address)
        : mem_(mem), layout_(layout), type_(type), address_(address) {}

    uint64_t address() const { return address_; }
    bool has(std::string_view path) const { return layout_.has(type_, path); }
    std::optional<uint64_t> fieldAddress(std::string_view path) const;
    // Unsigned value (bitfields extracted); fields of 1, 2, 4 or 8 bytes.
    std::optional<uint64_t> u(std::string_view path) const;
    // Sign-extended when the field's type is signed.
    std::optional<int64_t> s(std::string_view path) const;
    // A pointer-sized field (zero-extended on 32-bit targets).
    std::optional<uint64_t> ptr(std::string_view path) const;
    // A fixed char array (ImageFileName), up to its first NUL.
    std::optional<std::string> chars(std::string_view path) const;
    // A _UNICODE_STRING field's text (at most kMaxNameChars characters).
    std::optional<std::string> unicodeString(std::string_view path) const;

private:
    const Memory& mem_;
    const NtLayout& layout_;
    std::string type_;
    uint64_t address_;
};

// Little-endian unsigned read of 1, 2, 4 or 8 bytes.
std::optional<uint64_t> readUnsigned(const Memory& mem, uint64_t addr, uint64_t size);
// A _UNICODE_STRING at addr (Length, MaximumLength, Buffer), at most
// maxChars characters (names are short; a hostile Length is not read whole).
inline constexpr uint64_t kMaxNameChars = 2048;
std::optional<std::string> readUnicodeString(const Memory& mem, uint64_t addr, unsigned ptrSize,
                                             uint64_t maxChars = kMaxNameChars);

// ---- lists ------------------------------------------------------------------

inline constexpr size_t kMaxListEntries = 65536;

struct ListWalk {
    uint64_t head = 0;
    std::vector<uint64_t> entries;       // the LIST_ENTRY of each element, in Flink order (head excluded)
    std::optional<uint64_t> unreadable;  // the link whose Flink could not be read
    bool cycle = false;                  // came back to an element other than the head
    bool capped = false;                 // stopped at the length cap
    bool nullLink = false;               // a Flink of 0
    std::string missing;                 // why the list could not be walked at all (no head address, no link field)

    bool complete() const { return !unreadable && !cycle && !capped && !nullLink && missing.empty(); }
    // WinDbg's message for the walk's problem ("" when complete).
    std::string error(unsigned ptrSize) const;
};

ListWalk walkList(const Memory& mem, uint64_t head, unsigned ptrSize, size_t cap = kMaxListEntries);
// A walk that could not start: the head's address (headName) or the link
// field (type.field) is unknown.
ListWalk unwalkableList(std::optional<uint64_t> head, std::string_view headName, std::optional<uint64_t> linkOffset,
                        std::string_view type, std::string_view field);

// ---- processes and threads -----------------------------------------------------

struct ProcessInfo {
    uint64_t address = 0;
    bool readable = false;                // any of the EPROCESS was read
    std::optional<uint8_t> headerType;    // Pcb.Header.Type (3 = process)
    std::optional<uint64_t> pid, parentPid, dirBase, peb, objectTable, session;
    std::optional<uint32_t> sessionId;    // nullopt with session == 0: "none"
    // What WinDbg prints as "Image:": the file name of the audit path when
    // it is readable (not limited to 15 bytes), else ImageFileName.
    std::optional<std::string> imageName;
    std::optional<std::string> imageFileName;  // EPROCESS.ImageFileName (at most 15 bytes)
    std::optional<std::string> imagePath;      // SeAuditProcessCreationInfo.ImageFileName->Name
    std::optional<uint64_t> handleCount;  // when the dump lets it be counted
    std::optional<uint64_t> threadListHead;  // &EPROCESS.ThreadListHead
    std::optional<uint32_t> activeThreads;
    std::optional<uint64_t> createTime, exitTime;  // FILETIME
    std::optional<uint32_t> kernelTime, userTime;  // Pcb ticks
    std::optional<int64_t> basePriority;
    std::optional<uint64_t> deviceMap, token;      // token: EX_FAST_REF with the count bits cleared
    // Memory statistics (!process flag 1).
    std::optional<uint64_t> vadRoot, vadCount, cloneRoot, privatePages, lockedPages, modifiedPages;
    std::optional<uint64_t> commitCharge, virtualSize, peakVirtualSize, job;
    // Working set (pages) and faults: EPROCESS.Vm(.Instance).
    std::optional<uint64_t> workingSetSize, minimumWorkingSetSize, maximumWorkingSetSize, peakWorkingSetSize;
    std::optional<uint64_t> pageFaultCount, memoryPriority;
    // Pool quota charged (bytes): QuotaBlock->QuotaEntry[PsPagedPool/PsNonPagedPool].Usage,
    // when the type source describes _EPROCESS_QUOTA_BLOCK.
    std::optional<uint64_t> quotaPagedPool, quotaNonPagedPool;
};

struct ThreadInfo {
    uint64_t address = 0;
    bool readable = false;
    std::optional<uint8_t> headerType;    // Tcb.Header.Type (6 = thread)
    std::optional<uint64_t> pid, tid, teb, win32Thread;
    std::optional<uint8_t> state;         // _KTHREAD_STATE
    std::string stateName;                // "Waiting" ("" when unknown)
    std::optional<uint8_t> waitReason;    // _KWAIT_REASON
    std::string waitReasonName;           // "UserRequest"
    std::optional<uint8_t> waitMode;      // 0 KernelMode, 1 UserMode
    std::optional<bool> alertable;
    std::optional<uint64_t> owningProcess;   // Tcb.Process (else ApcState.Process)
    std::optional<uint64_t> apcProcess;      // Tcb.ApcState.Process: the address space it runs in
    std::optional<uint64_t> attachedProcess; // apcProcess when it differs from the owner
    std::optional<uint64_t> initialStack, kernelStack, stackBase, stackLimit;
    std::optional<uint32_t> waitTime, contextSwitches, kernelTime, userTime;
    std::optional<int64_t> priority, basePriority, priorityDecrement;
    std::optional<uint64_t> startAddress, win32StartAddress;
    std::optional<bool> kernelApcPending;
    std::optional<bool> kernelApcListNonEmpty;  // ApcState.ApcListHead[0] not empty
    std::optional<uint64_t> waitBlockList;
    std::optional<uint32_t> waitBlockCount;
    std::optional<uint32_t> idealProcessor, nextProcessor;
    std::optional<uint64_t> affinity;
    std::optional<uint64_t> createTime;
    std::optional<bool> impersonating;          // CrossThreadFlags.ActiveImpersonationInfo
    std::optional<uint32_t> ioPriority, pagePriority;

    bool isWaiting() const { return state && *state == 5; }
    bool isRunning() const { return state && *state == 2; }
};

struct WaitBlockInfo {
    uint64_t address = 0;
    std::optional<uint64_t> object, thread;
    std::optional<uint8_t> waitType;
};

// A dispatcher object a thread waits on, named as !thread names it.
struct DispatcherObject {
    uint64_t address = 0;
    std::optional<uint8_t> type;          // _DISPATCHER_HEADER.Type
    std::string name;                     // "SynchronizationEvent", "Semaphore Limit 0xffff", ...
    std::optional<int64_t> signalState;
    std::optional<uint64_t> ownerThread;  // mutants
    std::optional<int64_t> limit;         // semaphores
};

// The kind name of a _DISPATCHER_HEADER.Type value ("NotificationEvent",
// "Mutant", ...; "" when unknown).
std::string_view dispatcherTypeName(uint8_t type);

// ---- object headers --------------------------------------------------------------

struct ObjectHeaderInfo {
    uint64_t object = 0, header = 0;
    std::optional<uint8_t> storedTypeIndex, typeIndex;  // typeIndex: decoded
    std::optional<uint64_t> typeObject;                 // ObTypeIndexTable[typeIndex]
    std::optional<std::string> typeName;                // "Process", "Event"
    std::optional<uint8_t> infoMask, flags;
    std::optional<int64_t> pointerCount, handleCount;
    // Optional headers present (by InfoMask bit) and where they are.
    struct Optional {
        uint8_t bit = 0;
        std::string type;  // "_OBJECT_HEADER_NAME_INFO"
        uint64_t address = 0;
    };
    std::vector<Optional> optionalHeaders;
    std::optional<std::string> name;       // NAME_INFO.Name
    std::optional<uint64_t> directory;     // NAME_INFO.Directory
    bool oldForm = false;  // the pre-Windows 7 header: a Type pointer, no TypeIndex/InfoMask
};

// ---- modules and resources ---------------------------------------------------------

struct LoadedModule {
    uint64_t entry = 0;  // the _KLDR_DATA_TABLE_ENTRY
    std::optional<uint64_t> base, size, entryPoint;
    std::optional<std::string> fullName, baseName;
    std::optional<uint32_t> timestamp, checksum;
};

struct ModuleList {
    std::vector<LoadedModule> modules;
    ListWalk walk;
};

struct ResourceOwner {
    uint64_t thread = 0;     // OwnerThread (an ETHREAD, low bits cleared)
    uint64_t count = 0;
};

struct ResourceInfo {
    uint64_t address = 0;
    std::optional<int64_t> activeCount;
    std::optional<uint64_t> flag, contentionCount, sharedWaiters, exclusiveWaiters;
    std::optional<uint64_t> sharedWaitersObject, exclusiveWaitersObject;
    std::vector<ResourceOwner> owners;
    bool ownerTableUnread = false;  // OwnerTable present but not read (size not readable, damaged, or over budget)
    bool exclusive() const { return flag && (*flag & 0x80); }  // ResourceOwnedExclusive
};

struct ResourceList {
    std::vector<ResourceInfo> resources;
    ListWalk walk;
};

// Where a thread that is not running resumes: the switch frame SwapContext
// left at KTHREAD.KernelStack (x64: _KSWITCH_FRAME {P1Home..P5Home, MxCsr/
// ApcBypass, Rbp, Return}, 0x40 bytes; ARM64: {ApcBypass, Tpidr, Fp,
// Return}, 0x20 bytes). ip = Return, sp = just above the frame, fp = the
// saved Rbp/Fp: WinDbg's first frame of such a thread is nt!KiSwapContext+n
// with Child-SP = KernelStack + sizeof(_KSWITCH_FRAME).
struct SwitchFrame {
    uint64_t ip = 0, sp = 0, fp = 0;
};

struct ProcessList {
    std::vector<ProcessInfo> processes;
    ListWalk walk;
};

struct ThreadList {
    std::vector<ThreadInfo> threads;
    ListWalk walk;
};

// ---- the facade ---------------------------------------------------------------------

// The kernel's objects in one address space. Construct from the kernel
// dump's memory, the nt type source (PDB or ISF; may be null) and the
// dump's KernelInfo. Globals that are neither in the KernelInfo nor in the
// debugger data (ObHeaderCookie, ObTypeIndexTable) come from a symbol
// resolver ("ObHeaderCookie" -> its virtual address).
class Kernel {
public:
    using SymbolResolver = std::function<std::optional<uint64_t>(std::string_view)>;

    Kernel(const Memory& mem, const types::TypeProvider* types, const KernelInfo& info, unsigned pointerSize = 0);

    void setSymbolResolver(SymbolResolver r) { resolver_ = std::move(r); }

    const Memory& memory() const { return mem_; }
    const NtLayout& layout() const { return layout_; }
    const KernelInfo& info() const { return info_; }
    unsigned pointerSize() const { return layout_.pointerSize(); }
    bool is64() const { return pointerSize() == 8; }

    // The virtual address of a kernel global: the resolver first, then the
    // dump header / debugger data for the globals they carry.
    std::optional<uint64_t> symbolAddress(std::string_view name) const;

    // handlePages: a budget of handle-table pages shared by several calls
    // (decremented as pages are read); nullptr: kMaxHandlePagesPerCall.
    ProcessList processes(size_t cap = kMaxListEntries, uint64_t* handlePages = nullptr) const;
    ProcessInfo process(uint64_t eprocess, uint64_t* handlePages = nullptr) const;
    ThreadList threads(const ProcessInfo& p, size_t cap = kMaxListEntries) const;
    ThreadInfo thread(uint64_t ethread) const;

    // The blocks of a thread's current wait (empty unless it is waiting).
    std::vector<WaitBlockInfo> waitBlocks(const ThreadInfo& t) const;
    std::vector<DispatcherObject> waitObjects(const ThreadInfo& t) const;
    DispatcherObject dispatcherObject(uint64_t address) const;

    std::optional<ObjectHeaderInfo> objectHeader(uint64_t object) const;

    ModuleList loadedModules(size_t cap = kMaxListEntries) const;
    // A process's DLLs: PEB.Ldr->InLoadOrderModuleList of _LDR_DATA_TABLE_ENTRY,
    // read through the process's address space `mem` (its DirBase).
    ModuleList userModules(uint64_t peb, const Memory& mem, size_t cap = kMaxListEntries) const;
    ResourceList resources(size_t cap = kMaxListEntries) const;

    // KiProcessorBlock[cpu] (a KPRCB), from the debugger data.
    std::optional<uint64_t> processorBlock(uint32_t cpu) const;
    // The bugcheck processor's current thread/process: a small dump's stored
    // ones, else KPRCB.CurrentThread and its ApcState.Process.
    std::optional<uint64_t> currentThread() const;
    std::optional<uint64_t> currentProcess() const;

    // The resume point of a thread that is not running (nullopt for 32-bit
    // targets, or when the frame is not in the dump).
    std::optional<SwitchFrame> switchFrame(const ThreadInfo& t) const;
    // x64: offset of KTRAP_FRAME.Rip, where a trap frame's machine frame
    // begins (0x168 on every x64 kernel when the type source lacks it).
    uint64_t trapFrameRipOffset() const;

    // KUSER_SHARED_DATA.TickCount when the dump has that page.
    std::optional<uint64_t> tickCount() const;
    // KeMaximumIncrement: 100 ns units per clock tick.
    std::optional<uint32_t> timeIncrement() const;
    // The processor whose KPRCB.CurrentThread is ethread.
    std::optional<uint32_t> processorRunning(uint64_t ethread) const;

    // Handle count of a process's handle table: _HANDLE_TABLE.HandleCount
    // when the type has it, else entries in use counted in the table pages
    // (nullopt when a page is missing or the page budget runs out).
    std::optional<uint64_t> handleCount(uint64_t handleTable, uint64_t* pageBudget = nullptr) const;
    static constexpr uint64_t kMaxHandlePagesPerCall = 4096;   // a million handles
    static constexpr uint64_t kMaxHandlePagesPerList = 65536;  // 256 MiB of handle tables

private:
    StructView view(std::string_view type, uint64_t address) const { return StructView(mem_, layout_, type, address); }
    std::optional<uint8_t> headerCookie() const;

    const Memory& mem_;
    KernelInfo info_;
    NtLayout layout_;
    SymbolResolver resolver_;
};

}  // namespace nt
