// Fills a DumpTarget from a legacy dbgeng full user dump (USERDUMP/USERDU64).
#pragma once

#include "base/bytes.h"
#include "dump/dump_target.h"

namespace nt {

// `bytes` must outlive `target`. Throws FormatError for a damaged file.
void readUserDump(Bytes bytes, DumpTarget& target);

}  // namespace nt
