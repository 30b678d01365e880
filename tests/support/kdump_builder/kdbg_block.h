// A clear-text KDDEBUGGER_DATA64 ("KDBG") block for layer-1 machines of any
// width (the NT world writes its own, with the ISF's offsets). 32-bit
// kernels write the same 64-bit form with pointers sign-extended, which is
// what the block made here holds for a 32-bit machine.
#pragma once

#include <cstdint>
#include <vector>

namespace nt::test::kdump {

struct KdbgFields {
    bool is64 = true;
    uint64_t address = 0;  // where the block lives (its List points there)
    uint64_t kernBase = 0, psLoadedModuleList = 0, psActiveProcessHead = 0, pspCidTable = 0;
    uint64_t expSystemResourcesList = 0, kiProcessorBlock = 0, mmPfnDatabase = 0, ntBuildLab = 0;
    uint16_t sizeEProcess = 0, sizeEThread = 0, sizePrcb = 0;
};

// 0x380 bytes: List, OwnerTag 'KDBG' (+0x10), Size (+0x14), the pointers at
// their wdbgexts.h offsets.
std::vector<uint8_t> makeKdbgBlock(const KdbgFields& f);

}  // namespace nt::test::kdump
