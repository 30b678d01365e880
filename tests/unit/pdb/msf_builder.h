// Builds MSF 7.00 files for tests: re-lays a real PDB's streams out with any
// block size, scattered blocks, or a hand-made directory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#include "pdb/msf.h"

namespace nt::pdbtest {

struct StreamSpec {
    uint32_t size = 0;              // nt::pdb::kNilStreamSize for nil
    std::vector<uint32_t> blocks;   // filled in by layout() unless given
    std::vector<uint8_t> data;
};

inline void put32(std::vector<uint8_t>& f, uint64_t off, uint32_t v) {
    if (f.size() < off + 4) f.resize(off + 4);
    std::memcpy(f.data() + off, &v, 4);
}

// Writes an MSF: blocks 0..2 are the superblock and the two free block maps,
// stream blocks as given, then the directory and its block map at the end.
inline std::vector<uint8_t> writeMsf(uint32_t bs, const std::vector<StreamSpec>& streams, uint32_t firstFree) {
    std::vector<uint8_t> dir;
    auto dput = [&](uint32_t v) { size_t o = dir.size(); dir.resize(o + 4); std::memcpy(dir.data() + o, &v, 4); };
    dput(static_cast<uint32_t>(streams.size()));
    for (const auto& s : streams) dput(s.size);
    for (const auto& s : streams)
        for (uint32_t b : s.blocks) dput(b);
    uint32_t dirBlocks = static_cast<uint32_t>((dir.size() + bs - 1) / bs);
    uint32_t dirStart = firstFree;
    uint32_t mapStart = dirStart + dirBlocks;
    uint32_t mapBlocks = static_cast<uint32_t>((dirBlocks * 4 + bs - 1) / bs);
    uint32_t numBlocks = mapStart + mapBlocks;
    std::vector<uint8_t> f(uint64_t(numBlocks) * bs);
    std::memcpy(f.data(), "Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0", 32);
    put32(f, 32, bs);
    put32(f, 36, 1);
    put32(f, 40, numBlocks);
    put32(f, 44, static_cast<uint32_t>(dir.size()));
    put32(f, 52, mapStart);
    for (const auto& s : streams) {
        for (size_t i = 0; i < s.blocks.size(); ++i) {
            size_t off = i * bs, n = std::min<size_t>(bs, s.data.size() > off ? s.data.size() - off : 0);
            if (n) std::memcpy(f.data() + uint64_t(s.blocks[i]) * bs, s.data.data() + off, n);
        }
    }
    std::memcpy(f.data() + uint64_t(dirStart) * bs, dir.data(), dir.size());
    for (uint32_t i = 0; i < dirBlocks; ++i) put32(f, uint64_t(mapStart) * bs + i * 4, dirStart + i);
    return f;
}

// The streams of src, laid out with block size bs; scattered: in a
// shuffled block order, so that no stream has two adjacent blocks.
inline std::vector<uint8_t> relayout(const pdb::Msf& src, uint32_t bs, bool scattered,
                                     const std::function<void(uint32_t, StreamSpec&)>& edit = {}) {
    std::vector<StreamSpec> streams(src.streamCount());
    uint32_t total = 0;
    for (uint32_t i = 0; i < src.streamCount(); ++i) {
        auto& s = streams[i];
        if (!src.hasStream(i)) {
            s.size = pdb::kNilStreamSize;
        } else {
            s.size = src.streamSize(i);
            s.data.resize(s.size);
            src.stream(i).copyOut(0, s.size, s.data.data());
        }
        if (edit) edit(i, s);
        if (s.size != pdb::kNilStreamSize) total += static_cast<uint32_t>((s.size + bs - 1) / bs);
    }
    std::vector<uint32_t> order(total);
    std::iota(order.begin(), order.end(), 3u);
    if (scattered) {
        // Interleave from both ends: consecutive stream blocks never touch.
        std::vector<uint32_t> o;
        for (size_t lo = 0, hi = order.size(); lo < hi;) {
            o.push_back(order[--hi]);
            if (lo < hi) o.push_back(order[lo++]);
        }
        order = o;
    }
    size_t k = 0;
    for (auto& s : streams) {
        if (s.size == pdb::kNilStreamSize) continue;
        s.blocks.assign(order.begin() + k, order.begin() + k + (s.size + bs - 1) / bs);
        k += s.blocks.size();
    }
    return writeMsf(bs, streams, 3 + total);
}

}  // namespace nt::pdbtest
