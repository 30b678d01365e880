// Debug directory: the CodeView record naming the image's PDB, as RSDS
// (PDB 7.0: GUID + age) or NB10 (PDB 2.0: 32-bit signature + age).
#include "pe/pe_image.h"
#include "pe/pe_layout.h"

namespace nt {

std::optional<CodeViewInfo> PeImage::codeView() const {
    auto [rva, size] = directory(pe::kDirDebug);
    if (rva == 0) return std::nullopt;
    unsigned n = std::min<unsigned>(size / pe::kDebugEntrySize, pe::kMaxDebugEntries);
    for (unsigned i = 0; i < n; ++i) {
        uint8_t raw[pe::kDebugEntrySize];
        if (src_->readRva(rva + i * pe::kDebugEntrySize, raw) != sizeof raw) break;
        Bytes e(raw, sizeof raw);
        if (e.getOr<uint32_t>(12, 0) != pe::kDebugTypeCodeView) continue;
        uint32_t dataSize = e.getOr<uint32_t>(16, 0);
        uint32_t dataRva = e.getOr<uint32_t>(20, 0);
        // Not mapped (AddressOfRawData 0) or absurd: skip this entry.
        if (dataRva == 0 || dataSize < 16 || dataSize > 0x10000) continue;
        auto sig = src_->read<uint32_t>(dataRva);
        if (!sig) continue;
        CodeViewInfo cv;
        uint32_t nameOff;
        if (*sig == pe::kRsdsSignature) {
            if (dataSize < 24) continue;
            if (src_->readRva(dataRva + 4, cv.guid) != cv.guid.size()) continue;
            cv.age = src_->read<uint32_t>(dataRva + 20).value_or(0);
            nameOff = 24;
        } else if (*sig == pe::kNb10Signature) {
            cv.isPdb70 = false;
            auto s = src_->read<uint32_t>(dataRva + 8);
            if (!s) continue;
            for (int k = 0; k < 4; ++k) cv.guid[k] = uint8_t(*s >> (8 * k));
            cv.age = src_->read<uint32_t>(dataRva + 12).value_or(0);
            nameOff = 16;
        } else {
            continue;
        }
        cv.pdbName = pe::readString(*src_, dataRva + nameOff, dataSize - nameOff);
        return cv;
    }
    return std::nullopt;
}

}  // namespace nt
