// Reader of the TRIAGE_DUMP of small ("minidump") kernel dumps: the driver
// list, unloaded drivers, the saved PRCB/process/thread, call stack, the
// KDDEBUGGER_DATA64 copy and the data blocks with their virtual addresses.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "dump/kernel/kernel_dump_file.h"

namespace nt::kdump {

// Throws FormatError when the TRIAGE_DUMP itself does not fit in the file;
// damage to the parts it points at becomes warnings.
Triage readTriage(Bytes file, const Header& header, std::vector<std::string>& warnings);

// Bounded warning list: keeps the first `kMaxWarnings`, then one summary line.
void addWarning(std::vector<std::string>& warnings, std::string message);
inline constexpr size_t kMaxWarnings = 32;

}  // namespace nt::kdump

namespace nt::kdump {
// EXCEPTION_RECORD64 (is64) or EXCEPTION_RECORD32 at the start of `b`.
ExceptionRecord readExceptionRecord(Bytes b, bool is64);
}  // namespace nt::kdump
