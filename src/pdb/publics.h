// The publics stream: a PSGSI header, the GSI name hash, then the address
// map (u32 symbol record offsets sorted by the publics' section:offset).
// Lookups read the streams on demand: by address a binary search over the
// address map, by name the GSI hash.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "pdb/dbi.h"
#include "pdb/gsi.h"
#include "pdb/msf.h"
#include "pdb/symbol_records.h"

namespace nt::pdb {

struct PublicSymbol {
    Pub32 pub;
    std::optional<uint32_t> rva;  // nullopt when its section is unknown
};

class Publics {
public:
    // nullopt when the stream's header is inconsistent. dbi must outlive this.
    static std::optional<Publics> parse(const StreamReader& publics, const StreamReader& records, const Dbi& dbi);

    // Address map entries.
    uint32_t count() const { return count_; }
    // The i-th public in address order.
    std::optional<PublicSymbol> at(uint32_t i) const;
    // The public with the greatest address at or below rva.
    std::optional<PublicSymbol> nearestAtOrBelow(uint32_t rva) const;
    // The public named exactly name.
    std::optional<PublicSymbol> find(std::string_view name) const;

private:
    // Sort key of entry i, consistent with the map's section:offset order.
    uint64_t keyAt(uint32_t i) const;
    std::optional<PublicSymbol> atRecord(uint32_t recordOffset) const;

    StreamReader publics_;
    StreamReader records_;
    const Dbi* dbi_ = nullptr;
    std::optional<GsiHash> hash_;
    uint64_t mapAt_ = 0;
    uint32_t count_ = 0;
};

}  // namespace nt::pdb
