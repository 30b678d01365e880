// WinDbg's module names: the file name without its extension ("ntdll"), made
// unique within the process. When a name is already taken (case-insensitive)
// the later module gets "_<base in hex>" appended ("ntdll_77a20000"), the
// way dbgeng shows a WoW64 process's second ntdll or two DLLs of the same
// name from different folders (observed behaviour, described by Raymond Chen,
// "Why does the Windows debugger engine show a bunch of hex digits after one
// of the DLL names?", 2022-01-31). Two entries at the same base are the
// same image listed twice (WoW64 dumps list the executable in both the
// 64-bit and 32-bit loader lists) and share the plain name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "target/model.h"

namespace nt {

// "C:\\Windows\\System32\\ntdll.dll" -> "ntdll"; "a.b.dll" -> "a.b".
std::string moduleBaseName(std::string_view path);

// Sets Module::name for every module. `order` lists module indices in load
// order (first claim on a name wins); empty means the vector's order.
void assignModuleNames(std::vector<Module>& modules, const std::vector<size_t>& order = {});

}  // namespace nt
