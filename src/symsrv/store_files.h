// Local file-system helpers for symbol stores: Windows-style paths on Linux,
// case-insensitive lookups (Windows stores are case-insensitive, Linux file
// systems are not), atomic writes into caches.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace nt::symsrv {

// `C:\Symbols\x` -> `C:/Symbols/x`: backslashes are separators in a symbol path.
std::string toLocalPath(const std::string& location);

// base/c1/c2/...: each component matched exactly when it exists, otherwise
// against the directory's entries ignoring ASCII case. nullopt when absent.
std::optional<std::filesystem::path> resolveIgnoringCase(const std::filesystem::path& base,
                                                         const std::vector<std::string>& components);

bool isRegularFile(const std::filesystem::path& p);

// A unique temporary name beside `dest` (same directory, so rename is atomic).
std::filesystem::path temporaryBeside(const std::filesystem::path& dest);

// Moves `temp` to `dest` (rename; creating dest's directory is the caller's job).
bool commitTemporary(const std::filesystem::path& temp, const std::filesystem::path& dest, std::string& error);

// Copies src to dest through a temporary file and a rename.
bool copyAtomically(const std::filesystem::path& src, const std::filesystem::path& dest, std::string& error);

// Expands the cabinet `src` (one member, preferably `member`) into dest
// through a temporary file. false with `error` set on damage or overflow.
bool expandCabAtomically(const std::filesystem::path& src, const std::filesystem::path& dest,
                         const std::string& member, uint64_t maxBytes, std::string& error);

// True when the file starts with the CAB signature "MSCF".
bool fileLooksLikeCab(const std::filesystem::path& p);

// Reads a small text file (at most maxBytes); nullopt when unreadable or larger.
std::optional<std::string> readSmallFile(const std::filesystem::path& p, uint64_t maxBytes);

}  // namespace nt::symsrv
