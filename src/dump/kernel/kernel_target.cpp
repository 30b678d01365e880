#include "dump/kernel/kernel_target.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "base/error.h"
#include "dump/kernel/kdbg.h"
#include "dump/module_names.h"

namespace nt {

const Memory& KernelDumpTarget::memory() const {
    if (current_) return *current_;
    if (kernelSpace) return *kernelSpace;
    return stored;
}

void KernelDumpTarget::setUserAddressSpace(std::optional<uint64_t> dtb) {
    current_ = dtb ? addressSpace(*dtb) : nullptr;
}

const Memory* KernelDumpTarget::addressSpace(uint64_t dtb) const {
    if (!kernelSpace || !dump || !dump->physical()) return nullptr;
    if ((dtb & ~0xfffull) == (kernelSpace->directoryTableBase() & ~0xfffull)) return kernelSpace.get();
    auto it = spaces_.find(dtb);
    if (it != spaces_.end()) return it->second.get();
    // Bounded: a session switches between a handful of processes.
    if (spaces_.size() > 4096) spaces_.clear();
    auto vm = std::make_unique<VirtualMemory>(*dump->physical(), kernelSpace->mode(), dtb);
    const Memory* p = vm.get();
    spaces_.emplace(dtb, std::move(vm));
    return p;
}

std::string kernelModuleName(std::string_view file) {
    std::string lower;
    for (char c : file) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (size_t slash = lower.find_last_of("\\/"); slash != std::string::npos) lower = lower.substr(slash + 1);
    static const std::set<std::string, std::less<>> kernels = {"ntoskrnl.exe", "ntkrnlmp.exe", "ntkrnlpa.exe",
                                                               "ntkrpamp.exe", "ntkrla57.exe"};
    if (kernels.count(lower)) return "nt";
    if (lower.rfind("hal", 0) == 0 && lower.size() > 4 && lower.substr(lower.size() - 4) == ".dll") return "hal";
    return moduleBaseName(file);
}

namespace {

// Windows version from the build number (the header carries only the build).
std::pair<uint32_t, uint32_t> versionOfBuild(uint32_t build) {
    if (build >= 10240) return {10, 0};
    if (build >= 9600) return {6, 3};
    if (build >= 9200) return {6, 2};
    if (build >= 7600) return {6, 1};
    if (build >= 6000) return {6, 0};
    if (build >= 3790) return {5, 2};
    if (build >= 2600) return {5, 1};
    if (build >= 2195) return {5, 0};
    return {0, 0};
}

std::string dumpTypeText(uint32_t type) {
    switch (type) {
        case kdump::kFull: return "Kernel Complete Dump File: Full address space is available";
        case kdump::kSummary: return "Kernel Summary Dump File: Only kernel address space is available";
        case kdump::kTriage: return "Mini Kernel Dump File: Only registers and stack trace are available";
        case kdump::kBitmapFull: return "Kernel Bitmap Dump File: Full address space is available";
        case kdump::kBitmapKernel:
        case kdump::kAutomatic:
            return "Kernel Bitmap Dump File: Kernel address space is available, User address space may not be available.";
        case kdump::kKernelMemory: return "Kernel Dump File: Only kernel address space is available";
        case kdump::kKernelAndUserMemory: return "Kernel Dump File: Kernel and user address space is available";
        case kdump::kCompleteMemory: return "Kernel Complete Dump File: Full address space is available";
        default: return "Kernel Dump File (header only): no memory is available";
    }
}

// FILETIME (100 ns since 1601) to seconds since 1970; 0 when before 1970.
uint32_t unixTime(uint64_t filetime) {
    constexpr uint64_t kEpochDelta = 116444736000000000ull;
    if (filetime < kEpochDelta) return 0;
    uint64_t s = (filetime - kEpochDelta) / 10000000ull;
    return s > 0xffffffffull ? 0xffffffffu : static_cast<uint32_t>(s);
}

// The loaded-module list of a dump with memory: KLDR_DATA_TABLE_ENTRY fields
// whose offsets have not moved since Windows XP (DllBase, SizeOfImage,
// FullDllName, BaseDllName, CheckSum). The timestamp is taken from the
// image's own PE header when that page is in the dump (its offset in the
// entry moves between builds).
void walkLoadedModules(KernelDumpTarget& t, uint64_t head, std::vector<std::string>& notes) {
    const Memory& m = t.memory();
    bool w = is64(t.machine);
    unsigned p = w ? 8 : 4;
    const uint64_t offBase = w ? 0x30 : 0x18, offSize = w ? 0x40 : 0x20, offFull = w ? 0x48 : 0x24,
                   offName = w ? 0x58 : 0x2c, offChecksum = w ? 0x78 : 0x40;
    auto flink = m.readPointer(head, p);
    if (!flink) {
        notes.push_back(fmt::format("Unable to read _LIST_ENTRY @ {:x} (PsLoadedModuleList)", head));
        return;
    }
    std::set<uint64_t> seen;
    uint64_t entry = *flink;
    while (entry != head && entry != 0 && t.modules.size() < 8192) {
        if (!seen.insert(entry).second) {
            notes.push_back(fmt::format("PsLoadedModuleList: loop at {:x}", entry));
            break;
        }
        Module mod;
        auto base = m.readPointer(entry + offBase, p);
        auto size = m.readValue<uint32_t>(entry + offSize);
        if (!base || !size) {
            notes.push_back(fmt::format("Unable to read _KLDR_DATA_TABLE_ENTRY @ {:x}", entry));
            break;
        }
        mod.base = *base;
        mod.size = *size;
        mod.checksum = m.readValue<uint32_t>(entry + offChecksum).value_or(0);
        auto ustr = [&](uint64_t at) -> std::string {
            auto len = m.readValue<uint16_t>(at);
            auto buf = m.readPointer(at + p, p);
            if (!len || !buf || *len == 0) return {};
            return m.readWString(*buf, std::min<uint32_t>(*len / 2, 1024)).value_or("");
        };
        std::string baseName = ustr(entry + offName);
        std::string full = ustr(entry + offFull);
        mod.path = !full.empty() ? full : baseName;
        if (mod.path.empty()) mod.path = fmt::format("module_{:x}", mod.base);
        // PE header timestamp: e_lfanew at 0x3c, TimeDateStamp at PE+8.
        if (auto lfanew = m.readValue<uint32_t>(mod.base + 0x3c); lfanew && *lfanew < 0x1000)
            if (m.readValue<uint32_t>(mod.base + *lfanew).value_or(0) == 0x00004550)
                mod.timestamp = m.readValue<uint32_t>(mod.base + *lfanew + 8).value_or(0);
        t.modules.push_back(std::move(mod));
        auto next = m.readPointer(entry, p);
        if (!next) {
            notes.push_back(fmt::format("Unable to read _LIST_ENTRY @ {:x}", entry));
            break;
        }
        entry = *next;
    }
}

void nameModules(KernelDumpTarget& t) {
    // Kernel names first ("nt", "hal"), then the usual file-name rule with
    // de-duplication for the rest.
    assignModuleNames(t.modules);
    for (auto& mod : t.modules) {
        std::string file = mod.path;
        if (size_t s = file.find_last_of("\\/"); s != std::string::npos) file = file.substr(s + 1);
        std::string n = kernelModuleName(file);
        if (n == "nt" || n == "hal") mod.name = n;
    }
}

// 32-bit kernels store the KDBG's pointers sign-extended to 64 bits
// (0xffffffff82bb0620); 32-bit address spaces take the plain 32-bit address.
void narrowPointers(KdDebuggerData& d) {
    for (uint64_t* p : {&d.kernBase, &d.psLoadedModuleList, &d.psActiveProcessHead, &d.pspCidTable,
                        &d.expSystemResourcesList, &d.kiProcessorBlock, &d.mmPfnDatabase, &d.obpTypeObjectType,
                        &d.obpRootDirectoryObject, &d.kiBugcheckData, &d.iopErrorLogListHead, &d.mmUnloadedDrivers,
                        &d.mmLastUnloadedDriver, &d.mmNumberOfPhysicalPages, &d.mmAvailablePages,
                        &d.mmResidentAvailablePages, &d.mmNonPagedPoolStart, &d.mmPagedPoolEnd,
                        &d.mmSizeOfPagedPoolInBytes, &d.mmMaximumNonPagedPoolInBytes, &d.mmTotalCommittedPages,
                        &d.mmTotalCommitLimit, &d.mmPeakCommitment, &d.ntBuildLab})
        *p &= 0xffffffffull;
}

ExceptionInfo exceptionOf(const kdump::ExceptionRecord& r) {
    ExceptionInfo x;
    x.code = r.code;
    x.flags = r.flags;
    x.record = r.record;
    x.address = r.address;
    x.parameters = r.parameters;
    return x;
}

}  // namespace

// Small dumps: the PRCB, process and thread copies have no address in the
// file. The KDBG copy says where the PRCB array is and at which offsets the
// PRCB names its current thread and a thread its process. XP's 0x290-byte
// KDBG has no such offsets: then this runs again once nt's types filled
// them in (Engine::fillKernelOffsetsFromTypes). Copies already placed stay.
void placeTriageCopies(KernelDumpTarget& t, KernelInfo& k) {
    const kdump::Triage* tr = t.dump ? t.dump->triage() : nullptr;
    if (!tr || !k.kdbg.present) return;
    const kdump::Header& h = t.dump->header();
    const bool w = is64(t.machine);
    unsigned p = w ? 8 : 4;
    uint32_t cpu = 0;
    if (k.kdbg.offsetPrcbNumber && tr->prcb.contains(k.kdbg.offsetPrcbNumber, 2))
        cpu = tr->prcb.getOr<uint16_t>(k.kdbg.offsetPrcbNumber, 0);
    if (cpu < std::max<uint32_t>(h.numberProcessors, 1)) k.bugcheckProcessor = cpu;
    const bool hadPrcb = k.storedPrcb != 0, hadThread = k.storedThread != 0, hadProcess = k.storedProcess != 0;
    if (!k.storedPrcb && k.kdbg.kiProcessorBlock)
        k.storedPrcb = t.stored.readPointer(k.kdbg.kiProcessorBlock + uint64_t(cpu) * p, p).value_or(0);
    // Where the PRCB array is not stored (the ARM small dump), the PRCB copy
    // is also one of the data blocks, byte for byte: that block's address is
    // the PRCB's.
    if (!k.storedPrcb && !tr->prcb.empty())
        for (const auto& blk : tr->blocks)
            if (blk.bytes.size() == tr->prcb.size() &&
                std::memcmp(blk.bytes.data(), tr->prcb.data(), blk.bytes.size()) == 0) {
                k.storedPrcb = blk.address;
                break;
            }
    if (!k.storedThread && k.kdbg.offsetPrcbCurrentThread)
        k.storedThread = w ? tr->prcb.getOr<uint64_t>(k.kdbg.offsetPrcbCurrentThread, 0)
                           : tr->prcb.getOr<uint32_t>(k.kdbg.offsetPrcbCurrentThread, 0);
    if (!k.storedProcess && k.kdbg.offsetKThreadApcProcess)
        k.storedProcess = w ? tr->thread.getOr<uint64_t>(k.kdbg.offsetKThreadApcProcess, 0)
                            : tr->thread.getOr<uint32_t>(k.kdbg.offsetKThreadApcProcess, 0);
    // The stored copies become readable at those addresses (after the
    // blocks, so a data block covering the same bytes wins).
    if (!hadPrcb && k.storedPrcb && !tr->prcb.empty()) t.stored.add(k.storedPrcb, tr->prcb);
    if (!hadThread && k.storedThread && !tr->thread.empty()) t.stored.add(k.storedThread, tr->thread);
    if (!hadProcess && k.storedProcess && !tr->process.empty()) t.stored.add(k.storedProcess, tr->process);
    t.stored.finalize();
}

void placeTriageCopies(Target& t) {
    auto* kt = dynamic_cast<KernelDumpTarget*>(&t);
    if (kt && t.kernel) placeTriageCopies(*kt, *t.kernel);
}

void readKernelDump(Bytes b, KernelDumpTarget& t) {
    t.dump = kdump::KernelDumpFile::parse(b);
    const kdump::Header& h = t.dump->header();
    t.machine = h.machine;
    if (t.machine == Machine::Unknown)
        throw FormatError(fmt::format("kernel dump of an unknown machine type 0x{:x}", h.machineImageType));
    bool w = is64(t.machine);

    KernelInfo k;
    k.dumpType = h.dumpType;
    k.dumpTypeText = dumpTypeText(h.dumpType);
    k.majorVersion = h.majorVersion;
    k.buildNumber = h.minorVersion;
    k.directoryTableBase = h.directoryTableBase;
    k.pfnDataBase = h.pfnDataBase;
    k.psLoadedModuleList = h.psLoadedModuleList;
    k.psActiveProcessHead = h.psActiveProcessHead;
    k.kdDebuggerDataBlock = h.kdDebuggerDataBlock;
    k.numberProcessors = h.numberProcessors;
    k.bugCheckCode = h.bugCheckCode;
    k.bugCheckParameters = h.bugCheckParameters;
    k.systemTime = h.systemTime;
    k.systemUpTime = h.systemUpTime;
    k.productType = h.productType;
    k.suiteMask = h.suiteMask;
    k.comment = h.comment;
    switch (t.machine) {
        case Machine::Amd64: k.paging = PagingMode::X64; break;
        case Machine::X86: k.paging = h.paeEnabled ? PagingMode::X86Pae : PagingMode::X86; break;
        case Machine::Arm64: k.paging = PagingMode::Arm64; break;
        default: k.paging = PagingMode::None; break;
    }

    t.dumpKind = fmt::format("kernel dump ({}, {})", w ? "PAGEDU64" : "PAGEDUMP", kdump::dumpTypeName(h.dumpType));
    t.dumpTimestamp = unixTime(h.systemTime);
    t.dumpFlags = h.dumpType;

    Bytes context = h.contextRecord;
    std::optional<kdump::ExceptionRecord> exception;
    if (h.exception.code != 0) exception = h.exception;

    if (const kdump::Triage* tr = t.dump->triage()) {
        k.smallDump = true;
        for (const auto& blk : tr->blocks)
            if (!blk.bytes.empty()) t.stored.add(blk.address, blk.bytes);
        if (!tr->context.empty()) context = tr->context;
        if (tr->exception) exception = tr->exception;
        t.stored.finalize();  // readable now; finalize() again after more add()s
        if (auto d = kdbg::parse(tr->debuggerData, h.kdDebuggerDataBlock)) k.kdbg = *d;
        if (!w) narrowPointers(k.kdbg);
    }

    if (const PhysicalMemory* phys = t.dump->physical(); phys && k.paging != PagingMode::None)
        t.kernelSpace = std::make_unique<VirtualMemory>(*phys, k.paging, h.directoryTableBase);

    placeTriageCopies(t, k);
    t.stored.finalize();

    // Full dumps: the debugger data block is in memory (clear text before
    // Windows 8; encoded after, which needs nt's symbols: said in a note).
    if (!k.kdbg.present && h.kdDebuggerDataBlock) {
        std::vector<uint8_t> buf(0x400);
        uint64_t n = t.memory().read(h.kdDebuggerDataBlock, buf);
        buf.resize(n);
        if (auto d = kdbg::parse(Bytes(buf.data(), buf.size()), h.kdDebuggerDataBlock)) {
            k.kdbg = *d;
            if (!w) narrowPointers(k.kdbg);
        } else if (n >= 0x20) k.notes.push_back("KdDebuggerDataBlock is encoded or damaged: nt symbols are needed to decode it");
        else k.notes.push_back(fmt::format("KdDebuggerDataBlock @ {:x} is not in the dump", h.kdDebuggerDataBlock));
    }
    k.kernelBase = k.kdbg.kernBase;
    if (!k.psActiveProcessHead && k.kdbg.psActiveProcessHead) k.psActiveProcessHead = k.kdbg.psActiveProcessHead;
    if (!k.psLoadedModuleList && k.kdbg.psLoadedModuleList) k.psLoadedModuleList = k.kdbg.psLoadedModuleList;

    // Modules: the small dump's driver list, or the loader's list in memory.
    if (const kdump::Triage* tr = t.dump->triage()) {
        for (const auto& d : tr->drivers) {
            Module mod;
            mod.base = d.base;
            mod.size = d.size;
            mod.timestamp = d.timestamp;
            mod.checksum = d.checksum;
            mod.path = !d.path.empty() ? d.path : !d.name.empty() ? d.name : fmt::format("driver_{:x}", d.base);
            t.modules.push_back(std::move(mod));
        }
        for (const auto& u : tr->unloadedDrivers) {
            UnloadedModule um;
            um.base = u.start;
            um.size = u.end > u.start ? u.end - u.start : 0;
            um.name = u.name;
            t.unloadedModules.push_back(std::move(um));
        }
    } else if (k.psLoadedModuleList && t.kernelSpace) {
        walkLoadedModules(t, k.psLoadedModuleList, k.notes);
    }
    nameModules(t);
    if (!k.kernelBase)
        for (const auto& mod : t.modules)
            if (mod.name == "nt") k.kernelBase = mod.base;

    // System facts for vertarget and the banner.
    auto [major, minor] = versionOfBuild(h.minorVersion);
    t.system.present = true;
    t.system.machine = t.machine;
    t.system.numberOfProcessors = static_cast<uint8_t>(std::min<uint32_t>(h.numberProcessors, 255));
    t.system.majorVersion = major;
    t.system.minorVersion = minor;
    t.system.buildNumber = h.minorVersion;
    t.system.platformId = 2;
    t.system.productType = static_cast<uint8_t>(h.productType);
    t.system.suiteMask = static_cast<uint16_t>(h.suiteMask);
    if (k.kdbg.ntBuildLab)
        if (auto lab = t.memory().readCString(k.kdbg.ntBuildLab, 128)) t.misc.buildString = *lab;

    // One thread per processor; the bugcheck processor has the header context.
    uint32_t cpus = std::clamp<uint32_t>(h.numberProcessors, 1, 2048);
    for (uint32_t i = 0; i < cpus; ++i) {
        Thread th;
        th.id = i;
        t.threads.push_back(std::move(th));
    }
    if (k.bugcheckProcessor >= t.threads.size()) k.bugcheckProcessor = 0;
    if (!context.empty())
        if (auto ctx = CpuContext::parse(t.machine, context)) t.threads[k.bugcheckProcessor].context = *ctx;
    if (exception) {
        ExceptionInfo x = exceptionOf(*exception);
        x.threadId = k.bugcheckProcessor;
        t.exception = x;
    }
    for (const auto& wmsg : t.dump->warnings()) k.notes.push_back(wmsg);
    KdDebuggerData kd = k.kdbg;
    t.kernel = std::move(k);
    if (kd.present) applyDebuggerData(t, kd);
    t.finalize();
}

void applyDebuggerData(Target& t, const KdDebuggerData& d) {
    if (!t.kernel) return;
    KernelInfo& k = *t.kernel;
    k.kdbg = d;
    if (!k.kernelBase) k.kernelBase = d.kernBase;
    if (!k.psActiveProcessHead) k.psActiveProcessHead = d.psActiveProcessHead;
    if (!k.psLoadedModuleList) k.psLoadedModuleList = d.psLoadedModuleList;
    if (!d.kiProcessorBlock || !d.offsetPrcbProcStateContext) return;
    // Each processor's context: KPRCB.ProcessorState.ContextFrame, saved by
    // the bugcheck (the crashing processor) or the freeze IPI (the others).
    bool w = is64(t.machine);
    unsigned p = w ? 8 : 4;
    size_t size = t.machine == Machine::Amd64 ? CpuContext::kAmd64Size
                  : t.machine == Machine::X86 ? CpuContext::kX86Size
                  : t.machine == Machine::Arm64 ? CpuContext::kArm64Size
                                                : CpuContext::kArmSize;
    std::optional<CpuContext> header = k.bugcheckProcessor < t.threads.size() ? t.threads[k.bugcheckProcessor].context
                                                                              : std::nullopt;
    std::vector<std::optional<CpuContext>> saved(t.threads.size());
    for (uint32_t i = 0; i < t.threads.size(); ++i) {
        auto prcb = t.memory().readPointer(d.kiProcessorBlock + uint64_t(i) * p, p);
        if (!prcb || !*prcb) continue;
        std::vector<uint8_t> raw(size);
        if (!t.memory().readExact(*prcb + d.offsetPrcbProcStateContext, raw)) continue;
        if (auto ctx = CpuContext::parse(t.machine, Bytes(raw.data(), raw.size())); ctx && ctx->ip()) saved[i] = *ctx;
    }
    // Full dumps do not say which processor bugchecked: the one whose saved
    // context is the header's (same ip and sp).
    if (header && !k.smallDump)
        for (uint32_t i = 0; i < saved.size(); ++i)
            if (saved[i] && saved[i]->ip() == header->ip() && saved[i]->sp() == header->sp() && i != k.bugcheckProcessor) {
                t.threads[i].context = header;
                t.threads[k.bugcheckProcessor].context.reset();
                k.bugcheckProcessor = i;
                if (t.exception) t.exception->threadId = i;
                break;
            }
    for (uint32_t i = 0; i < saved.size(); ++i)
        if (i != k.bugcheckProcessor && saved[i]) t.threads[i].context = saved[i];
}

}  // namespace nt
