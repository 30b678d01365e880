#include "dump/minidump/minidump_streams.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "base/error.h"
#include "dump/minidump/minidump_format.h"

namespace nt::mdmp {

namespace {

template <class T>
T rd(Bytes b, uint64_t off) {
    return b.getOr<T>(off, T{});
}

// Checks that `count` entries of `entrySize` bytes fit after `headerSize`
// bytes of the stream, so that callers may size vectors by count.
void checkList(Bytes stream, uint64_t headerSize, uint64_t count, uint64_t entrySize, std::string_view what) {
    if (stream.empty() && count == 0) return;  // a zero-size stream is an empty list
    if (stream.size() < headerSize)
        throw FormatError(fmt::format("corrupt minidump: {} is {} bytes, shorter than its {}-byte header", what,
                                      stream.size(), headerSize));
    if (entrySize == 0 || count > (stream.size() - headerSize) / entrySize)
        throw FormatError(fmt::format("corrupt minidump: {} claims {} entries of {} bytes but holds {} bytes", what,
                                      count, entrySize, stream.size()));
}

// Memory data may be clipped at the end of the file (see header comment).
Bytes memoryData(const MinidumpFile& f, uint64_t rva, uint64_t size) { return f.bytes().subClamped(rva, size); }

std::optional<CpuContext> context(const MinidumpFile& f, uint32_t size, uint32_t rva, Machine m,
                                  std::string_view what) {
    if (size == 0) return std::nullopt;
    return CpuContext::parse(m, f.location(rva, size, what));
}

// Reads {SizeOfHeader u32, SizeOfEntry u32, NumberOfEntries u32|u64} list headers.
struct ListHeader {
    uint64_t headerSize, entrySize, count;
};
ListHeader listHeader(Bytes stream, bool count64, uint64_t minEntry, std::string_view what) {
    uint64_t minHeader = count64 ? 16 : 12;
    if (stream.empty()) return {minHeader, minEntry, 0};  // zero-size stream: empty list
    if (stream.size() < minHeader)
        throw FormatError(fmt::format("corrupt minidump: {} is too short for its header", what));
    ListHeader h{rd<uint32_t>(stream, 0), rd<uint32_t>(stream, 4),
                 count64 ? rd<uint64_t>(stream, 8) : uint64_t{rd<uint32_t>(stream, 8)}};
    if (h.headerSize < minHeader || h.entrySize < minEntry)
        throw FormatError(fmt::format("corrupt minidump: {} header says header {} bytes, entries {} bytes", what,
                                      h.headerSize, h.entrySize));
    checkList(stream, h.headerSize, h.count, h.entrySize, what);
    return h;
}

// Thread id -> index of its first thread; keeps id matching linear in the
// number of entries even for hostile lists.
std::unordered_map<uint32_t, size_t> indexById(const std::vector<Thread>& threads) {
    std::unordered_map<uint32_t, size_t> m;
    for (size_t i = 0; i < threads.size(); ++i) m.emplace(threads[i].id, i);
    return m;
}

}  // namespace

std::vector<ThreadRecord> parseThreadList(const MinidumpFile& f, Bytes stream, Machine m, uint64_t entrySize) {
    std::string_view what = entrySize == thread::kExSize ? "ThreadExListStream" : "ThreadListStream";
    uint32_t count = rd<uint32_t>(stream, 0);
    checkList(stream, 4, count, entrySize, what);
    std::vector<ThreadRecord> out;
    out.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        Bytes e = *stream.sub(4 + uint64_t{i} * entrySize, entrySize);
        ThreadRecord r;
        Thread& t = r.thread;
        t.id = rd<uint32_t>(e, thread::kThreadId);
        t.suspendCount = rd<uint32_t>(e, thread::kSuspendCount);
        t.priorityClass = rd<uint32_t>(e, thread::kPriorityClass);
        t.priority = rd<uint32_t>(e, thread::kPriority);
        t.teb = rd<uint64_t>(e, thread::kTeb);
        t.stackStart = rd<uint64_t>(e, thread::kStackStart);
        uint32_t stackSize = rd<uint32_t>(e, thread::kStackDataSize);
        uint32_t stackRva = rd<uint32_t>(e, thread::kStackRva);
        t.stackSize = stackSize;
        // Wine's full-memory dumps leave Rva 0 and put the stack in Memory64List.
        if (stackRva != 0) r.stack = memoryData(f, stackRva, stackSize);
        t.context = context(f, rd<uint32_t>(e, thread::kContextDataSize), rd<uint32_t>(e, thread::kContextRva), m,
                            "thread context");
        out.push_back(std::move(r));
    }
    return out;
}

