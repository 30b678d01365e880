#include "dump/kernel/kdbg.h"

#include <bit>
#include <cstring>

namespace nt::kdbg {

std::optional<KdDebuggerData> parse(Bytes b, uint64_t address) {
    if (b.getOr<uint32_t>(kOwnerTag, 0) != kTag) return std::nullopt;
    uint32_t size = b.getOr<uint32_t>(kSize, 0);
    // Older kernels write shorter blocks; the fields we read need kMinimumSize
    // for the offsets part, but the pointer part is usable from 0x220 on.
    if (size < kKiProcessorBlock + 8) return std::nullopt;
    Bytes block = b.subClamped(0, size);
    auto q = [&](uint32_t off) { return block.getOr<uint64_t>(off, 0); };
    auto h = [&](uint32_t off) { return block.getOr<uint16_t>(off, 0); };
    KdDebuggerData d;
    d.present = true;
    d.address = address;
    d.size = static_cast<uint16_t>(size > 0xffff ? 0xffff : size);
    d.kernBase = q(kKernBase);
    d.psLoadedModuleList = q(kPsLoadedModuleList);
    d.psActiveProcessHead = q(kPsActiveProcessHead);
    d.pspCidTable = q(kPspCidTable);
    d.expSystemResourcesList = q(kExpSystemResourcesList);
    d.kiBugcheckData = q(kKiBugcheckData);
    d.iopErrorLogListHead = q(kIopErrorLogListHead);
    d.obpRootDirectoryObject = q(kObpRootDirectoryObject);
    d.obpTypeObjectType = q(kObpTypeObjectType);
    d.mmPfnDatabase = q(kMmPfnDatabase);
    d.mmNumberOfPhysicalPages = q(kMmNumberOfPhysicalPages);
    d.mmMaximumNonPagedPoolInBytes = q(kMmMaximumNonPagedPoolInBytes);
    d.mmNonPagedPoolStart = q(kMmNonPagedPoolStart);
    d.mmPagedPoolEnd = q(kMmPagedPoolEnd);
    d.mmSizeOfPagedPoolInBytes = q(kMmSizeOfPagedPoolInBytes);
    d.mmTotalCommitLimit = q(kMmTotalCommitLimit);
    d.mmTotalCommittedPages = q(kMmTotalCommittedPages);
    d.mmAvailablePages = q(kMmAvailablePages);
    d.mmResidentAvailablePages = q(kMmResidentAvailablePages);
    d.ntBuildLab = q(kNtBuildLab);
    d.kiProcessorBlock = q(kKiProcessorBlock);
    d.mmUnloadedDrivers = q(kMmUnloadedDrivers);
    d.mmLastUnloadedDriver = q(kMmLastUnloadedDriver);
    d.mmPeakCommitment = q(kMmPeakCommitment);
    if (size >= kMinimumSize) {
        d.offsetKThreadNextProcessor = h(kOffsetKThreadNextProcessor);
        d.offsetKThreadTeb = h(kOffsetKThreadTeb);
        d.offsetKThreadKernelStack = h(kOffsetKThreadKernelStack);
        d.offsetKThreadInitialStack = h(kOffsetKThreadInitialStack);
        d.offsetKThreadApcProcess = h(kOffsetKThreadApcProcess);
        d.offsetKThreadState = h(kOffsetKThreadState);
        d.sizeEProcess = h(kSizeEProcess);
        d.offsetEprocessPeb = h(kOffsetEprocessPeb);
        d.offsetEprocessParentCID = h(kOffsetEprocessParentCID);
        d.offsetEprocessDirectoryTableBase = h(kOffsetEprocessDirectoryTableBase);
        d.sizePrcb = h(kSizePrcb);
        d.offsetPrcbCurrentThread = h(kOffsetPrcbCurrentThread);
        d.offsetPrcbProcStateContext = h(kOffsetPrcbProcStateContext);
        d.offsetPrcbNumber = h(kOffsetPrcbNumber);
        d.sizeEThread = h(kSizeEThread);
        d.offsetPcrSelfPcr = h(kOffsetPcrSelfPcr);
        d.offsetPcrCurrentPrcb = h(kOffsetPcrCurrentPrcb);
        d.offsetPcrContainedPrcb = h(kOffsetPcrContainedPrcb);
        d.offsetPrcbProcStateSpecialReg = h(kOffsetPrcbProcStateSpecialReg);
        d.gdtR0Code = h(kGdtR0Code);
        d.gdtR0Data = h(kGdtR0Data);
        d.gdtR3Code = h(kGdtR3Code);
        d.gdtR3Data = h(kGdtR3Data);
        d.gdtR3Teb = h(kGdtR3Teb);
        d.gdtTss = h(kGdtTss);
    }
    return d;
}

// The encoding works on whole 64-bit words; a trailing partial word is left as is.
std::vector<uint8_t> decode(Bytes encoded, uint64_t salt, uint64_t kiWaitNever, uint64_t kiWaitAlways) {
    std::vector<uint8_t> out(encoded.data(), encoded.data() + encoded.size());
    int rot = static_cast<int>(kiWaitNever & 0xff);
    for (size_t off = 0; off + 8 <= out.size(); off += 8) {
        uint64_t w;
        std::memcpy(&w, out.data() + off, 8);
        w = std::rotl(w ^ kiWaitNever, rot);
        w ^= salt;
        w = __builtin_bswap64(w);
        w ^= kiWaitAlways;
        std::memcpy(out.data() + off, &w, 8);
    }
    return out;
}

std::vector<uint8_t> encode(Bytes clear, uint64_t salt, uint64_t kiWaitNever, uint64_t kiWaitAlways) {
    std::vector<uint8_t> out(clear.data(), clear.data() + clear.size());
    int rot = static_cast<int>(kiWaitNever & 0xff);
    for (size_t off = 0; off + 8 <= out.size(); off += 8) {
        uint64_t w;
        std::memcpy(&w, out.data() + off, 8);
        w ^= kiWaitAlways;
        w = __builtin_bswap64(w);
        w ^= salt;
        w = std::rotr(w, rot) ^ kiWaitNever;
        std::memcpy(out.data() + off, &w, 8);
    }
    return out;
}

}  // namespace nt::kdbg
