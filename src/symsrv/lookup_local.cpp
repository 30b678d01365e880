// Lookup over local directories, `cache*` elements and local stores, and
// the placement of a found file into caches (copied, or expanded from CAB).
#include <cstdlib>

#include "symsrv/lookup.h"
#include "symsrv/store_files.h"

namespace nt::symsrv::detail {

std::optional<std::string> Lookup::run(const SymbolPath& path) {
    if (!safeComponent(key_.indexName) || !safeComponent(key_.index) || !safeComponent(key_.fileName)) {
        probe(key_.indexName + "/" + key_.index + "/" + key_.fileName, "refused: not a plain file name");
        return std::nullopt;
    }
    for (const PathElement& e : path.elements) {
        std::optional<fs::path> r;
        switch (e.kind) {
            case PathElement::Kind::Directory: r = searchDirectory(e.directory); break;
            case PathElement::Kind::Cache: r = searchCacheElement(e.directory); break;
            case PathElement::Kind::Server: r = searchServer(e.chain); break;
        }
        if (r) return r->string();
    }
    return std::nullopt;
}

void Lookup::probe(std::string where, std::string result, std::string destination) {
    if (probes_) probes_->push_back({std::move(where), std::move(result), std::move(destination)});
}

std::string Lookup::fallbackCache() const {
    if (!o_.defaultCache.empty()) return toLocalPath(o_.defaultCache);
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/ntriage/symbols";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/ntriage/symbols";
    std::error_code ec;
    return (fs::temp_directory_path(ec) / "ntriage-symbols").string();
}

bool Lookup::hasTwoTierMarker(const fs::path& root) {
    return resolveIgnoringCase(root, {"index2.txt"}).has_value();
}

std::vector<std::string> Lookup::storeDir(bool twoTier) const {
    if (twoTier) return {twoTierFolder(key_.indexName), key_.indexName, key_.index};
    return {key_.indexName, key_.index};
}

// Where `key` lives (or will live) in the cache `dir`.
fs::path Lookup::cachePath(const std::string& dir) const {
    fs::path root(dir);
    bool twoTier = hasTwoTierMarker(root);
    std::vector<std::string> comps = storeDir(twoTier);
    comps.push_back(key_.fileName);
    if (auto existing = resolveIgnoringCase(root, comps)) return *existing;
    fs::path p = root;
    for (const auto& c : comps) p /= c;
    return p;
}

// Puts the local file `src` where the caller can use it: expanded when it
// is a cabinet, copied into every cache in `targets`. Returns the copy in
// the first target, or src itself when there is no target and no need.
std::optional<fs::path> Lookup::place(const fs::path& src, std::vector<std::string> targets) {
    bool cab = fileLooksLikeCab(src);
    if (targets.empty() && !cab) return src;
    if (targets.empty()) targets.push_back(fallbackCache());
    std::optional<fs::path> first;
    for (const auto& t : targets) {
        fs::path dest = cachePath(t);
        if (sameFile(src, dest) && (!cab || first)) {
            if (!first) first = dest;
            continue;
        }
        // (A cabinet that is its own destination is expanded over itself:
        // the expansion reads a mapping of the old file, the rename
        // replaces the name.)
        std::string error;
        bool ok;
        if (first) {
            ok = copyAtomically(*first, dest, error);  // already expanded
        } else if (cab) {
            ok = expandCabAtomically(src, dest, key_.fileName, o_.maxDownloadBytes, error);
            if (ok) probe(dest.string(), "expanded from CAB " + src.string());
        } else {
            ok = copyAtomically(src, dest, error);
        }
        if (!ok) {
            probe(dest.string(), "cannot store: " + error);
            if (cab && !first) return std::nullopt;  // damaged cabinet: nothing usable
            continue;
        }
        if (!first) first = dest;
    }
    if (!first && !cab) return src;  // caches unwritable: use the file where it is
    return first;
}

std::optional<fs::path> Lookup::searchDirectory(const std::string& dirText) {
    fs::path dir(toLocalPath(dirText));
    std::string ext = extensionOf(key_.fileName);
    std::vector<std::vector<std::string>> byName = {{key_.fileName}};
    // dbghelp also looks in <dir>\symbols\<ext> and <dir>\<ext>.
    if (!ext.empty()) {
        byName.push_back({"symbols", ext, key_.fileName});
        byName.push_back({ext, key_.fileName});
    }
    for (const auto& comps : byName) {
        fs::path shown = dir;
        for (const auto& c : comps) shown /= c;
        auto hit = resolveIgnoringCase(dir, comps);
        if (!hit || !isRegularFile(*hit)) {
            probe(shown.string(), "not found");
            continue;
        }
        if (fileLooksLikeCab(*hit)) {
            // A name-only hit cannot be checked before expanding; stores
            // hold compressed files, plain directories do not.
            probe(hit->string(), "skipped: compressed file outside a store layout");
            continue;
        }
        if (accept_ && !accept_(hit->string())) {
            probe(hit->string(), "rejected");
            continue;
        }
        probe(hit->string(), "found");
        return place(*hit, activeCaches_);
    }
    Outcome out;
    return searchLocalStore(dir, activeCaches_, out);
}

std::optional<fs::path> Lookup::searchCacheElement(const std::string& dirText) {
    std::string dir = dirText.empty() ? fallbackCache() : toLocalPath(dirText);
    Outcome out;
    auto r = searchLocalStore(dir, activeCaches_, out);
    activeCaches_.push_back(dir);
    return r;
}

std::optional<fs::path> Lookup::searchLocalStore(const fs::path& root, const std::vector<std::string>& targets,
                                                 Outcome& outcome) {
    outcome = Outcome::Missing;
    std::vector<bool> layouts;
    if (hasTwoTierMarker(root)) layouts.push_back(true);
    layouts.push_back(false);
    for (bool twoTier : layouts) {
        std::vector<std::string> base = storeDir(twoTier);
        for (const std::string& name : {key_.fileName, compressedName(key_.fileName), std::string("file.ptr")}) {
            std::vector<std::string> comps = base;
            comps.push_back(name);
            fs::path shown = root;
            for (const auto& c : comps) shown /= c;
            auto hit = resolveIgnoringCase(root, comps);
            if (!hit || !isRegularFile(*hit)) {
                probe(shown.string(), "not found");
                continue;
            }
            if (name == "file.ptr") {
                auto text = readSmallFile(*hit, kMaxPointerFileBytes);
                if (!text) {
                    probe(hit->string(), "unreadable pointer file");
                    continue;
                }
                auto r = followPointer(*text, hit->string(), targets, outcome);
                if (r || outcome == Outcome::StoreDown) return r;
                continue;
            }
            bool cab = fileLooksLikeCab(*hit);
            if (!cab && name != key_.fileName) {
                probe(hit->string(), "rejected: not a cabinet");
                continue;
            }
            probe(hit->string(), cab ? "found (CAB)" : "found");
            if (auto r = place(*hit, targets)) {
                outcome = Outcome::Found;
                return r;
            }
        }
    }
    return std::nullopt;
}

// file.ptr: "PATH:<path>", "MSG:<text>" (the store's way of saying why a
// file is not there), or a bare path in old stores.
std::optional<fs::path> Lookup::followPointer(const std::string& raw, const std::string& where,
                                              const std::vector<std::string>& targets, Outcome& outcome) {
    std::string text = trimmed(raw);
    if (startsWithIgnoreCase(text, "MSG:")) {
        probe(where, "message: " + trimmed(text.substr(4)));
        return std::nullopt;
    }
    if (startsWithIgnoreCase(text, "PATH:")) text = trimmed(text.substr(5));
    if (text.empty() || text.find('\n') != std::string::npos) {
        probe(where, "bad pointer file");
        return std::nullopt;
    }
    probe(where, "pointer to " + text);
    if (isHttpUrl(text)) {
        std::vector<std::string> t = targets.empty() ? std::vector<std::string>{fallbackCache()} : targets;
        return download(text, t, outcome, /*store=*/{});
    }
    fs::path p(toLocalPath(text));
    if (!isRegularFile(p)) {
        probe(p.string(), "not found");
        return std::nullopt;
    }
    probe(p.string(), "found");
    auto r = place(p, targets);
    if (r) outcome = Outcome::Found;
    return r;
}

}  // namespace nt::symsrv::detail
