// The MSF 7.00 container ("big MSF") that holds a PDB's streams.
//
// A PDB is a little file system: the file is split into fixed-size blocks and
// each stream is a list of (not necessarily contiguous) blocks. The superblock
// points at the block map, which lists the blocks of the stream directory,
// which in turn gives every stream's size and block list.
//
// Everything is validated once at open (every block index of every stream is
// inside the file), so StreamReader reads can only fail by asking for bytes
// past the end of a stream. Reads never follow chains, so duplicate or
// overlapping blocks cannot cause loops.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/bytes.h"

namespace nt::pdb {

// Stream size recorded for a deleted / absent stream.
inline constexpr uint32_t kNilStreamSize = 0xFFFFFFFF;

// Reads one stream's bytes by (offset, length) across its blocks. Cheap to
// copy; valid while the Msf (and its mapped file) lives.
class StreamReader {
public:
    StreamReader() = default;
    StreamReader(Bytes file, uint32_t blockSize, std::span<const uint32_t> blocks, uint32_t size)
        : file_(file), blockSize_(blockSize), blocks_(blocks), size_(size) {}

    uint32_t size() const { return size_; }

    // [off, off+len) of the stream: a view straight into the file when the
    // range lies in blocks that are adjacent in the file, otherwise a copy
    // into scratch (the returned view then points into scratch). nullopt when
    // the range leaves the stream.
    std::optional<Bytes> read(uint64_t off, uint64_t len, std::vector<uint8_t>& scratch) const;

    // Copies [off, off+len) into out; false when the range leaves the stream.
    bool copyOut(uint64_t off, uint64_t len, void* out) const;

    template <class T>
    std::optional<T> get(uint64_t off) const {
        static_assert(std::is_trivially_copyable_v<T>);
        T v;
        if (!copyOut(off, sizeof(T), &v)) return std::nullopt;
        return v;
    }

    // The whole stream (zero-copy when its blocks are adjacent in the file).
    Bytes all(std::vector<uint8_t>& scratch) const { return read(0, size_, scratch).value_or(Bytes()); }

private:
    Bytes file_;
    uint32_t blockSize_ = 0;
    std::span<const uint32_t> blocks_;
    uint32_t size_ = 0;
};

class Msf {
public:
    // Parses and validates the superblock and stream directory. Throws
    // FormatError (one line) when the file is not an MSF 7.00 container or
    // its directory is damaged. The bytes must outlive the Msf.
    static Msf open(Bytes file);

    uint32_t blockSize() const { return blockSize_; }
    uint32_t blockCount() const { return blockCount_; }
    uint32_t streamCount() const { return static_cast<uint32_t>(sizes_.size()); }

    // True when the stream index exists and is not nil.
    bool hasStream(uint32_t index) const;
    // Size in bytes; 0 for nil or absent streams.
    uint32_t streamSize(uint32_t index) const;
    // A reader over the stream; empty (size 0) for nil or absent streams.
    StreamReader stream(uint32_t index) const;

private:
    Bytes file_;
    uint32_t blockSize_ = 0;
    uint32_t blockCount_ = 0;
    std::vector<uint32_t> sizes_;       // kNilStreamSize for nil streams
    std::vector<uint32_t> firstBlock_;  // index into blocks_ of each stream's first block
    std::vector<uint32_t> blocks_;      // all streams' block lists, concatenated
};

// Blocks needed to hold n bytes.
inline uint64_t blocksFor(uint64_t n, uint32_t blockSize) { return (n + blockSize - 1) / blockSize; }

}  // namespace nt::pdb
