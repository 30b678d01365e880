// Layouts of the legacy dbgeng full user dump ("USERDUMP" 32-bit,
// "USERDU64" 64-bit), as byte offsets. Names follow the public dbgeng
// header (USERMODE_CRASHDUMP_HEADER32/64, CRASH_MODULE32/64,
// CRASH_THREAD32/64). The 64-bit offsets were checked against the two real
// USERDU64 files in the corpus (kdlibcpp targetapp_stacktest_*_release):
// regions end exactly at ThreadOffset, contexts (0x4d0 each) end at
// ThreadStateOffset, thread states (0x50 each) at ModuleOffset, modules at
// DataOffset, and the region data (all regions, in order) at
// VersionInfoOffset. The 32-bit layout has no corpus file and is only
// checked by synthetic tests.
#pragma once

#include <cstdint>

namespace nt::udmp {

inline constexpr uint32_t kSignature = 0x52455355;  // "USER"
inline constexpr uint32_t kValid32 = 0x504d5544;    // "DUMP"
inline constexpr uint32_t kValid64 = 0x34365544;    // "DU64"

// Fields shared by both headers (u32).
inline constexpr uint64_t kMajorVersion = 0x08, kMinorVersion = 0x0c, kMachineImageType = 0x10,
                          kThreadCount = 0x14, kModuleCount = 0x18, kMemoryRegionCount = 0x1c;

// Everything that differs between the 32- and 64-bit variants.
struct Layout {
    bool is64;
    uint64_t headerSize;
    // Offsets of ThreadOffset, ModuleOffset, DataOffset, MemoryRegionOffset,
    // DebugEventOffset, ThreadStateOffset, VersionInfoOffset in the header;
    // each holds a u32 (32-bit) or u64 (64-bit) file offset.
    uint64_t threadOff, moduleOff, dataOff, regionOff, debugEventOff, threadStateOff, versionInfoOff;
    // MEMORY_BASIC_INFORMATION32/64: size and field offsets (pointer-sized
    // fields are u32 or u64).
    uint64_t regionSize, rBase, rAllocBase, rAllocProtect, rRegionSize, rState, rProtect, rType;
    // CRASH_THREAD32/64: size and TEB offset (ThreadId, SuspendCount,
    // PriorityClass, Priority are u32 at 0, 4, 8, 12 in both).
    uint64_t threadStateSize, tTeb;
    // CRASH_MODULE32/64: fixed part size, then ImageNameLength chars.
    uint64_t moduleHeaderSize, mSize, mNameLength;
    // DEBUG_EVENT32/64: dwDebugEventCode, dwProcessId, dwThreadId (u32 at 0,
    // 4, 8), then EXCEPTION_DEBUG_INFO: EXCEPTION_RECORD32/64 + dwFirstChance.
    uint64_t eCode, eFlags, eRecord, eAddress, eNumberParameters, eInformation, eFirstChance;
};

inline constexpr Layout kLayout32{false, 0x40, 0x20, 0x24, 0x28, 0x2c, 0x30, 0x34, 0x38,
                                  28, 0, 4, 8, 12, 16, 20, 24,
                                  48, 16,
                                  12, 4, 8,
                                  0x0c, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x5c};
inline constexpr Layout kLayout64{true, 0x60, 0x20, 0x28, 0x30, 0x38, 0x40, 0x48, 0x50,
                                  48, 0, 8, 16, 24, 32, 36, 40,
                                  80, 16,
                                  16, 8, 12,
                                  0x10, 0x14, 0x18, 0x20, 0x28, 0x30, 0xa8};

inline constexpr uint32_t kExceptionDebugEvent = 1;  // EXCEPTION_DEBUG_EVENT
inline constexpr uint32_t kMaxParameters = 15;
// A module name longer than this is treated as corrupt (MAX_PATH is 260;
// long-path names stay well below it).
inline constexpr uint32_t kMaxModuleName = 0x8000;

}  // namespace nt::udmp
