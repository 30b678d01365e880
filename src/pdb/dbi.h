// The DBI stream (stream 3): which streams hold the globals, publics and
// symbol records; the modules (object files) and their symbol streams; the
// section contributions (which module owns which code); the section map; the
// optional debug streams (FPO, FrameData, section headers, ...); file names.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pdb/msf.h"

namespace nt::pdb {

// A u16 stream index of 0xFFFF means "no stream".
inline constexpr uint16_t kNoStream = 0xFFFF;

struct SectionContribution {
    uint16_t section = 0;  // 1-based
    uint32_t offset = 0;
    uint32_t size = 0;
    uint32_t characteristics = 0;
    uint16_t module = 0;   // index into Dbi::modules()
};

struct ModuleInfo {
    std::string moduleName;
    std::string objectName;
    uint16_t symStream = kNoStream;
    uint32_t symByteSize = 0;  // includes the 4-byte signature
    uint32_t c11ByteSize = 0;
    uint32_t c13ByteSize = 0;
    uint16_t sourceFileCount = 0;
    SectionContribution contribution;  // the module's first contribution
};

struct SectionMapEntry {
    uint16_t flags = 0;
    uint16_t frame = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
};

struct SectionHeader {
    std::string name;
    uint32_t virtualSize = 0;
    uint32_t virtualAddress = 0;
    uint32_t sizeOfRawData = 0;
    uint32_t characteristics = 0;
};

// Indices into the optional debug header (its order is fixed by the format).
enum class DebugStream : unsigned {
    Fpo = 0, Exception, Fixup, OmapToSrc, OmapFromSrc, SectionHeaders, TokenRidMap, Xdata, Pdata,
    FrameData, OriginalSectionHeaders, Count
};

class Dbi {
public:
    // Throws FormatError when the stream is absent or its header or
    // substream sizes do not fit; damaged entries inside a substream end
    // that substream's list early.
    static Dbi parse(const Msf& msf);

    uint32_t age = 0;
    uint16_t machine = 0;  // IMAGE_FILE_MACHINE_*
    uint16_t flags = 0;
    uint16_t globalsStream = kNoStream;
    uint16_t publicsStream = kNoStream;
    uint16_t symRecordStream = kNoStream;

    const std::vector<ModuleInfo>& modules() const { return modules_; }
    // Sorted by (section, offset).
    const std::vector<SectionContribution>& contributions() const { return contributions_; }
    const std::vector<SectionMapEntry>& sectionMap() const { return sectionMap_; }
    const std::vector<SectionHeader>& sections() const { return sections_; }
    // Each module's source file names (from the file info substream).
    const std::vector<std::vector<std::string>>& moduleFiles() const { return moduleFiles_; }
    uint16_t debugStream(DebugStream which) const { return debugStreams_[static_cast<unsigned>(which)]; }

    // section:offset -> RVA through the section headers (nullopt for section
    // 0 or one past the table).
    std::optional<uint32_t> rvaOf(uint16_t section, uint32_t offset) const;
    // RVA -> (section, offset): the section whose [VA, VA+size) holds it.
    std::optional<std::pair<uint16_t, uint32_t>> sectionOffsetOf(uint32_t rva) const;
    // The module whose contribution covers section:offset.
    std::optional<uint16_t> moduleAt(uint16_t section, uint32_t offset) const;

private:
    std::vector<ModuleInfo> modules_;
    std::vector<SectionContribution> contributions_;
    std::vector<SectionMapEntry> sectionMap_;
    std::vector<SectionHeader> sections_;
    std::vector<std::vector<std::string>> moduleFiles_;
    std::array<uint16_t, static_cast<unsigned>(DebugStream::Count)> debugStreams_{};
};

}  // namespace nt::pdb
