// Lookup over `srv*` elements: the chain's caches, then the store, local or
// HTTP. An HTTP store that times out or refuses is remembered as dead for
// the locator's lifetime (SymbolLocator::Shared).
#include "symsrv/lookup.h"
#include "symsrv/store_files.h"

namespace nt::symsrv::detail {

std::optional<fs::path> Lookup::searchServer(const std::vector<std::string>& chain) {
    std::vector<std::string> caches;
    std::string store = o_.defaultStore;
    if (!chain.empty()) {
        caches.assign(chain.begin(), chain.end() - 1);
        if (!chain.back().empty()) store = chain.back();
    }
    for (auto& c : caches) c = toLocalPath(c);
    for (size_t i = 0; i < caches.size(); ++i) {
        // A hit in a cache is copied into the caches before it.
        std::vector<std::string> targets(caches.begin(), caches.begin() + static_cast<long>(i));
        targets.insert(targets.end(), activeCaches_.begin(), activeCaches_.end());
        Outcome out;
        if (auto r = searchLocalStore(caches[i], targets, out)) return r;
    }
    std::vector<std::string> targets = caches;
    targets.insert(targets.end(), activeCaches_.begin(), activeCaches_.end());
    if (!isHttpUrl(store)) {
        Outcome out;
        return searchLocalStore(toLocalPath(store), targets, out);
    }
    if (targets.empty()) targets.push_back(fallbackCache());
    return searchHttpStore(store, targets);
}

std::optional<fs::path> Lookup::searchHttpStore(const std::string& store, const std::vector<std::string>& targets) {
    {
        std::lock_guard<std::mutex> lock(shared_.mutex);
        auto dead = shared_.deadStores.find(store);
        if (dead != shared_.deadStores.end()) {
            probe(store, "skipped: " + dead->second + " earlier");
            return std::nullopt;
        }
    }
    Outcome out = Outcome::Missing;
    if (auto r = searchHttpLayout(store, false, targets, out)) return r;
    if (out == Outcome::StoreDown || o_.offline) return std::nullopt;
    if (storeIsTwoTier(store)) {
        if (auto r = searchHttpLayout(store, true, targets, out)) return r;
    }
    return std::nullopt;
}

bool Lookup::storeIsTwoTier(const std::string& store) {
    {
        std::lock_guard<std::mutex> lock(shared_.mutex);
        auto it = shared_.twoTier.find(store);
        if (it != shared_.twoTier.end()) return it->second;
    }
    std::string body;
    std::string url = joinUrl(store, {"index2.txt"});
    HttpResult r = httpGetToString(url, body, httpOptions(kMaxPointerFileBytes));
    bool yes = r.status == HttpResult::Status::Ok;
    probe(url, yes ? "found: two-tier store" : r.message);
    std::lock_guard<std::mutex> lock(shared_.mutex);
    if (r.status == HttpResult::Status::TimedOut || r.status == HttpResult::Status::Failed)
        shared_.deadStores.emplace(store, r.message);
    else
        shared_.twoTier[store] = yes;
    return yes;
}

HttpOptions Lookup::httpOptions(uint64_t maxBytes) const {
    HttpOptions h;
    h.connectTimeoutMs = o_.connectTimeoutMs;
    h.stallTimeoutMs = o_.stallTimeoutMs;
    h.maxBytes = maxBytes;
    h.proxy = o_.proxy;
    return h;
}

std::optional<fs::path> Lookup::searchHttpLayout(const std::string& store, bool twoTier,
                                                 const std::vector<std::string>& targets, Outcome& outcome) {
    std::vector<std::string> dir = storeDir(twoTier);
    std::vector<std::string> names = {key_.fileName, compressedName(key_.fileName)};
    if (o_.compressedFirst) std::swap(names[0], names[1]);
    names.push_back("file.ptr");
    fs::path dest = cachePath(targets.front());
    for (const std::string& name : names) {
        std::vector<std::string> parts = dir;
        parts.push_back(name);
        std::string url = joinUrl(store, parts);
        if (o_.offline) {
            probe(url, "offline: not downloaded", dest.string());
            continue;
        }
        if (name == "file.ptr") {
            std::string body;
            HttpResult r = httpGetToString(url, body, httpOptions(kMaxPointerFileBytes));
            if (r.status != HttpResult::Status::Ok) {
                probe(url, r.message, dest.string());
                if (markDeadIfDown(store, r)) {
                    outcome = Outcome::StoreDown;
                    return std::nullopt;
                }
                continue;
            }
            if (auto p = followPointer(body, url, targets, outcome)) return p;
            continue;
        }
        auto r = download(url, targets, outcome, store, /*mustBeCab=*/name != key_.fileName);
        if (r || outcome == Outcome::StoreDown) return r;
    }
    return std::nullopt;
}

bool Lookup::markDeadIfDown(const std::string& store, const HttpResult& r) {
    if (store.empty()) return false;
    if (r.status != HttpResult::Status::TimedOut && r.status != HttpResult::Status::Failed) return false;
    std::lock_guard<std::mutex> lock(shared_.mutex);
    shared_.deadStores.emplace(store, r.message);
    return true;
}

// Downloads `url` as the key's file into targets.front() (expanding a
// cabinet), then copies it into the other targets.
std::optional<fs::path> Lookup::download(const std::string& url, const std::vector<std::string>& targets,
                                         Outcome& outcome, const std::string& store, bool mustBeCab) {
    fs::path dest = cachePath(targets.front());
    if (o_.offline) {
        probe(url, "offline: not downloaded", dest.string());
        return std::nullopt;
    }
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    fs::path tmp = temporaryBeside(dest);
    HttpResult r = httpGetToFile(url, tmp.string(), httpOptions(o_.maxDownloadBytes));
    if (r.status != HttpResult::Status::Ok) {
        fs::remove(tmp, ec);
        probe(url, r.message, dest.string());
        if (markDeadIfDown(store, r)) outcome = Outcome::StoreDown;
        return std::nullopt;
    }
    std::string error;
    bool ok;
    std::string what = "downloaded " + std::to_string(r.bytes) + " bytes";
    bool cab = fileLooksLikeCab(tmp);
    if (!cab && mustBeCab) {
        fs::remove(tmp, ec);
        probe(url, what + ", rejected: not a cabinet", dest.string());
        return std::nullopt;
    }
    if (cab) {
        ok = expandCabAtomically(tmp, dest, key_.fileName, o_.maxDownloadBytes, error);
        fs::remove(tmp, ec);
        what += ", expanded from CAB";
    } else {
        ok = commitTemporary(tmp, dest, error);
    }
    if (!ok) {
        probe(url, what + " but cannot store: " + error, dest.string());
        return std::nullopt;
    }
    probe(url, what, dest.string());
    outcome = Outcome::Found;
    for (size_t i = 1; i < targets.size(); ++i) {
        fs::path other = cachePath(targets[i]);
        if (!sameFile(dest, other) && !copyAtomically(dest, other, error))
            probe(other.string(), "cannot store: " + error);
    }
    return dest;
}

}  // namespace nt::symsrv::detail
