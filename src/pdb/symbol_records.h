// CodeView symbol records: the 4-byte prefix (u16 length, u16 kind) shared by
// the symbol record stream and module streams, and the few record layouts the
// reader decodes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "pdb/msf.h"

namespace nt::pdb {

enum SymbolKind : uint16_t {
    S_END = 0x0006,
    S_LPROC32 = 0x110F,
    S_GPROC32 = 0x1110,
    S_PUB32 = 0x110E,
    S_PROCREF = 0x1125,
    S_LPROCREF = 0x1127,
    S_LPROC32_ID = 0x1146,
    S_GPROC32_ID = 0x1147,
    S_LPROC32_DPC = 0x1155,
    S_LPROC32_DPC_ID = 0x1156,
};

struct SymbolRecord {
    uint16_t kind = 0;
    Bytes data;          // after the kind field
    uint32_t totalSize;  // length field + 2: the distance to the next record
};

// The record at off of a byte view; nullopt when its length field is too small
// (a record holds at least its kind) or it runs past the view.
std::optional<SymbolRecord> recordAt(Bytes b, uint64_t off);
// The same from a stream; the record's bytes may be copied into scratch.
std::optional<SymbolRecord> recordAt(const StreamReader& s, uint64_t off, std::vector<uint8_t>& scratch);

bool isProcedure(uint16_t kind);

struct Pub32 {
    uint32_t flags = 0;  // CV_PUBSYMFLAGS: 1 code, 2 function, 4 managed, 8 MSIL
    uint32_t offset = 0;
    uint16_t segment = 0;
    std::string name;
};
std::optional<Pub32> parsePub32(const SymbolRecord& r);

struct ProcRef {
    uint32_t symOffset = 0;  // offset of the procedure in the module's symbol stream
    uint16_t module = 0;     // 1-based module index
    std::string name;
};
std::optional<ProcRef> parseProcRef(const SymbolRecord& r);

struct Proc32 {
    uint32_t end = 0;  // offset of the matching S_END in the module stream
    uint32_t codeSize = 0;
    uint32_t offset = 0;
    uint16_t segment = 0;
    uint8_t flags = 0;
    std::string name;
    uint32_t debugStart = 0;  // offset where the prolog ends
    uint32_t debugEnd = 0;    // offset where the epilog begins
};
std::optional<Proc32> parseProc32(const SymbolRecord& r);

// S_FRAMEPROC: the frame of the enclosing procedure.
struct FrameProc {
    uint32_t frameSize = 0;      // cbFrame
    uint32_t savedRegsSize = 0;  // cbSaveRegs
    uint32_t flags = 0;          // bits 14-15: local base pointer (1 = SP, 2 = BP, 3 = R13)
};
std::optional<FrameProc> parseFrameProc(const SymbolRecord& r);

}  // namespace nt::pdb
