// A read-only memory-mapped file. Dumps can be many GiB: we map them and let
// the kernel page in only what is touched.
#pragma once

#include <string>

#include "base/bytes.h"

namespace nt {

class MappedFile {
public:
    // Throws FormatError naming the path and the OS error when it cannot be
    // opened or mapped. An empty file maps to an empty view.
    static MappedFile open(const std::string& path);

    MappedFile() = default;
    MappedFile(MappedFile&& o) noexcept;
    MappedFile& operator=(MappedFile&& o) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    Bytes bytes() const { return Bytes(static_cast<const uint8_t*>(addr_), size_); }
    const std::string& path() const { return path_; }

private:
    void* addr_ = nullptr;
    uint64_t size_ = 0;
    std::string path_;
};

}  // namespace nt
