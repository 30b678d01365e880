// The Target of a kernel dump: one "thread" per processor (WinDbg's `N: kd>`),
// the loaded drivers as modules, the bugcheck, and the kernel's virtual
// address space — page tables over physical memory, or in a small dump the
// blocks the dump stored (stack, PRCB, process, thread, data blocks).
#pragma once

#include <map>
#include <memory>

#include "base/mapped_file.h"
#include "dump/kernel/kernel_dump_file.h"
#include "memory/page_table.h"
#include "memory/range_memory.h"
#include "target/model.h"

namespace nt {

class KernelDumpTarget final : public Target {
public:
    MappedFile file;  // empty when the caller owns the bytes
    std::unique_ptr<kdump::KernelDumpFile> dump;
    RangeMemory stored;                          // small dumps: the stored blocks
    std::unique_ptr<VirtualMemory> kernelSpace;  // dumps with physical memory

    const Memory& memory() const override;
    const Memory* addressSpace(uint64_t directoryTableBase) const override;
    const PhysicalMemory* physicalMemory() const override { return dump ? dump->physical() : nullptr; }
    void setUserAddressSpace(std::optional<uint64_t> directoryTableBase) override;

private:
    const Memory* current_ = nullptr;  // set by setUserAddressSpace
    mutable std::map<uint64_t, std::unique_ptr<VirtualMemory>> spaces_;
};

// Fills t from a PAGEDUMP/PAGEDU64 file. Throws FormatError for a damaged header.
void readKernelDump(Bytes file, KernelDumpTarget& t);

// Takes a (possibly late: decoded once nt's symbols are known) debugger data
// block into t.kernel: kernel base and list heads when unknown, and every
// processor's context from its KPRCB.
void applyDebuggerData(Target& t, const KdDebuggerData& d);

// A small dump's stored PRCB, thread and process copies placed at their
// addresses, once the offsets that find them are known (from the KDBG, or
// later from nt's types for an XP dump): what is already placed stays.
void placeTriageCopies(KernelDumpTarget& t, KernelInfo& k);
void placeTriageCopies(Target& t);

// WinDbg's module name for a driver file: the kernel is "nt", the HAL "hal",
// others the file name without extension.
std::string kernelModuleName(std::string_view fileName);

}  // namespace nt
