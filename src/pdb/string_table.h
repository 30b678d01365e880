// The "/names" string table: file names referred to by offset from C13 file
// checksums. Header: signature 0xEFFEEFFE, hash version, byte size, then the
// strings (the hash that follows is not needed to read by offset).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pdb/msf.h"

namespace nt::pdb {

class StringTable {
public:
    StringTable() = default;
    // An empty table when the stream is not a string table.
    explicit StringTable(const StreamReader& s);
    // strings_ may point into scratch_: moving keeps the buffer, copying would not.
    StringTable(StringTable&&) = default;
    StringTable& operator=(StringTable&&) = default;
    StringTable(const StringTable&) = delete;
    StringTable& operator=(const StringTable&) = delete;
    // The string at off; empty when off is outside the table.
    std::string at(uint32_t off) const;

private:
    std::vector<uint8_t> scratch_;
    Bytes strings_;
};

}  // namespace nt::pdb
