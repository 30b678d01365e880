#include "pdb/msf.h"

#include <cstring>
#include <string>

#include "base/error.h"

namespace nt::pdb {

namespace {

constexpr char kMagic[32] = "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0";
constexpr uint64_t kSuperBlockSize = 56;

bool validBlockSize(uint32_t bs) {
    switch (bs) {
        case 512: case 1024: case 2048: case 4096: case 8192: case 16384: case 32768: return true;
        default: return false;
    }
}

[[noreturn]] void fail(const std::string& what) { throw FormatError("PDB: " + what); }

}  // namespace

bool StreamReader::copyOut(uint64_t off, uint64_t len, void* out) const {
    if (!fitsWithin(off, len, size_)) return false;
    auto* dst = static_cast<uint8_t*>(out);
    while (len > 0) {
        uint64_t bi = off / blockSize_;
        uint64_t inBlock = off % blockSize_;
        uint64_t n = blockSize_ - inBlock;
        if (n > len) n = len;
        // Block indices were checked against the file at open; the check
        // here only guards against a reader built by hand.
        if (bi >= blocks_.size()) return false;
        auto src = file_.sub(uint64_t(blocks_[bi]) * blockSize_ + inBlock, n);
        if (!src) return false;
        std::memcpy(dst, src->data(), n);
        dst += n;
        off += n;
        len -= n;
    }
    return true;
}

std::optional<Bytes> StreamReader::read(uint64_t off, uint64_t len, std::vector<uint8_t>& scratch) const {
    if (!fitsWithin(off, len, size_)) return std::nullopt;
    if (len == 0) return Bytes();
    uint64_t first = off / blockSize_;
    uint64_t last = (off + len - 1) / blockSize_;
    if (last >= blocks_.size()) return std::nullopt;
    bool adjacent = true;
    for (uint64_t b = first; b < last && adjacent; ++b) adjacent = blocks_[b + 1] == blocks_[b] + 1;
    if (adjacent) return file_.sub(uint64_t(blocks_[first]) * blockSize_ + off % blockSize_, len);
    scratch.resize(len);  // len <= stream size, which was checked against the file
    if (!copyOut(off, len, scratch.data())) return std::nullopt;
    return Bytes(scratch.data(), len);
}

Msf Msf::open(Bytes file) {
    if (file.size() < kSuperBlockSize) fail("file too small for an MSF superblock");
    if (std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) {
        if (file.size() >= 4 && std::memcmp(file.data(), "MSCF", 4) == 0)
            fail("file is CAB-compressed (expand it first)");
        fail("not an MSF 7.00 file (bad magic)");
    }
    Msf m;
    m.file_ = file;
    m.blockSize_ = *file.get<uint32_t>(32);
    m.blockCount_ = *file.get<uint32_t>(40);
    uint32_t dirBytes = *file.get<uint32_t>(44);
    uint32_t blockMapAddr = *file.get<uint32_t>(52);
    if (!validBlockSize(m.blockSize_)) fail("invalid block size " + std::to_string(m.blockSize_));
    const uint32_t bs = m.blockSize_;
    // The superblock's block count must agree with the file: a shorter file
    // was truncated, and every later check relies on blockCount_.
    if (uint64_t(m.blockCount_) * bs > file.size())
        fail("truncated: " + std::to_string(m.blockCount_) + " blocks declared, file holds " +
             std::to_string(file.size() / bs));
    if (dirBytes < 4 || dirBytes > file.size()) fail("invalid stream directory size");
    if (blockMapAddr == 0 || blockMapAddr >= m.blockCount_) fail("block map outside the file");

    // The block map: the directory's block indices, contiguous from the
    // block map address (large directories need more than one block of them).
    uint64_t dirBlocks = blocksFor(dirBytes, bs);
    auto map = file.sub(uint64_t(blockMapAddr) * bs, dirBlocks * 4);
    if (!map) fail("block map outside the file");

    // Stitch the directory together (it is at most the file's size).
    std::vector<uint8_t> dir(dirBytes);
    for (uint64_t i = 0; i < dirBlocks; ++i) {
        uint32_t b = *map->get<uint32_t>(i * 4);
        if (b == 0 || b >= m.blockCount_) fail("stream directory block outside the file");
        uint64_t n = std::min<uint64_t>(bs, dirBytes - i * bs);
        std::memcpy(dir.data() + i * bs, file.data() + uint64_t(b) * bs, n);
    }
    Bytes d(dir.data(), dir.size());

    uint32_t numStreams = *d.get<uint32_t>(0);
    if (numStreams > (dirBytes - 4) / 4) fail("stream directory: stream count exceeds the directory");
    m.sizes_.resize(numStreams);
    m.firstBlock_.resize(numStreams);
    uint64_t pos = 4 + uint64_t(numStreams) * 4;
    uint64_t totalBlocks = 0;
    for (uint32_t i = 0; i < numStreams; ++i) {
        uint32_t sz = *d.get<uint32_t>(4 + uint64_t(i) * 4);
        m.sizes_[i] = sz;
        if (sz == kNilStreamSize) continue;
        if (sz > file.size()) fail("stream " + std::to_string(i) + " larger than the file");
        totalBlocks += blocksFor(sz, bs);
    }
    // Every block index takes 4 directory bytes, so this bounds the vector.
    if (!fitsWithin(pos, totalBlocks * 4, dirBytes)) fail("stream directory truncated");
    m.blocks_.resize(totalBlocks);
    uint64_t k = 0;
    for (uint32_t i = 0; i < numStreams; ++i) {
        m.firstBlock_[i] = static_cast<uint32_t>(k);
        uint32_t sz = m.sizes_[i];
        if (sz == kNilStreamSize) continue;
        uint64_t nb = blocksFor(sz, bs);
        for (uint64_t j = 0; j < nb; ++j, ++k, pos += 4) {
            uint32_t b = *d.get<uint32_t>(pos);
            uint64_t used = std::min<uint64_t>(bs, sz - j * bs);
            if (b >= m.blockCount_ || !file.contains(uint64_t(b) * bs, used))
                fail("stream " + std::to_string(i) + " has a block outside the file");
            m.blocks_[k] = b;
        }
    }
    return m;
}

bool Msf::hasStream(uint32_t index) const {
    return index < sizes_.size() && sizes_[index] != kNilStreamSize;
}

uint32_t Msf::streamSize(uint32_t index) const { return hasStream(index) ? sizes_[index] : 0; }

StreamReader Msf::stream(uint32_t index) const {
    if (!hasStream(index)) return StreamReader(file_, blockSize_, {}, 0);
    uint64_t nb = blocksFor(sizes_[index], blockSize_);
    return StreamReader(file_, blockSize_,
                        std::span<const uint32_t>(blocks_.data() + firstBlock_[index], nb), sizes_[index]);
}

}  // namespace nt::pdb
