// Interactive prompt with line editing and history (libedit).
#pragma once

#include <string>

#include "commands/engine.h"

namespace nt {

// Reads commands until `q` or end of input; returns the process exit code.
int runInteractive(Engine& engine, const std::string& dumpPath);

}  // namespace nt
