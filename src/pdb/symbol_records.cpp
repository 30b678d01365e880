#include "pdb/symbol_records.h"

namespace nt::pdb {

namespace {
// Names end at a NUL or at the end of the record (some writers omit the NUL).
std::string nameAt(Bytes data, uint64_t off) {
    if (off > data.size()) return {};
    return std::string(data.cstring(off, data.size() - off));
}
}  // namespace

std::optional<SymbolRecord> recordAt(Bytes b, uint64_t off) {
    auto len = b.get<uint16_t>(off);
    if (!len || *len < 2) return std::nullopt;
    auto kind = b.get<uint16_t>(off + 2);
    auto data = b.sub(off + 4, *len - 2u);
    if (!kind || !data) return std::nullopt;
    return SymbolRecord{*kind, *data, uint32_t(*len) + 2};
}

std::optional<SymbolRecord> recordAt(const StreamReader& s, uint64_t off, std::vector<uint8_t>& scratch) {
    auto len = s.get<uint16_t>(off);
    if (!len || *len < 2) return std::nullopt;
    auto bytes = s.read(off, uint64_t(*len) + 2, scratch);
    if (!bytes) return std::nullopt;
    return recordAt(*bytes, 0);
}

bool isProcedure(uint16_t kind) {
    return kind == S_GPROC32 || kind == S_LPROC32 || kind == S_GPROC32_ID || kind == S_LPROC32_ID ||
           kind == S_LPROC32_DPC || kind == S_LPROC32_DPC_ID;
}

std::optional<Pub32> parsePub32(const SymbolRecord& r) {
    if (r.kind != S_PUB32 || r.data.size() < 10) return std::nullopt;
    return Pub32{*r.data.get<uint32_t>(0), *r.data.get<uint32_t>(4), *r.data.get<uint16_t>(8), nameAt(r.data, 10)};
}

std::optional<ProcRef> parseProcRef(const SymbolRecord& r) {
    if ((r.kind != S_PROCREF && r.kind != S_LPROCREF) || r.data.size() < 10) return std::nullopt;
    return ProcRef{*r.data.get<uint32_t>(4), *r.data.get<uint16_t>(8), nameAt(r.data, 10)};
}

std::optional<Proc32> parseProc32(const SymbolRecord& r) {
    // parent, end, next, len, dbgStart, dbgEnd, type, off, seg, flags, name
    if (!isProcedure(r.kind) || r.data.size() < 35) return std::nullopt;
    return Proc32{*r.data.get<uint32_t>(4), *r.data.get<uint32_t>(12), *r.data.get<uint32_t>(28),
                  *r.data.get<uint16_t>(32), *r.data.get<uint8_t>(34), nameAt(r.data, 35),
                  *r.data.get<uint32_t>(16), *r.data.get<uint32_t>(20)};
}

std::optional<FrameProc> parseFrameProc(const SymbolRecord& r) {
    // cbFrame, cbPad, offPad, cbSaveRegs, offExHdr, sectExHdr (u16), flags
    if (r.kind != 0x1012 || r.data.size() < 26) return std::nullopt;
    return FrameProc{*r.data.get<uint32_t>(0), *r.data.get<uint32_t>(12), *r.data.get<uint32_t>(22)};
}

}  // namespace nt::pdb
