// Inline frames: which inlined calls cover an address.
//
// A module's symbol stream nests S_INLINESITE records inside the procedure
// they were inlined into (and inside each other). Each site names its inlinee
// (an IPI LF_FUNC_ID / LF_MFUNC_ID) and carries "binary annotations": a
// compressed program of code-offset / code-length / line / file changes whose
// code offsets are relative to the enclosing procedure's start. The module's
// C13 DEBUG_S_INLINEELINES subsection gives each inlinee's source file and
// first line, to which the annotations' line offsets are added.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pdb/dbi.h"
#include "pdb/msf.h"
#include "pdb/tpi.h"

namespace nt::pdb {

// Binary annotation opcodes (cvinfo.h BinaryAnnotationOpcode).
enum class AnnotationOp : uint8_t {
    Invalid = 0, CodeOffset, ChangeCodeOffsetBase, ChangeCodeOffset, ChangeCodeLength, ChangeFile,
    ChangeLineOffset, ChangeLineEndDelta, ChangeRangeKind, ChangeColumnStart, ChangeColumnEndDelta,
    ChangeCodeOffsetAndLineOffset, ChangeCodeLengthAndCodeOffset, ChangeColumnEnd,
};

// One code range of an inline site: [start, end) from the procedure start,
// with the line offset (from the inlinee's first line) and the file (an
// offset into the module's file checksums; kNoFile: the inlinee's own file).
struct InlineRange {
    static constexpr uint32_t kNoFile = 0xFFFFFFFF;
    uint32_t start = 0;
    uint32_t end = 0;
    int32_t lineOffset = 0;
    uint32_t file = kNoFile;
};

// Decodes a site's annotations. A range without an explicit length ends
// where the next one starts. Stops at the first Invalid opcode (the padding)
// or at malformed data; at most kMaxAnnotationRanges ranges.
inline constexpr size_t kMaxAnnotationRanges = 1 << 14;
std::vector<InlineRange> decodeInlineAnnotations(Bytes annotations);

struct InlineSite {
    uint32_t recordOffset = 0;  // in the module stream
    uint32_t parent = 0;        // record offset of the enclosing procedure or site
    uint32_t procedure = 0;     // record offset of the enclosing procedure
    uint32_t inlinee = 0;       // IPI index
    unsigned depth = 0;         // 1: inlined directly into the procedure
    std::vector<InlineRange> ranges;
};

struct InlineeSource {
    uint32_t file = 0;  // offset into the module's file checksums
    uint32_t line = 0;  // the inlinee's first line
};

// The inline sites and inlinee sources of one module.
class ModuleInlines {
public:
    // Never throws: damaged records end the walk (what came before stays).
    static ModuleInlines parse(const StreamReader& stream, const ModuleInfo& info);
    ModuleInlines(ModuleInlines&&) = default;
    ModuleInlines& operator=(ModuleInlines&&) = default;

    // Sites of the procedure at procRecord covering offset (from the
    // procedure start), innermost first.
    std::vector<const InlineSite*> sitesAt(uint32_t procRecord, uint32_t offset) const;
    const std::vector<InlineSite>& sites() const { return sites_; }
    std::optional<InlineeSource> inlinee(uint32_t id) const;
    // The /names offset of the file checksum entry at fileId.
    std::optional<uint32_t> fileNameOffset(uint32_t fileId) const;
    // An inlinee id with the high bit set names an item of another module
    // (cross-module inlining under LTCG): bits 20..30 pick one of this
    // module's DEBUG_S_CROSSSCOPEIMPORTS entries, bits 0..19 an id in it.
    // Gives (the /names offset of the exporting module's name, its local id).
    static bool isCrossModule(uint32_t id) { return id & 0x80000000u; }
    std::optional<std::pair<uint32_t, uint32_t>> importOf(uint32_t crossId) const;
    // The global IPI index this module exports for one of its local ids
    // (DEBUG_S_CROSSSCOPEEXPORTS).
    std::optional<uint32_t> exportOf(uint32_t localId) const;

private:
    ModuleInlines() = default;
    std::vector<uint8_t> scratch_;
    Bytes checksums_;
    std::vector<InlineSite> sites_;
    std::multimap<uint32_t, size_t> byProcedure_;
    std::unordered_map<uint32_t, InlineeSource> inlinees_;
    struct CrossImport {
        uint32_t moduleName = 0;  // /names offset
        Bytes ids;                // u32 local ids of the exporting module
    };
    std::vector<CrossImport> imports_;
    std::unordered_map<uint32_t, uint32_t> exports_;
};

// The IPI stream (for inlinee names) and each module's inline data, parsed on
// first use. Used by PdbFile::inlineFramesAt.
class InlineTable {
public:
    explicit InlineTable(const Msf& msf);
    const ModuleInlines* module(const Msf& msf, const Dbi& dbi, uint16_t index) const;
    // The inlinee's name: LF_FUNC_ID's name, LF_MFUNC_ID's qualified by its
    // class (from TPI) as in "std::exception::{dtor}".
    std::string inlineeName(uint32_t id) const;
    // The module whose module name is name (case-insensitive: imports name
    // modules in lower case).
    std::optional<uint16_t> moduleByName(const Dbi& dbi, std::string_view name) const;

private:
    mutable std::optional<std::unordered_map<std::string, uint16_t>> moduleNames_;
    std::optional<TypeStream> ipi_;
    std::optional<TypeStream> tpi_;
    mutable std::map<uint16_t, ModuleInlines> modules_;
};

}  // namespace nt::pdb