// PDB paths are MAX_PATH-bounded in practice; longer is garbage.
constexpr uint64_t kMaxPdbName = 1024;

std::optional<CodeViewInfo> parseCodeView(Bytes rec) {
    uint32_t sig = rd<uint32_t>(rec, 0);
    CodeViewInfo cv;
    if (sig == kCvRsds && rec.size() >= 24) {
        std::copy(rec.data() + 4, rec.data() + 20, cv.guid.begin());
        cv.age = rd<uint32_t>(rec, 20);
        cv.pdbName = std::string(rec.cstring(24, std::min<uint64_t>(rec.size() - 24, kMaxPdbName)));
        return cv;
    }
    if (sig == kCvNb10 && rec.size() >= 16) {
        // NB10: the 32-bit signature stands where RSDS has the GUID.
        cv.isPdb70 = false;
        std::copy(rec.data() + 8, rec.data() + 12, cv.guid.begin());
        cv.age = rd<uint32_t>(rec, 12);
        cv.pdbName = std::string(rec.cstring(16, std::min<uint64_t>(rec.size() - 16, kMaxPdbName)));
        return cv;
    }
    return std::nullopt;
}

std::vector<Module> parseModuleList(const MinidumpFile& f, Bytes stream) {
    uint32_t count = rd<uint32_t>(stream, 0);
    checkList(stream, 4, count, module::kSize, "ModuleListStream");
    std::vector<Module> out;
    out.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        Bytes e = *stream.sub(4 + uint64_t{i} * module::kSize, module::kSize);
        Module mod;
        mod.base = rd<uint64_t>(e, module::kBaseOfImage);
        mod.size = rd<uint32_t>(e, module::kSizeOfImage);
        mod.checksum = rd<uint32_t>(e, module::kCheckSum);
        mod.timestamp = rd<uint32_t>(e, module::kTimeDateStamp);
        mod.path = f.string(rd<uint32_t>(e, module::kModuleNameRva), "module name");
        Bytes vs = *e.sub(module::kVersionInfo, 52);
        if (rd<uint32_t>(vs, vsfixed::kSig) == vsfixed::kSignature) {
            mod.version.present = true;
            mod.version.fileVersionMS = rd<uint32_t>(vs, vsfixed::kFileVersionMS);
            mod.version.fileVersionLS = rd<uint32_t>(vs, vsfixed::kFileVersionLS);
            mod.version.productVersionMS = rd<uint32_t>(vs, vsfixed::kProductVersionMS);
            mod.version.productVersionLS = rd<uint32_t>(vs, vsfixed::kProductVersionLS);
            mod.version.fileFlags = rd<uint32_t>(vs, vsfixed::kFileFlags);
            mod.version.fileOS = rd<uint32_t>(vs, vsfixed::kFileOS);
            mod.version.fileType = rd<uint32_t>(vs, vsfixed::kFileType);
        }
        uint32_t cvSize = rd<uint32_t>(e, module::kCvRecord), cvRva = rd<uint32_t>(e, module::kCvRecord + 4);
        if (cvSize != 0) {
            mod.codeView = parseCodeView(f.location(cvRva, cvSize, "module CodeView record"));
            if (mod.codeView) f.chargeText(mod.codeView->pdbName.size());
        }
        out.push_back(std::move(mod));
    }
    return out;
}

