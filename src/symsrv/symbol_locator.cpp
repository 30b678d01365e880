// SymbolLocator: the search of FACTS.md §1.3, left to right over the path.
//
// Decisions worth knowing:
// * A store directory is searched for `<file>`, `<file minus last char>_`
//   (CAB) and `file.ptr`. For HTTP the order is options.compressedFirst
//   (default: plain first; Volatility's client asks `.pd_` first, which costs
//   a 404 per file on today's msdl).
// * Two-tier stores (`index2.txt` at the root, `<2 chars>/<name>/<index>/`):
//   a local store is checked for index2.txt before each lookup (one stat);
//   an HTTP store only after the flat layout missed, once per locator.
// * A file whose first bytes are "MSCF" is a cabinet whatever its name
//   (symbolicator serves a CAB as `crash.pdb`): it is expanded into a cache.
// * An HTTP store that times out or refuses the connection is not asked
//   again by this locator: a dead server costs one timeout, not one per module.
#include "symsrv/symbol_locator.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "symsrv/lookup.h"

namespace nt::symsrv {

SymbolLocator::SymbolLocator(SymbolPath path, LocatorOptions options)
    : path_(std::move(path)), options_(std::move(options)), shared_(std::make_shared<Shared>()) {}

std::optional<std::string> SymbolLocator::find(const StoreKey& key,
                                               const std::function<bool(const std::string&)>& accept,
                                               std::vector<Probe>* probes) {
    detail::Lookup lookup(options_, *shared_, key, accept, probes);
    return lookup.run(path_);
}

std::vector<std::optional<std::string>> SymbolLocator::findAll(
    const std::vector<StoreKey>& keys, const std::function<bool(const StoreKey&, const std::string&)>& accept,
    std::vector<std::vector<Probe>>* probes) {
    std::vector<std::optional<std::string>> results(keys.size());
    if (probes) probes->assign(keys.size(), {});
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i = next++; i < keys.size(); i = next++) {
            std::function<bool(const std::string&)> one;
            if (accept) one = [&, i](const std::string& p) { return accept(keys[i], p); };
            results[i] = find(keys[i], one, probes ? &(*probes)[i] : nullptr);
        }
    };
    size_t threads = std::min<size_t>(std::max(1u, options_.parallelDownloads), keys.size());
    if (threads <= 1) {
        worker();
        return results;
    }
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    return results;
}

}  // namespace nt::symsrv
