// Recognises a dump file by its magic and opens it with the right reader.
#pragma once

#include <memory>
#include <string>

#include "base/bytes.h"
#include "target/model.h"

namespace nt {

// Opens a user-mode dump (MDMP minidump or legacy USERDUMP/USERDU64 full
// dump). Throws FormatError with a one-line message naming the problem for a
// non-dump, truncated or corrupt file, and for dumps this build cannot read
// (non-Windows minidumps). Kernel dumps (PAGEDUMP/PAGEDU64) open as a
// KernelDumpTarget (dump/kernel/kernel_target.h) with Target::kernel set.
std::unique_ptr<Target> openDump(const std::string& path);

// The same over bytes the caller keeps alive for the Target's lifetime
// (fuzzers, tests, dumps extracted in memory). `name` becomes dumpPath and
// prefixes error messages when not empty.
std::unique_ptr<Target> openDumpBytes(Bytes bytes, const std::string& name = {});

}  // namespace nt