std::vector<UnloadedModule> parseUnloadedModuleList(const MinidumpFile& f, Bytes stream) {
    ListHeader h = listHeader(stream, false, unloaded::kSize, "UnloadedModuleListStream");
    std::vector<UnloadedModule> out;
    out.reserve(h.count);
    for (uint64_t i = 0; i < h.count; ++i) {
        Bytes e = *stream.sub(h.headerSize + i * h.entrySize, h.entrySize);
        UnloadedModule u;
        u.base = rd<uint64_t>(e, unloaded::kBaseOfImage);
        u.size = rd<uint32_t>(e, unloaded::kSizeOfImage);
        u.checksum = rd<uint32_t>(e, unloaded::kCheckSum);
        u.timestamp = rd<uint32_t>(e, unloaded::kTimeDateStamp);
        u.name = f.string(rd<uint32_t>(e, unloaded::kModuleNameRva), "unloaded module name");
        out.push_back(std::move(u));
    }
    return out;
}

std::vector<MemoryRange> parseMemoryList(const MinidumpFile& f, Bytes stream) {
    uint32_t count = rd<uint32_t>(stream, 0);
    // Some writers pad the count to 8 bytes: checkList accepts extra bytes.
    checkList(stream, 4, count, kMemoryDescriptorSize, "MemoryListStream");
    std::vector<MemoryRange> out;
    out.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        uint64_t off = 4 + uint64_t{i} * kMemoryDescriptorSize;
        uint64_t start = rd<uint64_t>(stream, off);
        uint32_t size = rd<uint32_t>(stream, off + 8), rva = rd<uint32_t>(stream, off + 12);
        out.push_back({start, memoryData(f, rva, size)});
    }
    return out;
}

std::vector<MemoryRange> parseMemory64List(const MinidumpFile& f, Bytes stream) {
    uint64_t count = rd<uint64_t>(stream, 0);
    uint64_t rva = rd<uint64_t>(stream, 8);
    checkList(stream, kMemory64HeaderSize, count, kMemoryDescriptor64Size, "Memory64ListStream");
    std::vector<MemoryRange> out;
    out.reserve(count);
    // Ranges are stored back to back from BaseRva, in descriptor order.
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t off = kMemory64HeaderSize + i * kMemoryDescriptor64Size;
        uint64_t start = rd<uint64_t>(stream, off), size = rd<uint64_t>(stream, off + 8);
        Bytes data = memoryData(f, rva, size);
        if (data.empty() && size != 0) break;  // past the end of a truncated file
        out.push_back({start, data});
        if (!fitsWithin(rva, size, f.bytes().size())) break;
        rva += size;
    }
    return out;
}

std::vector<MemoryRegionInfo> parseMemoryInfoList(Bytes stream) {
    ListHeader h = listHeader(stream, true, meminfo::kSize, "MemoryInfoListStream");
    std::vector<MemoryRegionInfo> out;
    out.reserve(h.count);
    for (uint64_t i = 0; i < h.count; ++i) {
        Bytes e = *stream.sub(h.headerSize + i * h.entrySize, h.entrySize);
        MemoryRegionInfo r;
        r.base = rd<uint64_t>(e, meminfo::kBaseAddress);
        r.allocationBase = rd<uint64_t>(e, meminfo::kAllocationBase);
        r.allocationProtect = rd<uint32_t>(e, meminfo::kAllocationProtect);
        r.size = rd<uint64_t>(e, meminfo::kRegionSize);
        r.state = rd<uint32_t>(e, meminfo::kState);
        r.protect = rd<uint32_t>(e, meminfo::kProtect);
        r.type = rd<uint32_t>(e, meminfo::kType);
        out.push_back(r);
    }
    return out;
}

