// The NT object model of an engine's kernel dump, shared by the kernel
// commands (!process, !thread, .process, .thread here; others may use it),
// and the pure renderers of the !process / !thread text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nt/objects.h"

namespace nt {

class Engine;
struct Output;

// The engine's nt::Kernel: built on first use over the target's memory, the
// "nt" type source that has _EPROCESS (PDB or ISF; else the debugger data
// only) and nt's symbols; rebuilt when that type source changes (.reload).
// Throws UsageError naming `command` on a user-mode dump.
Kernel& kernelObjects(Engine& e, std::string_view command);

// Session state of .process / .thread: the implicit process and thread
// (nullopt: the dump's current ones).
// The implicit process/thread if set, else the bugcheck CPU's current ones.
std::optional<uint64_t> implicitProcess(Engine& e);
std::optional<uint64_t> implicitThread(Engine& e);

// `.reload /user`, `.process /r`, `.thread /r`: replaces the user-mode half
// of the module list with the DLLs of `process` (its PEB's loader list, read
// through the current address space) and prints WinDbg's "Loading User
// Symbols" and a dot per module. Returns the number of modules loaded.
size_t reloadUserModules(Engine& e, uint64_t process, Output& out);

// ---- renderers (no engine needed) -------------------------------------------

// The !process block: "PROCESS <addr>", SessionId/Cid/Peb/ParentCid,
// DirBase/ObjectTable/HandleCount, Image (64-bit: PROCESS on its own line;
// 32-bit: SessionId... follows on the same line).
std::vector<std::string> processBlockLines(const ProcessInfo& p, bool is64);
nlohmann::json processJson(const ProcessInfo& p);

// "RUNNING on processor 0", "WAIT: (UserRequest) UserMode Non-Alertable", ...
std::string threadStateText(const ThreadInfo& t, std::optional<uint32_t> processor);
// "THREAD <addr>  Cid 0910.090c  Teb: <teb> Win32Thread: <w32> <state>"
std::string threadHeaderLine(const ThreadInfo& t, std::optional<uint32_t> processor, bool is64);
// "<addr>  SynchronizationEvent" (no indentation)
std::string waitObjectLine(const DispatcherObject& d, bool is64);
nlohmann::json threadJson(const ThreadInfo& t, const std::vector<DispatcherObject>& waits);

// "0:00:00:03.984" for a duration in 100 ns units; "00:00:01.046" (no days) for CPU times.
std::string tickDuration(uint64_t hundredNs);
std::string cpuTime(uint64_t hundredNs);

}  // namespace nt
