#include "dump/kernel/triage_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "base/error.h"
#include "dump/kernel/kernel_dump_format.h"

namespace nt::kdump {

void addWarning(std::vector<std::string>& warnings, std::string message) {
    if (warnings.size() < kMaxWarnings) {
        warnings.push_back(std::move(message));
    } else if (warnings.size() == kMaxWarnings) {
        warnings.push_back("further warnings suppressed");
    }
}

namespace {

// TRIAGE_DUMP field offsets (rizin dmp_specs.h). The first 18 fields are u32
// in both widths. verified: on all four corpus small dumps every offset
// lands on its part (KDBG tag at DebuggerDataOffset+0x10, driver table ends
// at StringPoolOffset, pool walk ends at DataBlocksOffset, "TRGD" at ValidOffset).
namespace td {
inline constexpr uint32_t kTopOfStack = 0x48;
// 64-bit: u64 TopOfStack, 16 bytes ArchitectureSpecific (IA-64), u64 DataPageAddress.
inline constexpr uint32_t kDataPageAddress64 = 0x60, kRest64 = 0x68, kSize64 = 0x80;
// 32-bit: u32 TopOfStack, u32 DataPageAddress.
inline constexpr uint32_t kDataPageAddress32 = 0x4c, kRest32 = 0x50, kSize32 = 0x68;
}  // namespace td

// Driver entry: u32 DriverNameOffset [+ u32 pad] + KLDR_DATA_TABLE_ENTRY.
// verified: 64-bit entries are 0x90 bytes, 32-bit 0x4c (DriverListOffset +
// count * size == StringPoolOffset on all four files; amdppm.sys at
// fffff8048b580000 size 0x3b000).
struct DriverLayout {
    uint32_t entrySize, dllBase, sizeOfImage, flags, checkSum, timeDateStamp;
};
constexpr DriverLayout kDriver64{0x90, 0x08 + 0x30, 0x08 + 0x40, 0x08 + 0x68, 0x08 + 0x78, 0x08 + 0x80};
constexpr DriverLayout kDriver32{0x4c, 0x04 + 0x18, 0x04 + 0x20, 0x04 + 0x34, 0x04 + 0x40, 0x04 + 0x44};

// Unloaded drivers: a count, then DUMP_UNLOADED_DRIVERS {UNICODE_STRING Name;
// WCHAR DriverName[12]; PVOID StartAddress, EndAddress}. verified: 64-bit
// count is a u32 followed by 4 bytes of padding (entries 0x38 bytes from
// +8), 32-bit a u32 (entries 0x28 bytes from +4); both end at PrcbOffset.
struct UnloadedLayout {
    uint32_t first, entrySize, name, start, end;
};
constexpr UnloadedLayout kUnloaded64{8, 0x38, 0x10, 0x28, 0x30};
constexpr UnloadedLayout kUnloaded32{4, 0x28, 0x08, 0x20, 0x24};
constexpr uint32_t kUnloadedNameChars = 12;

// Data blocks: {u64 Address; u32 Offset; u32 Size} in BOTH widths.
// verified: the 32-bit ARM dump has 16-byte entries with sign-extended
// addresses (0xffffffff80e171a0); rizin's 12-byte 32-bit entry is wrong there.
constexpr uint32_t kDataBlockSize = 16;

constexpr uint32_t kValidMarker = 0x44475254;  // bytes "TRGD"
constexpr uint32_t kMaxNameChars = 0x8000;     // UNICODE_STRING limit (bytes fit in u16)

uint64_t narrow(uint64_t v, bool is64) { return is64 ? v : (v & 0xffffffffu); }

std::string baseName(const std::string& path) {
    size_t p = path.find_last_of("\\/");
    return p == std::string::npos ? path : path.substr(p + 1);
}

ExceptionRecord readException(Bytes b, bool is64) {
    ExceptionRecord e;
    e.code = b.getOr<uint32_t>(0, 0);
    e.flags = b.getOr<uint32_t>(4, 0);
    uint32_t infoOff;
    if (is64) {
        e.record = b.getOr<uint64_t>(8, 0);
        e.address = b.getOr<uint64_t>(0x10, 0);
        e.numberParameters = b.getOr<uint32_t>(0x18, 0);
        infoOff = 0x20;
    } else {
        e.record = b.getOr<uint32_t>(8, 0);
        e.address = b.getOr<uint32_t>(0xc, 0);
        e.numberParameters = b.getOr<uint32_t>(0x10, 0);
        infoOff = 0x14;
    }
    uint32_t n = std::min<uint32_t>(e.numberParameters, 15);
    for (uint32_t i = 0; i < n; ++i)
        e.parameters.push_back(is64 ? b.getOr<uint64_t>(infoOff + 8 * i, 0) : b.getOr<uint32_t>(infoOff + 4 * i, 0));
    return e;
}

}  // namespace

// Shared with the header parser.
ExceptionRecord readExceptionRecord(Bytes b, bool is64) { return readException(b, is64); }

Triage readTriage(Bytes file, const Header& h, std::vector<std::string>& warnings) {
    const bool is64 = h.is64;
    const uint64_t base = h.headerSize;
    auto tdBytes = file.sub(base, is64 ? td::kSize64 : td::kSize32);
    if (!tdBytes)
        throw FormatError(fmt::format("small dump: the TRIAGE_DUMP at {:#x} is cut (file is {:#x} bytes)", base,
                                      file.size()));
    Bytes t = *tdBytes;
    Triage tr;
    uint32_t* u32Fields[] = {&tr.servicePackBuild, &tr.sizeOfDump, &tr.validOffset, &tr.contextOffset,
                             &tr.exceptionOffset, &tr.mmOffset, &tr.unloadedDriversOffset, &tr.prcbOffset,
                             &tr.processOffset, &tr.threadOffset, &tr.callStackOffset, &tr.sizeOfCallStack,
                             &tr.driverListOffset, &tr.driverCount, &tr.stringPoolOffset, &tr.stringPoolSize,
                             &tr.brokenDriverOffset, &tr.triageOptions};
    for (size_t i = 0; i < std::size(u32Fields); ++i) *u32Fields[i] = t.getOr<uint32_t>(4 * i, 0);
    uint32_t rest;
    if (is64) {
        tr.topOfStack = t.getOr<uint64_t>(td::kTopOfStack, 0);
        tr.dataPageAddress = t.getOr<uint64_t>(td::kDataPageAddress64, 0);
        rest = td::kRest64;
    } else {
        tr.topOfStack = t.getOr<uint32_t>(td::kTopOfStack, 0);
        tr.dataPageAddress = t.getOr<uint32_t>(td::kDataPageAddress32, 0);
        rest = td::kRest32;
    }
    uint32_t* tail[] = {&tr.dataPageOffset, &tr.dataPageSize, &tr.debuggerDataOffset, &tr.debuggerDataSize,
                        &tr.dataBlocksOffset, &tr.dataBlocksCount};
    for (size_t i = 0; i < std::size(tail); ++i) *tail[i] = t.getOr<uint32_t>(rest + 4 * i, 0);

    // The dump's own view of how long it is; the file may hold more
    // (secondary data) or less (a cut copy).
    if (tr.sizeOfDump > file.size())
        addWarning(warnings, fmt::format("small dump is cut: SizeOfDump {:#x}, file {:#x} bytes", tr.sizeOfDump,
                                         file.size()));
    auto validMarker = file.get<uint32_t>(tr.validOffset);
    tr.complete = tr.validOffset != 0 && validMarker && *validMarker == kValidMarker;
    if (!tr.complete)
        addWarning(warnings, fmt::format("small dump: no TRGD marker at ValidOffset {:#x} (incomplete dump)",
                                         tr.validOffset));

    // Parts carry no sizes of their own (PRCB, process, thread, context):
    // each extends to the next part that starts after it.
    std::set<uint64_t> starts = {base, file.size(), is64 ? layout::h64::kException : layout::h32::kException,
                                 is64 ? layout::h64::kDumpType : layout::h32::kComment};
    for (uint32_t off : {tr.validOffset, tr.contextOffset, tr.exceptionOffset, tr.mmOffset,
                         tr.unloadedDriversOffset, tr.prcbOffset, tr.processOffset, tr.threadOffset,
                         tr.callStackOffset, tr.driverListOffset, tr.stringPoolOffset, tr.brokenDriverOffset,
                         tr.dataPageOffset, tr.debuggerDataOffset, tr.dataBlocksOffset})
        if (off) starts.insert(off);
    auto part = [&](uint32_t off) -> Bytes {
        if (off == 0 || off >= file.size()) return {};
        auto next = starts.upper_bound(off);
        uint64_t end = next == starts.end() ? file.size() : *next;
        return file.subClamped(off, end - off);
    };
    tr.context = part(tr.contextOffset);
    if (tr.exceptionOffset) {
        Bytes ex = part(tr.exceptionOffset);
        if (ex.size() >= (is64 ? 0x20u : 0x14u)) tr.exception = readException(ex, is64);
        else addWarning(warnings, fmt::format("small dump: exception record at {:#x} is cut", tr.exceptionOffset));
    }
    tr.prcb = part(tr.prcbOffset);
    tr.process = part(tr.processOffset);
    tr.thread = part(tr.threadOffset);
    if (tr.mmOffset) {
        // DUMP_MM_STORAGE: u32 Version, u32 Size, ...
        Bytes mm = part(tr.mmOffset);
        uint32_t size = mm.getOr<uint32_t>(4, 0);
        tr.mm = size >= 8 ? mm.subClamped(0, size) : mm;
    }

    // Call stack: SizeOfCallStack bytes saved from TopOfStack (the stack
    // pointer) upwards.
    if (tr.callStackOffset && tr.sizeOfCallStack) {
        if (auto s = file.sub(tr.callStackOffset, tr.sizeOfCallStack)) {
            tr.callStack = *s;
            tr.blocks.push_back({narrow(tr.topOfStack, is64), *s, "call stack"});
        } else {
            addWarning(warnings, fmt::format("small dump: call stack at {:#x} ({:#x} bytes) is outside the file",
                                             tr.callStackOffset, tr.sizeOfCallStack));
        }
    }
    if (tr.dataPageOffset && tr.dataPageSize) {
        if (auto s = file.sub(tr.dataPageOffset, tr.dataPageSize))
            tr.blocks.push_back({narrow(tr.dataPageAddress, is64), *s, "data page"});
        else addWarning(warnings, fmt::format("small dump: data page at {:#x} is outside the file", tr.dataPageOffset));
    }

    // Driver list + string pool.
    const DriverLayout& dl = is64 ? kDriver64 : kDriver32;
    if (tr.driverCount) {
        uint64_t fit = tr.driverListOffset < file.size() ? (file.size() - tr.driverListOffset) / dl.entrySize : 0;
        uint64_t n = std::min<uint64_t>(tr.driverCount, fit);
        if (n < tr.driverCount)
            addWarning(warnings, fmt::format("small dump: driver list holds {} of {} entries inside the file", n,
                                             tr.driverCount));
        tr.drivers.reserve(static_cast<size_t>(n));
        Bytes pool = file.subClamped(tr.stringPoolOffset, tr.stringPoolSize);
        for (uint64_t i = 0; i < n; ++i) {
            Bytes e = file.subClamped(tr.driverListOffset + i * dl.entrySize, dl.entrySize);
            TriageDriver d;
            d.base = is64 ? e.getOr<uint64_t>(dl.dllBase, 0) : e.getOr<uint32_t>(dl.dllBase, 0);
            d.size = e.getOr<uint32_t>(dl.sizeOfImage, 0);
            d.flags = e.getOr<uint32_t>(dl.flags, 0);
            d.checksum = e.getOr<uint32_t>(dl.checkSum, 0);
            d.timestamp = e.getOr<uint32_t>(dl.timeDateStamp, 0);
            // Pool strings: u32 length in WCHARs, the UTF-16LE text, a NUL;
            // each entry 8-byte aligned. verified: the walk by these rules
            // ends exactly at the pool end on all four files.
            uint32_t nameOff = e.getOr<uint32_t>(0, 0);
            uint64_t inPool = nameOff - static_cast<uint64_t>(tr.stringPoolOffset);
            auto chars = nameOff >= tr.stringPoolOffset ? pool.get<uint32_t>(inPool) : std::nullopt;
            if (!chars || *chars > kMaxNameChars || !pool.contains(inPool + 4, uint64_t{*chars} * 2)) {
                addWarning(warnings, fmt::format("driver {}: name offset {:#x} outside the string pool", i, nameOff));
            } else {
                d.path = utf16ToUtf8(pool.data() + inPool + 4, *chars);
                d.name = baseName(d.path);
            }
            tr.drivers.push_back(std::move(d));
        }
    }

    // Unloaded drivers.
    if (tr.unloadedDriversOffset) {
        const UnloadedLayout& ul = is64 ? kUnloaded64 : kUnloaded32;
        auto count = file.get<uint32_t>(tr.unloadedDriversOffset);
        uint64_t first = uint64_t{tr.unloadedDriversOffset} + ul.first;
        uint64_t fit = first < file.size() ? (file.size() - first) / ul.entrySize : 0;
        uint64_t n = count ? std::min<uint64_t>(*count, fit) : 0;
        if (!count || n < *count)
            addWarning(warnings, fmt::format("small dump: unloaded driver list at {:#x} is cut",
                                             tr.unloadedDriversOffset));
        for (uint64_t i = 0; i < n; ++i) {
            Bytes e = file.subClamped(first + i * ul.entrySize, ul.entrySize);
            TriageUnloadedDriver u;
            uint32_t chars = std::min<uint32_t>(e.getOr<uint16_t>(0, 0) / 2, kUnloadedNameChars);
            Bytes name = e.subClamped(ul.name, uint64_t{chars} * 2);
            uint64_t len = 0;
            while (len < name.size() / 2 && name.getOr<uint16_t>(len * 2, 0) != 0) ++len;
            u.name = utf16ToUtf8(name.data(), len);
            u.start = is64 ? e.getOr<uint64_t>(ul.start, 0) : e.getOr<uint32_t>(ul.start, 0);
            u.end = is64 ? e.getOr<uint64_t>(ul.end, 0) : e.getOr<uint32_t>(ul.end, 0);
            tr.unloadedDrivers.push_back(std::move(u));
        }
    }

    // Data blocks.
    if (tr.dataBlocksCount) {
        uint64_t fit =
            tr.dataBlocksOffset < file.size() ? (file.size() - tr.dataBlocksOffset) / kDataBlockSize : 0;
        uint64_t n = std::min<uint64_t>(tr.dataBlocksCount, fit);
        if (n < tr.dataBlocksCount)
            addWarning(warnings, fmt::format("small dump: data block table holds {} of {} entries inside the file",
                                             n, tr.dataBlocksCount));
        tr.blocks.reserve(tr.blocks.size() + static_cast<size_t>(n) + 1);
        uint64_t bad = 0;
        for (uint64_t i = 0; i < n; ++i) {
            uint64_t e = tr.dataBlocksOffset + i * kDataBlockSize;
            uint64_t va = file.getOr<uint64_t>(e, 0);
            uint32_t off = file.getOr<uint32_t>(e + 8, 0), size = file.getOr<uint32_t>(e + 12, 0);
            auto bytes = file.sub(off, size);
            if (!bytes || size == 0) {
                ++bad;
                continue;
            }
            tr.blocks.push_back({narrow(va, is64), *bytes, "data block"});
        }
        if (bad) addWarning(warnings, fmt::format("small dump: {} data blocks lie outside the file", bad));
    }

    // KDDEBUGGER_DATA64 copy, clear text (tag "KDBG" at +0x10). verified:
    // at DebuggerDataOffset on all four files (sizes 0x380 and 0x368).
    auto hasTag = [&](uint64_t off) { return file.getOr<uint32_t>(off + 0x10, 0) == 0x4742444b; };
    uint64_t kdbgOff = tr.debuggerDataOffset, kdbgSize = tr.debuggerDataSize;
    if (!kdbgOff || !hasTag(kdbgOff)) {
        // Fall back to the first tagged block in the file, sized by its header.
        kdbgOff = 0;
        const uint8_t* p = file.data();
        uint64_t left = file.size();
        while (left >= 4) {
            const void* hit = memmem(p, static_cast<size_t>(left), "KDBG", 4);
            if (!hit) break;
            uint64_t at = static_cast<const uint8_t*>(hit) - file.data();
            if (at >= 0x10 && at % 4 == 0) {
                kdbgOff = at - 0x10;
                kdbgSize = file.getOr<uint32_t>(at + 4, 0);
                break;
            }
            p = static_cast<const uint8_t*>(hit) + 1;
            left = file.size() - (p - file.data());
        }
        if (kdbgOff)
            addWarning(warnings, fmt::format("small dump: KDDEBUGGER_DATA64 copy found by its tag at {:#x}", kdbgOff));
    }
    if (kdbgOff) {
        tr.debuggerData = file.subClamped(kdbgOff, kdbgSize);
        if (h.kdDebuggerDataBlock && !tr.debuggerData.empty())
            tr.blocks.push_back({narrow(h.kdDebuggerDataBlock, is64), tr.debuggerData, "debugger data"});
    } else {
        addWarning(warnings, "small dump: no KDDEBUGGER_DATA64 copy");
    }
    return tr;
}

}  // namespace nt::kdump
