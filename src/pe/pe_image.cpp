// PE headers: DOS header, NT headers (PE32 and PE32+), data directories and
// section table. Exports, .pdata and the debug directory live in their own
// files and are parsed on first use.
#include "pe/pe_image.h"

#include <algorithm>
#include <cstring>

#include "pe/pe_layout.h"

namespace nt {

namespace pe {

std::string readString(const ImageSource& src, uint32_t rva, uint32_t maxLen) {
    std::string out;
    char buf[64];
    while (out.size() < maxLen) {
        uint64_t cur = uint64_t(rva) + out.size();
        if (cur > 0xffffffffull) break;
        size_t want = std::min<size_t>(sizeof buf, maxLen - out.size());
        uint64_t got = src.readRva(uint32_t(cur), std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), want));
        if (got == 0) break;
        const void* nul = std::memchr(buf, 0, got);
        if (nul) {
            out.append(buf, static_cast<const char*>(nul) - buf);
            break;
        }
        out.append(buf, got);
        if (got < want) break;
    }
    return out;
}

std::vector<uint32_t> readU32Array(const ImageSource& src, uint32_t rva, uint32_t count) {
    std::vector<uint32_t> v(count);
    uint64_t got = src.readRva(rva, std::span<uint8_t>(reinterpret_cast<uint8_t*>(v.data()), uint64_t(count) * 4));
    v.resize(got / 4);
    return v;
}

}  // namespace pe

std::unique_ptr<PeImage> PeImage::load(std::unique_ptr<ImageSource> src) {
    if (!src) return nullptr;
    const ImageSource& s = *src;
    if (s.read<uint16_t>(0) != pe::kDosMagic) return nullptr;
    auto lfanew = s.read<uint32_t>(0x3c);
    if (!lfanew || *lfanew > 0x10000000u) return nullptr;
    if (s.read<uint32_t>(*lfanew) != pe::kPeSignature) return nullptr;
    uint32_t fh = *lfanew + 4;
    auto machine = s.read<uint16_t>(fh);
    auto nsec = s.read<uint16_t>(fh + 2);
    auto ts = s.read<uint32_t>(fh + 4);
    auto optSize = s.read<uint16_t>(fh + 16);
    if (!machine || !nsec || !ts || !optSize) return nullptr;
    uint32_t oh = fh + pe::kFileHeaderSize;
    auto magic = s.read<uint16_t>(oh);
    if (magic != pe::kPe32Magic && magic != pe::kPe32PlusMagic) return nullptr;
    bool plus = *magic == pe::kPe32PlusMagic;

    std::unique_ptr<PeImage> img(new PeImage);
    img->machine_ = machineFromImageType(*machine);
    img->is64_ = plus;
    img->timestamp_ = *ts;
    img->entryPoint_ = s.read<uint32_t>(oh + 16).value_or(0);
    img->imageBase_ = plus ? s.read<uint64_t>(oh + 24).value_or(0) : s.read<uint32_t>(oh + 28).value_or(0);
    img->sizeOfImage_ = s.read<uint32_t>(oh + 56).value_or(0);
    img->checksum_ = s.read<uint32_t>(oh + 64).value_or(0);
    uint32_t numDirsOff = plus ? 108 : 92;
    uint32_t dirsOff = numDirsOff + 4;
    uint32_t ndirs = std::min<uint32_t>(s.read<uint32_t>(oh + numDirsOff).value_or(0), pe::kMaxDirectories);
    // Directories must lie inside the declared optional header.
    if (*optSize < dirsOff) ndirs = 0;
    else ndirs = std::min<uint32_t>(ndirs, (*optSize - dirsOff) / 8);
    for (uint32_t i = 0; i < ndirs; ++i) {
        auto rva = s.read<uint32_t>(oh + dirsOff + i * 8);
        auto size = s.read<uint32_t>(oh + dirsOff + i * 8 + 4);
        if (!rva || !size) break;
        img->dirs_.emplace_back(*rva, *size);
    }
    uint32_t secOff = oh + *optSize;
    unsigned n = std::min<unsigned>(*nsec, pe::kMaxSections);
    for (unsigned i = 0; i < n; ++i) {
        uint8_t raw[pe::kSectionHeaderSize];
        if (s.readRva(secOff + i * pe::kSectionHeaderSize, raw) != sizeof raw) break;
        Bytes b(raw, sizeof raw);
        PeSection sec;
        sec.name = std::string(b.cstring(0, 8));
        sec.virtualSize = b.getOr<uint32_t>(8, 0);
        sec.virtualAddress = b.getOr<uint32_t>(12, 0);
        sec.rawSize = b.getOr<uint32_t>(16, 0);
        sec.rawOffset = b.getOr<uint32_t>(20, 0);
        sec.characteristics = b.getOr<uint32_t>(36, 0);
        img->sections_.push_back(std::move(sec));
    }
    img->src_ = std::move(src);
    return img;
}

std::pair<uint32_t, uint32_t> PeImage::directory(unsigned i) const {
    return i < dirs_.size() ? dirs_[i] : std::pair<uint32_t, uint32_t>{0, 0};
}

const PeSection* PeImage::sectionAt(uint32_t rva) const {
    for (const auto& s : sections_) {
        // A section with VirtualSize 0 (old linkers) spans its raw size.
        uint32_t extent = s.virtualSize ? s.virtualSize : s.rawSize;
        if (rva >= s.virtualAddress && rva - s.virtualAddress < extent) return &s;
    }
    return nullptr;
}

bool PeImage::isExecutableRva(uint32_t rva) const {
    const PeSection* s = sectionAt(rva);
    return s && s->executable();
}

}  // namespace nt
