// Reader of Windows kernel crash dumps (PAGEDUMP: 32-bit x86/ARM, PAGEDU64:
// x64/ARM64): the header, the physical memory of full, summary, bitmap and
// the 2022 "RDMP" dumps, and the TRIAGE_DUMP of small dumps.
//
// Everything is a view into the mapped file; nothing is copied except small
// parsed tables (runs, driver list). Every offset and count read from the
// file is checked against the file; a damaged header is a FormatError, a
// damaged optional part (one driver name, the unloaded list) is a warning.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "base/bytes.h"
#include "memory/physical_memory.h"

namespace nt::kdump {

// DUMP_HEADER DumpType values (FACTS.md §1.1).
enum DumpType : uint32_t {
    kFull = 1,
    kSummary = 2,
    kHeaderOnly = 3,
    kTriage = 4,
    kBitmapFull = 5,
    kBitmapKernel = 6,
    kAutomatic = 7,
    kKernelMemory = 8,         // RDMP, kernel pages
    kKernelAndUserMemory = 9,  // RDMP, kernel + user pages
    kCompleteMemory = 10,      // RDMP, all pages
};

// "Full", "Summary", "Triage", "BitmapFull", ... for messages and JSON.
std::string_view dumpTypeName(uint32_t type);

struct ExceptionRecord {
    uint32_t code = 0, flags = 0;
    uint64_t record = 0, address = 0;
    uint32_t numberParameters = 0;            // as stored (may exceed 15 in a damaged file)
    std::vector<uint64_t> parameters;         // min(numberParameters, 15)
};

struct Header {
    bool is64 = false;                        // PAGEDU64
    uint32_t headerSize = 0;                  // 0x1000 or 0x2000
    Machine machine = Machine::Unknown;
    uint32_t machineImageType = 0;
    uint32_t majorVersion = 0;                // 0xf free, 0xc checked
    uint32_t minorVersion = 0;                // build number
    uint64_t directoryTableBase = 0;
    uint64_t pfnDataBase = 0;
    uint64_t psLoadedModuleList = 0;
    uint64_t psActiveProcessHead = 0;
    uint32_t numberProcessors = 0;
    uint32_t bugCheckCode = 0;
    std::array<uint64_t, 4> bugCheckParameters{};
    uint64_t kdDebuggerDataBlock = 0;
    bool paeEnabled = false;                  // 32-bit header only
    uint8_t kdSecondaryVersion = 0;
    uint32_t dumpType = 0;
    uint64_t requiredDumpSpace = 0;
    uint64_t systemTime = 0;                  // FILETIME
    uint64_t systemUpTime = 0;                // 100 ns units
    uint32_t productType = 0, suiteMask = 0, miniDumpFields = 0, secondaryDataState = 0, writerStatus = 0;
    std::string comment;                      // the 128-byte Comment field, up to its NUL
    std::string versionUser;                  // VersionUser, up to its NUL
    Bytes contextRecord;                      // raw CONTEXT bytes of the bugcheck processor (header area)
    ExceptionRecord exception;                // header Exception field
    // Physical memory descriptor of full dumps (header PhysicalMemoryBlock).
    struct Run { uint64_t basePage = 0, pageCount = 0; };
    std::vector<Run> physicalRuns;
    uint64_t physicalPages = 0;               // NumberOfPages as stored
    // Where the stored pages begin (full: header size; bitmap: FirstPage;
    // RDMP: FirstPageOffset); 0 for small and header-only dumps.
    uint64_t firstPageOffset = 0;
};

struct TriageDriver {
    std::string name;         // from the string pool ("amdppm.sys"); empty when unreadable
    std::string path;         // the pool's full string ("\\SystemRoot\\System32\\drivers\\amdppm.sys")
    uint64_t base = 0;        // LdrEntry.DllBase
    uint64_t size = 0;        // LdrEntry.SizeOfImage
    uint32_t timestamp = 0, checksum = 0, flags = 0;
};

struct TriageUnloadedDriver {
    std::string name;
    uint64_t start = 0, end = 0;
    uint64_t unloadTime = 0;  // when stored (0 otherwise)
};

// A block of virtual memory saved in the small dump (stack, PRCB, process,
// thread, data page, data blocks): its virtual address and the bytes.
struct TriageBlock {
    uint64_t address = 0;
    Bytes bytes;
    std::string what;         // "call stack", "data block", "data page", ...
};

struct Triage {
    // TRIAGE_DUMP fields as stored (offsets are file offsets).
    uint32_t servicePackBuild = 0, sizeOfDump = 0, validOffset = 0, contextOffset = 0, exceptionOffset = 0,
             mmOffset = 0, unloadedDriversOffset = 0, prcbOffset = 0, processOffset = 0, threadOffset = 0,
             callStackOffset = 0, sizeOfCallStack = 0, driverListOffset = 0, driverCount = 0, stringPoolOffset = 0,
             stringPoolSize = 0, brokenDriverOffset = 0, triageOptions = 0, dataPageOffset = 0, dataPageSize = 0,
             debuggerDataOffset = 0, debuggerDataSize = 0, dataBlocksOffset = 0, dataBlocksCount = 0;
    uint64_t topOfStack = 0, dataPageAddress = 0;

