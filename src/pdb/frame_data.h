// The x86 frame data of a PDB: the DBI optional debug streams FPO (old
// FPO_DATA records, 16 bytes) and FrameData (new FRAMEDATA records, 32 bytes,
// after an optional 4-byte header, with program strings in the /names string table).
//
// Records nest: MSVC writes one FrameData record per prolog step, each
// starting a few bytes later and covering the rest of the function
// (crash.pdb: 1000+114, 100f+f5, 1030+92, 1048+a). The record that describes
// an rva is the innermost one covering it, i.e. the covering record that
// starts closest below it (as DIA and Breakpad's ContainedRangeMap pick).
// Lookups are O(log n) over a flattened table of disjoint segments, each
// naming its innermost record, built once when the streams are read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arch/x86_frame_data.h"
#include "pdb/msf.h"

namespace nt::pdb {

class StringTable;

// FPO_DATA (winnt.h), fields as stored (counts, not bytes). The bitfield
// word is cbProlog:8 cbRegs:3 fHasSEH:1 fUseBP:1 reserved:1 cbFrame:2 from
// the low bit up (MSVC allocates bitfields from bit 0). llvm-pdbutil-16
// decodes it differently (prolog & 0xF, SEH bit 9, UseBP bit 10).
struct FpoRecord {
    uint32_t start = 0;         // ulOffStart (an rva)
    uint32_t procSize = 0;      // cbProcSize
    uint32_t localsDwords = 0;  // cdwLocals
    uint16_t paramsDwords = 0;  // cdwParams
    uint8_t prologSize = 0;     // cbProlog
    uint8_t savedRegs = 0;      // cbRegs: number of saved registers
    bool hasSeh = false;        // fHasSEH
    bool useBp = false;         // fUseBP
    uint8_t frameType = 0;      // cbFrame: 0 FPO, 1 trap, 2 TSS, 3 non-FPO
    uint16_t attributes = 0;    // the raw bitfield word the flags above come from
};

// FRAMEDATA (cvinfo.h / DIA), sizes in bytes.
struct FrameDataRecord {
    uint32_t start = 0;       // ulRvaStart
    uint32_t codeSize = 0;    // cbBlock
    uint32_t localsSize = 0;  // cbLocals
    uint32_t paramsSize = 0;  // cbParams
    uint32_t maxStack = 0;    // cbStkMax
    uint32_t programOffset = 0;  // frameFunc: offset of the program string in /names
    uint16_t prologSize = 0;  // cbProlog
    uint16_t savedRegsSize = 0;  // cbSavedRegs
    uint32_t flags = 0;       // bit 0 fHasSEH, bit 1 fHasEH, bit 2 fIsFunctionStart

    bool hasSeh() const { return flags & 1; }
    bool hasEh() const { return flags & 2; }
    bool isFunctionStart() const { return flags & 4; }
};

class FrameDataTable {
public:
    static constexpr uint32_t kFpoRecordSize = 16;
    static constexpr uint32_t kFrameDataRecordSize = 32;
    static constexpr uint32_t kFrameDataHeaderSize = 4;

    // Reads the two streams (either may be absent: pass an empty reader). A
    // trailing partial record is ignored; nothing else can fail.
    static FrameDataTable parse(const StreamReader& fpo, const StreamReader& frameData);

    // In stream order.
    const std::vector<FpoRecord>& fpo() const { return fpo_; }
    const std::vector<FrameDataRecord>& frameData() const { return frameData_; }

    // Index of the innermost record covering rva; nullopt when none does.
    std::optional<size_t> fpoAt(uint32_t rva) const { return find(fpoSegments_, rva); }
    std::optional<size_t> frameDataAt(uint32_t rva) const { return find(frameDataSegments_, rva); }

    // The normalized record covering rva: FrameData first (it carries the
    // program string, read from names), else FPO.
    std::optional<X86FrameData> at(uint32_t rva, const StringTable& names) const;

    static X86FrameData normalize(const FpoRecord& r);
    static X86FrameData normalize(const FrameDataRecord& r, std::string program);

private:
    // [start, next segment's start): record `index`, or none (kNone).
    struct Segment {
        uint64_t start = 0;  // 64-bit: a record may end exactly at 2^32
        uint32_t index = 0;
    };
    static constexpr uint32_t kNone = 0xffffffff;

    template <class R>
    static std::vector<Segment> flatten(const std::vector<R>& records);
    static std::optional<size_t> find(const std::vector<Segment>& segs, uint32_t rva);

    std::vector<FpoRecord> fpo_;
    std::vector<FrameDataRecord> frameData_;
    std::vector<Segment> fpoSegments_, frameDataSegments_;
};

}  // namespace nt::pdb
