// The debugger-user's model of a user-mode dump: threads, modules, the
// exception, system facts. Dump readers (dump/minidump, dump/userdump) fill it;
// everything above (unwind, symbols, commands) reads only this.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arch/context.h"
#include "arch/machine.h"
#include "memory/memory.h"
#include "memory/physical_memory.h"
#include "target/kernel_info.h"

namespace nt {

// CodeView (RSDS) identity of a module's PDB.
struct CodeViewInfo {
    std::array<uint8_t, 16> guid{};  // as stored (Data1..3 little-endian)
    uint32_t age = 0;
    std::string pdbName;
    bool isPdb70 = true;  // false: NB10 record (signature in guid[0..3])

    // "7DD47A9FC2E8499AA78EC14AE2C965A2" (symbol-store form, no age).
    std::string guidString() const;
    // "{7dd47a9f-c2e8-499a-a78e-c14ae2c965a2}" as printed by lmv.
    std::string guidBraced() const;
};

struct VersionInfo {  // VS_FIXEDFILEINFO subset
    uint32_t fileVersionMS = 0, fileVersionLS = 0, productVersionMS = 0, productVersionLS = 0;
    uint32_t fileFlags = 0, fileOS = 0, fileType = 0;
    bool present = false;
};

struct Module {
    uint64_t base = 0;
    uint64_t size = 0;
    uint32_t timestamp = 0;
    uint32_t checksum = 0;
    std::string path;  // as recorded in the dump ("C:\\Windows\\System32\\ntdll.dll")
    std::string name;  // debugger module name: file name without extension ("ntdll")
    std::optional<CodeViewInfo> codeView;
    VersionInfo version;

    uint64_t end() const { return base + size; }
    bool contains(uint64_t a) const { return a >= base && a - base < size; }
    // File name with extension ("ntdll.dll").
    std::string fileName() const;
};

struct UnloadedModule {
    uint64_t base = 0;
    uint64_t size = 0;
    uint32_t timestamp = 0;
    uint32_t checksum = 0;
    std::string name;  // file name as recorded
};

struct Thread {
    uint32_t id = 0;
    uint32_t suspendCount = 0;
    uint32_t priorityClass = 0;
    uint32_t priority = 0;
    uint64_t teb = 0;
    uint64_t stackStart = 0;  // lowest address of the captured stack
    uint64_t stackSize = 0;
    std::optional<CpuContext> context;  // absent when the dump has none
    std::string name;                   // ThreadNames stream, empty when none
    // ThreadInfoList (when present)
    bool hasInfo = false;
    uint32_t dumpFlags = 0, dumpError = 0, exitStatus = 0;
    uint64_t createTime = 0, exitTime = 0, kernelTime = 0, userTime = 0, startAddress = 0, affinity = 0;
};

struct ExceptionInfo {
    uint32_t threadId = 0;
    uint32_t code = 0;
    uint32_t flags = 0;
    uint64_t record = 0;  // nested record pointer
    uint64_t address = 0;
    std::vector<uint64_t> parameters;  // NumberParameters (<= 15)
    std::optional<CpuContext> context;  // the exception context (.ecxr)
    bool firstChance = false;          // legacy user dumps know; minidumps do not
    bool firstChanceKnown = false;
};

struct SystemInfo {
    Machine machine = Machine::Unknown;
    uint16_t processorArchitecture = 0;
    uint16_t processorLevel = 0, processorRevision = 0;
    uint8_t numberOfProcessors = 0;
    uint8_t productType = 0;  // 1 workstation, 2 DC, 3 server
    uint32_t majorVersion = 0, minorVersion = 0, buildNumber = 0, platformId = 0;
    std::string csdVersion;  // "Service Pack 1"
    uint16_t suiteMask = 0;
    std::string cpuVendor;  // x86: "GenuineIntel"
    uint32_t cpuVersionInformation = 0, cpuFeatureInformation = 0;
    bool present = false;
};

struct MiscInfo {
    uint32_t flags1 = 0;
    std::optional<uint32_t> processId;
    std::optional<uint32_t> processCreateTime, processUserTime, processKernelTime;  // time_t / seconds
    std::optional<uint32_t> maxMhz, currentMhz;
    std::string buildString, dbgBuildString;  // MiscInfo 4
    std::optional<uint32_t> timeZoneId;
    uint32_t version = 0;  // 1..5 by size
};

struct HandleInfo {
    uint64_t handle = 0;
    std::string typeName, objectName;
    uint32_t attributes = 0, grantedAccess = 0, handleCount = 0, pointerCount = 0;
    uint32_t objectInfoRva = 0;
};

// MINIDUMP_SYSTEM_MEMORY_INFO_1 BasicInfo (SystemMemoryInfoStream).
struct SystemMemoryInfo {
    uint32_t pageSize = 0, allocationGranularity = 0, numberOfPhysicalPages = 0, numberOfProcessors = 0;
    uint64_t minimumUserAddress = 0, maximumUserAddress = 0, activeProcessorsAffinityMask = 0;
    bool present = false;
};

// MINIDUMP_PROCESS_VM_COUNTERS_1/_2 (ProcessVmCountersStream), in bytes.
struct ProcessVmCounters {
    uint32_t pageFaultCount = 0;
    uint64_t peakWorkingSetSize = 0, workingSetSize = 0, quotaPeakPagedPoolUsage = 0, quotaPagedPoolUsage = 0,
             quotaPeakNonPagedPoolUsage = 0, quotaNonPagedPoolUsage = 0, pagefileUsage = 0, peakPagefileUsage = 0,
             privateUsage = 0;
    std::optional<uint64_t> peakVirtualSize, virtualSize;  // revision 2 only
    bool present = false;
};

// One region of the address-space map (MINIDUMP_MEMORY_INFO / legacy user
// dump MEMORY_BASIC_INFORMATION64): what !address reports.
struct MemoryRegionInfo {
    uint64_t base = 0, allocationBase = 0, size = 0;
    uint32_t allocationProtect = 0, state = 0, protect = 0, type = 0;
};

// A stream the reader met but does not interpret (listed, never fatal).
struct StreamEntry {
    uint32_t type = 0;
    uint32_t size = 0;
    uint64_t offset = 0;
    std::string name;  // "ThreadListStream", or "" for unknown types
};

// One user-mode process as captured by a dump.
class Target {
public:
    virtual ~Target() = default;

