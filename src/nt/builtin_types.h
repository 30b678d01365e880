// Built-in NT type layouts for kernels whose symbols are not at hand and for
// which no ISF exists in the corpus: a small static table of the structures
// the kernel commands read, served as a types::TypeProvider (so `dt`, the NT
// object model and the synthetic-dump builder use it exactly like a PDB's or
// an ISF's types).
//
// Only Windows XP SP3 x86 (5.1.2600) is provided; its structures are the same
// with and without PAE (only the PTEs differ). Offsets and the sources they
// were checked against are listed next to the table in builtin_types.cpp.
#pragma once

#include <cstdint>
#include <memory>

#include "arch/machine.h"
#include "types/type_model.h"

namespace nt {

// The table for a kernel build, or nullptr when none is known:
//  * x86 2600 (XP, every service pack shares these structure offsets for the
//    fields listed; SP3 is the one checked).
//  * x86 2195 (Windows 2000): nullptr. Seed 002 (a Windows 2000 double
//    fault) agrees with XP on KTHREAD.ApcState.Process (+0x44) and on the
//    KTSS/KPCR, but not on ETHREAD.Cid (+0x1e0 there, +0x1ec on XP) and its
//    EPROCESS is laid out differently: unverified, so not guessed.
std::shared_ptr<const types::TypeProvider> builtinTypesFor(Machine machine, uint32_t buildNumber);

}  // namespace nt
