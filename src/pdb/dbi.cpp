#include "pdb/dbi.h"

#include <algorithm>

#include "base/error.h"

namespace nt::pdb {

namespace {

constexpr uint64_t kHeaderSize = 64;
constexpr uint32_t kSectionContribV60 = 0xeffe0000 + 19970605;
constexpr uint32_t kSectionContribV2 = 0xeffe0000 + 20140516;

SectionContribution readContribution(Bytes b) {
    SectionContribution c;
    c.section = b.getOr<uint16_t>(0, 0);
    c.offset = b.getOr<uint32_t>(4, 0);
    c.size = b.getOr<uint32_t>(8, 0);
    c.characteristics = b.getOr<uint32_t>(12, 0);
    c.module = b.getOr<uint16_t>(16, 0);
    return c;
}

void parseModules(Bytes s, std::vector<ModuleInfo>& out) {
    uint64_t pos = 0;
    while (pos + 64 <= s.size()) {
        ModuleInfo m;
        m.contribution = readContribution(*s.sub(pos + 4, 28));
        m.symStream = *s.get<uint16_t>(pos + 34);
        m.symByteSize = *s.get<uint32_t>(pos + 36);
        m.c11ByteSize = *s.get<uint32_t>(pos + 40);
        m.c13ByteSize = *s.get<uint32_t>(pos + 44);
        m.sourceFileCount = *s.get<uint16_t>(pos + 48);
        uint64_t p = pos + 64;
        std::string_view name = s.cstring(p, s.size() - std::min(p, s.size()));
        p += name.size() + 1;
        std::string_view obj = s.cstring(p, s.size() - std::min(p, s.size()));
        p += obj.size() + 1;
        if (p > s.size()) break;  // a name ran off the end: stop here
        m.moduleName = name;
        m.objectName = obj;
        out.push_back(std::move(m));
        pos = (p + 3) & ~uint64_t(3);
    }
}

void parseContributions(Bytes s, std::vector<SectionContribution>& out) {
    auto version = s.get<uint32_t>(0);
    if (!version) return;
    uint64_t entry = *version == kSectionContribV2 ? 32 : *version == kSectionContribV60 ? 28 : 0;
    if (entry == 0) return;
    out.reserve((s.size() - 4) / entry);
    for (uint64_t pos = 4; pos + entry <= s.size(); pos += entry) out.push_back(readContribution(*s.sub(pos, entry)));
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.section != b.section ? a.section < b.section : a.offset < b.offset;
    });
}

void parseSectionMap(Bytes s, std::vector<SectionMapEntry>& out) {
    auto count = s.get<uint16_t>(0);
    if (!count) return;
    for (uint64_t i = 0; i < *count; ++i) {
        auto e = s.sub(4 + i * 20, 20);
        if (!e) break;
        out.push_back({*e->get<uint16_t>(0), *e->get<uint16_t>(6), *e->get<uint32_t>(12), *e->get<uint32_t>(16)});
    }
}

// File info: module count, (ignored 16-bit) file count, per-module start
// indices and counts, one name offset per file, then the names buffer.
void parseFileInfo(Bytes s, size_t moduleCount, std::vector<std::vector<std::string>>& out) {
    auto numModules = s.get<uint16_t>(0);
    if (!numModules) return;
    uint64_t countsAt = 4 + uint64_t(*numModules) * 2;
    uint64_t total = 0;
    for (uint64_t i = 0; i < *numModules; ++i) total += s.getOr<uint16_t>(countsAt + i * 2, 0);
    uint64_t offsetsAt = countsAt + uint64_t(*numModules) * 2;
    uint64_t namesAt = offsetsAt + total * 4;
    if (namesAt > s.size()) return;
    Bytes names = s.subClamped(namesAt, s.size() - namesAt);
    out.assign(std::min<size_t>(moduleCount, *numModules), {});
    uint64_t fileIndex = 0;
    for (size_t m = 0; m < out.size(); ++m) {
        uint16_t n = s.getOr<uint16_t>(countsAt + m * 2, 0);
        for (uint16_t f = 0; f < n; ++f, ++fileIndex) {
            uint32_t off = s.getOr<uint32_t>(offsetsAt + fileIndex * 4, UINT32_MAX);
            if (off >= names.size()) continue;
            out[m].emplace_back(names.cstring(off, names.size() - off));
        }
    }
}

}  // namespace

