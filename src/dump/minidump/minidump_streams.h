// Parsers for the individual minidump streams, from a stream's bytes to the
// target model's types.
//
// Each parser checks the stream's own counts against its size and every RVA
// it follows against the file; a list whose count does not fit its stream is
// a FormatError naming the stream. Memory data is the exception: a range
// whose bytes run past the end of the file is clipped (a dump writer that
// died or a copy that was cut short loses memory at the end, and the rest of
// the dump is still worth reading).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dump/minidump/minidump_file.h"
#include "target/model.h"

namespace nt::mdmp {

struct ThreadRecord {
    Thread thread;
    Bytes stack;  // captured stack bytes; empty when the dump has none (Wine: Rva 0)
};
// ThreadListStream (entrySize thread::kSize) or ThreadExListStream (thread::kExSize).
std::vector<ThreadRecord> parseThreadList(const MinidumpFile& f, Bytes stream, Machine m, uint64_t entrySize);

std::vector<Module> parseModuleList(const MinidumpFile& f, Bytes stream);
std::vector<UnloadedModule> parseUnloadedModuleList(const MinidumpFile& f, Bytes stream);
// A CodeView record (RSDS or NB10); nullopt for other or short records.
std::optional<CodeViewInfo> parseCodeView(Bytes record);

struct MemoryRange {
    uint64_t start = 0;
    Bytes data;
};
std::vector<MemoryRange> parseMemoryList(const MinidumpFile& f, Bytes stream);
std::vector<MemoryRange> parseMemory64List(const MinidumpFile& f, Bytes stream);
std::vector<MemoryRegionInfo> parseMemoryInfoList(Bytes stream);

ExceptionInfo parseException(const MinidumpFile& f, Bytes stream, Machine m);
SystemInfo parseSystemInfo(const MinidumpFile& f, Bytes stream);
MiscInfo parseMiscInfo(Bytes stream);
std::vector<HandleInfo> parseHandleData(const MinidumpFile& f, Bytes stream);

// Fill Thread::hasInfo and friends from ThreadInfoListStream (matched by id).
void applyThreadInfoList(Bytes stream, std::vector<Thread>& threads);
// Fill Thread::name from ThreadNamesStream (matched by id).
void applyThreadNames(const MinidumpFile& f, Bytes stream, std::vector<Thread>& threads);

// SystemMemoryInfoStream; FormatError when shorter than BasicInfo.
SystemMemoryInfo parseSystemMemoryInfo(Bytes stream);
// ProcessVmCountersStream revision 1 or 2; FormatError when too short.
ProcessVmCounters parseProcessVmCounters(Bytes stream);

std::string parseCommentA(Bytes stream);
std::string parseCommentW(Bytes stream);

}  // namespace nt::mdmp
