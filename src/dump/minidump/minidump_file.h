// A thin, zero-copy reader over a minidump's bytes: the header, the stream
// directory, and checked access to locations and strings inside the file.
//
// parse() checks only the header and that the directory lies inside the file;
// stream contents are checked by whoever reads them (minidump_streams.h), so
// an unknown or broken stream nobody asks for never makes a dump unreadable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace nt {

class MinidumpFile {
public:
    struct DirectoryEntry {
        uint32_t type = 0;
        uint32_t size = 0;
        uint32_t rva = 0;
    };

    // Throws FormatError: file shorter than the header ("truncated"), bad
    // signature/version, directory outside the file.
    static MinidumpFile parse(Bytes file);

    Bytes bytes() const { return file_; }
    uint32_t version() const { return version_; }
    uint32_t timestamp() const { return timestamp_; }
    uint64_t flags() const { return flags_; }
    const std::vector<DirectoryEntry>& directory() const { return dir_; }

    // Data of the first stream of `type`; nullopt when the dump has none.
    // Throws FormatError when the directory entry points outside the file.
    std::optional<Bytes> stream(uint32_t type) const;
    bool hasStream(uint32_t type) const;

    // The bytes [rva, rva+size). Throws FormatError naming `what` when they
    // are not all inside the file.
    Bytes location(uint64_t rva, uint64_t size, std::string_view what) const;
    // A MINIDUMP_STRING (u32 byte length + UTF-16LE) at rva, as UTF-8.
    // Throws FormatError when its length runs past the end of the file.
    std::string string(uint64_t rva, std::string_view what) const;

    // Accounts for `n` bytes of text copied out of the file (names,
    // comments) and throws FormatError once the total passes twice the file
    // size plus 1 MiB. Honest dumps copy each string once; a hostile one
    // could point 100,000 module names at one large string and make us
    // allocate terabytes from a few megabytes.
    void chargeText(uint64_t n) const;

private:
    Bytes file_;
    uint32_t version_ = 0, timestamp_ = 0;
    uint64_t flags_ = 0;
    std::vector<DirectoryEntry> dir_;
    mutable uint64_t textBytes_ = 0;
};

}  // namespace nt
