// libFuzzer target: a Microsoft cabinet (a symbol store's `.pd_`) from
// arbitrary bytes, expanded in memory with a small output bound. A
// FormatError is a clean refusal; anything else (crash, hang, sanitizer
// report, another exception, output over the bound) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "symsrv/cab_expand.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    constexpr uint64_t kLimit = 4u << 20;
    nt::Bytes bytes(data, size);
    try {
        auto members = nt::symsrv::listCab(bytes);
        size_t expanded = 0;
        for (const auto& m : members) {
            if (++expanded > 4) break;
            try {
                auto out = nt::symsrv::expandCabToMemory(bytes, kLimit, m.name);
                if (out.size() > kLimit || out.size() != m.size) std::abort();
            } catch (const nt::FormatError&) {
            }
        }
    } catch (const nt::FormatError&) {
    }
    return 0;
}
