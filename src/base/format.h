// Number formatting in WinDbg's conventions.
#pragma once

#include <cstdint>
#include <string>

namespace nt {

// 64-bit: "00007ff7`a13110d9" (backtick between halves); 32-bit: "7ff7a131".
std::string addrTick(uint64_t v, bool is64);
// 64-bit without backtick: "00007ff7a13110d9"; 32-bit: "7ff7a131".
std::string addrPlain(uint64_t v, bool is64);
// Zero-padded lower-case hex of the given digit count.
std::string hexPad(uint64_t v, int digits);
// Minimal lower-case hex without prefix ("0" for zero).
std::string hex(uint64_t v);
// "0x" + minimal hex.
std::string hex0x(uint64_t v);

}  // namespace nt
