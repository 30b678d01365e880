// Names of NTSTATUS exception codes as WinDbg prints them in .exr / .lastevent.
#pragma once

#include <cstdint>
#include <string>

namespace nt {

// "Access violation", "Break instruction exception", ... or "" when unknown.
std::string exceptionName(uint32_t code);

}  // namespace nt
