// Finding symbol files the way WinDbg does: a symbol path (`_NT_SYMBOL_PATH`,
// `-y`, `.sympath`) of directories, `srv*` symbol servers with caches and
// `cache*` elements, searched left to right; symbol-store layout
// `name.pdb/<GUID><AGE>/name.pdb` and `name.dll/<TIMESTAMP><SIZE>/name.dll`,
// CAB-compressed `.pd_`/`.dl_` files, `file.ptr` pointers; HTTP(S) stores
// downloaded into the cache with timeouts and atomic writes.
//
// Offline-first: a lookup never blocks longer than its timeouts, and every
// probe (path or URL, and what happened there) is reported so that a user
// can fetch a file by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nt::symsrv {

// One `;`-separated element of a symbol path.
struct PathElement {
    enum class Kind {
        Directory,  // a plain directory
        Server,     // srv*[cache*...]*[store]  ("srv*" alone: the default store, no cache)
        Cache,      // cache*[dir]: caches files found by the elements to its right
    };
    Kind kind = Kind::Directory;
    // Directory: the directory. Cache: the cache directory ("" = the default cache).
    std::string directory;
    // Server: the '*'-separated locations after "srv", left to right: local
    // caches first, the store (a directory or an http(s) URL) last. Empty
    // for "srv*" (the default store).
    std::vector<std::string> chain;
};

struct SymbolPath {
    std::vector<PathElement> elements;
    // Parses the grammar of FACTS.md §1.3. Never throws: empty elements are
    // dropped; anything not `srv*`/`symsrv*`/`cache*` is a directory.
    static SymbolPath parse(std::string_view text);
    // The path as WinDbg's .sympath prints it (elements joined with ';').
    std::string text() const;
};

// "GUIDAGE" as a store directory: 32 uppercase hex digits of the GUID in its
// textual byte order, then the age in uppercase hex without padding.
std::string pdbIndex(const uint8_t guid[16], uint32_t age);
// "TIMESTAMPSIZE": %08X timestamp then %x SizeOfImage (as symstore writes it).
std::string imageIndex(uint32_t timestamp, uint32_t sizeOfImage);

struct Probe {
    std::string where;   // a path or URL
    std::string result;  // "found", "not found", "HTTP 404", "timed out", "expanded from CAB", "pointer to ...", "rejected" ...
};

struct LocatorOptions {
    std::string defaultCache;      // used by `srv*` without a cache and `cache*` without a dir
    std::string defaultStore = "https://msdl.microsoft.com/download/symbols";
    bool offline = false;          // never open a connection; report the URLs instead
    unsigned connectTimeoutMs = 3000;
    unsigned stallTimeoutMs = 5000;     // a transfer making no progress this long is abandoned
    uint64_t maxDownloadBytes = 1ull << 32;  // per file
    unsigned parallelDownloads = 4;
};

// What the caller wants found: a file under a store index.
// PDB:      indexName "ntdll.pdb", index pdbIndex(guid, age), fileName "ntdll.pdb"
// Image:    indexName "ntdll.dll", index imageIndex(ts, size), fileName "ntdll.dll"
// Breakpad: indexName "test_app.pdb", index pdbIndex(...), fileName "test_app.sym"
struct StoreKey {
    std::string indexName;
    std::string index;
    std::string fileName;
};

class SymbolLocator {
public:
    SymbolLocator(SymbolPath path, LocatorOptions options);

    // Searches the path left to right. `accept` checks a candidate found in
    // a plain directory (by name only) and may reject it (wrong GUID/age);
    // candidates from a store layout are accepted by their index. Returns the
    // local path of the file (decompressed, in the cache when it came from a
    // server). Probes, when given, receive every place looked at.
    std::optional<std::string> find(const StoreKey& key,
                                    const std::function<bool(const std::string&)>& accept,
                                    std::vector<Probe>* probes);

    // Many lookups at once; downloads run in parallel (options.parallelDownloads).
    std::vector<std::optional<std::string>> findAll(
        const std::vector<StoreKey>& keys, const std::function<bool(const StoreKey&, const std::string&)>& accept,
        std::vector<std::vector<Probe>>* probes);

    const SymbolPath& path() const { return path_; }
    const LocatorOptions& options() const { return options_; }

private:
    SymbolPath path_;
    LocatorOptions options_;
};

}  // namespace nt::symsrv
