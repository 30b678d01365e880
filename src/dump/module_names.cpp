#include "dump/module_names.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <unordered_map>

#include "base/format.h"

namespace nt {

std::string moduleBaseName(std::string_view path) {
    size_t slash = path.find_last_of("\\/");
    std::string_view file = slash == std::string_view::npos ? path : path.substr(slash + 1);
    size_t dot = file.find_last_of('.');
    if (dot != std::string_view::npos && dot != 0) file = file.substr(0, dot);
    // Module names are symbol-name prefixes (`crash_x64!main`), so characters
    // that cannot appear in an identifier become '_', as dbgeng does for
    // api-ms-win-core-synch-l1-2-0.dll -> api_ms_win_core_synch_l1_2_0.
    std::string name(file);
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && static_cast<unsigned char>(c) < 0x80) c = '_';
    return name;
}

void assignModuleNames(std::vector<Module>& modules, const std::vector<size_t>& order) {
    std::vector<size_t> idx = order;
    if (idx.size() != modules.size()) {
        idx.resize(modules.size());
        std::iota(idx.begin(), idx.end(), size_t{0});
    }
    auto lower = [](std::string s) {
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    };
    // lower-case name -> base of the module that holds it
    std::unordered_map<std::string, uint64_t> taken;
    for (size_t i : idx) {
        if (i >= modules.size()) continue;
        Module& m = modules[i];
        std::string name = moduleBaseName(m.path);
        if (name.empty()) name = "image" + hexPad(m.base, m.base > 0xffffffffu ? 16 : 8);
        auto it = taken.find(lower(name));
        // A WoW64 module list names the main executable twice (from the
        // 64-bit and the 32-bit loader lists) at the same base: that is one
        // image, not a collision, so both entries keep the plain name.
        if (it != taken.end() && it->second != m.base) name += "_" + hex(m.base);
        taken.emplace(lower(name), m.base);
        m.name = std::move(name);
    }
}

}  // namespace nt