    Bytes context;            // CONTEXT at ContextOffset (empty when absent)
    std::optional<ExceptionRecord> exception;  // at ExceptionOffset
    // Raw copies of the bugcheck processor's KPRCB, its current process
    // (EPROCESS) and thread (ETHREAD); the extent of each is bounded by the
    // next stored part. Their virtual addresses are not in the file: the
    // kernel layer finds them (KPRCB.CurrentThread, KTHREAD.ApcState.Process).
    Bytes prcb, process, thread;
    Bytes callStack;          // SizeOfCallStack bytes saved from TopOfStack upwards
    Bytes debuggerData;       // KDDEBUGGER_DATA64 copy (clear text)
    Bytes mm;                 // DUMP_MM_STORAGE (memory-manager triage info), when present
    std::vector<TriageDriver> drivers;
    std::vector<TriageUnloadedDriver> unloadedDrivers;
    // Call stack, data page, data blocks and (last, "debugger data") the
    // KDBG copy at the header's KdDebuggerDataBlock, with virtual addresses
    // (narrowed to 32 bits in 32-bit dumps). Blocks may overlap the call
    // stack; on the corpus the overlapping bytes are identical.
    std::vector<TriageBlock> blocks;
    bool complete = false;    // the u32 at ValidOffset is the "TRGD" marker
};

class KernelDumpFile {
public:
    // Parses the header and indexes the physical memory / triage data.
    // Throws FormatError on a non-kernel-dump or a damaged header.
    // `file` must outlive the object (views point into it).
    static std::unique_ptr<KernelDumpFile> parse(Bytes file);

    virtual ~KernelDumpFile() = default;

    const Header& header() const { return header_; }
    // Physical memory for full/summary/bitmap/RDMP dumps; nullptr for small
    // (triage) and header-only dumps.
    const PhysicalMemory* physical() const { return physical_.get(); }
    // The TRIAGE_DUMP of small dumps; nullptr otherwise.
    const Triage* triage() const { return triage_ ? &*triage_ : nullptr; }
    // Non-fatal problems met while reading ("driver 17: name offset outside the string pool").
    const std::vector<std::string>& warnings() const { return warnings_; }
    // File size and how much of it the header says should be there (a cut
    // file is readable: pages past the end are absent).
    uint64_t fileSize() const { return file_.size(); }
    bool truncated() const { return truncated_; }

protected:
    Bytes file_;
    Header header_;
    std::unique_ptr<PhysicalMemory> physical_;
    std::optional<Triage> triage_;
    std::vector<std::string> warnings_;
    bool truncated_ = false;
};

}  // namespace nt::kdump