ExceptionInfo parseException(const MinidumpFile& f, Bytes stream, Machine m) {
    if (stream.size() < exception::kSize)
        throw FormatError(fmt::format("corrupt minidump: ExceptionStream is {} bytes, needs {}", stream.size(),
                                      exception::kSize));
    ExceptionInfo x;
    x.threadId = rd<uint32_t>(stream, exception::kThreadId);
    x.code = rd<uint32_t>(stream, exception::kCode);
    x.flags = rd<uint32_t>(stream, exception::kFlags);
    x.record = rd<uint64_t>(stream, exception::kRecord);
    x.address = rd<uint64_t>(stream, exception::kAddress);
    uint32_t n = std::min(rd<uint32_t>(stream, exception::kNumberParameters), exception::kMaxParameters);
    for (uint32_t i = 0; i < n; ++i) x.parameters.push_back(rd<uint64_t>(stream, exception::kInformation + 8 * i));
    x.context = context(f, rd<uint32_t>(stream, exception::kContextDataSize),
                        rd<uint32_t>(stream, exception::kContextRva), m, "exception context");
    return x;
}

SystemInfo parseSystemInfo(const MinidumpFile& f, Bytes stream) {
    if (stream.size() < sysinfo::kSize)
        throw FormatError(fmt::format("corrupt minidump: SystemInfoStream is {} bytes, needs {}", stream.size(),
                                      sysinfo::kSize));
    SystemInfo s;
    s.present = true;
    s.processorArchitecture = rd<uint16_t>(stream, sysinfo::kProcessorArchitecture);
    s.machine = machineFromProcessorArchitecture(s.processorArchitecture);
    s.processorLevel = rd<uint16_t>(stream, sysinfo::kProcessorLevel);
    s.processorRevision = rd<uint16_t>(stream, sysinfo::kProcessorRevision);
    s.numberOfProcessors = rd<uint8_t>(stream, sysinfo::kNumberOfProcessors);
    s.productType = rd<uint8_t>(stream, sysinfo::kProductType);
    s.majorVersion = rd<uint32_t>(stream, sysinfo::kMajorVersion);
    s.minorVersion = rd<uint32_t>(stream, sysinfo::kMinorVersion);
    s.buildNumber = rd<uint32_t>(stream, sysinfo::kBuildNumber);
    s.platformId = rd<uint32_t>(stream, sysinfo::kPlatformId);
    s.suiteMask = rd<uint16_t>(stream, sysinfo::kSuiteMask);
    uint32_t csd = rd<uint32_t>(stream, sysinfo::kCsdVersionRva);
    if (csd != 0) s.csdVersion = f.string(csd, "CSD version");
    if (s.machine == Machine::X86) {
        // The x86 arm of the CPU_INFORMATION union: CPUID vendor, version, features.
        s.cpuVendor = std::string(stream.cstring(sysinfo::kVendorId, 12));
        s.cpuVersionInformation = rd<uint32_t>(stream, sysinfo::kVersionInformation);
        s.cpuFeatureInformation = rd<uint32_t>(stream, sysinfo::kFeatureInformation);
    }
    return s;
}

MiscInfo parseMiscInfo(Bytes stream) {
    MiscInfo mi;
    uint64_t size = std::min<uint64_t>(rd<uint32_t>(stream, misc::kSizeOfInfo), stream.size());
    if (size < misc::kSize1) return mi;  // too short to say anything
    Bytes b = stream.subClamped(0, size);
    mi.version = size >= misc::kSize5 ? 5 : size >= misc::kSize4 ? 4 : size >= misc::kSize3 ? 3 : size >= misc::kSize2 ? 2 : 1;
    mi.flags1 = rd<uint32_t>(b, misc::kFlags1);
    if (mi.flags1 & misc::kFlagProcessId) mi.processId = rd<uint32_t>(b, misc::kProcessId);
    if (mi.flags1 & misc::kFlagProcessTimes) {
        mi.processCreateTime = rd<uint32_t>(b, misc::kProcessCreateTime);
        mi.processUserTime = rd<uint32_t>(b, misc::kProcessUserTime);
        mi.processKernelTime = rd<uint32_t>(b, misc::kProcessKernelTime);
    }
    if (mi.version >= 2 && (mi.flags1 & misc::kFlagPowerInfo)) {
        mi.maxMhz = rd<uint32_t>(b, misc::kProcessorMaxMhz);
        mi.currentMhz = rd<uint32_t>(b, misc::kProcessorCurrentMhz);
    }
    if (mi.version >= 3 && (mi.flags1 & misc::kFlagTimeZone)) mi.timeZoneId = rd<uint32_t>(b, misc::kTimeZoneId);
    if (mi.version >= 4 && (mi.flags1 & misc::kFlagBuildString)) {
        auto wstr = [&](uint64_t off, uint32_t maxChars) {
            Bytes s = b.subClamped(off, uint64_t{maxChars} * 2);
            uint64_t n = 0;
            while (n < s.size() / 2 && rd<uint16_t>(s, 2 * n) != 0) ++n;
            return utf16ToUtf8(s.data(), n);
        };
        mi.buildString = wstr(misc::kBuildString, misc::kBuildStringChars);
        mi.dbgBuildString = wstr(misc::kDbgBldStr, misc::kDbgBldStrChars);
    }
    return mi;
}

