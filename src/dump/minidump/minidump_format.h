// Layouts of the Windows minidump format (MDMP), as byte offsets.
//
// The file is read through nt::Bytes, never by casting packed structs onto
// the mapping, so this header only names sizes and field offsets (from
// Microsoft's minidumpapiset.h documentation; LLVM's BinaryFormat/Minidump.h
// has the same layouts). All fields are little-endian.
#pragma once

#include <cstdint>
#include <string_view>

namespace nt::mdmp {

inline constexpr uint32_t kSignature = 0x504d444d;  // "MDMP"
inline constexpr uint16_t kVersionLow = 0xa793;     // MINIDUMP_VERSION (low word of Version)

// MINIDUMP_HEADER (32 bytes)
namespace header {
inline constexpr uint64_t kSignature = 0, kVersion = 4, kNumberOfStreams = 8, kStreamDirectoryRva = 12,
                          kCheckSum = 16, kTimeDateStamp = 20, kFlags = 24;
inline constexpr uint64_t kSize = 32;
}  // namespace header

// MINIDUMP_DIRECTORY (12 bytes): StreamType, Location {DataSize, Rva}
inline constexpr uint64_t kDirectoryEntrySize = 12;
// MINIDUMP_LOCATION_DESCRIPTOR (8 bytes): DataSize u32, Rva u32
inline constexpr uint64_t kLocationSize = 8;

enum StreamType : uint32_t {
    kUnusedStream = 0,
    kThreadListStream = 3,
    kModuleListStream = 4,
    kMemoryListStream = 5,
    kExceptionStream = 6,
    kSystemInfoStream = 7,
    kThreadExListStream = 8,
    kMemory64ListStream = 9,
    kCommentStreamA = 10,
    kCommentStreamW = 11,
    kHandleDataStream = 12,
    kFunctionTableStream = 13,
    kUnloadedModuleListStream = 14,
    kMiscInfoStream = 15,
    kMemoryInfoListStream = 16,
    kThreadInfoListStream = 17,
    kHandleOperationListStream = 18,
    kTokenStream = 19,
    kJavaScriptDataStream = 20,
    kSystemMemoryInfoStream = 21,
    kProcessVmCountersStream = 22,
    kIptTraceStream = 23,
    kThreadNamesStream = 24,
    // Breakpad / Crashpad private streams. BreakpadInfo and AssertionInfo
    // also appear in Windows dumps; the Linux ones mark a non-Windows dump.
    kBreakpadInfoStream = 0x47670001,
    kBreakpadAssertionInfoStream = 0x47670002,
    kLinuxFirst = 0x47670003,  // LinuxCpuInfo
    kLinuxLast = 0x4767000a,   // LinuxDsoDebug
    kCrashpadInfoStream = 0x43500001,
};

// Documented name of a stream type ("ThreadListStream"), "" when unknown.
std::string_view streamTypeName(uint32_t type);

// MINIDUMP_THREAD (48 bytes); MINIDUMP_THREAD_EX adds BackingStore (64 bytes).
namespace thread {
inline constexpr uint64_t kThreadId = 0, kSuspendCount = 4, kPriorityClass = 8, kPriority = 12, kTeb = 16,
                          kStackStart = 24, kStackDataSize = 32, kStackRva = 36, kContextDataSize = 40,
                          kContextRva = 44;
inline constexpr uint64_t kSize = 48, kExSize = 64;
}  // namespace thread

// MINIDUMP_MODULE (108 bytes)
namespace module {
inline constexpr uint64_t kBaseOfImage = 0, kSizeOfImage = 8, kCheckSum = 12, kTimeDateStamp = 16,
                          kModuleNameRva = 20, kVersionInfo = 24, kCvRecord = 76, kMiscRecord = 84;
inline constexpr uint64_t kSize = 108;
}  // namespace module

// VS_FIXEDFILEINFO (52 bytes)
namespace vsfixed {
inline constexpr uint32_t kSignature = 0xfeef04bd;
inline constexpr uint64_t kSig = 0, kFileVersionMS = 8, kFileVersionLS = 12, kProductVersionMS = 16,
                          kProductVersionLS = 20, kFileFlagsMask = 24, kFileFlags = 28, kFileOS = 32,
                          kFileType = 36;
}  // namespace vsfixed

// CodeView records pointed to by CvRecord.
inline constexpr uint32_t kCvRsds = 0x53445352;  // "RSDS": sig, GUID[16], Age u32, name
inline constexpr uint32_t kCvNb10 = 0x3031424e;  // "NB10": sig, Offset u32, Signature u32, Age u32, name

// MINIDUMP_UNLOADED_MODULE (24 bytes), after a {SizeOfHeader, SizeOfEntry, NumberOfEntries} header.
namespace unloaded {
inline constexpr uint64_t kBaseOfImage = 0, kSizeOfImage = 8, kCheckSum = 12, kTimeDateStamp = 16,
                          kModuleNameRva = 20;
inline constexpr uint64_t kSize = 24;
}  // namespace unloaded

// MINIDUMP_MEMORY_DESCRIPTOR (16): Start u64, Location {DataSize u32, Rva u32}
inline constexpr uint64_t kMemoryDescriptorSize = 16;
// MINIDUMP_MEMORY_DESCRIPTOR64 (16): Start u64, DataSize u64
inline constexpr uint64_t kMemoryDescriptor64Size = 16;
// MINIDUMP_MEMORY64_LIST header: NumberOfMemoryRanges u64, BaseRva u64
inline constexpr uint64_t kMemory64HeaderSize = 16;

// MINIDUMP_MEMORY_INFO (48 bytes), after {SizeOfHeader u32, SizeOfEntry u32, NumberOfEntries u64}.
namespace meminfo {
inline constexpr uint64_t kBaseAddress = 0, kAllocationBase = 8, kAllocationProtect = 16, kRegionSize = 24,
                          kState = 32, kProtect = 36, kType = 40;
inline constexpr uint64_t kSize = 48;
}  // namespace meminfo

// MINIDUMP_EXCEPTION_STREAM (168 bytes)
namespace exception {
inline constexpr uint64_t kThreadId = 0, kCode = 8, kFlags = 12, kRecord = 16, kAddress = 24,
                          kNumberParameters = 32, kInformation = 40, kContextDataSize = 160, kContextRva = 164;
inline constexpr uint64_t kSize = 168;
inline constexpr uint32_t kMaxParameters = 15;
}  // namespace exception

// MINIDUMP_SYSTEM_INFO (56 bytes)
namespace sysinfo {
inline constexpr uint64_t kProcessorArchitecture = 0, kProcessorLevel = 2, kProcessorRevision = 4,
                          kNumberOfProcessors = 6, kProductType = 7, kMajorVersion = 8, kMinorVersion = 12,
                          kBuildNumber = 16, kPlatformId = 20, kCsdVersionRva = 24, kSuiteMask = 28,
                          kVendorId = 32, kVersionInformation = 44, kFeatureInformation = 48;
inline constexpr uint64_t kSize = 56;
inline constexpr uint32_t kPlatformWin32Nt = 2;  // VER_PLATFORM_WIN32_NT
}  // namespace sysinfo

// MINIDUMP_MISC_INFO .. _5: the version follows from SizeOfInfo.
namespace misc {
inline constexpr uint64_t kSizeOfInfo = 0, kFlags1 = 4, kProcessId = 8, kProcessCreateTime = 12,
                          kProcessUserTime = 16, kProcessKernelTime = 20, kProcessorMaxMhz = 24,
                          kProcessorCurrentMhz = 28, kTimeZoneId = 56, kBuildString = 232, kDbgBldStr = 752;
inline constexpr uint64_t kSize1 = 24, kSize2 = 44, kSize3 = 232, kSize4 = 832, kSize5 = 1364;
inline constexpr uint32_t kBuildStringChars = 260, kDbgBldStrChars = 40;
inline constexpr uint32_t kFlagProcessId = 0x1, kFlagProcessTimes = 0x2, kFlagPowerInfo = 0x4,
                          kFlagTimeZone = 0x40, kFlagBuildString = 0x100;
}  // namespace misc

// MINIDUMP_HANDLE_DATA_STREAM header (16 bytes) and descriptors (32 or 40 bytes).
namespace handle {
inline constexpr uint64_t kHeaderSizeOfHeader = 0, kHeaderSizeOfDescriptor = 4, kHeaderCount = 8;
inline constexpr uint64_t kHandle = 0, kTypeNameRva = 8, kObjectNameRva = 12, kAttributes = 16,
                          kGrantedAccess = 20, kHandleCount = 24, kPointerCount = 28, kObjectInfoRva = 32;
inline constexpr uint64_t kSize1 = 32, kSize2 = 40;
}  // namespace handle

// MINIDUMP_THREAD_INFO (64 bytes), after {SizeOfHeader, SizeOfEntry, NumberOfEntries} (u32 each).
namespace threadinfo {
inline constexpr uint64_t kThreadId = 0, kDumpFlags = 4, kDumpError = 8, kExitStatus = 12, kCreateTime = 16,
                          kExitTime = 24, kKernelTime = 32, kUserTime = 40, kStartAddress = 48, kAffinity = 56;
inline constexpr uint64_t kSize = 64;
}  // namespace threadinfo

// MINIDUMP_THREAD_NAME (12 bytes, 4-byte packed): ThreadId u32, RvaOfThreadName u64.
inline constexpr uint64_t kThreadNameSize = 12;

// MINIDUMP_SYSTEM_MEMORY_INFO_1 (4-byte packed): Revision u16, Flags u16,
// then BasicInfo. Checked against lldb/sigsegv.dmp: PageSize 0x1000,
// granularity 0x10000, user range 0x10000..0x7ffffffeffff, 48 processors.
namespace sysmem {
inline constexpr uint64_t kPageSize = 8, kNumberOfPhysicalPages = 12, kAllocationGranularity = 24,
                          kMinimumUserAddress = 28, kMaximumUserAddress = 36, kActiveProcessorsAffinityMask = 44,
                          kNumberOfProcessors = 52;
inline constexpr uint64_t kMinSize = 56;
}  // namespace sysmem

// MINIDUMP_PROCESS_VM_COUNTERS_1 (80 bytes) / _2 (152 bytes): Revision u16,
// Flags u16 (_2), PageFaultCount u32, then u64 counters. _2 inserts
// PeakVirtualSize and VirtualSize before PrivateUsage (checked against
// lldb/sigsegv.dmp: PrivateUsage equals PagefileUsage, 0x59000).
namespace vmcounters {
inline constexpr uint64_t kRevision = 0, kPageFaultCount = 4, kPeakWorkingSetSize = 8, kWorkingSetSize = 16,
                          kQuotaPeakPagedPoolUsage = 24, kQuotaPagedPoolUsage = 32, kQuotaPeakNonPagedPoolUsage = 40,
                          kQuotaNonPagedPoolUsage = 48, kPagefileUsage = 56, kPeakPagefileUsage = 64,
                          kPrivateUsage1 = 72, kPeakVirtualSize2 = 72, kVirtualSize2 = 80, kPrivateUsage2 = 88;
inline constexpr uint64_t kSize1 = 80, kSize2 = 152;
}  // namespace vmcounters

}  // namespace nt::mdmp
