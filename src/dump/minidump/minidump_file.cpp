#include "dump/minidump/minidump_file.h"

#include <fmt/format.h>

#include "base/error.h"
#include "dump/minidump/minidump_format.h"

namespace nt {

namespace mdmp {
std::string_view streamTypeName(uint32_t type) {
    switch (type) {
        case 0: return "UnusedStream";
        case 1: return "ReservedStream0";
        case 2: return "ReservedStream1";
        case kThreadListStream: return "ThreadListStream";
        case kModuleListStream: return "ModuleListStream";
        case kMemoryListStream: return "MemoryListStream";
        case kExceptionStream: return "ExceptionStream";
        case kSystemInfoStream: return "SystemInfoStream";
        case kThreadExListStream: return "ThreadExListStream";
        case kMemory64ListStream: return "Memory64ListStream";
        case kCommentStreamA: return "CommentStreamA";
        case kCommentStreamW: return "CommentStreamW";
        case kHandleDataStream: return "HandleDataStream";
        case kFunctionTableStream: return "FunctionTableStream";
        case kUnloadedModuleListStream: return "UnloadedModuleListStream";
        case kMiscInfoStream: return "MiscInfoStream";
        case kMemoryInfoListStream: return "MemoryInfoListStream";
        case kThreadInfoListStream: return "ThreadInfoListStream";
        case kHandleOperationListStream: return "HandleOperationListStream";
        case kTokenStream: return "TokenStream";
        case kJavaScriptDataStream: return "JavaScriptDataStream";
        case kSystemMemoryInfoStream: return "SystemMemoryInfoStream";
        case kProcessVmCountersStream: return "ProcessVmCountersStream";
        case kIptTraceStream: return "IptTraceStream";
        case kThreadNamesStream: return "ThreadNamesStream";
        case 0x8000: return "ceStreamNull";
        case 0x8001: return "ceStreamSystemInfo";
        case 0x8002: return "ceStreamException";
        case 0x8003: return "ceStreamModuleList";
        case 0x8004: return "ceStreamProcessList";
        case 0x8005: return "ceStreamThreadList";
        case 0x8006: return "ceStreamThreadContextList";
        case 0x8007: return "ceStreamThreadCallStackList";
        case 0x8008: return "ceStreamMemoryVirtualList";
        case 0x8009: return "ceStreamMemoryPhysicalList";
        case 0x800a: return "ceStreamBucketParameters";
        case 0x800b: return "ceStreamProcessModuleMap";
        case 0x800c: return "ceStreamDiagnosisList";
        case kBreakpadInfoStream: return "BreakpadInfoStream";
        case kBreakpadAssertionInfoStream: return "BreakpadAssertionInfoStream";
        case 0x47670003: return "LinuxCpuInfoStream";
        case 0x47670004: return "LinuxProcStatusStream";
        case 0x47670005: return "LinuxLsbReleaseStream";
        case 0x47670006: return "LinuxCmdLineStream";
        case 0x47670007: return "LinuxEnvironStream";
        case 0x47670008: return "LinuxAuxvStream";
        case 0x47670009: return "LinuxMapsStream";
        case 0x4767000a: return "LinuxDsoDebugStream";
        case kCrashpadInfoStream: return "CrashpadInfoStream";
        default: return "";
    }
}
}  // namespace mdmp

MinidumpFile MinidumpFile::parse(Bytes file) {
    if (file.size() < mdmp::header::kSize)
        throw FormatError(fmt::format("truncated: minidump header needs {} bytes, file has {}", mdmp::header::kSize,
                                      file.size()));
    if (file.getOr<uint32_t>(mdmp::header::kSignature, 0) != mdmp::kSignature)
        throw FormatError("not a minidump: signature is not MDMP");
    MinidumpFile f;
    f.file_ = file;
    f.version_ = file.getOr<uint32_t>(mdmp::header::kVersion, 0);
    if ((f.version_ & 0xffff) != mdmp::kVersionLow)
        throw FormatError(fmt::format("not a minidump: version 0x{:x} (low word must be 0xa793)", f.version_));
    uint32_t count = file.getOr<uint32_t>(mdmp::header::kNumberOfStreams, 0);
    uint32_t dirRva = file.getOr<uint32_t>(mdmp::header::kStreamDirectoryRva, 0);
    f.timestamp_ = file.getOr<uint32_t>(mdmp::header::kTimeDateStamp, 0);
    f.flags_ = file.getOr<uint64_t>(mdmp::header::kFlags, 0);
    // The whole directory must be in the file before we size anything by
    // the count (count * 12 cannot overflow 64 bits).
    if (!file.contains(dirRva, uint64_t{count} * mdmp::kDirectoryEntrySize))
        throw FormatError(fmt::format("truncated: stream directory of {} entries at 0x{:x} runs past the end of the "
                                      "file ({} bytes)",
                                      count, dirRva, file.size()));
    f.dir_.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        uint64_t off = dirRva + uint64_t{i} * mdmp::kDirectoryEntrySize;
        f.dir_.push_back({file.getOr<uint32_t>(off, 0), file.getOr<uint32_t>(off + 4, 0),
                          file.getOr<uint32_t>(off + 8, 0)});
    }
    return f;
}

bool MinidumpFile::hasStream(uint32_t type) const {
    for (const auto& d : dir_)
        if (d.type == type) return true;
    return false;
}

std::optional<Bytes> MinidumpFile::stream(uint32_t type) const {
    for (const auto& d : dir_) {
        if (d.type != type) continue;
        std::string_view name = mdmp::streamTypeName(type);
        return location(d.rva, d.size, name.empty() ? std::string_view("stream") : name);
    }
    return std::nullopt;
}

Bytes MinidumpFile::location(uint64_t rva, uint64_t size, std::string_view what) const {
    auto b = file_.sub(rva, size);
    if (!b)
        throw FormatError(fmt::format("corrupt minidump: {} (0x{:x} bytes at 0x{:x}) runs past the end of the file "
                                      "({} bytes)",
                                      what, size, rva, file_.size()));
    return *b;
}

std::string MinidumpFile::string(uint64_t rva, std::string_view what) const {
    auto len = file_.get<uint32_t>(rva);
    if (!len)
        throw FormatError(fmt::format("corrupt minidump: {} string at 0x{:x} is outside the file", what, rva));
    Bytes chars = location(rva + 4, *len & ~uint32_t{1}, what);
    chargeText(chars.size());
    return utf16ToUtf8(chars.data(), chars.size() / 2);
}

void MinidumpFile::chargeText(uint64_t n) const {
    textBytes_ += n;  // n <= file size each time: cannot overflow in practice
    if (textBytes_ > 2 * file_.size() + (uint64_t{1} << 20))
        throw FormatError("corrupt minidump: strings are referenced far more often than a dump can hold "
                          "(repeated RVAs)");
}

}  // namespace nt