std::vector<HandleInfo> parseHandleData(const MinidumpFile& f, Bytes stream) {
    if (stream.size() < 16) throw FormatError("corrupt minidump: HandleDataStream is too short for its header");
    uint64_t headerSize = rd<uint32_t>(stream, handle::kHeaderSizeOfHeader);
    uint64_t entrySize = rd<uint32_t>(stream, handle::kHeaderSizeOfDescriptor);
    uint64_t count = rd<uint32_t>(stream, handle::kHeaderCount);
    if (headerSize < 16 || entrySize < handle::kSize1)
        throw FormatError(fmt::format("corrupt minidump: HandleDataStream header says header {} bytes, descriptors {} "
                                      "bytes",
                                      headerSize, entrySize));
    checkList(stream, headerSize, count, entrySize, "HandleDataStream");
    std::vector<HandleInfo> out;
    out.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
        Bytes e = *stream.sub(headerSize + i * entrySize, entrySize);
        HandleInfo h;
        h.handle = rd<uint64_t>(e, handle::kHandle);
        if (uint32_t r = rd<uint32_t>(e, handle::kTypeNameRva)) h.typeName = f.string(r, "handle type name");
        if (uint32_t r = rd<uint32_t>(e, handle::kObjectNameRva)) h.objectName = f.string(r, "handle object name");
        h.attributes = rd<uint32_t>(e, handle::kAttributes);
        h.grantedAccess = rd<uint32_t>(e, handle::kGrantedAccess);
        h.handleCount = rd<uint32_t>(e, handle::kHandleCount);
        h.pointerCount = rd<uint32_t>(e, handle::kPointerCount);
        if (entrySize >= handle::kSize2) h.objectInfoRva = rd<uint32_t>(e, handle::kObjectInfoRva);
        out.push_back(std::move(h));
    }
    return out;
}

void applyThreadInfoList(Bytes stream, std::vector<Thread>& threads) {
    ListHeader h = listHeader(stream, false, threadinfo::kSize, "ThreadInfoListStream");
    auto index = indexById(threads);
    for (uint64_t i = 0; i < h.count; ++i) {
        Bytes e = *stream.sub(h.headerSize + i * h.entrySize, h.entrySize);
        auto it = index.find(rd<uint32_t>(e, threadinfo::kThreadId));
        if (it == index.end()) continue;
        {
            Thread& t = threads[it->second];
            if (t.hasInfo) continue;
            t.hasInfo = true;
            t.dumpFlags = rd<uint32_t>(e, threadinfo::kDumpFlags);
            t.dumpError = rd<uint32_t>(e, threadinfo::kDumpError);
            t.exitStatus = rd<uint32_t>(e, threadinfo::kExitStatus);
            t.createTime = rd<uint64_t>(e, threadinfo::kCreateTime);
            t.exitTime = rd<uint64_t>(e, threadinfo::kExitTime);
            t.kernelTime = rd<uint64_t>(e, threadinfo::kKernelTime);
            t.userTime = rd<uint64_t>(e, threadinfo::kUserTime);
            t.startAddress = rd<uint64_t>(e, threadinfo::kStartAddress);
            t.affinity = rd<uint64_t>(e, threadinfo::kAffinity);
        }
    }
}

