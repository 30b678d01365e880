#include "dump/kernel/bitmap_memory.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace nt::kdump {

BitmapMemory::BitmapMemory(Bytes file, Bytes bitmap, uint64_t bits, uint64_t firstPage)
    : file_(file), bitmap_(bitmap), bits_(std::min(bits, bitmap.size() * 8)), firstPage_(firstPage) {
    words_ = (bits_ + 63) / 64;
    uint64_t blocks = (words_ + kWordsPerBlock - 1) / kWordsPerBlock;
    blockRank_.reserve(static_cast<size_t>(blocks));  // bounded: bits_ <= 8 * bitmap bytes in the file
    uint64_t total = 0;
    for (uint64_t w = 0; w < words_; ++w) {
        if (w % kWordsPerBlock == 0) blockRank_.push_back(total);
        total += static_cast<uint64_t>(std::popcount(word(w)));
    }
    setBits_ = total;
    uint64_t inFile = firstPage < file.size() ? (file.size() - firstPage) >> kPageShift : 0;
    stored_ = std::min(total, inFile);
}

uint64_t BitmapMemory::word(uint64_t i) const {
    if (i >= words_) return 0;
    uint64_t off = i * 8;
    uint64_t v = 0;
    uint64_t n = std::min<uint64_t>(8, bitmap_.size() - off);
    std::memcpy(&v, bitmap_.data() + off, static_cast<size_t>(n));  // little-endian host
    uint64_t firstBit = i * 64;
    if (bits_ - firstBit < 64) v &= (uint64_t{1} << (bits_ - firstBit)) - 1;
    return v;
}

uint64_t BitmapMemory::rank(uint64_t pfn) const {
    uint64_t w = pfn >> 6;
    uint64_t block = w / kWordsPerBlock;
    uint64_t r = blockRank_[static_cast<size_t>(block)];
    for (uint64_t i = block * kWordsPerBlock; i < w; ++i) r += static_cast<uint64_t>(std::popcount(word(i)));
    uint64_t bit = pfn & 63;
    if (bit) r += static_cast<uint64_t>(std::popcount(word(w) & ((uint64_t{1} << bit) - 1)));
    return r;
}

Bytes BitmapMemory::page(uint64_t pfn) const {
    if (pfn >= bits_ || !test(pfn)) return {};
    uint64_t r = rank(pfn);
    if (r >= stored_) return {};
    return file_.subClamped(firstPage_ + (r << kPageShift), kPageSize);
}

std::optional<uint64_t> BitmapMemory::nextPresentPfn(uint64_t pfn) const {
    if (pfn >= bits_ || stored_ == 0) return std::nullopt;
    uint64_t w = pfn >> 6;
    uint64_t v = word(w) & (~uint64_t{0} << (pfn & 63));
    while (v == 0) {
        if (++w >= words_) return std::nullopt;
        v = word(w);
    }
    uint64_t found = w * 64 + static_cast<uint64_t>(std::countr_zero(v));
    // Ranks grow with pfn: the first set bit past the stored pages means none is left.
    if (rank(found) >= stored_) return std::nullopt;
    return found;
}

}  // namespace nt::kdump
