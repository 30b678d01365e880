// Internal to symsrv/: one SymbolLocator::find() as an object holding the
// key, the probe list and the `cache*` directories met so far. Local
// directories and stores are searched in lookup_local.cpp, servers and HTTP
// stores in lookup_http.cpp.
#pragma once

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "symsrv/http_fetch.h"
#include "symsrv/symbol_locator.h"

namespace nt::symsrv {

struct SymbolLocator::Shared {
    std::mutex mutex;
    std::map<std::string, std::string> deadStores;  // URL -> why
    std::map<std::string, bool> twoTier;            // URL -> has index2.txt
};

namespace detail {

namespace fs = std::filesystem;

inline constexpr uint64_t kMaxPointerFileBytes = 64 * 1024;

inline std::string compressedName(const std::string& fileName) {
    if (fileName.empty()) return {};
    return fileName.substr(0, fileName.size() - 1) + "_";
}

// symstore's two-tier layout puts `name.pdb/` under a folder named after
// the first two characters of the file name.
inline std::string twoTierFolder(const std::string& indexName) { return indexName.substr(0, 2); }

inline std::string extensionOf(const std::string& fileName) {
    size_t dot = fileName.rfind('.');
    return dot == std::string::npos ? std::string() : fileName.substr(dot + 1);
}

inline std::string trimmed(std::string s) {
    auto sp = [](unsigned char c) { return std::isspace(c) != 0; };
    while (!s.empty() && sp(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t i = 0;
    while (i < s.size() && sp(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
}

inline bool startsWithIgnoreCase(const std::string& s, const char* prefix) {
    size_t n = std::char_traits<char>::length(prefix);
    if (s.size() < n) return false;
    for (size_t i = 0; i < n; ++i)
        if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

// Key parts come from dump data (a module's PDB name): they become path
// components and URL segments, so anything that could climb out of a cache
// directory or change a URL's meaning is refused.
inline bool safeComponent(const std::string& s) {
    if (s.empty() || s.size() > 255 || s == "." || s == "..") return false;
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':') return false;
    return true;
}

inline std::string encodeSegment(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

inline std::string joinUrl(std::string base, const std::vector<std::string>& parts) {
    while (!base.empty() && base.back() == '/') base.pop_back();
    for (const auto& p : parts) base += "/" + encodeSegment(p);
    return base;
}

inline bool sameFile(const fs::path& a, const fs::path& b) {
    std::error_code ec;
    return fs::equivalent(a, b, ec);
}

class Lookup {
public:
    Lookup(const LocatorOptions& options, SymbolLocator::Shared& shared, const StoreKey& key,
           const std::function<bool(const std::string&)>& accept, std::vector<Probe>* probes)
        : o_(options), shared_(shared), key_(key), accept_(accept), probes_(probes) {}

    // Searches the elements left to right; the local path of the file, or nullopt.
    std::optional<std::string> run(const SymbolPath& path);

private:
    enum class Outcome { Found, Missing, StoreDown };

    void probe(std::string where, std::string result, std::string destination = {});
    std::string fallbackCache() const;
    static bool hasTwoTierMarker(const fs::path& root);
    std::vector<std::string> storeDir(bool twoTier) const;
    // Where `key` lives (or will live) in the cache `dir`.
    fs::path cachePath(const std::string& dir) const;
    // Puts the local file `src` where the caller can use it: expanded when it
    // is a cabinet, copied into every cache in `targets`. Returns the copy in
    // the first target, or src itself when there is no target and no need.
    std::optional<fs::path> place(const fs::path& src, std::vector<std::string> targets);
    std::optional<fs::path> searchDirectory(const std::string& dirText);
    std::optional<fs::path> searchCacheElement(const std::string& dirText);
    std::optional<fs::path> searchLocalStore(const fs::path& root, const std::vector<std::string>& targets,
                                             Outcome& outcome);
    // file.ptr: "PATH:<path>", "MSG:<text>" (the store's way of saying why a
    // file is not there), or a bare path in old stores.
    std::optional<fs::path> followPointer(const std::string& raw, const std::string& where,
                                          const std::vector<std::string>& targets, Outcome& outcome);
    std::optional<fs::path> searchServer(const std::vector<std::string>& chain);
    std::optional<fs::path> searchHttpStore(const std::string& store, const std::vector<std::string>& targets);
    bool storeIsTwoTier(const std::string& store);
    HttpOptions httpOptions(uint64_t maxBytes) const;
    std::optional<fs::path> searchHttpLayout(const std::string& store, bool twoTier,
                                             const std::vector<std::string>& targets, Outcome& outcome);
    bool markDeadIfDown(const std::string& store, const HttpResult& r);
    // Downloads `url` as the key's file into targets.front() (expanding a
    // cabinet), then copies it into the other targets.
    std::optional<fs::path> download(const std::string& url, const std::vector<std::string>& targets,
                                     Outcome& outcome, const std::string& store, bool mustBeCab = false);

    const LocatorOptions& o_;
    SymbolLocator::Shared& shared_;
    const StoreKey& key_;
    const std::function<bool(const std::string&)>& accept_;
    std::vector<Probe>* probes_;
    std::vector<std::string> activeCaches_;  // `cache*` elements to the left
};

}  // namespace detail
}  // namespace nt::symsrv
