#include "pdb/frame_data.h"

#include <algorithm>
#include <queue>

#include "pdb/pdb_file.h"
#include "pdb/string_table.h"

namespace nt::pdb {

namespace {

// Streams are read in chunks so that a huge stream is not copied at once
// (records can straddle MSF blocks, so each chunk is copied out).
constexpr uint32_t kChunkRecords = 512;

template <class F>
void forEachRecord(const StreamReader& s, uint32_t first, uint32_t recordSize, F&& f) {
    if (s.size() < first) return;
    uint64_t count = (s.size() - first) / recordSize;
    std::vector<uint8_t> buf;
    for (uint64_t i = 0; i < count; i += kChunkRecords) {
        uint64_t n = std::min<uint64_t>(kChunkRecords, count - i);
        buf.resize(n * recordSize);
        if (!s.copyOut(first + i * recordSize, buf.size(), buf.data())) return;
        Bytes b(buf.data(), buf.size());
        for (uint64_t k = 0; k < n; ++k) f(*b.sub(k * recordSize, recordSize));
    }
}

}  // namespace

FrameDataTable FrameDataTable::parse(const StreamReader& fpo, const StreamReader& frameData) {
    FrameDataTable t;
    t.fpo_.reserve(fpo.size() / kFpoRecordSize);
    forEachRecord(fpo, 0, kFpoRecordSize, [&](Bytes r) {
        FpoRecord f;
        f.start = r.getOr<uint32_t>(0, 0);
        f.procSize = r.getOr<uint32_t>(4, 0);
        f.localsDwords = r.getOr<uint32_t>(8, 0);
        f.paramsDwords = r.getOr<uint16_t>(12, 0);
        // cbProlog:8 cbRegs:3 fHasSEH:1 fUseBP:1 reserved:1 cbFrame:2
        uint16_t bits = r.getOr<uint16_t>(14, 0);
        f.prologSize = static_cast<uint8_t>(bits & 0xff);
        f.savedRegs = static_cast<uint8_t>((bits >> 8) & 7);
        f.hasSeh = (bits >> 11) & 1;
        f.useBp = (bits >> 12) & 1;
        f.frameType = static_cast<uint8_t>((bits >> 14) & 3);
        f.attributes = bits;
        t.fpo_.push_back(f);
    });
    // The FrameData stream may start with a 4-byte header (a relocation
    // pointer): present exactly when the size is not a multiple of the record
    // size, as LLVM's DebugFrameDataSubsectionRef reads it (crash.pdb and the
    // kdlibcpp PDBs have none).
    uint32_t first = frameData.size() % kFrameDataRecordSize ? kFrameDataHeaderSize : 0;
    if (frameData.size() >= first) t.frameData_.reserve((frameData.size() - first) / kFrameDataRecordSize);
    forEachRecord(frameData, first, kFrameDataRecordSize, [&](Bytes r) {
        FrameDataRecord f;
        f.start = r.getOr<uint32_t>(0, 0);
        f.codeSize = r.getOr<uint32_t>(4, 0);
        f.localsSize = r.getOr<uint32_t>(8, 0);
        f.paramsSize = r.getOr<uint32_t>(12, 0);
        f.maxStack = r.getOr<uint32_t>(16, 0);
        f.programOffset = r.getOr<uint32_t>(20, 0);
        f.prologSize = r.getOr<uint16_t>(24, 0);
        f.savedRegsSize = r.getOr<uint16_t>(26, 0);
        f.flags = r.getOr<uint32_t>(28, 0);
        t.frameData_.push_back(f);
    });
    t.fpoSegments_ = flatten(t.fpo_);
    t.frameDataSegments_ = flatten(t.frameData_);
    return t;
}

namespace {
uint32_t startOf(const FpoRecord& r) { return r.start; }
uint32_t sizeOf(const FpoRecord& r) { return r.procSize; }
uint32_t startOf(const FrameDataRecord& r) { return r.start; }
uint32_t sizeOf(const FrameDataRecord& r) { return r.codeSize; }
}  // namespace

// A sweep over the sorted record boundaries. At each boundary the records
// that start there join a heap ordered by "innermost first" (greatest
// start, then smallest size, then first in the stream); records that have
// ended are dropped from the top. The top names the segment up to the next
// boundary. O(n log n) once; the result has at most 2n segments.
template <class R>
std::vector<FrameDataTable::Segment> FrameDataTable::flatten(const std::vector<R>& records) {
    std::vector<uint32_t> order;
    std::vector<uint64_t> bounds;
    order.reserve(records.size());
    bounds.reserve(records.size() * 2);
    for (uint32_t i = 0; i < records.size(); ++i) {
        if (sizeOf(records[i]) == 0) continue;
        order.push_back(i);
        bounds.push_back(startOf(records[i]));
        bounds.push_back(uint64_t(startOf(records[i])) + sizeOf(records[i]));
    }
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return startOf(records[a]) < startOf(records[b]); });
    auto inner = [&](uint32_t a, uint32_t b) {  // true when b is more inner than a
        const R &x = records[a], &y = records[b];
        if (startOf(x) != startOf(y)) return startOf(x) < startOf(y);
        if (sizeOf(x) != sizeOf(y)) return sizeOf(x) > sizeOf(y);
        return a > b;
    };
    std::priority_queue<uint32_t, std::vector<uint32_t>, decltype(inner)> heap(inner);
    std::vector<Segment> segs;
    size_t next = 0;
    for (uint64_t b : bounds) {
        while (next < order.size() && startOf(records[order[next]]) <= b) heap.push(order[next++]);
        while (!heap.empty() && uint64_t(startOf(records[heap.top()])) + sizeOf(records[heap.top()]) <= b) heap.pop();
        uint32_t idx = heap.empty() ? kNone : heap.top();
        if (segs.empty() ? idx != kNone : segs.back().index != idx) segs.push_back(Segment{b, idx});
    }
    return segs;
}

