#include "pdb/tpi.h"

#include "base/error.h"
#include "pdb/gsi.h"

namespace nt::pdb {

namespace {
constexpr uint32_t kHeaderSize = 56;
// A record is at least its u16 length and u16 kind.
constexpr uint32_t kMinRecordBytes = 4;
// Buckets beyond this are not a real hash table (MSVC uses 0x3FFFF at most).
constexpr uint32_t kMaxBuckets = 0x40000;
}  // namespace

TypeStream TypeStream::parse(const Msf& msf, uint32_t index) {
    if (!msf.hasStream(index)) throw FormatError("type stream " + std::to_string(index) + " is absent");
    StreamReader s = msf.stream(index);
    TypeStream t;
    TpiHeader& h = t.header_;
    if (!s.copyOut(0, 4, &h.version) || !s.copyOut(4, 4, &h.headerSize) || h.headerSize < kHeaderSize)
        throw FormatError("type stream header is truncated");
    uint8_t raw[kHeaderSize];
    if (!s.copyOut(0, kHeaderSize, raw)) throw FormatError("type stream header is truncated");
    Bytes b(raw, kHeaderSize);
    h.typeIndexBegin = *b.get<uint32_t>(8);
    h.typeIndexEnd = *b.get<uint32_t>(12);
    h.typeRecordBytes = *b.get<uint32_t>(16);
    h.hashStream = *b.get<uint16_t>(20);
    h.hashAuxStream = *b.get<uint16_t>(22);
    h.hashKeySize = *b.get<uint32_t>(24);
    h.hashBucketCount = *b.get<uint32_t>(28);
    h.hashValueOffset = *b.get<int32_t>(32);
    h.hashValueLength = *b.get<uint32_t>(36);
    h.indexOffsetOffset = *b.get<int32_t>(40);
    h.indexOffsetLength = *b.get<uint32_t>(44);
    h.hashAdjOffset = *b.get<int32_t>(48);
    h.hashAdjLength = *b.get<uint32_t>(52);
    if (h.typeIndexBegin > h.typeIndexEnd) throw FormatError("type stream index range is inverted");
    if (!fitsWithin(h.headerSize, h.typeRecordBytes, s.size()))
        throw FormatError("type stream records leave the stream");
    auto rec = s.read(h.headerSize, h.typeRecordBytes, t.scratch_);
    if (!rec) throw FormatError("type stream records leave the stream");
    t.records_ = *rec;
    if (msf.hasStream(h.hashStream)) t.hashStream_ = msf.stream(h.hashStream);
    return t;
}

void TypeStream::buildOffsets() const {
    if (offsetsBuilt_) return;
    offsetsBuilt_ = true;
    // The header's count is only trusted as far as the bytes can hold records.
    uint64_t want = uint64_t(header_.typeIndexEnd) - header_.typeIndexBegin;
    uint64_t cap = records_.size() / kMinRecordBytes;
    offsets_.reserve(static_cast<size_t>(want < cap ? want : cap));
    uint64_t off = 0;
    while (offsets_.size() < want && off + kMinRecordBytes <= records_.size()) {
        uint16_t len = *records_.get<uint16_t>(off);
        if (len < 2 || !records_.contains(off + 2, len)) break;
        offsets_.push_back(static_cast<uint32_t>(off));
        off += 2 + uint64_t(len);
    }
}

TypeIndex TypeStream::end() const {
    buildOffsets();
    return header_.typeIndexBegin + static_cast<uint32_t>(offsets_.size());
}

std::optional<TypeRecord> TypeStream::record(TypeIndex ti) const {
    if (!contains(ti)) return std::nullopt;
    uint32_t off = offsets_[ti - begin()];
    uint16_t len = *records_.get<uint16_t>(off);
    TypeRecord r;
    r.kind = *records_.get<uint16_t>(off + 2);
    r.data = *records_.sub(off + 4, len - 2u);
    return r;
}

void TypeStream::buildHash() const {
    if (hashTried_) return;
    hashTried_ = true;
    buildOffsets();
    const TpiHeader& h = header_;
    uint32_t n = static_cast<uint32_t>(offsets_.size());
    if (hashStream_.size() == 0 || h.hashKeySize != 4 || h.hashBucketCount == 0 || h.hashBucketCount > kMaxBuckets)
        return;
    if (h.hashValueOffset < 0 || h.hashValueLength / 4 < n) return;
    if (!fitsWithin(uint32_t(h.hashValueOffset), uint64_t(n) * 4, hashStream_.size())) return;
    std::vector<uint8_t> scratch;
    auto vals = hashStream_.read(uint32_t(h.hashValueOffset), uint64_t(n) * 4, scratch);
    if (!vals) return;
    bucketOf_.resize(n);
    std::vector<uint32_t> counts(h.hashBucketCount + 1, 0);
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t v = *vals->get<uint32_t>(uint64_t(i) * 4);
        if (v >= h.hashBucketCount) {  // not reduced: the table is not what we think
            bucketOf_.clear();
            return;
        }
        bucketOf_[i] = v;
        ++counts[v + 1];
    }
    for (uint32_t b = 1; b <= h.hashBucketCount; ++b) counts[b] += counts[b - 1];
    bucketStart_ = counts;
    byBucket_.resize(n);
    for (uint32_t i = 0; i < n; ++i) byBucket_[counts[bucketOf_[i]]++] = begin() + i;
    hashOk_ = true;
}

bool TypeStream::hasHash() const {
    buildHash();
    return hashOk_;
}

std::optional<uint32_t> TypeStream::hashBucket(TypeIndex ti) const {
    if (!hasHash() || !contains(ti)) return std::nullopt;
    return bucketOf_[ti - begin()];
}

std::vector<TypeIndex> TypeStream::candidates(std::string_view name) const {
    if (!hasHash()) return {};
    uint32_t b = hashStringV1(name) % header_.hashBucketCount;
    return std::vector<TypeIndex>(byBucket_.begin() + bucketStart_[b], byBucket_.begin() + bucketStart_[b + 1]);
}

}  // namespace nt::pdb
