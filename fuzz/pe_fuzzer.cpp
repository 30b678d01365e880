// libFuzzer target: a PE image from arbitrary bytes, mapped as dump memory
// at a module base, with every lazily parsed part touched (exports, .pdata,
// lookups, CodeView). Anything but a clean return is a bug.
#include <cstddef>
#include <cstdint>

#include "memory/range_memory.h"
#include "pe/pe_image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nt::RangeMemory mem;
    constexpr uint64_t kBase = 0x7ff600000000;
    mem.add(kBase, nt::Bytes(data, size));
    mem.finalize();
    auto img = nt::PeImage::load(nt::memoryImageSource(mem, kBase));
    if (!img) return 0;
    size_t sink = 0;
    for (const auto& e : img->exports()) sink += e.name.size() + e.forwarder.size() + e.rva;
    sink += img->exportDllName().size();
    const auto& rfs = img->runtimeFunctions();
    for (size_t i = 0; i < rfs.size() && i < 64; ++i) {
        if (const auto* f = img->findRuntimeFunction(rfs[i].begin)) sink += f->end;
        sink += img->isExecutableRva(rfs[i].begin);
    }
    if (auto cv = img->codeView()) sink += cv->pdbName.size() + cv->age;
    for (const auto& s : img->sections()) sink += img->sectionAt(s.virtualAddress) != nullptr;
    for (unsigned i = 0; i < 16; ++i) sink += img->directory(i).second;
    volatile size_t keep = sink;
    (void)keep;
    return 0;
}