std::optional<size_t> FrameDataTable::find(const std::vector<Segment>& segs, uint32_t rva) {
    auto it = std::upper_bound(segs.begin(), segs.end(), uint64_t(rva),
                               [](uint64_t v, const Segment& s) { return v < s.start; });
    if (it == segs.begin()) return std::nullopt;
    --it;
    if (it->index == kNone) return std::nullopt;
    return it->index;
}

X86FrameData FrameDataTable::normalize(const FpoRecord& r) {
    X86FrameData d;
    d.type = static_cast<X86FrameData::Type>(r.frameType);
    d.rva = r.start;
    d.codeSize = r.procSize;
    d.prologSize = r.prologSize;
    d.paramsSize = uint32_t(r.paramsDwords) * 4;
    d.savedRegsSize = uint32_t(r.savedRegs) * 4;
    // cdwLocals is a 32-bit count: saturate rather than wrap.
    d.localsSize = r.localsDwords > 0x3fffffff ? 0xfffffffc : r.localsDwords * 4;
    d.allocatesBasePointer = r.useBp;
    d.hasSeh = r.hasSeh;
    return d;
}

X86FrameData FrameDataTable::normalize(const FrameDataRecord& r, std::string program) {
    X86FrameData d;
    d.type = X86FrameData::Type::FrameData;
    d.rva = r.start;
    d.codeSize = r.codeSize;
    d.prologSize = r.prologSize;
    d.paramsSize = r.paramsSize;
    d.savedRegsSize = r.savedRegsSize;
    d.localsSize = r.localsSize;
    d.maxStackSize = r.maxStack;
    d.hasSeh = r.hasSeh();
    d.program = std::move(program);
    return d;
}

std::optional<X86FrameData> FrameDataTable::at(uint32_t rva, const StringTable& names) const {
    if (auto i = frameDataAt(rva)) return normalize(frameData_[*i], names.at(frameData_[*i].programOffset));
    if (auto i = fpoAt(rva)) return normalize(fpo_[*i]);
    return std::nullopt;
}

std::optional<X86FrameData> PdbFile::frameDataAt(uint32_t rva) const {
    if (!frameDataTried_) {
        frameDataTried_ = true;
        if (const Dbi* d = dbi()) {
            uint16_t fpo = d->debugStream(DebugStream::Fpo), fd = d->debugStream(DebugStream::FrameData);
            StreamReader fpoStream = msf_.hasStream(fpo) ? msf_.stream(fpo) : StreamReader();
            StreamReader fdStream = msf_.hasStream(fd) ? msf_.stream(fd) : StreamReader();
            frameData_ = std::make_shared<FrameDataTable>(FrameDataTable::parse(fpoStream, fdStream));
        }
    }
    if (!frameData_) return std::nullopt;
    return frameData_->at(rva, names());
}

}  // namespace nt::pdb
