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
#include <memory>
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
    // for "srv*" (the default store). A trailing "" (`srv*C:\cache*`) also
    // means the default store, behind that cache.
    std::vector<std::string> chain;
    // Server written as `symsrv*<dll>*...`: the DLL name, kept for text().
    // Empty for `srv*`.
    std::string dll;

    // This element as it reads in a symbol path.
    std::string text() const;
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
// textual byte order, then the age in uppercase hex without padding. `guid`
// is the 16 bytes as stored on disk (CodeView RSDS record, PDB info stream):
// Data1, Data2, Data3 little-endian, then Data4.
std::string pdbIndex(const uint8_t guid[16], uint32_t age);
// "TIMESTAMPSIZE": %08X timestamp then %x SizeOfImage (as symstore writes it).
std::string imageIndex(uint32_t timestamp, uint32_t sizeOfImage);

struct Probe {
    std::string where;   // a path or URL
    std::string result;  // "found", "not found", "HTTP 404", "timed out", "expanded from CAB", "pointer to ...", "rejected" ...
    // For URLs: the local path the file is (or would be, offline) stored at,
    // so that a user can fetch it by hand. Empty for local probes.
    std::string destination;
};

struct LocatorOptions {
    // Used by `cache*` without a dir, and as the download cache of a `srv*`
    // element naming no cache. Empty: $XDG_CACHE_HOME/ntriage/symbols, else
    // ~/.cache/ntriage/symbols, else <tmp>/ntriage-symbols.
    std::string defaultCache;
    std::string defaultStore = "https://msdl.microsoft.com/download/symbols";
    bool offline = false;          // never open a connection; report the URLs instead
    unsigned connectTimeoutMs = 3000;
    unsigned stallTimeoutMs = 5000;     // a transfer making no progress this long is abandoned
    uint64_t maxDownloadBytes = 1ull << 32;  // per file
    unsigned parallelDownloads = 4;
    // "" = connect directly; the *_proxy environment variables are ignored
    // so that symbol requests go nowhere the user did not name.
    std::string proxy;
    // Order of the requests for one HTTP store directory. false (default):
    // `name.pdb`, `name.pd_`, `file.ptr` (what msdl serves today is mostly
    // uncompressed, so this saves a round trip per file). true: `name.pd_`
    // first, as in Volatility's log (FACTS.md §1.3).
    bool compressedFirst = false;
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
    //
    // Per element: a directory `d` is tried as `d/<file>`, `d/symbols/<ext>/<file>`,
    // `d/<ext>/<file>` (by name: `accept` decides), then as a store. A store
    // (local or http) is tried as `<indexName>/<index>/` holding `<file>`, the
    // CAB `<file minus last char>_`, then `file.ptr` ("PATH:<path or URL>" or
    // "MSG:<text>"); a two-tier store (`index2.txt` at its root) under
    // `<first 2 chars of indexName>/` too. Local names match ignoring case.
    // A hit is copied (expanded when it is a CAB) into the `srv*` element's
    // caches and every `cache*` element to its left, through a temporary file
    // and a rename. Thread-safe: findAll calls it from several threads.
    std::optional<std::string> find(const StoreKey& key,
                                    const std::function<bool(const std::string&)>& accept,
                                    std::vector<Probe>* probes);

    // Many lookups at once; downloads run in parallel (options.parallelDownloads).
    std::vector<std::optional<std::string>> findAll(
        const std::vector<StoreKey>& keys, const std::function<bool(const StoreKey&, const std::string&)>& accept,
        std::vector<std::vector<Probe>>* probes);

    const SymbolPath& path() const { return path_; }
    const LocatorOptions& options() const { return options_; }

    struct Shared;  // state shared by concurrent lookups (dead servers, index2.txt answers)

private:
    SymbolPath path_;
    LocatorOptions options_;
    std::shared_ptr<Shared> shared_;
};

}  // namespace nt::symsrv
