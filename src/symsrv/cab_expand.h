// Expanding a Microsoft Cabinet (what symstore /compress writes as `.pd_`,
// `.dl_`, ...) with libmspack, from bytes in memory, so that downloads and
// fuzz inputs need no file on disk.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace nt::symsrv {

// "MSCF" at offset 0.
bool looksLikeCab(Bytes data);

struct CabMember {
    std::string name;
    uint64_t size = 0;  // uncompressed
};

// The members of a cabinet. Throws nt::FormatError when it is not one.
std::vector<CabMember> listCab(Bytes data);

// Receives the expanded bytes in pieces; returns false to stop.
using CabSink = std::function<bool(const uint8_t* data, size_t size)>;

// Expands one member (by name, case-insensitive; empty name: the only or
// first member) into `sink`. A symbol-store `.pd_` holds one file, named
// like the uncompressed file (or, as in symbolicator's test, `<name>.original`).
// Throws nt::FormatError when the cabinet is damaged, the member is missing,
// or it would expand beyond maxBytes (checked against the declared size
// before expanding and against the bytes actually produced).
void expandCab(Bytes data, uint64_t maxBytes, const std::string& member, const CabSink& sink);

// Convenience for small files and fuzzing: the expanded member in memory.
std::vector<uint8_t> expandCabToMemory(Bytes data, uint64_t maxBytes, const std::string& member = {});

}  // namespace nt::symsrv
