#include "pdb/publics.h"

namespace nt::pdb {

namespace {
constexpr uint64_t kHeaderSize = 28;  // PublicsStreamHeader
}

std::optional<Publics> Publics::parse(const StreamReader& publics, const StreamReader& records, const Dbi& dbi) {
    auto hashSize = publics.get<uint32_t>(0);
    auto mapSize = publics.get<uint32_t>(4);
    if (!hashSize || !mapSize) return std::nullopt;
    uint64_t mapAt = kHeaderSize + uint64_t(*hashSize);
    if (!fitsWithin(mapAt, *mapSize, publics.size())) return std::nullopt;
    Publics p;
    p.publics_ = publics;
    p.records_ = records;
    p.dbi_ = &dbi;
    p.hash_ = GsiHash::parse(publics, kHeaderSize, *hashSize);
    p.mapAt_ = mapAt;
    p.count_ = *mapSize / 4;
    return p;
}

std::optional<PublicSymbol> Publics::atRecord(uint32_t recordOffset) const {
    std::vector<uint8_t> scratch;
    auto r = recordAt(records_, recordOffset, scratch);
    if (!r) return std::nullopt;
    auto pub = parsePub32(*r);
    if (!pub) return std::nullopt;
    PublicSymbol out{std::move(*pub), std::nullopt};
    out.rva = dbi_->rvaOf(out.pub.segment, out.pub.offset);
    return out;
}

std::optional<PublicSymbol> Publics::at(uint32_t i) const {
    if (i >= count_) return std::nullopt;
    auto off = publics_.get<uint32_t>(mapAt_ + uint64_t(i) * 4);
    if (!off) return std::nullopt;
    return atRecord(*off);
}

uint64_t Publics::keyAt(uint32_t i) const {
    // Section 0 (absolute) sorts first, unknown sections last; in between
    // the RVA, which orders like section:offset because sections ascend.
    auto off = publics_.get<uint32_t>(mapAt_ + uint64_t(i) * 4);
    if (!off) return UINT64_MAX;
    std::vector<uint8_t> scratch;
    auto r = recordAt(records_, *off, scratch);
    if (!r || r->kind != S_PUB32 || r->data.size() < 10) return UINT64_MAX;
    uint16_t seg = *r->data.get<uint16_t>(8);
    if (seg == 0) return 0;
    auto rva = dbi_->rvaOf(seg, *r->data.get<uint32_t>(4));
    return rva ? uint64_t(*rva) + 1 : UINT64_MAX;
}

std::optional<PublicSymbol> Publics::nearestAtOrBelow(uint32_t rva) const {
    // First entry whose key is above rva; the one before it is the answer.
    uint64_t target = uint64_t(rva) + 1;
    uint32_t lo = 0, hi = count_;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (keyAt(mid) <= target) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return std::nullopt;
    // Skip absolute symbols (key 0): they have no address in the image.
    if (keyAt(lo - 1) == 0) return std::nullopt;
    return at(lo - 1);
}

std::optional<PublicSymbol> Publics::find(std::string_view name) const {
    if (hash_) {
        for (uint32_t off : hash_->candidates(name)) {
            auto p = atRecord(off);
            if (p && p->pub.name == name) return p;
        }
    }
    // Not where the hash says: lld (x86, seen with 8-character names such as
    // _nt_sink in the Wine fixtures) files some publics under another bucket,
    // so a miss falls back to a walk of the address map (a few ms at most).
    std::vector<uint8_t> scratch;
    for (uint32_t i = 0; i < count_; ++i) {
        auto off = publics_.get<uint32_t>(mapAt_ + uint64_t(i) * 4);
        if (!off) break;
        auto r = recordAt(records_, *off, scratch);
        if (!r || r->kind != S_PUB32 || r->data.size() < 10) continue;
        if (r->data.cstring(10, r->data.size() - 10) == name) return atRecord(*off);
    }
    return std::nullopt;
}

}  // namespace nt::pdb
