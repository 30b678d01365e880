// Built-in NT type layouts for kernels whose symbols are not at hand and for
// which no ISF exists in the corpus: a small static table of the structures
// the kernel commands read, served as a types::TypeProvider (so `dt`, the NT
// object model and the synthetic-dump builder use it exactly like a PDB's or
// an ISF's types).
//
// Provided: Windows XP SP3 x86 (5.1.2600; the same with and without PAE, only
// the PTEs differ), written by hand with its sources listed next to the table
// in builtin_types.cpp; and x64 builds 7601, 9600, 14393, 17763, 18362,
// 19041, 20348 and 22000, generated from the corpus's ISF tables by
// scripts/gen_builtin_layouts.py (builtin_types_x64.inc) for the fields in
// builtin_fields.txt. Each is a subset: enough for the commands, not for a
// full `dt` of every structure.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

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
//  * x64: the generated builds; 18363 uses 18362's table and 19042-19045
//    use 19041's (enablement packages over one kernel layout).
std::shared_ptr<const types::TypeProvider> builtinTypesFor(Machine machine, uint32_t buildNumber);

// The builds with a table for this machine (tests walk them).
std::vector<uint32_t> builtinLayoutBuilds(Machine machine);

}  // namespace nt
