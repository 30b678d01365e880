// A Breakpad text symbol file (.sym), as written by dump_syms and documented
// in Breakpad's docs/symbol_files.md.
//
// The file is parsed once, line by line, into sorted vectors whose strings
// are views into the file bytes (zero-copy: the SymFile must outlive them, and
// a SymFile made by parse() needs its bytes to outlive it). Lookups are binary
// searches by module-relative address (RVA).
//
// The input is hostile: every number is checked (hex/decimal, no overflow,
// address + size must not wrap), lines longer than kMaxLineLength are skipped,
// and a malformed record is skipped and counted rather than failing the file,
// like Breakpad's own parser, so that one bad line does not cost a module its
// symbols. Only a file whose first record is not a valid MODULE line is
// rejected as a whole (FormatError): it is not a symbol file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/mapped_file.h"

namespace nt::breakpad {

struct ModuleRecord {
    std::string_view os, arch, id, name;
};

struct FileRecord {
    uint32_t id = 0;
    std::string_view name;
};

struct InlineOriginRecord {
    uint32_t id = 0;
    std::string_view name;
};

struct LineRecord {
    uint64_t address = 0;
    uint64_t size = 0;
    uint32_t line = 0;
    uint32_t file = 0;  // FILE id
};

struct AddressRange {
    uint64_t address = 0;
    uint64_t size = 0;
};

struct InlineRecord {
    uint32_t nestLevel = 0;     // 0: inlined directly into the FUNC
    uint32_t callSiteLine = 0;
    uint32_t callSiteFile = 0;  // FILE id
    uint32_t origin = 0;        // INLINE_ORIGIN id
    uint32_t firstRange = 0;    // into SymFile::inlineRanges()
    uint32_t rangeCount = 0;
};

struct FuncRecord {
    uint64_t address = 0;
    // The effective size: when FUNC ranges overlap, the lower one is
    // truncated at the next one's start (see sym_file.cpp).
    uint64_t size = 0;
    uint32_t paramSize = 0;
    bool multiple = false;  // 'm': the code is shared by several functions (ICF)
    std::string_view name;
    uint32_t firstLine = 0, lineCount = 0;      // into SymFile::lines(), sorted by address
    uint32_t firstInline = 0, inlineCount = 0;  // into SymFile::inlines()
};

struct PublicRecord {
    uint64_t address = 0;
    uint32_t paramSize = 0;
    bool multiple = false;
    std::string_view name;
};

// STACK WIN frame types (the PDB FrameData/FPO kinds).
enum class StackWinType : uint8_t { Fpo = 0, Trap = 1, Tss = 2, Standard = 3, FrameData = 4 };

struct StackWinRecord {
    StackWinType type = StackWinType::Fpo;
    uint64_t rva = 0;
    uint32_t codeSize = 0;
    uint32_t prologSize = 0;
    uint32_t epilogSize = 0;
    uint32_t paramSize = 0;
    uint32_t savedRegisterSize = 0;
    uint32_t localSize = 0;
    uint32_t maxStackSize = 0;
    bool hasProgramString = false;
    bool allocatesBasePointer = false;  // meaningful when !hasProgramString
    std::string_view programString;     // when hasProgramString
};

// One "REG: expression" pair of a STACK CFI rule set; both views into the file.
struct CfiRule {
    std::string_view reg;  // ".cfa", ".ra", "$rbx", "x29" (without the ':')
    std::string_view expression;
};

struct CfiInitRecord {
    uint64_t address = 0;
    uint64_t size = 0;
    std::string_view rules;      // the INIT record's rule text
    uint32_t firstDelta = 0;     // into SymFile's delta list, sorted by address
    uint32_t deltaCount = 0;
};

struct CfiDeltaRecord {
    uint64_t address = 0;
    std::string_view rules;
};

// What functionAt found.
struct SymbolHit {
    std::string_view name;
    uint64_t address = 0;    // start of the FUNC or the PUBLIC
    uint64_t size = 0;       // 0 for a PUBLIC (its extent is unknown)
    uint32_t paramSize = 0;
    bool isPublic = false;
    const FuncRecord* func = nullptr;  // set for a FUNC
};

struct LineHit {
    std::string_view file;  // empty when the FILE id is not declared
    uint32_t fileId = 0;
    uint32_t line = 0;
    uint64_t address = 0;  // start of the line record
    uint64_t size = 0;
};

struct InlineFrame {
    std::string_view name;          // INLINE_ORIGIN name (empty if undeclared)
    std::string_view callSiteFile;  // FILE name (empty if undeclared)
    uint32_t callSiteLine = 0;
    uint32_t nestLevel = 0;
};

// Record counts and the reasons records were skipped.
struct ParseStats {
    uint64_t lines = 0;
    uint64_t skipped = 0;             // malformed or unusable records, all kinds
    uint64_t overlongLines = 0;       // longer than kMaxLineLength (also in skipped)
    uint64_t orphanLines = 0;         // line records with no FUNC before them (also in skipped)
    uint64_t duplicateFuncs = 0;      // FUNCs at an address already taken, dropped
    uint64_t truncatedFuncs = 0;      // FUNCs shortened because the next one starts inside
    uint64_t duplicatePublics = 0;    // PUBLICs at an address already taken, dropped
    uint64_t duplicateStackWin = 0;   // STACK WIN records repeating a (type, rva), dropped
    uint64_t unknownRecords = 0;      // unrecognised keywords, ignored (forward compatibility)
    // The first few problems, "line N: message", for diagnostics (!sym noisy).
    std::vector<std::string> messages;
};

class SymFile {
public:
    static constexpr size_t kMaxLineLength = 1 << 16;
    static constexpr size_t kMaxMessages = 16;

