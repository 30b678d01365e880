// What a kernel dump adds to the debugger-user's model: the bugcheck, the
// kernel's list heads and debugger data, the paging mode, and (small dumps)
// the stored process/thread. Filled by dump/kernel; read by the NT object
// model (nt/) and the kernel commands.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memory/page_table.h"

namespace nt {

// The KDDEBUGGER_DATA64 fields the object model uses (0 = unknown). Offsets
// of the Offset*/Size* fields are those of the public wdbgexts.h layout.
struct KdDebuggerData {
    bool present = false;
    bool wasEncoded = false;  // decoded with KiWaitNever/KiWaitAlways
    uint64_t address = 0;     // virtual address of the block
    uint16_t size = 0;        // Header.Size
    uint64_t kernBase = 0;
    uint64_t psLoadedModuleList = 0, psActiveProcessHead = 0, pspCidTable = 0;
    uint64_t expSystemResourcesList = 0, kiProcessorBlock = 0, mmPfnDatabase = 0;
    uint64_t obpTypeObjectType = 0, obpRootDirectoryObject = 0;
    uint64_t kiBugcheckData = 0, iopErrorLogListHead = 0, mmUnloadedDrivers = 0, mmLastUnloadedDriver = 0;
    uint64_t mmNumberOfPhysicalPages = 0, mmAvailablePages = 0, mmResidentAvailablePages = 0;
    uint64_t mmNonPagedPoolStart = 0, mmPagedPoolEnd = 0, mmSizeOfPagedPoolInBytes = 0, mmMaximumNonPagedPoolInBytes = 0;
    uint64_t mmTotalCommittedPages = 0, mmTotalCommitLimit = 0, mmPeakCommitment = 0;
    uint64_t ntBuildLab = 0;
    // Offset fields (KDDEBUGGER_DATA64 v2+): layouts the dump itself vouches for.
    uint16_t offsetKThreadNextProcessor = 0, offsetKThreadTeb = 0, offsetKThreadKernelStack = 0,
             offsetKThreadInitialStack = 0, offsetKThreadApcProcess = 0, offsetKThreadState = 0,
             offsetEprocessPeb = 0, offsetEprocessParentCID = 0, offsetEprocessDirectoryTableBase = 0,
             sizeEProcess = 0, sizePrcb = 0, offsetPrcbCurrentThread = 0, offsetPrcbContext = 0,
             offsetPrcbProcStateContext = 0, offsetPrcbNumber = 0, sizeEThread = 0, offsetPcrSelfPcr = 0,
             offsetPcrCurrentPrcb = 0, offsetPcrContainedPrcb = 0, offsetPrcbProcStateSpecialReg = 0,
             gdtR0Code = 0, gdtR0Data = 0, gdtR3Code = 0, gdtR3Data = 0, gdtR3Teb = 0, gdtTss = 0;
};

struct KernelInfo {
    uint32_t dumpType = 0;          // DUMP_HEADER DumpType
    std::string dumpTypeText;       // WinDbg's banner line ("Kernel Bitmap Dump File: ...")
    uint32_t majorVersion = 0;      // 0xf free, 0xc checked
    uint32_t buildNumber = 0;       // MinorVersion
    uint64_t directoryTableBase = 0;  // kernel CR3/TTBR at the time of the dump
    uint64_t pfnDataBase = 0, psLoadedModuleList = 0, psActiveProcessHead = 0, kdDebuggerDataBlock = 0;
    uint32_t numberProcessors = 0;
    uint32_t bugCheckCode = 0;
    std::array<uint64_t, 4> bugCheckParameters{};
    PagingMode paging = PagingMode::None;
    uint64_t systemTime = 0, systemUpTime = 0;  // FILETIME / 100 ns
    uint32_t productType = 0, suiteMask = 0;
    std::string comment;
    uint32_t bugcheckProcessor = 0;  // processor that wrote the dump (the header context's)
    KdDebuggerData kdbg;
    uint64_t kernelBase = 0;         // nt's image base (KDBG KernBase, else the first loaded module)

    // Small dumps: what the file stored of the crashing thread.
    bool smallDump = false;
    uint64_t storedPrcb = 0, storedProcess = 0, storedThread = 0;  // their virtual addresses, when known

    // Things the dump lacks, said once when a command needs them.
    std::vector<std::string> notes;
};

}  // namespace nt
