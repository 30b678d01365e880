#include "pdb/pdb_info.h"


#include <fmt/format.h>

#include "base/error.h"

namespace nt::pdb {

std::string Guid::toString() const {
    return fmt::format("{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}", data1, data2,
                       data3, data4[0], data4[1], data4[2], data4[3], data4[4], data4[5], data4[6], data4[7]);
}

std::string Guid::toStoreString() const {
    std::string s;
    for (char c : toString())
        if (c != '{' && c != '}' && c != '-') s += c;
    return s;
}

std::optional<uint32_t> PdbInfo::namedStream(std::string_view name) const {
    auto it = namedStreams.find(name);
    if (it == namedStreams.end()) return std::nullopt;
    return it->second;
}

PdbInfo PdbInfo::parse(const Msf& msf) {
    constexpr uint32_t kInfoStream = 1;
    if (!msf.hasStream(kInfoStream)) throw FormatError("PDB: no PDB info stream");
    std::vector<uint8_t> scratch;
    Bytes s = msf.stream(kInfoStream).all(scratch);
    if (s.size() < 28) throw FormatError("PDB: info stream too short");
    PdbInfo info;
    info.version = *s.get<uint32_t>(0);
    info.signature = *s.get<uint32_t>(4);
    info.age = *s.get<uint32_t>(8);
    info.guid.data1 = *s.get<uint32_t>(12);
    info.guid.data2 = *s.get<uint16_t>(16);
    info.guid.data3 = *s.get<uint16_t>(18);
    for (int i = 0; i < 8; ++i) info.guid.data4[i] = *s.get<uint8_t>(20 + i);

    // Named stream map: a string buffer, then a serialized hash table
    // (size, capacity, present bit vector, deleted bit vector, then one
    // (string offset, stream index) pair per present bucket).
    uint64_t pos = 28;
    auto strLen = s.get<uint32_t>(pos);
    if (!strLen) return info;
    auto strings = s.sub(pos + 4, *strLen);
    if (!strings) return info;
    pos += 4 + *strLen;
    auto count = s.get<uint32_t>(pos);
    auto capacity = s.get<uint32_t>(pos + 4);
    if (!count || !capacity) return info;
    pos += 8;
    auto presentWords = s.get<uint32_t>(pos);
    if (!presentWords || !s.contains(pos + 4, uint64_t(*presentWords) * 4)) return info;
    uint64_t presentAt = pos + 4;
    pos = presentAt + uint64_t(*presentWords) * 4;
    auto deletedWords = s.get<uint32_t>(pos);
    if (!deletedWords || !s.contains(pos + 4, uint64_t(*deletedWords) * 4)) return info;
    pos += 4 + uint64_t(*deletedWords) * 4;
    for (uint64_t w = 0; w < *presentWords; ++w) {
        uint32_t bits = *s.get<uint32_t>(presentAt + w * 4);
        for (int b = 0; b < 32; ++b) {
            if (!(bits & (1u << b))) continue;
            auto key = s.get<uint32_t>(pos);
            auto value = s.get<uint32_t>(pos + 4);
            if (!key || !value) return info;
            pos += 8;
            if (*key < strings->size()) info.namedStreams.emplace(std::string(strings->cstring(*key, strings->size() - *key)), *value);
        }
    }
    return info;
}

}  // namespace nt::pdb
