// Fills a DumpTarget from a Windows minidump (MDMP).
#pragma once

#include "base/bytes.h"
#include "dump/dump_target.h"

namespace nt {

// `bytes` must outlive `target`. Throws FormatError for a damaged file and
// for minidumps that are not of a Windows process (Breakpad/Crashpad dumps of
// Linux, macOS, iOS, ...).
void readMinidump(Bytes bytes, DumpTarget& target);

// Name of a MINIDUMP_SYSTEM_INFO PlatformId ("Windows NT", "Linux", "iOS"...);
// "platform 0x...." for unknown values.
std::string minidumpPlatformName(uint32_t platformId);

}  // namespace nt
