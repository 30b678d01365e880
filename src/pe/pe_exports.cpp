// Export directory: functions by ordinal, names, forwarders.
//
// Counts come from the file and are capped (ordinals are 16-bit, so more
// than 65536 functions is damage); tables are read in bulk and a short read
// just yields fewer exports.
#include <algorithm>

#include "pe/pe_image.h"
#include "pe/pe_layout.h"

namespace nt {

namespace {
constexpr uint32_t kMaxNameLen = 512;
}

const std::vector<PeExport>& PeImage::exports() const {
    if (exports_) return *exports_;
    exports_.emplace();
    auto& out = *exports_;
    // Plain variables, not a structured binding: lambdas below capture them.
    const uint32_t dirRva = directory(pe::kDirExport).first;
    const uint32_t dirSize = directory(pe::kDirExport).second;
    if (dirRva == 0 || dirSize < pe::kExportDirSize) return out;
    uint8_t raw[pe::kExportDirSize];
    if (src_->readRva(dirRva, raw) != sizeof raw) return out;
    Bytes d(raw, sizeof raw);
    uint32_t nameRva = d.getOr<uint32_t>(12, 0);
    uint32_t ordBase = d.getOr<uint32_t>(16, 0);
    // Linkers place the function, name and ordinal tables inside the export
    // directory, so its size bounds the counts as well as the 16-bit ordinals.
    uint32_t cap = std::min(pe::kMaxExports, dirSize / 4);
    uint32_t nFuncs = std::min(d.getOr<uint32_t>(20, 0), cap);
    uint32_t nNames = std::min(d.getOr<uint32_t>(24, 0), cap);
    uint32_t funcsRva = d.getOr<uint32_t>(28, 0);
    uint32_t namesRva = d.getOr<uint32_t>(32, 0);
    uint32_t ordsRva = d.getOr<uint32_t>(36, 0);
    if (nameRva) exportDllName_ = pe::readString(*src_, nameRva, kMaxNameLen);

    std::vector<uint32_t> funcs = pe::readU32Array(*src_, funcsRva, nFuncs);
    std::vector<uint32_t> names = pe::readU32Array(*src_, namesRva, nNames);
    std::vector<uint16_t> ords(names.size());
    uint64_t got = src_->readRva(ordsRva, std::span<uint8_t>(reinterpret_cast<uint8_t*>(ords.data()), ords.size() * 2));
    ords.resize(got / 2);

    auto isForwarder = [&](uint32_t rva) { return rva >= dirRva && rva - dirRva < dirSize; };
    auto make = [&](uint32_t idx) {
        PeExport e;
        e.rva = funcs[idx];
        e.ordinal = ordBase + idx;
        if (isForwarder(e.rva)) e.forwarder = pe::readString(*src_, e.rva, kMaxNameLen);
        return e;
    };
    std::vector<bool> named(funcs.size(), false);
    for (size_t i = 0; i < ords.size(); ++i) {
        uint16_t idx = ords[i];
        if (idx >= funcs.size()) continue;
        PeExport e = make(idx);
        e.name = pe::readString(*src_, names[i], kMaxNameLen);
        named[idx] = true;
        out.push_back(std::move(e));
    }
    for (uint32_t idx = 0; idx < funcs.size(); ++idx)
        if (!named[idx] && funcs[idx] != 0) out.push_back(make(idx));
    std::stable_sort(out.begin(), out.end(), [](const PeExport& a, const PeExport& b) { return a.ordinal < b.ordinal; });
    return out;
}

std::string PeImage::exportDllName() const {
    exports();
    return exportDllName_;
}

}  // namespace nt
