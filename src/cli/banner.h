// What the interactive prompt prints when a dump is opened, after WinDbg's
// own opening lines: the dump kind, the target's version, and the stored
// exception.
#pragma once

#include <string>

#include "commands/engine.h"

namespace nt {

std::string openingBanner(Engine& engine, const std::string& path);

}  // namespace nt
