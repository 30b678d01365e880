// Finding a module's image: dump memory first, then the image path.
//
// An image is accepted only when its PE header agrees with the module list
// (TimeDateStamp and SizeOfImage): a different build of the same DLL would
// give wrong unwind data and wrong export names, which is worse than none.
#include <strings.h>

#include <filesystem>

#include "pe/pe_image.h"

namespace nt {

namespace {

namespace fs = std::filesystem;

bool matches(const PeImage& img, const Module& m) {
    return img.timestamp() == m.timestamp && img.sizeOfImage() == m.size;
}

// dir/name, matching name case-insensitively (Windows paths meet Linux files).
std::optional<fs::path> childNoCase(const fs::path& dir, const std::string& name) {
    std::error_code ec;
    fs::path exact = dir / name;
    if (fs::exists(exact, ec)) return exact;
    fs::directory_iterator it(dir, ec), end;
    // Directory listings are capped: an image directory is not a file system crawl.
    for (unsigned n = 0; !ec && it != end && n < 100000; it.increment(ec), ++n) {
        std::string f = it->path().filename().string();
        if (strcasecmp(f.c_str(), name.c_str()) == 0) return it->path();
    }
    return std::nullopt;
}

std::unique_ptr<PeImage> tryFile(const fs::path& p, const Module& m) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return nullptr;
    auto img = PeImage::load(fileImageSource(p.string()));
    if (img && matches(*img, m)) return img;
    return nullptr;
}

}  // namespace

const PeImage* ModuleImages::image(const Module& m) {
    for (auto& [base, e] : cache_)
        if (base == m.base) return e.image.get();
    Entry e;
    e.tried = true;
    auto mem = PeImage::load(memoryImageSource(target_.memory(), m.base));
    if (mem && matches(*mem, m)) e.image = std::move(mem);
    // A minidump often holds only the header page of an image: when the
    // memory image's exception directory is not readable, an image file on
    // the path (with the same identity) is the better source.
    bool incomplete = false;
    if (e.image) {
        auto [rva, size] = e.image->directory(3);
        uint8_t probe[4];
        incomplete = rva != 0 && size != 0 && e.image->source().readRva(rva, probe) != sizeof probe;
    }
    std::string file = m.fileName();
    if ((!e.image || incomplete) && !file.empty()) {
        std::unique_ptr<PeImage> found;
        char key[32];
        std::snprintf(key, sizeof key, "%08X%x", m.timestamp, static_cast<unsigned>(m.size));
        for (const auto& d : imagePath_) {
            if (auto p = childNoCase(d, file)) {
                std::error_code ec;
                if (fs::is_directory(*p, ec)) {
                    // Symbol-store layout: dir/name/TIMESTAMPSIZE/name
                    if (auto k = childNoCase(*p, key))
                        if (auto f = childNoCase(*k, file)) found = tryFile(*f, m);
                } else {
                    found = tryFile(*p, m);
                }
            }
            if (found) break;
        }
        if (!found && finder_)
            if (auto path = finder_(m)) found = tryFile(*path, m);
        if (found) e.image = std::move(found);
    }
    cache_.emplace_back(m.base, std::move(e));
    return cache_.back().second.image.get();
}

std::string ModuleImages::origin(const Module& m) {
    const PeImage* img = image(m);
    if (!img) return {};
    return img->source().isMemory() ? "memory" : img->source().describe();
}

}  // namespace nt
