// A session over a symbol file instead of a dump, as WinDbg opens an image
// with -z: `ntriage -z ntkrnlmp.json.xz -c "dt nt!_EPROCESS"` lays out types
// from a PDB or a Volatility ISF table without any target memory.
#pragma once

#include <memory>
#include <string>

#include "commands/engine.h"

namespace nt {

// True when the file starts like a PDB (MSF 7.00) or an ISF table (JSON or xz).
bool looksLikeSymbolFile(const std::string& path);

// An engine over an empty target whose only type source is the file, named
// as WinDbg names the module ("nt" for the kernel's PDBs). Throws FormatError.
std::unique_ptr<Engine> openSymbolSession(const std::string& path);

}  // namespace nt