    // The machine of the dump itself (x64 for a 64-bit dump of a WoW64 process).
    Machine machine = Machine::Unknown;
    std::string dumpKind;  // "minidump", "user full dump (USERDU64)", ...
    std::string dumpPath;
    uint32_t dumpTimestamp = 0;  // seconds since 1970 (MDMP header TimeDateStamp)
    uint64_t dumpFlags = 0;      // MINIDUMP_TYPE

    std::vector<Thread> threads;
    std::vector<Module> modules;  // sorted by base after finalize()
    std::vector<UnloadedModule> unloadedModules;
    std::optional<ExceptionInfo> exception;
    SystemInfo system;
    MiscInfo misc;
    std::vector<HandleInfo> handles;
    std::vector<std::string> comments;
    std::vector<StreamEntry> streams;
    std::vector<MemoryRegionInfo> memoryRegions;  // address-space map, when the dump has one
    SystemMemoryInfo systemMemory;
    ProcessVmCounters vmCounters;
    // Index into threads of the thread that was current when the dump was
    // written (exception thread if any, otherwise 0).
    size_t eventThread = 0;

    virtual const Memory& memory() const = 0;

    // Kernel dumps: the kernel's facts (nullopt for user-mode dumps).
    std::optional<KernelInfo> kernel;
    bool isKernel() const { return kernel.has_value(); }
    // Kernel dumps with physical memory: the address space under another
    // directory table base (a process's DirBase), owned by the target and
    // kept for its lifetime; nullptr when the dump has no page tables.
    virtual const Memory* addressSpace(uint64_t /*directoryTableBase*/) const { return nullptr; }
    virtual const PhysicalMemory* physicalMemory() const { return nullptr; }
    // `.process /p`: read through that DirBase from now on (nullopt: the
    // dump's own). No-op for dumps without page tables.
    virtual void setUserAddressSpace(std::optional<uint64_t> /*directoryTableBase*/) {}

    const Module* moduleAt(uint64_t addr) const;
    const Module* moduleByName(std::string_view name) const;  // case-insensitive, name or file name
    const Thread* threadById(uint32_t tid) const;

    // Sorts modules by base and fixes eventThread from the exception thread id.
    void finalize();
};

}  // namespace nt
