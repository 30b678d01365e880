// KDDEBUGGER_DATA64: the kernel's debugger data block ("KDBG"), the public
// wdbgexts.h layout. Offsets below were checked against the clear-text copy
// in rizin-testbins/triage_x64.dmp (KernBase 0xfffff8047ba00000,
// PsLoadedModuleList = KernBase + 0xc2a390, SizeEProcess 0xa40, ...).
//
// Since Windows 8 the block in memory is encoded (KdpDataBlockEncoded):
// each 64-bit word w becomes
//   bswap(rol(w ^ KiWaitNever, KiWaitNever & 0xff) ^ &KdpDataBlockEncoded) ^ KiWaitAlways
// (Volatility's kdbgscan). The "KDBG" tag is then unreadable; decode()
// reverses it when the three kernel values are known (from symbols).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "target/kernel_info.h"

namespace nt::kdbg {

// DBGKD_DEBUG_DATA_HEADER64 + KDDEBUGGER_DATA64 field offsets (64-bit form;
// the 32-bit kernels also write the 64-bit form, pointers sign-extended).
inline constexpr uint32_t kOwnerTag = 0x10;       // 'KDBG'
inline constexpr uint32_t kSize = 0x14;
inline constexpr uint32_t kKernBase = 0x18;
inline constexpr uint32_t kPsLoadedModuleList = 0x48;
inline constexpr uint32_t kPsActiveProcessHead = 0x50;
inline constexpr uint32_t kPspCidTable = 0x58;
inline constexpr uint32_t kExpSystemResourcesList = 0x60;
inline constexpr uint32_t kKiBugcheckData = 0x88;
inline constexpr uint32_t kIopErrorLogListHead = 0x90;
inline constexpr uint32_t kObpRootDirectoryObject = 0x98;
inline constexpr uint32_t kObpTypeObjectType = 0xa0;
inline constexpr uint32_t kMmPfnDatabase = 0xc0;
inline constexpr uint32_t kMmNumberOfPhysicalPages = 0xf8;
inline constexpr uint32_t kMmMaximumNonPagedPoolInBytes = 0x100;
inline constexpr uint32_t kMmNonPagedPoolStart = 0x110;
inline constexpr uint32_t kMmPagedPoolEnd = 0x128;
inline constexpr uint32_t kMmSizeOfPagedPoolInBytes = 0x140;
inline constexpr uint32_t kMmTotalCommitLimit = 0x148;
inline constexpr uint32_t kMmTotalCommittedPages = 0x150;
inline constexpr uint32_t kMmAvailablePages = 0x1a8;
inline constexpr uint32_t kMmResidentAvailablePages = 0x1b0;
inline constexpr uint32_t kNtBuildLab = 0x208;
inline constexpr uint32_t kKiProcessorBlock = 0x218;
inline constexpr uint32_t kMmUnloadedDrivers = 0x220;
inline constexpr uint32_t kMmLastUnloadedDriver = 0x228;
inline constexpr uint32_t kMmPeakCommitment = 0x258;
inline constexpr uint32_t kOffsetKThreadNextProcessor = 0x298;  // USHORTs from here
inline constexpr uint32_t kOffsetKThreadTeb = 0x29a;
inline constexpr uint32_t kOffsetKThreadKernelStack = 0x29c;
inline constexpr uint32_t kOffsetKThreadInitialStack = 0x29e;
inline constexpr uint32_t kOffsetKThreadApcProcess = 0x2a0;
inline constexpr uint32_t kOffsetKThreadState = 0x2a2;
inline constexpr uint32_t kSizeEProcess = 0x2a8;
inline constexpr uint32_t kOffsetEprocessPeb = 0x2aa;
inline constexpr uint32_t kOffsetEprocessParentCID = 0x2ac;
inline constexpr uint32_t kOffsetEprocessDirectoryTableBase = 0x2ae;
inline constexpr uint32_t kSizePrcb = 0x2b0;
inline constexpr uint32_t kOffsetPrcbCurrentThread = 0x2b4;
inline constexpr uint32_t kOffsetPrcbProcStateContext = 0x2bc;
inline constexpr uint32_t kOffsetPrcbNumber = 0x2be;
inline constexpr uint32_t kSizeEThread = 0x2c0;
inline constexpr uint32_t kOffsetPcrSelfPcr = 0x2e2;
inline constexpr uint32_t kOffsetPcrCurrentPrcb = 0x2e4;
inline constexpr uint32_t kOffsetPcrContainedPrcb = 0x2e6;
inline constexpr uint32_t kOffsetPrcbProcStateSpecialReg = 0x2f2;
inline constexpr uint32_t kGdtR0Code = 0x2f4;
inline constexpr uint32_t kGdtR0Data = 0x2f6;
inline constexpr uint32_t kGdtR3Code = 0x2fa;
inline constexpr uint32_t kGdtR3Data = 0x2fc;
inline constexpr uint32_t kGdtR3Teb = 0x2fe;
inline constexpr uint32_t kGdtTss = 0x302;
inline constexpr uint32_t kMinimumSize = 0x308;  // through GdtTss

inline constexpr uint32_t kTag = 0x4742444b;  // "KDBG"

// Parses a clear-text block (tag "KDBG"); nullopt when the tag or size is wrong.
std::optional<KdDebuggerData> parse(Bytes block, uint64_t address);

// Reverses the Windows 8+ encoding; `salt` is the address of KdpDataBlockEncoded.
std::vector<uint8_t> decode(Bytes encoded, uint64_t salt, uint64_t kiWaitNever, uint64_t kiWaitAlways);
// The inverse (for synthetic dumps and tests).
std::vector<uint8_t> encode(Bytes clear, uint64_t salt, uint64_t kiWaitNever, uint64_t kiWaitAlways);

}  // namespace nt::kdbg
