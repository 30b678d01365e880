// libFuzzer target: a Microsoft cabinet (a symbol store's `.pd_`) from
// arbitrary bytes, expanded in memory with a small output bound. A
// FormatError is a clean refusal; anything else (crash, hang, sanitizer
// report, another exception, output over the bound) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <strings.h>

#include "base/error.h"
#include "symsrv/cab_expand.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    constexpr uint64_t kLimit = 4u << 20;
    nt::Bytes bytes(data, size);
    try {
        auto members = nt::symsrv::listCab(bytes);
        // Members are expanded by name, and the first of a name wins: the
        // declared size can only be checked for a name no other member has.
        auto sameName = [](const std::string& a, const std::string& b) { return strcasecmp(a.c_str(), b.c_str()) == 0; };
        size_t expanded = 0;
        for (const auto& m : members) {
            if (++expanded > 4) break;
            size_t named = 0;
            for (const auto& other : members) named += sameName(other.name, m.name);
            try {
                auto out = nt::symsrv::expandCabToMemory(bytes, kLimit, m.name);
                if (out.size() > kLimit || (named == 1 && out.size() != m.size)) std::abort();
            } catch (const nt::FormatError&) {
            }
        }
    } catch (const nt::FormatError&) {
    }
    return 0;
}
