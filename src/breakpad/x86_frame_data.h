// Breakpad STACK WIN records as the unwinder's normalized x86 frame data.
// STACK WIN is a text dump of a PDB's FPO and FrameData records (dump_syms
// writes type 4 for FrameData, the FPO frame type 0..3 otherwise), so the
// fields map one to one.
#pragma once

#include <cstdint>
#include <optional>

#include "arch/x86_frame_data.h"
#include "breakpad/sym_file.h"

namespace nt::breakpad {

X86FrameData toX86FrameData(const StackWinRecord& r);

// The record covering rva (module-relative), chosen as SymFile::stackWinAt
// does (FrameData first, innermost), normalized.
std::optional<X86FrameData> x86FrameDataAt(const SymFile& sym, uint64_t rva);

}  // namespace nt::breakpad
