// The Target the user-mode dump readers fill: it owns the mapped file (when
// opened from a path) and the address space made of the dump's ranges.
#pragma once

#include "base/mapped_file.h"
#include "memory/range_memory.h"
#include "target/model.h"

namespace nt {

class DumpTarget final : public Target {
public:
    // Empty when the caller owns the bytes (openDumpBytes). Moving a
    // MappedFile keeps its mapping address, so Bytes taken before the move
    // stay valid.
    MappedFile file;
    RangeMemory ranges;

    const Memory& memory() const override { return ranges; }
};

}  // namespace nt
