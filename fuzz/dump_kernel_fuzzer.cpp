// libFuzzer target for the kernel dump reader (PAGEDUMP/PAGEDU64: header,
// runs, bitmap, RDMP ranges, TRIAGE_DUMP): any bytes must either parse or
// raise FormatError, never crash, hang or read outside the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "dump/kernel/kernel_dump_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::unique_ptr<nt::kdump::KernelDumpFile> dump;
    try {
        dump = nt::kdump::KernelDumpFile::parse(nt::Bytes(data, size));
    } catch (const nt::FormatError&) {
        return 0;
    }
    // Touch what later layers touch: header fields, pages (first present,
    // the next one, a pfn taken from the data), the triage lists.
    volatile uint64_t sink = 0;
    const auto& h = dump->header();
    sink = sink + h.bugCheckCode + h.exception.parameters.size() + h.contextRecord.size() + h.comment.size();
    uint8_t buf[64];
    if (const nt::PhysicalMemory* pm = dump->physical()) {
        sink = sink + pm->presentPages();
        if (auto first = pm->nextPresentPfn(0)) {
            nt::Bytes p = pm->page(*first);
            if (!p.empty()) sink = sink + p.data()[0] + p.data()[p.size() - 1];
            if (auto next = pm->nextPresentPfn(*first + 1)) sink = sink + pm->page(*next).size();
            pm->read((*first << 12) + 0xff0, buf);
        }
        uint64_t pfn = 0;
        if (size >= 8) std::memcpy(&pfn, data + size - 8, 8);
        sink = sink + pm->page(pfn).size() + pm->page(pfn >> 20).size();
        if (auto v = pm->readU64(h.directoryTableBase)) sink = sink + *v;
        sink = sink + pm->nextPresentPfn(pfn >> 24).value_or(0);
    }
    if (const nt::kdump::Triage* t = dump->triage()) {
        for (const auto& d : t->drivers) sink = sink + d.base + d.size + d.name.size();
        for (const auto& u : t->unloadedDrivers) sink = sink + u.start + u.name.size();
        for (const auto& b : t->blocks)
            if (!b.bytes.empty()) sink = sink + b.address + b.bytes.data()[b.bytes.size() - 1];
        if (!t->debuggerData.empty()) sink = sink + t->debuggerData.data()[t->debuggerData.size() - 1];
        sink = sink + t->prcb.size() + t->process.size() + t->thread.size() + t->context.size();
    }
    for (const auto& w : dump->warnings()) sink = sink + w.size();
    (void)sink;
    return 0;
}
