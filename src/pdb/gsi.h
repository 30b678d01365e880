// The GSI hash table shared by the globals stream and the publics stream:
// name -> symbol record offsets, read on demand from the stream (no table is
// built). Layout: header (signature, version, records size, buckets size),
// hash records (u32 offset+1 into the symbol record stream, u32 refcount),
// a bitmap of the 4097 non-empty buckets, then one u32 per non-empty bucket
// giving its first record (in units of the 12-byte in-memory record).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "pdb/msf.h"

namespace nt::pdb {

// The name hash of the PDB format (LLVM's hashStringV1).
uint32_t hashStringV1(std::string_view s);

class GsiHash {
public:
    // The table at [off, off+size) of stream s; nullopt when its header or
    // sizes are inconsistent.
    static std::optional<GsiHash> parse(const StreamReader& s, uint64_t off, uint64_t size);

    // Symbol record offsets of the records that may be named name (the
    // caller compares names: the hash is case-insensitive and collides).
    std::vector<uint32_t> candidates(std::string_view name) const;

private:
    StreamReader s_;
    uint64_t recordsAt_ = 0;
    uint32_t recordCount_ = 0;
    uint64_t bitmapAt_ = 0;
    uint64_t bucketsAt_ = 0;
    uint32_t bucketCount_ = 0;  // number of u32 bucket entries present
};

}  // namespace nt::pdb