Dbi Dbi::parse(const Msf& msf) {
    constexpr uint32_t kDbiStream = 3;
    if (!msf.hasStream(kDbiStream)) throw FormatError("PDB: no DBI stream");
    std::vector<uint8_t> scratch;
    Bytes s = msf.stream(kDbiStream).all(scratch);
    if (s.size() < kHeaderSize) throw FormatError("PDB: DBI stream too short");
    if (*s.get<int32_t>(0) != -1) throw FormatError("PDB: DBI stream has an old-format header");
    Dbi d;
    d.age = *s.get<uint32_t>(8);
    d.globalsStream = *s.get<uint16_t>(12);
    d.publicsStream = *s.get<uint16_t>(16);
    d.symRecordStream = *s.get<uint16_t>(20);
    d.flags = *s.get<uint16_t>(56);
    d.machine = *s.get<uint16_t>(58);

    // Substream sizes, in file order; each must be non-negative and the sum
    // must stay inside the stream.
    const uint64_t sizeOffsets[] = {24, 28, 32, 36, 40, 52, 48};  // mod, contrib, map, file, tsmap, ec, optdbg
    Bytes sub[7];
    uint64_t pos = kHeaderSize;
    for (int i = 0; i < 7; ++i) {
        int32_t n = *s.get<int32_t>(sizeOffsets[i]);
        if (n < 0 || !s.contains(pos, uint64_t(n))) throw FormatError("PDB: DBI substream sizes exceed the stream");
        sub[i] = *s.sub(pos, uint64_t(n));
        pos += uint64_t(n);
    }
    parseModules(sub[0], d.modules_);
    parseContributions(sub[1], d.contributions_);
    parseSectionMap(sub[2], d.sectionMap_);
    parseFileInfo(sub[3], d.modules_.size(), d.moduleFiles_);

    d.debugStreams_.fill(kNoStream);
    for (unsigned i = 0; i < d.debugStreams_.size(); ++i) d.debugStreams_[i] = sub[6].getOr<uint16_t>(i * 2, kNoStream);

    uint16_t sh = d.debugStream(DebugStream::SectionHeaders);
    if (sh != kNoStream && msf.hasStream(sh)) {
        std::vector<uint8_t> shScratch;
        Bytes h = msf.stream(sh).all(shScratch);
        for (uint64_t p = 0; p + 40 <= h.size(); p += 40) {
            SectionHeader x;
            x.name = h.cstring(p, 8);
            x.virtualSize = *h.get<uint32_t>(p + 8);
            x.virtualAddress = *h.get<uint32_t>(p + 12);
            x.sizeOfRawData = *h.get<uint32_t>(p + 16);
            x.characteristics = *h.get<uint32_t>(p + 36);
            d.sections_.push_back(std::move(x));
        }
    }
    return d;
}

std::optional<uint32_t> Dbi::rvaOf(uint16_t section, uint32_t offset) const {
    if (section == 0 || section > sections_.size()) return std::nullopt;
    return sections_[section - 1].virtualAddress + offset;
}

std::optional<std::pair<uint16_t, uint32_t>> Dbi::sectionOffsetOf(uint32_t rva) const {
    for (size_t i = 0; i < sections_.size(); ++i) {
        const auto& s = sections_[i];
        uint32_t size = std::max(s.virtualSize, s.sizeOfRawData);
        if (rva >= s.virtualAddress && rva - s.virtualAddress < size)
            return std::pair<uint16_t, uint32_t>(static_cast<uint16_t>(i + 1), rva - s.virtualAddress);
    }
    return std::nullopt;
}

std::optional<uint16_t> Dbi::moduleAt(uint16_t section, uint32_t offset) const {
    // Last contribution starting at or before section:offset.
    auto it = std::upper_bound(contributions_.begin(), contributions_.end(), std::pair(section, offset),
                               [](const auto& key, const SectionContribution& c) {
                                   return key.first != c.section ? key.first < c.section : key.second < c.offset;
                               });
    if (it == contributions_.begin()) return std::nullopt;
    --it;
    if (it->section != section || offset - it->offset >= it->size) return std::nullopt;
    if (it->module >= modules_.size()) return std::nullopt;
    return it->module;
}

}  // namespace nt::pdb