    // Maps and parses a file; throws FormatError when it cannot be read or
    // does not start with a MODULE record.
    static SymFile open(const std::string& path);
    // Parses bytes the caller keeps alive for the life of the SymFile.
    // Throws FormatError when there is no valid MODULE record first.
    static SymFile parse(Bytes bytes);

    SymFile(SymFile&&) noexcept = default;
    SymFile& operator=(SymFile&&) noexcept = default;

    const ModuleRecord& module() const { return module_; }
    // INFO CODE_ID <code id> [<file name>]; empty when absent.
    std::string_view codeId() const { return codeId_; }
    std::string_view codeFile() const { return codeFile_; }

    const std::vector<FileRecord>& files() const { return files_; }       // sorted by id
    const std::vector<InlineOriginRecord>& inlineOrigins() const { return origins_; }
    const std::vector<FuncRecord>& functions() const { return funcs_; }   // sorted by address
    const std::vector<LineRecord>& lines() const { return lines_; }
    const std::vector<InlineRecord>& inlines() const { return inlines_; }
    const std::vector<AddressRange>& inlineRanges() const { return inlineRanges_; }
    const std::vector<PublicRecord>& publics() const { return publics_; } // sorted by address
    // All STACK WIN records (FrameData and the others), each group sorted by rva.
    size_t stackWinCount() const { return winFrameData_.size() + winOther_.size(); }
    const std::vector<CfiInitRecord>& cfiInits() const { return cfiInits_; }
    size_t cfiDeltaCount() const { return cfiDeltas_.size(); }
    const ParseStats& stats() const { return stats_; }

    std::string_view fileName(uint32_t id) const;
    std::string_view inlineOriginName(uint32_t id) const;

    // The FUNC covering rva; else, as Breakpad does, the nearest PUBLIC at
    // or below rva provided no FUNC starts between it and rva.
    std::optional<SymbolHit> functionAt(uint64_t rva) const;
    // The line record covering rva inside the FUNC covering rva.
    std::optional<LineHit> lineAt(uint64_t rva) const;
    // The INLINE records of the covering FUNC whose ranges contain rva,
    // outermost (lowest nest level) first.
    std::vector<InlineFrame> inlineFramesAt(uint64_t rva) const;
    // The STACK WIN record covering rva: FrameData (type 4) when one covers
    // it, else another type; among records of that group the one with the
    // greatest start. PDB FrameData has one record per prolog step, nested
    // (kernel32.sym: 16ff1+9a, 17002+80, 17003+7e, 17007+79), so this is the
    // step rva is in, as with Breakpad's ContainedRangeMap. Unlike Breakpad,
    // which refuses at load a record that partially overlaps an earlier one
    // (kernel32's 16fb4+4f runs past 16ff1), we keep it: the greatest start
    // is still the function's own record.
    const StackWinRecord* stackWinAt(uint64_t rva) const;
    // The INIT rules of the CFI record covering rva, overridden register by
    // register by the delta records at addresses <= rva, in address order.
    // Empty when no CFI covers rva.
    std::vector<CfiRule> cfiAt(uint64_t rva) const;

private:
    SymFile() = default;
    class Parser;

    MappedFile mapping_;  // empty for parse()
    ModuleRecord module_;
    std::string_view codeId_, codeFile_;
    std::vector<FileRecord> files_;
    std::vector<InlineOriginRecord> origins_;
    std::vector<FuncRecord> funcs_;
    std::vector<LineRecord> lines_;
    std::vector<InlineRecord> inlines_;
    std::vector<AddressRange> inlineRanges_;
    std::vector<PublicRecord> publics_;
    std::vector<StackWinRecord> winFrameData_, winOther_;
    // maxEnd[i] = the largest end (rva + codeSize) among records 0..i: lets a
    // backward scan for the innermost covering record stop as soon as no
    // earlier record can reach rva.
    std::vector<uint64_t> winFrameDataMaxEnd_, winOtherMaxEnd_;
    std::vector<CfiInitRecord> cfiInits_;
    std::vector<uint64_t> cfiInitMaxEnd_;
    std::vector<CfiDeltaRecord> cfiDeltas_;
    ParseStats stats_;
};

// Splits a CFI rule text (".cfa: $rsp 8 + .ra: .cfa -8 + ^") into rules;
// nullopt when it is malformed (text before the first "REG:", or a register
// with an empty expression).
std::optional<std::vector<CfiRule>> splitCfiRules(std::string_view rules);

}  // namespace nt::breakpad
