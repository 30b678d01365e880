#include "support/kdump_builder/kdbg_block.h"

#include <cstring>

#include "dump/kernel/kdbg.h"

namespace nt::test::kdump {

std::vector<uint8_t> makeKdbgBlock(const KdbgFields& f) {
    std::vector<uint8_t> b(0x380, 0);
    // 32-bit kernel pointers are stored sign-extended to 64 bits.
    auto ptr = [&](uint64_t v) { return f.is64 ? v : uint64_t(int64_t(int32_t(uint32_t(v)))); };
    auto p64 = [&](uint32_t off, uint64_t v) {
        uint64_t x = ptr(v);
        std::memcpy(b.data() + off, &x, 8);
    };
    auto p16 = [&](uint32_t off, uint16_t v) { std::memcpy(b.data() + off, &v, 2); };
    p64(0, f.address);
    p64(8, f.address);
    uint32_t tag = kdbg::kTag, size = 0x380;
    std::memcpy(b.data() + kdbg::kOwnerTag, &tag, 4);
    std::memcpy(b.data() + kdbg::kSize, &size, 4);
    p64(kdbg::kKernBase, f.kernBase);
    p64(kdbg::kPsLoadedModuleList, f.psLoadedModuleList);
    p64(kdbg::kPsActiveProcessHead, f.psActiveProcessHead);
    p64(kdbg::kPspCidTable, f.pspCidTable);
    p64(kdbg::kExpSystemResourcesList, f.expSystemResourcesList);
    p64(kdbg::kKiProcessorBlock, f.kiProcessorBlock);
    p64(kdbg::kMmPfnDatabase, f.mmPfnDatabase);
    p64(kdbg::kNtBuildLab, f.ntBuildLab);
    p16(kdbg::kSizeEProcess, f.sizeEProcess);
    p16(kdbg::kSizeEThread, f.sizeEThread);
    p16(kdbg::kSizePrcb, f.sizePrcb);
    return b;
}

}  // namespace nt::test::kdump
