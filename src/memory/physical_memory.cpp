#include "memory/physical_memory.h"

#include <cstring>

namespace nt {

uint64_t PhysicalMemory::read(uint64_t pa, std::span<uint8_t> out) const {
    uint64_t done = 0;
    while (done < out.size()) {
        // pa + done may wrap at the top of the 64-bit space: stop there.
        if (pa + done < pa) break;
        uint64_t cur = pa + done;
        Bytes pg = page(cur >> kPageShift);
        uint64_t inPage = cur & (kPageSize - 1);
        if (pg.size() <= inPage) break;
        uint64_t n = pg.size() - inPage;
        if (n > out.size() - done) n = out.size() - done;
        std::memcpy(out.data() + done, pg.data() + inPage, static_cast<size_t>(n));
        done += n;
    }
    return done;
}

std::optional<uint64_t> PhysicalMemory::readU64(uint64_t pa) const {
    uint8_t b[8];
    if (read(pa, b) != sizeof b) return std::nullopt;
    uint64_t v;
    std::memcpy(&v, b, sizeof v);
    return v;
}

std::optional<uint32_t> PhysicalMemory::readU32(uint64_t pa) const {
    uint8_t b[4];
    if (read(pa, b) != sizeof b) return std::nullopt;
    uint32_t v;
    std::memcpy(&v, b, sizeof v);
    return v;
}

}  // namespace nt
