#include "pdb/gsi.h"

#include <bit>

namespace nt::pdb {

namespace {
constexpr uint32_t kBuckets = 4096;                          // IPHR_HASH
constexpr uint32_t kBitmapBytes = ((kBuckets + 1 + 31) / 32) * 4;  // 516
constexpr uint32_t kVersion = 0xeffe0000 + 19990810;
}  // namespace

uint32_t hashStringV1(std::string_view s) {
    uint32_t result = 0;
    size_t n = s.size() / 4;
    auto p = reinterpret_cast<const uint8_t*>(s.data());
    for (size_t i = 0; i < n; ++i, p += 4) result ^= uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    size_t rem = s.size() % 4;
    if (rem >= 2) {
        result ^= uint32_t(p[0]) | uint32_t(p[1]) << 8;
        p += 2;
        rem -= 2;
    }
    if (rem == 1) result ^= *p;
    result |= 0x20202020;
    result ^= result >> 11;
    return result ^ (result >> 16);
}

std::optional<GsiHash> GsiHash::parse(const StreamReader& s, uint64_t off, uint64_t size) {
    if (size < 16 || !fitsWithin(off, size, s.size())) return std::nullopt;
    auto sig = s.get<uint32_t>(off);
    auto ver = s.get<uint32_t>(off + 4);
    auto hrSize = s.get<uint32_t>(off + 8);
    auto bucketSize = s.get<uint32_t>(off + 12);
    if (!sig || *sig != 0xFFFFFFFF || *ver != kVersion) return std::nullopt;
    if (*hrSize % 8 != 0 || uint64_t(*hrSize) + *bucketSize > size - 16) return std::nullopt;
    if (*bucketSize < kBitmapBytes) return std::nullopt;
    GsiHash h;
    h.s_ = s;
    h.recordsAt_ = off + 16;
    h.recordCount_ = *hrSize / 8;
    h.bitmapAt_ = h.recordsAt_ + *hrSize;
    h.bucketsAt_ = h.bitmapAt_ + kBitmapBytes;
    h.bucketCount_ = (*bucketSize - kBitmapBytes) / 4;
    return h;
}

std::vector<uint32_t> GsiHash::candidates(std::string_view name) const {
    std::vector<uint32_t> out;
    uint32_t bucket = hashStringV1(name) % kBuckets;
    auto word = s_.get<uint32_t>(bitmapAt_ + (bucket / 32) * 4);
    if (!word || !(*word & (1u << (bucket % 32)))) return out;
    // The bucket's slot among the non-empty ones: the set bits before it.
    uint32_t slot = 0;
    for (uint32_t w = 0; w < bucket / 32; ++w) slot += std::popcount(s_.get<uint32_t>(bitmapAt_ + w * 4).value_or(0));
    slot += std::popcount(*word & ((1u << (bucket % 32)) - 1));
    if (slot >= bucketCount_) return out;
    // Bucket values count 12-byte in-memory records; the file's are 8 bytes.
    uint32_t begin = s_.get<uint32_t>(bucketsAt_ + slot * 4).value_or(UINT32_MAX) / 12;
    uint32_t end = recordCount_;
    if (slot + 1 < bucketCount_) end = s_.get<uint32_t>(bucketsAt_ + (slot + 1) * 4).value_or(0) / 12;
    if (end > recordCount_) end = recordCount_;
    for (uint32_t i = begin; i < end; ++i) {
        auto o = s_.get<uint32_t>(recordsAt_ + uint64_t(i) * 8);
        if (o && *o > 0) out.push_back(*o - 1);
    }
    return out;
}

}  // namespace nt::pdb
