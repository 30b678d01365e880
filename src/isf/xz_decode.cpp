#include "isf/xz_decode.h"

#include <lzma.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"

namespace nt::isf {

bool looksLikeXz(std::span<const uint8_t> data) {
    static constexpr uint8_t kMagic[6] = {0xFD, '7', 'z', 'X', 'Z', 0x00};
    return data.size() >= sizeof kMagic && std::memcmp(data.data(), kMagic, sizeof kMagic) == 0;
}

namespace {

const char* lzmaMessage(lzma_ret r) {
    switch (r) {
        case LZMA_FORMAT_ERROR: return "not an xz stream";
        case LZMA_OPTIONS_ERROR: return "unsupported xz options";
        case LZMA_DATA_ERROR: return "corrupt xz data";
        case LZMA_BUF_ERROR: return "truncated xz stream";
        case LZMA_MEM_ERROR: return "out of memory";
        case LZMA_MEMLIMIT_ERROR: return "xz stream needs too much memory";
        default: return "xz decoder error";
    }
}

struct StreamGuard {
    lzma_stream* s;
    ~StreamGuard() { lzma_end(s); }
};

}  // namespace

std::string decodeXz(std::span<const uint8_t> data, uint64_t maxOut) {
    lzma_stream strm = LZMA_STREAM_INIT;
    // 256 MiB of decoder memory covers every preset (xz -9e needs 65 MiB).
    lzma_ret r = lzma_stream_decoder(&strm, 256ull << 20, LZMA_CONCATENATED);
    if (r != LZMA_OK) throw FormatError(std::string("ISF: ") + lzmaMessage(r));
    StreamGuard guard{&strm};

    std::string out;
    // The ISF files compress about 10:1; start near that and grow geometrically.
    // (The first guess is capped: a hostile stream's size says nothing true.)
    out.resize(static_cast<size_t>(
        std::min<uint64_t>({maxOut, std::max<uint64_t>(data.size() * 12, 1 << 16), uint64_t(64) << 20})));
    strm.next_in = data.data();
    strm.avail_in = data.size();
    size_t produced = 0;
    for (;;) {
        if (produced == out.size()) {
            if (out.size() >= maxOut)
                throw FormatError("ISF: decompressed size exceeds the limit of " + std::to_string(maxOut) + " bytes");
            out.resize(static_cast<size_t>(std::min<uint64_t>(maxOut, uint64_t(out.size()) * 2)));
        }
        strm.next_out = reinterpret_cast<uint8_t*>(out.data()) + produced;
        strm.avail_out = out.size() - produced;
        r = lzma_code(&strm, LZMA_FINISH);
        produced = out.size() - strm.avail_out;
        if (r == LZMA_STREAM_END) break;
        if (r == LZMA_OK) continue;
        // LZMA_BUF_ERROR with output space left means the input ran out.
        throw FormatError(std::string("ISF: ") + lzmaMessage(r));
    }
    out.resize(produced);
    return out;
}

}  // namespace nt::isf
