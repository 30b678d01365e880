#include "target/model.h"

#include <algorithm>
#include <cstdio>
#include <strings.h>

namespace nt {

std::string CodeViewInfo::guidString() const {
    // Data1 (u32 LE), Data2 (u16 LE), Data3 (u16 LE), Data4[8] in order.
    char buf[40];
    std::snprintf(buf, sizeof buf, "%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X",
                  guid[3], guid[2], guid[1], guid[0], guid[5], guid[4], guid[7], guid[6], guid[8], guid[9],
                  guid[10], guid[11], guid[12], guid[13], guid[14], guid[15]);
    return buf;
}

std::string CodeViewInfo::guidBraced() const {
    char buf[48];
    std::snprintf(buf, sizeof buf, "{%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x}",
                  guid[3], guid[2], guid[1], guid[0], guid[5], guid[4], guid[7], guid[6], guid[8], guid[9],
                  guid[10], guid[11], guid[12], guid[13], guid[14], guid[15]);
    return buf;
}

std::string Module::fileName() const {
    size_t p = path.find_last_of("\\/");
    return p == std::string::npos ? path : path.substr(p + 1);
}

const Module* Target::moduleAt(uint64_t addr) const {
    auto it = std::upper_bound(modules.begin(), modules.end(), addr,
                               [](uint64_t a, const Module& m) { return a < m.base; });
    if (it == modules.begin()) return nullptr;
    --it;
    return it->contains(addr) ? &*it : nullptr;
}

const Module* Target::moduleByName(std::string_view name) const {
    std::string n(name);
    for (const auto& m : modules)
        if (strcasecmp(m.name.c_str(), n.c_str()) == 0 || strcasecmp(m.fileName().c_str(), n.c_str()) == 0) return &m;
    return nullptr;
}

const Thread* Target::threadById(uint32_t tid) const {
    for (const auto& t : threads)
        if (t.id == tid) return &t;
    return nullptr;
}

void Target::finalize() {
    std::stable_sort(modules.begin(), modules.end(), [](const Module& a, const Module& b) { return a.base < b.base; });
    // One image, one module: a WoW64 module list names the executable twice
    // (the 64-bit and the 32-bit loader lists) at the same base and size.
    modules.erase(std::unique(modules.begin(), modules.end(),
                              [](const Module& a, const Module& b) { return a.base == b.base && a.size == b.size; }),
                  modules.end());
    eventThread = 0;
    if (exception) {
        for (size_t i = 0; i < threads.size(); ++i)
            if (threads[i].id == exception->threadId) eventThread = i;
    }
}

}  // namespace nt
