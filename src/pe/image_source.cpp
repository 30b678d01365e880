// ImageSource implementations: dump memory at a module base, and image files
// on disk (RVA -> file offset through the file's own section table).
#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "pe/pe_image.h"
#include "pe/pe_layout.h"

namespace nt {

namespace {

class MemorySource final : public ImageSource {
public:
    MemorySource(const Memory& mem, uint64_t base) : mem_(mem), base_(base) {}
    uint64_t readRva(uint32_t rva, std::span<uint8_t> out) const override {
        uint64_t addr = base_ + rva;
        if (addr < base_) return 0;  // wrapped past 2^64
        return mem_.read(addr, out);
    }
    std::string describe() const override { return "dump memory"; }
    bool isMemory() const override { return true; }

private:
    const Memory& mem_;
    uint64_t base_;
};

// A mapped image file. The loader maps each section at VirtualAddress; bytes
// past SizeOfRawData but inside VirtualSize are zero-filled, so they read as
// zeros here too. Headers (below the first section) map 1:1.
class FileSource final : public ImageSource {
public:
    struct Span {
        uint32_t va, vsize, raw, rawSize;
    };
    FileSource(MappedFile f, std::vector<Span> spans, uint32_t headerSize)
        : file_(std::move(f)), spans_(std::move(spans)), headerSize_(headerSize) {}

    uint64_t readRva(uint32_t rva, std::span<uint8_t> out) const override {
        Bytes b = file_.bytes();
        uint64_t done = 0;
        while (done < out.size()) {
            uint64_t cur = uint64_t(rva) + done;
            if (cur > 0xffffffffull) break;
            uint64_t want = out.size() - done;
            uint64_t got = 0;
            if (cur < headerSize_) {
                uint64_t n = std::min<uint64_t>(want, headerSize_ - cur);
                Bytes s = b.subClamped(cur, n);
                if (s.empty()) break;
                std::memcpy(out.data() + done, s.data(), s.size());
                got = s.size();
            } else {
                const Span* sp = nullptr;
                for (const auto& s : spans_) {
                    uint32_t extent = std::max(s.vsize, s.rawSize);
                    if (cur >= s.va && cur - s.va < extent) { sp = &s; break; }
                }
                if (!sp) break;
                uint64_t inSec = cur - sp->va;
                uint64_t extent = std::max(sp->vsize, sp->rawSize);
                uint64_t n = std::min<uint64_t>(want, extent - inSec);
                if (inSec < sp->rawSize) {
                    n = std::min<uint64_t>(n, sp->rawSize - inSec);
                    Bytes s = b.subClamped(uint64_t(sp->raw) + inSec, n);
                    if (s.empty()) break;
                    std::memcpy(out.data() + done, s.data(), s.size());
                    got = s.size();
                    if (got < n) { done += got; break; }  // file truncated
                } else {
                    std::memset(out.data() + done, 0, n);
                    got = n;
                }
            }
            if (got == 0) break;
            done += got;
        }
        return done;
    }
    std::string describe() const override { return file_.path(); }
    bool isMemory() const override { return false; }

private:
    MappedFile file_;
    std::vector<Span> spans_;
    uint32_t headerSize_;
};

}  // namespace

std::unique_ptr<ImageSource> memoryImageSource(const Memory& mem, uint64_t base) {
    return std::make_unique<MemorySource>(mem, base);
}

std::unique_ptr<ImageSource> fileImageSource(const std::string& path) {
    MappedFile f;
    try {
        f = MappedFile::open(path);
    } catch (const FormatError&) {
        return nullptr;
    }
    Bytes b = f.bytes();
    if (b.getOr<uint16_t>(0, 0) != pe::kDosMagic) return nullptr;
    uint32_t lfanew = b.getOr<uint32_t>(0x3c, 0);
    if (b.getOr<uint32_t>(lfanew, 0) != pe::kPeSignature) return nullptr;
    uint64_t fh = uint64_t(lfanew) + 4;
    auto nsec = b.get<uint16_t>(fh + 2);
    auto optSize = b.get<uint16_t>(fh + 16);
    if (!nsec || !optSize) return nullptr;
    uint64_t secOff = fh + pe::kFileHeaderSize + *optSize;
    unsigned n = std::min<unsigned>(*nsec, pe::kMaxSections);
    std::vector<FileSource::Span> spans;
    uint32_t firstRaw = 0xffffffffu;
    for (unsigned i = 0; i < n; ++i) {
        uint64_t o = secOff + uint64_t(i) * pe::kSectionHeaderSize;
        if (!b.contains(o, pe::kSectionHeaderSize)) break;
        FileSource::Span s{b.getOr<uint32_t>(o + 12, 0), b.getOr<uint32_t>(o + 8, 0), b.getOr<uint32_t>(o + 20, 0),
                           b.getOr<uint32_t>(o + 16, 0)};
        if (s.rawSize) firstRaw = std::min(firstRaw, s.raw);
        spans.push_back(s);
    }
    // SizeOfHeaders from the optional header (+60 in both PE32 and PE32+).
    uint32_t headerSize = b.getOr<uint32_t>(fh + pe::kFileHeaderSize + 60, 0);
    if (headerSize == 0 || headerSize > firstRaw) headerSize = std::min<uint64_t>(firstRaw, b.size());
    uint32_t firstVa = 0xffffffffu;
    for (const auto& s : spans) firstVa = std::min(firstVa, s.va);
    headerSize = std::min(headerSize, firstVa);
    return std::make_unique<FileSource>(std::move(f), std::move(spans), headerSize);
}

}  // namespace nt
