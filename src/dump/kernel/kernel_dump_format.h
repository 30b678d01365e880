// File offsets of the kernel dump structures (DUMP_HEADER32/64, the bitmap
// _SUMMARY_DUMP, the RDMP header and TRIAGE_DUMP). Sources: Volatility's
// crash vtypes, rekall/kdmp-parser (64-bit header, bitmap, RDMP), rizin
// dmp_specs.h (TRIAGE_DUMP). Where those disagree, the real corpus files
// decided; each such choice is marked "verified:".
#pragma once

#include <cstdint>

namespace nt::kdump::layout {

inline constexpr uint32_t kSignature = 0x45474150;   // "PAGE"
inline constexpr uint32_t kValidDump32 = 0x504d5544; // "DUMP"
inline constexpr uint32_t kValidDump64 = 0x34365544; // "DU64"

// DUMP_HEADER64 (0x2000 bytes). verified: all offsets on the four x64/ARM64
// corpus dumps (build, bugcheck, KdDebuggerDataBlock, DumpType, SystemTime).
namespace h64 {
inline constexpr uint32_t kSize = 0x2000;
inline constexpr uint32_t kMajorVersion = 0x08, kMinorVersion = 0x0c;
inline constexpr uint32_t kDirectoryTableBase = 0x10, kPfnDataBase = 0x18;
inline constexpr uint32_t kPsLoadedModuleList = 0x20, kPsActiveProcessHead = 0x28;
inline constexpr uint32_t kMachineImageType = 0x30, kNumberProcessors = 0x34;
inline constexpr uint32_t kBugCheckCode = 0x38, kBugCheckParameters = 0x40;  // 4 x u64
inline constexpr uint32_t kVersionUser = 0x60;                                // 32 bytes
inline constexpr uint32_t kKdDebuggerDataBlock = 0x80;
inline constexpr uint32_t kPhysicalMemoryBlock = 0x88;  // u32 runs, u32 pad, u64 pages, runs {u64,u64}
inline constexpr uint32_t kRuns = 0x98;
inline constexpr uint32_t kContextRecord = 0x348, kContextSize = 3000;
inline constexpr uint32_t kException = 0xf00;  // EXCEPTION_RECORD64, 0x98 bytes
inline constexpr uint32_t kDumpType = 0xf98, kRequiredDumpSpace = 0xfa0, kSystemTime = 0xfa8;
inline constexpr uint32_t kComment = 0xfb0;  // 128 bytes
inline constexpr uint32_t kSystemUpTime = 0x1030, kMiniDumpFields = 0x1038, kSecondaryDataState = 0x103c;
inline constexpr uint32_t kProductType = 0x1040, kSuiteMask = 0x1044, kWriterStatus = 0x1048;
inline constexpr uint32_t kKdSecondaryVersion = 0x104d;
}  // namespace h64

// DUMP_HEADER32 (0x1000 bytes). verified on RPi3_ARM_mini.cab.dmp:
// BugCheckCode 0x28, MachineImageType 0x20 (0x1c4), DumpType 0xf88, and the
// tail after WriterStatus follows Volatility (RequiredDumpSpace 0xfa0,
// SystemUpTime 0xfb8, SystemTime 0xfc0 = 2018-07), not rizin's packed one.
namespace h32 {
inline constexpr uint32_t kSize = 0x1000;
inline constexpr uint32_t kMajorVersion = 0x08, kMinorVersion = 0x0c;
inline constexpr uint32_t kDirectoryTableBase = 0x10, kPfnDataBase = 0x14;
inline constexpr uint32_t kPsLoadedModuleList = 0x18, kPsActiveProcessHead = 0x1c;
inline constexpr uint32_t kMachineImageType = 0x20, kNumberProcessors = 0x24;
inline constexpr uint32_t kBugCheckCode = 0x28, kBugCheckParameters = 0x2c;  // 4 x u32
inline constexpr uint32_t kVersionUser = 0x3c;                                // 32 bytes
inline constexpr uint32_t kPaeEnabled = 0x5c, kKdSecondaryVersion = 0x5d;
inline constexpr uint32_t kKdDebuggerDataBlock = 0x60;
inline constexpr uint32_t kPhysicalMemoryBlock = 0x64;  // u32 runs, u32 pages, runs {u32,u32}
inline constexpr uint32_t kRuns = 0x6c;
inline constexpr uint32_t kContextRecord = 0x320, kContextSize = 1200;
inline constexpr uint32_t kException = 0x7d0;  // EXCEPTION_RECORD32, 0x50 bytes
inline constexpr uint32_t kComment = 0x820;
inline constexpr uint32_t kDumpType = 0xf88, kMiniDumpFields = 0xf8c, kSecondaryDataState = 0xf90;
inline constexpr uint32_t kProductType = 0xf94, kSuiteMask = 0xf98, kWriterStatus = 0xf9c;
inline constexpr uint32_t kRequiredDumpSpace = 0xfa0, kSystemUpTime = 0xfb8, kSystemTime = 0xfc0;
}  // namespace h32

// _SUMMARY_DUMP at the end of the header (dump types 2, 5, 6), the layout
// Volatility 3 shares between 32- and 64-bit dumps and kdmp-parser's
// BMP_HEADER64: "SDMP"/"FDMP", "DUMP", FirstPage (file offset of the first
// stored page) +0x20, TotalPresentPages +0x28, Pages (bits) +0x30, bitmap +0x38.
// Not verified on a real file (the corpus has no bitmap dump); the old
// 32-bit summary dumps of Windows XP may use a different header.
namespace bmp {
inline constexpr uint32_t kSignatureSummary = 0x504d4453;  // "SDMP"
inline constexpr uint32_t kSignatureFull = 0x504d4446;     // "FDMP"
inline constexpr uint32_t kFirstPage = 0x20, kTotalPresentPages = 0x28, kPages = 0x30, kBitmap = 0x38;
}  // namespace bmp

// RDMP header at 0x2000 (types 8, 9, 10; kdmp-parser RDMP_HEADER64):
// u32 Marker 0x40, "RDMP", "DUMP", u32, u64 MetadataSize, u64 FirstPageOffset,
// then 0x10 bytes (types 8/9: two u64; type 10: u32 NumberOfRanges, u16, u16,
// u64 TotalNumberOfPages), then {u64 Pfn, u64 NumberOfPages} ranges up to
// FirstPageOffset (= 0x2020 + MetadataSize). Not verified on a real file.
namespace rdmp {
inline constexpr uint32_t kMarker = 0x40;
inline constexpr uint32_t kSignature = 0x504d4452;  // "RDMP"
inline constexpr uint32_t kMetadataSize = 0x10, kFirstPageOffset = 0x18;
inline constexpr uint32_t kTotalNumberOfPages = 0x28;  // type 10
inline constexpr uint32_t kRanges = 0x30;
}  // namespace rdmp

}  // namespace nt::kdump::layout
