// PE/COFF on-disk layout constants (offsets and sizes from the PE/COFF
// specification). Kept apart from the parsing code so each offset is named once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nt::pe {

constexpr uint16_t kDosMagic = 0x5a4d;         // "MZ"
constexpr uint32_t kPeSignature = 0x00004550;  // "PE\0\0"
constexpr uint32_t kFileHeaderSize = 20;       // IMAGE_FILE_HEADER
constexpr uint32_t kSectionHeaderSize = 40;    // IMAGE_SECTION_HEADER
constexpr uint16_t kPe32Magic = 0x10b;
constexpr uint16_t kPe32PlusMagic = 0x20b;
// Caps for hostile headers. The loader itself refuses more than 96 sections.
constexpr unsigned kMaxSections = 96;
constexpr unsigned kMaxDirectories = 16;
constexpr uint32_t kMaxExports = 0x10000;        // ordinals are 16-bit
constexpr uint32_t kMaxRuntimeFunctions = 1u << 20;
constexpr unsigned kMaxDebugEntries = 32;
constexpr uint32_t kExportDirSize = 40;
constexpr uint32_t kDebugEntrySize = 28;
constexpr uint32_t kDebugTypeCodeView = 2;
constexpr uint32_t kRsdsSignature = 0x53445352;  // "RSDS"
constexpr uint32_t kNb10Signature = 0x3031424e;  // "NB10"

enum Directory : unsigned { kDirExport = 0, kDirImport = 1, kDirException = 3, kDirDebug = 6 };

}  // namespace nt::pe

namespace nt {
class ImageSource;
namespace pe {
// NUL-terminated 8-bit string at rva, at most maxLen bytes (stops at the
// first unreadable byte).
std::string readString(const ImageSource& src, uint32_t rva, uint32_t maxLen);
// count little-endian u32s at rva; fewer when the source runs out.
std::vector<uint32_t> readU32Array(const ImageSource& src, uint32_t rva, uint32_t count);
}  // namespace pe
}  // namespace nt
