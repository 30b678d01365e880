#include "dump/minidump/minidump_reader.h"

#include <fmt/format.h>

#include "base/error.h"
#include "dump/minidump/minidump_file.h"
#include "dump/minidump/minidump_format.h"
#include "dump/minidump/minidump_streams.h"
#include "dump/module_names.h"

namespace nt {

std::string minidumpPlatformName(uint32_t id) {
    switch (id) {
        case 0: return "Win32s";
        case 1: return "Windows 9x";
        case 2: return "Windows NT";
        // Breakpad's MD_OS_* values.
        case 0x8000: return "Unix";
        case 0x8101: return "macOS";
        case 0x8102: return "iOS";
        case 0x8201: return "Linux";
        case 0x8202: return "Solaris";
        case 0x8203: return "Android";
        case 0x8204: return "PS3";
        case 0x8205: return "NaCl";
        case 0x8206: return "Fuchsia";
        default: return fmt::format("platform 0x{:x}", id);
    }
}

namespace {

// Breakpad/Crashpad write MDMP for every OS; only Windows ones are for us.
void rejectNonWindows(const MinidumpFile& f) {
    for (const auto& d : f.directory())
        if (d.type >= mdmp::kLinuxFirst && d.type <= mdmp::kLinuxLast)
            throw FormatError(fmt::format("not a Windows minidump: platform Linux ({} present)",
                                          mdmp::streamTypeName(d.type)));
}

}  // namespace

void readMinidump(Bytes bytes, DumpTarget& t) {
    MinidumpFile f = MinidumpFile::parse(bytes);
    rejectNonWindows(f);

    auto sys = f.stream(mdmp::kSystemInfoStream);
    if (!sys) throw FormatError("corrupt minidump: no SystemInfoStream, so the processor is unknown");
    t.system = mdmp::parseSystemInfo(f, *sys);
    if (t.system.platformId != mdmp::sysinfo::kPlatformWin32Nt)
        throw FormatError(
            fmt::format("not a Windows minidump: platform {}", minidumpPlatformName(t.system.platformId)));
    if (t.system.machine == Machine::Unknown)
        throw FormatError(fmt::format("unsupported minidump: processor architecture {}",
                                      t.system.processorArchitecture));
    const Machine m = t.system.machine;
    t.machine = m;
    t.dumpFlags = f.flags();
    t.dumpTimestamp = f.timestamp();
    t.dumpKind = (f.flags() & 0x2) ? "minidump with full memory" : "minidump";  // MiniDumpWithFullMemory

    for (const auto& d : f.directory()) {
        if (d.type == mdmp::kUnusedStream) continue;  // padding entries, as WinDbg's .dumpdebug skips them
        t.streams.push_back({d.type, d.size, d.rva, std::string(mdmp::streamTypeName(d.type))});
    }

    std::vector<mdmp::ThreadRecord> threads;
    if (auto s = f.stream(mdmp::kThreadListStream))
        threads = mdmp::parseThreadList(f, *s, m, mdmp::thread::kSize);
    else if (auto s2 = f.stream(mdmp::kThreadExListStream))
        threads = mdmp::parseThreadList(f, *s2, m, mdmp::thread::kExSize);
    t.threads.reserve(threads.size());
    for (auto& r : threads) t.threads.push_back(r.thread);
    if (auto s = f.stream(mdmp::kThreadInfoListStream)) mdmp::applyThreadInfoList(*s, t.threads);
    if (auto s = f.stream(mdmp::kThreadNamesStream)) mdmp::applyThreadNames(f, *s, t.threads);

    if (auto s = f.stream(mdmp::kModuleListStream)) t.modules = mdmp::parseModuleList(f, *s);
    // Names before finalize() sorts by base: the module list is in load order.
    assignModuleNames(t.modules);
    if (auto s = f.stream(mdmp::kUnloadedModuleListStream)) t.unloadedModules = mdmp::parseUnloadedModuleList(f, *s);
    if (auto s = f.stream(mdmp::kExceptionStream)) t.exception = mdmp::parseException(f, *s, m);
    if (auto s = f.stream(mdmp::kMiscInfoStream)) t.misc = mdmp::parseMiscInfo(*s);
    if (auto s = f.stream(mdmp::kHandleDataStream)) t.handles = mdmp::parseHandleData(f, *s);
    if (auto s = f.stream(mdmp::kMemoryInfoListStream)) t.memoryRegions = mdmp::parseMemoryInfoList(*s);
    if (auto s = f.stream(mdmp::kSystemMemoryInfoStream)) t.systemMemory = mdmp::parseSystemMemoryInfo(*s);
    if (auto s = f.stream(mdmp::kProcessVmCountersStream)) t.vmCounters = mdmp::parseProcessVmCounters(*s);
    for (const auto& d : f.directory()) {
        if (d.type == mdmp::kCommentStreamA)
            t.comments.push_back(mdmp::parseCommentA(f.location(d.rva, d.size, "CommentStreamA")));
        else if (d.type == mdmp::kCommentStreamW)
            t.comments.push_back(mdmp::parseCommentW(f.location(d.rva, d.size, "CommentStreamW")));
        else
            continue;
        f.chargeText(t.comments.back().size());
    }

    // Address space: MemoryList, then Memory64List, then thread stacks (which
    // usually repeat a MemoryList range; the first added wins on overlap).
    if (auto s = f.stream(mdmp::kMemoryListStream))
        for (const auto& r : mdmp::parseMemoryList(f, *s)) t.ranges.add(r.start, r.data);
    if (auto s = f.stream(mdmp::kMemory64ListStream))
        for (const auto& r : mdmp::parseMemory64List(f, *s)) t.ranges.add(r.start, r.data);
    for (const auto& r : threads) t.ranges.add(r.thread.stackStart, r.stack);
    t.ranges.finalize();

    t.finalize();
}

}  // namespace nt
