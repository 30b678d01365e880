#include "dump/userdump/userdump_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <tuple>
#include <vector>

#include "base/error.h"
#include "dump/module_names.h"
#include "dump/userdump/userdump_format.h"

namespace nt {

namespace {

using udmp::Layout;

template <class T>
T rd(Bytes b, uint64_t off) {
    return b.getOr<T>(off, T{});
}

uint64_t ptr(Bytes b, uint64_t off, bool is64) { return is64 ? rd<uint64_t>(b, off) : rd<uint32_t>(b, off); }

uint64_t contextSize(Machine m) {
    switch (m) {
        case Machine::X86: return CpuContext::kX86Size;
        case Machine::Amd64: return CpuContext::kAmd64Size;
        case Machine::Arm64: return CpuContext::kArm64Size;
        case Machine::Arm: return CpuContext::kArmSize;
        default: return 0;
    }
}

// An array of `count` entries of `entrySize` bytes at `off`; FormatError
// when it does not fit in the file.
Bytes table(Bytes file, uint64_t off, uint64_t count, uint64_t entrySize, std::string_view what) {
    if (entrySize != 0 && count <= file.size() / entrySize) {
        if (auto b = file.sub(off, count * entrySize)) return *b;
    }
    throw FormatError(fmt::format("corrupt user dump: {} ({} entries of {} bytes at 0x{:x}) runs past the end of the "
                                  "file ({} bytes)",
                                  what, count, entrySize, off, file.size()));
}

// The legacy format records no timestamp or checksum per module; WinDbg's
// lm shows the ones from the PE header in memory, so read them from there.
void readPeIdentity(const Memory& mem, Module& m) {
    auto lfanew = mem.readValue<uint32_t>(m.base + 0x3c);
    if (!lfanew || *lfanew > 0x10000000) return;
    uint64_t nt = m.base + *lfanew;
    if (mem.readValue<uint32_t>(nt) != 0x00004550) return;  // "PE\0\0"
    if (auto ts = mem.readValue<uint32_t>(nt + 8)) m.timestamp = *ts;
    // OptionalHeader starts at +0x18; CheckSum is at +0x40 in PE32 and PE32+.
    if (auto cs = mem.readValue<uint32_t>(nt + 0x18 + 0x40)) m.checksum = *cs;
}

// The format records no stack range; the TEB's NT_TIB has it (StackBase,
// StackLimit after ExceptionList, pointer-sized). A WoW64 thread stopped in
// 32-bit code runs on the stack of its 32-bit TEB, which follows the 64-bit
// one at +0x2000: take the range that holds the thread's stack pointer.
void setStackFromTib(const Memory& mem, Machine m, Thread& th) {
    struct Tib {
        uint64_t addr;
        unsigned ps;
    };
    std::vector<Tib> tibs{{th.teb, pointerSize(m)}};
    if (m == Machine::Amd64) tibs.push_back({th.teb + 0x2000, 4});
    std::optional<std::pair<uint64_t, uint64_t>> first;
    for (const Tib& tib : tibs) {
        auto base = mem.readPointer(tib.addr + tib.ps, tib.ps);
        auto limit = mem.readPointer(tib.addr + 2 * tib.ps, tib.ps);
        auto self = mem.readPointer(tib.addr + 6 * tib.ps, tib.ps);  // NT_TIB.Self
        if (!base || !limit || !self || *self != tib.addr || *limit >= *base) continue;
        std::pair<uint64_t, uint64_t> range{*limit, *base - *limit};
        if (!first) first = range;
        if (th.context && th.context->sp() - range.first < range.second) {
            first = range;
            break;
        }
    }
    if (first) std::tie(th.stackStart, th.stackSize) = *first;
}

}  // namespace

void readUserDump(Bytes file, DumpTarget& t) {
    if (file.size() < 8 || rd<uint32_t>(file, 0) != udmp::kSignature)
        throw FormatError("not a user dump: signature is not USERDUMP/USERDU64");
    uint32_t valid = rd<uint32_t>(file, 4);
    if (valid != udmp::kValid32 && valid != udmp::kValid64)
        throw FormatError("not a user dump: signature is not USERDUMP/USERDU64");
    const Layout& L = valid == udmp::kValid64 ? udmp::kLayout64 : udmp::kLayout32;
    const char* kind = L.is64 ? "USERDU64" : "USERDUMP";
    if (file.size() < L.headerSize)
        throw FormatError(fmt::format("truncated: {} header needs {} bytes, file has {}", kind, L.headerSize,
                                      file.size()));

    uint32_t machineType = rd<uint32_t>(file, udmp::kMachineImageType);
    Machine m = machineFromImageType(machineType);
    if (m == Machine::Unknown)
        throw FormatError(fmt::format("unsupported {} dump: machine type 0x{:x}", kind, machineType));
    t.machine = m;
    t.dumpKind = fmt::format("user full dump ({})", kind);
    uint32_t major = rd<uint32_t>(file, udmp::kMajorVersion), minor = rd<uint32_t>(file, udmp::kMinorVersion);
    // No SystemInfo in this format: the header's versions are all we know
    // (the build number is in MinorVersion's high word: 0x42ee = 17134).
    t.system.machine = m;
    t.system.majorVersion = major;
    t.system.minorVersion = minor & 0xffff;
    t.system.buildNumber = minor >> 16;
    t.system.platformId = 2;

    uint32_t threadCount = rd<uint32_t>(file, udmp::kThreadCount);
    uint32_t moduleCount = rd<uint32_t>(file, udmp::kModuleCount);
    uint32_t regionCount = rd<uint32_t>(file, udmp::kMemoryRegionCount);
    uint64_t threadOff = ptr(file, L.threadOff, L.is64), moduleOff = ptr(file, L.moduleOff, L.is64);
    uint64_t dataOff = ptr(file, L.dataOff, L.is64), regionOff = ptr(file, L.regionOff, L.is64);
    uint64_t eventOff = ptr(file, L.debugEventOff, L.is64), stateOff = ptr(file, L.threadStateOff, L.is64);

    // Memory: region descriptors, their bytes back to back from DataOffset.
    Bytes regions = table(file, regionOff, regionCount, L.regionSize, "memory region table");
    uint64_t dataPos = dataOff;
    t.memoryRegions.reserve(regionCount);
    for (uint32_t i = 0; i < regionCount; ++i) {
        Bytes r = *regions.sub(uint64_t{i} * L.regionSize, L.regionSize);
        MemoryRegionInfo info;
        info.base = ptr(r, L.rBase, L.is64);
        info.allocationBase = ptr(r, L.rAllocBase, L.is64);
        info.allocationProtect = rd<uint32_t>(r, L.rAllocProtect);
        info.size = ptr(r, L.rRegionSize, L.is64);
        info.state = rd<uint32_t>(r, L.rState);
        info.protect = rd<uint32_t>(r, L.rProtect);
        info.type = rd<uint32_t>(r, L.rType);
        t.memoryRegions.push_back(info);
        // A file cut short loses the last regions' bytes: clip, as for minidumps.
        t.ranges.add(info.base, file.subClamped(dataPos, info.size));
        dataPos = fitsWithin(dataPos, info.size, file.size()) ? dataPos + info.size : file.size();
    }
    t.ranges.finalize();

    // Threads: contexts at ThreadOffset, CRASH_THREAD states at ThreadStateOffset.
    uint64_t ctxSize = contextSize(m);
    Bytes contexts = table(file, threadOff, threadCount, ctxSize, "thread context table");
    Bytes states = table(file, stateOff, threadCount, L.threadStateSize, "thread state table");
    t.threads.reserve(threadCount);
    for (uint32_t i = 0; i < threadCount; ++i) {
        Bytes s = *states.sub(uint64_t{i} * L.threadStateSize, L.threadStateSize);
        Thread th;
        th.id = rd<uint32_t>(s, 0);
        th.suspendCount = rd<uint32_t>(s, 4);
        th.priorityClass = rd<uint32_t>(s, 8);
        th.priority = rd<uint32_t>(s, 12);
        th.teb = ptr(s, L.tTeb, L.is64);
        th.context = CpuContext::parse(m, *contexts.sub(uint64_t{i} * ctxSize, ctxSize));
        setStackFromTib(t.ranges, m, th);
        t.threads.push_back(std::move(th));
    }

    // Modules: variable-length CRASH_MODULE entries.
    uint64_t pos = moduleOff;
    if (moduleCount > file.size() / L.moduleHeaderSize)
        throw FormatError(fmt::format("corrupt user dump: {} modules cannot fit in {} bytes", moduleCount,
                                      file.size()));
    t.modules.reserve(moduleCount);
    for (uint32_t i = 0; i < moduleCount; ++i) {
        auto hdr = file.sub(pos, L.moduleHeaderSize);
        uint32_t nameLen = hdr ? rd<uint32_t>(*hdr, L.mNameLength) : 0;
        auto name = hdr ? file.sub(pos + L.moduleHeaderSize, nameLen) : std::nullopt;
        if (!hdr || !name || nameLen > udmp::kMaxModuleName)
            throw FormatError(fmt::format("corrupt user dump: module entry {} at 0x{:x} runs past the end of the file",
                                          i, pos));
        Module mod;
        mod.base = ptr(*hdr, 0, L.is64);
        mod.size = rd<uint32_t>(*hdr, L.mSize);
        mod.path = std::string(name->cstring(0, nameLen));
        readPeIdentity(t.ranges, mod);
        t.modules.push_back(std::move(mod));
        pos += L.moduleHeaderSize + nameLen;
    }
    // The module table is sorted by base, not in load order. In a WoW64
    // process the native (64-bit) modules load first, so they get first
    // claim on a name: the 32-bit ntdll becomes "ntdll_77xxxxxx" as WinDbg
    // shows it.
    std::vector<size_t> order(t.modules.size());
    std::iota(order.begin(), order.end(), size_t{0});
    if (L.is64)
        std::stable_partition(order.begin(), order.end(),
                              [&](size_t i) { return t.modules[i].base > 0xffffffffu; });
    assignModuleNames(t.modules, order);

    // The debug event that stopped the process (an exception for a crash).
    Bytes ev = file.subClamped(eventOff, L.eFirstChance + 4);
    if (ev.size() == L.eFirstChance + 4 && rd<uint32_t>(ev, 0) == udmp::kExceptionDebugEvent) {
        ExceptionInfo x;
        x.threadId = rd<uint32_t>(ev, 8);
        x.code = rd<uint32_t>(ev, L.eCode);
        x.flags = rd<uint32_t>(ev, L.eFlags);
        x.record = ptr(ev, L.eRecord, L.is64);
        x.address = ptr(ev, L.eAddress, L.is64);
        uint32_t n = std::min(rd<uint32_t>(ev, L.eNumberParameters), udmp::kMaxParameters);
        for (uint32_t i = 0; i < n; ++i) x.parameters.push_back(ptr(ev, L.eInformation + i * (L.is64 ? 8 : 4), L.is64));
        x.firstChance = rd<uint32_t>(ev, L.eFirstChance) != 0;
        x.firstChanceKnown = true;
        // No separate exception context: the faulting thread's context is it.
        for (const Thread& th : t.threads)
            if (th.id == x.threadId) x.context = th.context;
        t.exception = std::move(x);
    }

    t.finalize();
}

}  // namespace nt
