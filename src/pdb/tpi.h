// The TPI (stream 2) and IPI (stream 4) type record streams.
//
// Layout: a 56-byte header (version, header size, the range of type indices
// [begin, end), the byte size of the records, the hash stream and where its
// parts lie), then the records back to back: u16 length (of what follows),
// u16 leaf kind, payload. The n-th record has type index begin + n, so
// finding a record by index needs its offset: built on first use by one
// linear pass over the records (bounded by the header's count and the record
// bytes; a record whose length leaves the stream ends the table there).
//
// The hash stream gives one hash value per record (already reduced modulo the
// bucket count). For a UDT definition that value is hashStringV1 of its name
// (or of its unique name for scoped/local types), which is how a name finds
// its candidates without reading every record.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "pdb/msf.h"

namespace nt::pdb {

using TypeIndex = uint32_t;

// The first type index that names a record (below it: simple types).
inline constexpr TypeIndex kFirstNonSimpleIndex = 0x1000;

struct TpiHeader {
    uint32_t version = 0;
    uint32_t headerSize = 0;
    uint32_t typeIndexBegin = 0;
    uint32_t typeIndexEnd = 0;
    uint32_t typeRecordBytes = 0;
    uint16_t hashStream = 0xFFFF;
    uint16_t hashAuxStream = 0xFFFF;
    uint32_t hashKeySize = 0;
    uint32_t hashBucketCount = 0;
    int32_t hashValueOffset = 0;
    uint32_t hashValueLength = 0;
    int32_t indexOffsetOffset = 0;
    uint32_t indexOffsetLength = 0;
    int32_t hashAdjOffset = 0;
    uint32_t hashAdjLength = 0;
};

// One raw record: its leaf kind and the bytes after the kind.
struct TypeRecord {
    uint16_t kind = 0;
    Bytes data;
};

class TypeStream {
public:
    // Parses the header of stream `index` (2: TPI, 4: IPI) and takes a view
    // of its records. Throws FormatError when the stream is absent, the
    // header is too short or its sizes do not fit the stream.
    static TypeStream parse(const Msf& msf, uint32_t index);

    // The records may live in scratch_: moving keeps the buffer.
    TypeStream(TypeStream&&) = default;
    TypeStream& operator=(TypeStream&&) = default;
    TypeStream(const TypeStream&) = delete;
    TypeStream& operator=(const TypeStream&) = delete;

    const TpiHeader& header() const { return header_; }
    TypeIndex begin() const { return header_.typeIndexBegin; }
    // One past the last index that has a readable record (<= header end).
    TypeIndex end() const;
    bool contains(TypeIndex ti) const { return ti >= begin() && ti < end(); }

    // The record of ti; nullopt outside the stream or for a damaged record.
    std::optional<TypeRecord> record(TypeIndex ti) const;

    // The hash bucket of ti from the hash stream; nullopt without one.
    std::optional<uint32_t> hashBucket(TypeIndex ti) const;
    // True when the hash stream was readable and matches the records.
    bool hasHash() const;
    // Type indices whose hash bucket is the one of hashStringV1(name), in
    // index order; empty without a usable hash stream. The caller compares
    // names (the hash collides and ignores case).
    std::vector<TypeIndex> candidates(std::string_view name) const;
    uint32_t bucketCount() const { return header_.hashBucketCount; }

private:
    TypeStream() = default;
    void buildOffsets() const;
    void buildHash() const;

    TpiHeader header_;
    std::vector<uint8_t> scratch_;
    Bytes records_;
    StreamReader hashStream_;

    mutable bool offsetsBuilt_ = false;
    mutable std::vector<uint32_t> offsets_;  // offsets_[ti - begin]: offset of the record's length

    mutable bool hashTried_ = false;
    mutable bool hashOk_ = false;
    mutable std::vector<uint32_t> bucketOf_;       // per record
    mutable std::vector<uint32_t> bucketStart_;    // bucketCount + 1 entries into byBucket_
    mutable std::vector<TypeIndex> byBucket_;      // indices grouped by bucket, in index order
};

}  // namespace nt::pdb