void applyThreadNames(const MinidumpFile& f, Bytes stream, std::vector<Thread>& threads) {
    uint32_t count = rd<uint32_t>(stream, 0);
    checkList(stream, 4, count, kThreadNameSize, "ThreadNamesStream");
    auto index = indexById(threads);
    for (uint32_t i = 0; i < count; ++i) {
        uint64_t off = 4 + uint64_t{i} * kThreadNameSize;
        auto it = index.find(rd<uint32_t>(stream, off));
        if (it == index.end() || !threads[it->second].name.empty()) continue;
        threads[it->second].name = f.string(rd<uint64_t>(stream, off + 4), "thread name");
    }
}

SystemMemoryInfo parseSystemMemoryInfo(Bytes stream) {
    if (stream.size() < sysmem::kMinSize)
        throw FormatError(fmt::format("corrupt minidump: SystemMemoryInfoStream is {} bytes, needs {}", stream.size(),
                                      sysmem::kMinSize));
    SystemMemoryInfo s;
    s.present = true;
    s.pageSize = rd<uint32_t>(stream, sysmem::kPageSize);
    s.numberOfPhysicalPages = rd<uint32_t>(stream, sysmem::kNumberOfPhysicalPages);
    s.allocationGranularity = rd<uint32_t>(stream, sysmem::kAllocationGranularity);
    s.minimumUserAddress = rd<uint64_t>(stream, sysmem::kMinimumUserAddress);
    s.maximumUserAddress = rd<uint64_t>(stream, sysmem::kMaximumUserAddress);
    s.activeProcessorsAffinityMask = rd<uint64_t>(stream, sysmem::kActiveProcessorsAffinityMask);
    s.numberOfProcessors = rd<uint32_t>(stream, sysmem::kNumberOfProcessors);
    return s;
}

ProcessVmCounters parseProcessVmCounters(Bytes stream) {
    using namespace vmcounters;
    uint16_t rev = rd<uint16_t>(stream, kRevision);
    uint64_t need = rev >= 2 ? kSize2 : kSize1;
    if (stream.size() < need)
        throw FormatError(fmt::format("corrupt minidump: ProcessVmCountersStream revision {} is {} bytes, needs {}",
                                      rev, stream.size(), need));
    ProcessVmCounters c;
    c.present = true;
    c.pageFaultCount = rd<uint32_t>(stream, kPageFaultCount);
    c.peakWorkingSetSize = rd<uint64_t>(stream, kPeakWorkingSetSize);
    c.workingSetSize = rd<uint64_t>(stream, kWorkingSetSize);
    c.quotaPeakPagedPoolUsage = rd<uint64_t>(stream, kQuotaPeakPagedPoolUsage);
    c.quotaPagedPoolUsage = rd<uint64_t>(stream, kQuotaPagedPoolUsage);
    c.quotaPeakNonPagedPoolUsage = rd<uint64_t>(stream, kQuotaPeakNonPagedPoolUsage);
    c.quotaNonPagedPoolUsage = rd<uint64_t>(stream, kQuotaNonPagedPoolUsage);
    c.pagefileUsage = rd<uint64_t>(stream, kPagefileUsage);
    c.peakPagefileUsage = rd<uint64_t>(stream, kPeakPagefileUsage);
    if (rev >= 2) {
        c.peakVirtualSize = rd<uint64_t>(stream, kPeakVirtualSize2);
        c.virtualSize = rd<uint64_t>(stream, kVirtualSize2);
        c.privateUsage = rd<uint64_t>(stream, kPrivateUsage2);
    } else {
        c.privateUsage = rd<uint64_t>(stream, kPrivateUsage1);
    }
    return c;
}

std::string parseCommentA(Bytes stream) { return std::string(stream.cstring(0, stream.size())); }

std::string parseCommentW(Bytes stream) {
    uint64_t n = 0;
    while (n < stream.size() / 2 && rd<uint16_t>(stream, 2 * n) != 0) ++n;
    return utf16ToUtf8(stream.data(), n);
}

}  // namespace nt::mdmp
