// Exception directory (.pdata): RUNTIME_FUNCTION entries for x64 (12 bytes:
// begin, end, UNWIND_INFO rva) and ARM64 (8 bytes: begin, packed unwind data
// or .xdata rva). For ARM64 the function length comes from the packed word
// (Flag 1/2: FunctionLength in bits 2..12, in 4-byte units) or from the first
// .xdata word (bits 0..17, in 4-byte units).
#include <algorithm>

#include "pe/pe_image.h"
#include "pe/pe_layout.h"

namespace nt {

const std::vector<RuntimeFunction>& PeImage::runtimeFunctions() const {
    if (runtimeFunctions_) return *runtimeFunctions_;
    runtimeFunctions_.emplace();
    auto& out = *runtimeFunctions_;
    auto [rva, size] = directory(pe::kDirException);
    if (rva == 0 || size == 0) return out;
    if (machine_ == Machine::Amd64) {
        uint32_t n = std::min(size / 12, pe::kMaxRuntimeFunctions);
        std::vector<uint32_t> w = pe::readU32Array(*src_, rva, n * 3);
        auto take = [&](uint32_t b, uint32_t e, uint32_t u) {
            if (b == 0 && e == 0) return;  // padding
            if (e <= b) return;            // damaged entry
            out.push_back({b, e, u});
        };
        for (size_t i = 0; i + 2 < w.size(); i += 3) take(w[i], w[i + 1], w[i + 2]);
        // A minidump may hold only some pages of the table (Wine's dbghelp
        // saves the entries of the functions on the stack): keep every entry
        // that is present rather than stopping at the first hole.
        for (uint32_t i = static_cast<uint32_t>(w.size() / 3); i < n; ++i) {
            uint32_t e[3];
            if (src_->readRva(rva + 12 * i, std::span<uint8_t>(reinterpret_cast<uint8_t*>(e), 12)) == 12) take(e[0], e[1], e[2]);
        }
    } else if (machine_ == Machine::Arm64) {
        uint32_t n = std::min(size / 8, pe::kMaxRuntimeFunctions);
        std::vector<uint32_t> w = pe::readU32Array(*src_, rva, n * 2);
        for (size_t i = 0; i + 1 < w.size(); i += 2) {
            uint32_t begin = w[i], data = w[i + 1];
            if (begin == 0 && data == 0) continue;
            uint32_t len = 0;
            if ((data & 3) != 0) {
                len = ((data >> 2) & 0x7ff) * 4;
            } else if (auto x = src_->read<uint32_t>(data)) {
                len = (*x & 0x3ffff) * 4;
            }
            if (len == 0 || uint64_t(begin) + len > 0xffffffffull) continue;
            out.push_back({begin, begin + len, data});
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const RuntimeFunction& a, const RuntimeFunction& b) { return a.begin < b.begin; });
    return out;
}

const RuntimeFunction* PeImage::findRuntimeFunction(uint32_t rva) const {
    const auto& v = runtimeFunctions();
    auto it = std::upper_bound(v.begin(), v.end(), rva, [](uint32_t r, const RuntimeFunction& f) { return r < f.begin; });
    if (it == v.begin()) return nullptr;
    --it;
    return rva < it->end ? &*it : nullptr;
}

}  // namespace nt
