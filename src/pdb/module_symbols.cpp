#include "pdb/module_symbols.h"

#include <algorithm>

#include "pdb/symbol_records.h"

namespace nt::pdb {

namespace {
constexpr uint32_t DEBUG_S_LINES = 0xF2;
constexpr uint32_t DEBUG_S_FILECHKSMS = 0xF4;
constexpr uint32_t kIgnoreBit = 0x80000000;
constexpr uint16_t CV_LINES_HAVE_COLUMNS = 1;
}  // namespace

ModuleSymbols ModuleSymbols::parse(const StreamReader& stream, const ModuleInfo& info) {
    ModuleSymbols m;
    std::vector<uint8_t> scratch;
    Bytes s = stream.all(scratch);
    // Symbols are [4, symByteSize) after the CV signature; C11 lines follow,
    // then C13 lines. Sizes are clamped to the stream.
    Bytes syms = s.subClamped(0, info.symByteSize);
    // The S_FRAMEPROC inside a procedure (before its S_END) describes it.
    size_t openProc = SIZE_MAX;
    uint32_t openProcEnd = 0;
    for (uint64_t pos = 4; pos < syms.size();) {
        auto r = recordAt(syms, pos);
        if (!r) break;  // a bad length ends the list: nothing after it can be trusted
        if (auto p = parseProc32(*r)) {
            m.procs_.push_back({std::move(p->name), r->kind, p->segment, p->offset, p->codeSize,
                                static_cast<uint32_t>(pos), p->debugStart, p->debugEnd, std::nullopt});
            openProc = m.procs_.size() - 1;
            openProcEnd = p->end;
        } else if (auto fp = parseFrameProc(*r); fp && openProc != SIZE_MAX && pos < openProcEnd &&
                                                  !m.procs_[openProc].frame) {
            m.procs_[openProc].frame = *fp;
        }
        pos += r->totalSize;  // totalSize >= 4, so the loop always advances
    }
    std::sort(m.procs_.begin(), m.procs_.end(), [](const auto& a, const auto& b) {
        return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
    });
    uint64_t c13At = uint64_t(info.symByteSize) + info.c11ByteSize;
    m.parseC13(s.subClamped(c13At, info.c13ByteSize));
    return m;
}

void ModuleSymbols::parseC13(Bytes c13) {
    // File checksums first: line blocks name files by checksum entry offset.
    std::vector<Bytes> lineSubsections;
    Bytes checksums;
    for (uint64_t pos = 0; pos + 8 <= c13.size();) {
        uint32_t kind = *c13.get<uint32_t>(pos) & ~kIgnoreBit;
        uint32_t len = *c13.get<uint32_t>(pos + 4);
        auto body = c13.sub(pos + 8, len);
        if (!body) break;
        if (kind == DEBUG_S_LINES) lineSubsections.push_back(*body);
        else if (kind == DEBUG_S_FILECHKSMS) checksums = *body;
        pos = (pos + 8 + uint64_t(len) + 3) & ~uint64_t(3);
    }
    for (Bytes l : lineSubsections) {
        if (l.size() < 12) continue;
        uint32_t start = *l.get<uint32_t>(0);
        uint16_t seg = *l.get<uint16_t>(4);
        uint16_t flags = *l.get<uint16_t>(6);
        uint32_t size = *l.get<uint32_t>(8);
        uint64_t entry = (flags & CV_LINES_HAVE_COLUMNS) ? 12 : 8;
        for (uint64_t pos = 12; pos + 12 <= l.size();) {
            uint32_t fileOff = *l.get<uint32_t>(pos);
            uint32_t n = *l.get<uint32_t>(pos + 4);
            uint32_t blockSize = *l.get<uint32_t>(pos + 8);
            if (blockSize < 12 || !l.contains(pos, blockSize) || uint64_t(n) * entry > blockSize - 12) break;
            LineBlock b;
            b.segment = seg;
            b.start = start;
            b.size = size;
            b.fileNameOffset = checksums.getOr<uint32_t>(fileOff, UINT32_MAX);
            b.lines.reserve(n);
            for (uint32_t i = 0; i < n; ++i) {
                uint32_t off = *l.get<uint32_t>(pos + 12 + uint64_t(i) * 8);
                uint32_t bits = *l.get<uint32_t>(pos + 16 + uint64_t(i) * 8);
                b.lines.emplace_back(off, bits & 0xFFFFFF);
            }
            blocks_.push_back(std::move(b));
            pos += blockSize;
        }
    }
}

const Procedure* ModuleSymbols::procedureAt(uint16_t segment, uint32_t offset) const {
    auto it = std::upper_bound(procs_.begin(), procs_.end(), std::pair(segment, offset),
                               [](const auto& key, const Procedure& p) {
                                   return key.first != p.segment ? key.first < p.segment : key.second < p.offset;
                               });
    // Procedures do not nest in code ranges, but search a few back in case
    // of zero-sized entries at the same start.
    for (int n = 0; n < 4 && it != procs_.begin(); ++n) {
        --it;
        if (it->segment != segment) break;
        if (offset - it->offset < it->codeSize) return &*it;
    }
    return nullptr;
}

const Procedure* ModuleSymbols::procedureAtRecord(uint32_t recordOffset) const {
    for (const auto& p : procs_)
        if (p.recordOffset == recordOffset) return &p;
    return nullptr;
}

std::optional<LineHit> ModuleSymbols::lineAt(uint16_t segment, uint32_t offset) const {
    std::optional<LineHit> best;
    for (const auto& b : blocks_) {
        if (b.segment != segment || offset < b.start || offset - b.start >= b.size) continue;
        uint32_t rel = offset - b.start;
        for (const auto& [lineOff, line] : b.lines) {
            // Line 0xFEEFEE marks compiler-generated code with no source line.
            if (lineOff > rel || line == 0xFEEFEE) continue;
            if (!best || b.start + lineOff >= best->offset)
                best = LineHit{line, b.fileNameOffset, segment, b.start + lineOff};
        }
    }
    return best;
}

}  // namespace nt::pdb
