// PE/COFF images as they sit in a target: headers, sections, exports,
// exception directory (.pdata), debug directory (CodeView RSDS).
//
// An image is read through an ImageSource, which answers reads by RVA:
// either from dump memory at the module base (the loaded, section-aligned
// image), or from an image file found on the image path (RVA translated to
// file offsets through the section table). Everything read is bounds-checked;
// a damaged header gives an image with fewer facts, not a crash.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "base/bytes.h"
#include "base/mapped_file.h"
#include "memory/memory.h"
#include "target/model.h"

namespace nt {

class ImageSource {
public:
    virtual ~ImageSource() = default;
    // Copies up to out.size() bytes at rva; returns leading bytes present.
    virtual uint64_t readRva(uint32_t rva, std::span<uint8_t> out) const = 0;
    // Human description ("dump memory", "/path/to/ntdll.dll").
    virtual std::string describe() const = 0;
    // True for the dump-memory source (ModuleImages::origin reports "memory").
    virtual bool isMemory() const { return false; }

    template <class T>
    std::optional<T> read(uint32_t rva) const {
        T v;
        if (readRva(rva, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), sizeof v)) != sizeof v) return std::nullopt;
        return v;
    }
};

// Reads from target memory at base + rva.
std::unique_ptr<ImageSource> memoryImageSource(const Memory& mem, uint64_t base);
// Reads from an image file on disk; rva -> file offset via the section table.
// Returns nullptr when the file is not a PE image.
std::unique_ptr<ImageSource> fileImageSource(const std::string& path);

struct PeSection {
    std::string name;
    uint32_t virtualAddress = 0, virtualSize = 0, rawOffset = 0, rawSize = 0, characteristics = 0;
    bool executable() const { return (characteristics & 0x20000000) != 0 || (characteristics & 0x20) != 0; }
};

struct PeExport {
    uint32_t rva = 0;
    uint32_t ordinal = 0;
    std::string name;        // empty for ordinal-only exports
    std::string forwarder;   // "NTDLL.RtlAllocateHeap" for forwarders (rva then points at the string)
};

// One RUNTIME_FUNCTION (x64: begin/end/unwind rva; ARM64: begin + packed or xdata rva).
struct RuntimeFunction {
    uint32_t begin = 0;
    uint32_t end = 0;         // x64; for ARM64 computed from packed length or xdata
    uint32_t unwindData = 0;  // x64: UNWIND_INFO rva; ARM64: raw second word
};

class PeImage {
public:
    // Parses headers. Returns nullptr when there is no valid MZ/PE header.
    static std::unique_ptr<PeImage> load(std::unique_ptr<ImageSource> src);

    Machine machine() const { return machine_; }
    bool is64() const { return is64_; }
    uint32_t timestamp() const { return timestamp_; }
    uint32_t sizeOfImage() const { return sizeOfImage_; }
    uint32_t checksum() const { return checksum_; }
    uint64_t imageBase() const { return imageBase_; }
    uint32_t entryPoint() const { return entryPoint_; }
    const std::vector<PeSection>& sections() const { return sections_; }
    const ImageSource& source() const { return *src_; }

    // Data directory i (0 export, 3 exception, 6 debug ...): {rva, size}.
    std::pair<uint32_t, uint32_t> directory(unsigned i) const;

    // Lazily parsed, cached.
    const std::vector<PeExport>& exports() const;
    std::string exportDllName() const;
    // Sorted by begin; lazily parsed.
    const std::vector<RuntimeFunction>& runtimeFunctions() const;
    // The RUNTIME_FUNCTION covering rva, or nullptr.
    const RuntimeFunction* findRuntimeFunction(uint32_t rva) const;
    std::optional<CodeViewInfo> codeView() const;

    // Section containing rva (nullptr when none).
    const PeSection* sectionAt(uint32_t rva) const;
    bool isExecutableRva(uint32_t rva) const;

private:
    PeImage() = default;
    std::unique_ptr<ImageSource> src_;
    Machine machine_ = Machine::Unknown;
    bool is64_ = false;
    uint32_t timestamp_ = 0, sizeOfImage_ = 0, checksum_ = 0, entryPoint_ = 0;
    uint64_t imageBase_ = 0;
    std::vector<PeSection> sections_;
    std::vector<std::pair<uint32_t, uint32_t>> dirs_;
    mutable std::optional<std::vector<PeExport>> exports_;
    mutable std::string exportDllName_;
    mutable std::optional<std::vector<RuntimeFunction>> runtimeFunctions_;
};

// Finds and caches each module's image: from dump memory when its headers are
// present there, otherwise from the image path (matched by file name,
// timestamp and SizeOfImage, also in symbol-store layout NAME/TIMESTAMPSIZE/NAME).
class ModuleImages {
public:
    explicit ModuleImages(const Target& target) : target_(target) {}

    void setImagePath(std::vector<std::string> dirs) { imagePath_ = std::move(dirs); cache_.clear(); }
    const std::vector<std::string>& imagePath() const { return imagePath_; }

    // Asked when neither dump memory nor the image path has the image: the
    // symbol path (WinDbg searches it for images too). Returns a file path.
    using Finder = std::function<std::optional<std::string>(const Module&)>;
    void setFinder(Finder finder) {
        finder_ = std::move(finder);
        cache_.clear();
    }

    // Forget every image found so far (the user half changed: another
    // process's DLLs may sit at the same bases).
    void reset() { cache_.clear(); }

    // nullptr when no image can be found for the module.
    const PeImage* image(const Module& m);
    // Where the image came from ("memory" / file path), empty when none.
    std::string origin(const Module& m);

private:
    struct Entry {
        std::unique_ptr<PeImage> image;
        bool tried = false;
    };
    const Target& target_;
    std::vector<std::string> imagePath_;
    Finder finder_;
    std::vector<std::pair<uint64_t, Entry>> cache_;  // by module base
};

}  // namespace nt
