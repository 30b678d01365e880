// Writes PAGEDU64 (x64) and PAGEDUMP (x86, PAE flag) kernel dump files from
// a PhysicalImage: full (1), summary (2), triage/small (4), bitmap (5, 6)
// and the 2022 RDMP forms (8, 9, 10). Layouts and their sources:
//
// * Header: FACTS.md §1.4 + Volatility crash_vtypes (_DMP_HEADER /
//   _DMP_HEADER64). Unused header bytes carry the "PAGE" fill pattern.
// * Full (1): PhysicalMemoryBlock runs = the maximal runs of present pages;
//   pages follow the header in run order (at 0x2000 / 0x1000).
// * Summary/bitmap (2 and 6 "SDMP", 5 "FDMP"): the _SUMMARY_DUMP right
//   after the header (0x2000 / 0x1000), the same on 32- and 64-bit dumps
//   (Volatility 3 crash_common, which reads it on Win10 x86 and x64 dumps):
//   signature, "DUMP", FirstPage (file offset of the first page) +0x20,
//   TotalPresentPages +0x28, Pages (bit count) +0x30, bitmap +0x38, then the
//   pages of set bits in pfn order (kdmp-parser BMP_HEADER64, Ghidra
//   FullDumpHeader agree; Volatility 2 had +0x28/+0x30 swapped, Volatility
//   3 documents the fix). The XP-era _SUMMARY_DUMP32 (six ULONGs + an
//   RTL_BITMAP) is not written.
// * RDMP (8, 9, 10; kdmp-parser RDMP_HEADER64): at the header end u32
//   Marker 0x40, "RDMP", "DUMP", u32 0, u64 MetadataSize, u64
//   FirstPageOffset (= header end + 0x20 + MetadataSize); for 8/9 two u64
//   (0), for 10 u32 NumberOfRanges, u16, u16, u64 TotalNumberOfPages; then
//   {u64 pfn, u64 pageCount} ranges ending with a 0 pfn (so pfn 0 cannot be
//   stored), zero padding to a page boundary, then the pages. The 32-bit
//   form (at 0x1000) is our extrapolation (unverified).
// * Triage (4): TRIAGE_DUMP at 0x2000 / 0x1000 (rizin dmp_specs.h), checked
//   against rizin-testbins/triage_x64.dmp: DUMP_MM_STORAGE, unloaded drivers
//   (count then {UNICODE_STRING, WCHAR[12], start, end}), KPRCB, EPROCESS,
//   ETHREAD copies, call stack, KDDEBUGGER_DATA64 copy, driver list
//   ({u32 name offset, u32, KLDR entry 0x88} = 0x90 per driver on x64), the
//   string pool ({u32 chars, UTF-16, NUL} 8-aligned), data blocks
//   ({u64 va, u32 offset, u32 size} in both widths, 32-bit addresses
//   sign-extended: checked on the RPi3 ARM small dump, where rizin's 12-byte
//   32-bit entry is wrong), and "TRGD" at ValidOffset. The 32-bit
//   TRIAGE_DUMP field offsets (TopOfStack 0x48 ... DataBlocksCount 0x64) and
//   DUMP_MM_STORAGE sizes (0x34 / 0x50) were checked on the same files.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/kdump_builder/physical_image.h"

