// The PDB info stream (stream 1): the identity a PE's CodeView record refers
// to (GUID + age) and the named stream map ("/names", "/LinkInfo", ...).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "pdb/msf.h"

namespace nt::pdb {

struct Guid {
    uint32_t data1 = 0;
    uint16_t data2 = 0;
    uint16_t data3 = 0;
    std::array<uint8_t, 8> data4{};
    bool operator==(const Guid&) const = default;
    // "{7DD47A9F-C2E8-499A-A78E-C14AE2C965A2}" as llvm-pdbutil and WinDbg print it.
    std::string toString() const;
    // "7DD47A9FC2E8499AA78EC14AE2C965A2": the symbol-store form (append the age in hex).
    std::string toStoreString() const;
};

struct PdbInfo {
    uint32_t version = 0;    // e.g. 20000404 (VC70)
    uint32_t signature = 0;  // time stamp
    uint32_t age = 0;
    Guid guid;
    std::map<std::string, uint32_t, std::less<>> namedStreams;  // name -> stream index

    std::optional<uint32_t> namedStream(std::string_view name) const;

    // Throws FormatError when the stream is missing or too short for its
    // fixed header; a damaged named stream map only leaves the map short.
    static PdbInfo parse(const Msf& msf);
};

}  // namespace nt::pdb
