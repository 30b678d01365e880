// xz (.json.xz) decompression with a bound on the output size, so that a
// small hostile file cannot expand into gigabytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace nt::isf {

inline constexpr uint64_t kMaxDecompressedIsf = 512ull << 20;

bool looksLikeXz(std::span<const uint8_t> data);

// Throws FormatError on a corrupt stream, a truncated stream, or output larger than maxOut.
std::string decodeXz(std::span<const uint8_t> data, uint64_t maxOut = kMaxDecompressedIsf);

}  // namespace nt::isf