namespace nt::test::kdump {

struct ExceptionInfo {
    uint32_t code = 0, flags = 0;
    uint64_t record = 0, address = 0;
    std::vector<uint64_t> parameters;  // up to 15
};

struct HeaderInfo {
    bool is64 = true;
    bool paeEnabled = false;          // 32-bit only
    uint32_t machineImageType = 0;    // 0: 0x8664 (64-bit) / 0x14c (32-bit)
    uint32_t majorVersion = 0xf;
    uint32_t minorVersion = 19041;
    uint64_t directoryTableBase = 0;
    uint64_t pfnDataBase = 0;
    uint64_t psLoadedModuleList = 0;
    uint64_t psActiveProcessHead = 0;
    uint64_t kdDebuggerDataBlock = 0;
    uint32_t numberProcessors = 1;
    uint32_t bugCheckCode = 0;
    std::array<uint64_t, 4> bugCheckParameters{};
    std::vector<uint8_t> context;     // CONTEXT record (CpuContext::serialize())
    std::optional<ExceptionInfo> exception;
    std::string versionUser;          // empty: left as PAGE fill
    std::string comment;              // empty: left as PAGE fill
    uint64_t systemTime = 0x01d7087d6a4a2000ull;  // a FILETIME (2021-02-21)
    uint64_t systemUpTime = 0x2540be400ull;
    uint32_t productType = 1, suiteMask = 0x110, secondaryDataState = 0, writerStatus = 0;
    uint8_t kdSecondaryVersion = 0;
    std::optional<uint32_t> miniDumpFields;  // default: 0xcff for triage, PAGE fill otherwise
};

struct TriageDriver {
    std::string name;                 // "\\SystemRoot\\system32\\ntoskrnl.exe"
    uint64_t base = 0;
    uint32_t size = 0, timestamp = 0, checksum = 0, flags = 0;
};

struct TriageUnloadedDriver {
    std::string name;                 // at most 12 UTF-16 units are kept inline
    uint64_t start = 0, end = 0;
};

struct TriageDataBlock {
    uint64_t address = 0;
    std::vector<uint8_t> bytes;
};

struct TriageInfo {
    uint32_t servicePackBuild = 0;
    std::vector<uint8_t> prcb, process, thread;  // raw copies (may be empty)
    uint64_t topOfStack = 0;
    std::vector<uint8_t> callStack;              // bytes from topOfStack upwards
    std::vector<TriageDriver> drivers;
    std::vector<TriageUnloadedDriver> unloadedDrivers;
    std::vector<uint8_t> debuggerData;           // clear-text KDDEBUGGER_DATA64
    std::vector<TriageDataBlock> dataBlocks;
    std::optional<TriageDataBlock> dataPage;
    bool mmInfo = true;                          // write a DUMP_MM_STORAGE
};

// Deliberate damage for negative tests.
struct Corruption {
    std::optional<uint64_t> cutAt;    // truncate the file to this size
    // Bitmap/full/RDMP: describe this many more pages (past the highest
    // present pfn) than the file holds.
    uint64_t overclaimPages = 0;
};

// Where each part of the written file is (for tests that poke at bytes).
struct Layout {
    uint64_t headerSize = 0;
    uint64_t firstPageOffset = 0;     // full/bitmap/RDMP: offset of the first page
    std::vector<uint64_t> pagePfns;   // pfn stored at firstPageOffset + i * 0x1000
    uint64_t fileSize = 0;
    // Triage: offsets of the parts (0 when absent)
    uint64_t triageOffset = 0, prcbOffset = 0, processOffset = 0, threadOffset = 0, callStackOffset = 0,
             driverListOffset = 0, stringPoolOffset = 0, debuggerDataOffset = 0, dataBlocksOffset = 0,
             unloadedDriversOffset = 0, mmOffset = 0, validOffset = 0;
};

class DumpWriter {
public:
    DumpWriter(const PhysicalImage& phys, HeaderInfo header) : phys_(phys), header_(std::move(header)) {}

    // Only pages for which the filter returns true are stored (e.g. drop
    // user pages for a kernel dump). Default: every present page.
    void setPageFilter(std::function<bool(uint64_t pfn)> f) { filter_ = std::move(f); }
    void setTriage(TriageInfo t) { triage_ = std::move(t); }

    std::vector<uint8_t> write(uint32_t dumpType, const Corruption& damage = {}) const;
    // Streams to a file: synthetic pages become holes of a sparse file, so
    // a dump of many GiB of present memory costs little disk and memory.
    void writeFile(const std::string& path, uint32_t dumpType, const Corruption& damage = {}) const;

    // The layout of the last write()/writeFile().
    const Layout& layout() const { return layout_; }

    uint32_t headerSize() const { return header_.is64 ? 0x2000 : 0x1000; }

    class Sink;  // where bytes go: a vector or a sparse file

private:
    void emit(Sink& out, uint32_t dumpType, const Corruption& damage) const;
    std::vector<uint64_t> storedPfns() const;
    std::vector<uint8_t> headerBytes(uint32_t dumpType, const std::vector<PfnRun>& runs) const;
    void emitPages(Sink& out, uint64_t offset, const std::vector<uint64_t>& pfns) const;
    void emitTriage(Sink& out) const;

    const PhysicalImage& phys_;
    HeaderInfo header_;
    std::function<bool(uint64_t)> filter_;
    std::optional<TriageInfo> triage_;
    mutable Layout layout_;
};

// Helpers shared with tests.
std::vector<PfnRun> runsOf(const std::vector<uint64_t>& sortedPfns);

}  // namespace nt::test::kdump
