#include "dump/kernel/kernel_dump_file.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"
#include "dump/kernel/bitmap_memory.h"
#include "dump/kernel/kernel_dump_format.h"
#include "dump/kernel/run_memory.h"
#include "dump/kernel/triage_reader.h"

namespace nt::kdump {

std::string_view dumpTypeName(uint32_t type) {
    switch (type) {
        case kFull: return "Full";
        case kSummary: return "Summary";
        case kHeaderOnly: return "HeaderOnly";
        case kTriage: return "Triage";
        case kBitmapFull: return "BitmapFull";
        case kBitmapKernel: return "BitmapKernel";
        case kAutomatic: return "Automatic";
        case kKernelMemory: return "KernelMemory";
        case kKernelAndUserMemory: return "KernelAndUserMemory";
        case kCompleteMemory: return "CompleteMemory";
        default: return "Unknown";
    }
}

namespace {

constexpr uint64_t kPage = PhysicalMemory::kPageSize;

// A "PAGE" fill marks fields the writer left unset (all corpus small dumps
// have PAGEPAGE... in VersionUser and Comment).
std::string headerString(Bytes b, uint64_t off, uint64_t len) {
    std::string s(b.cstring(off, len));
    if (s.rfind("PAGE", 0) == 0 && s.find_first_not_of("PAGE") == std::string::npos) return {};
    return s;
}

class Parser : public KernelDumpFile {
public:
    explicit Parser(Bytes file) { file_ = file; }

    void run() {
        parseHeader();
        Header& h = header_;
        switch (h.dumpType) {
            case kFull: buildRuns(); break;
            case kSummary:
            case kBitmapFull:
            case kBitmapKernel: buildBitmap(); break;
            case kKernelMemory:
            case kKernelAndUserMemory:
            case kCompleteMemory: buildRdmp(); break;
            case kTriage: triage_ = readTriage(file_, h, warnings_); break;
            case kHeaderOnly: break;
            case kAutomatic:
                // Ghidra names 7 "automatic"; real automatic dumps arrive as
                // type 6. Read the bitmap when there is one.
                if (hasBitmapSignature()) {
                    buildBitmap();
                    break;
                }
                [[fallthrough]];
            default:
                addWarning(warnings_, fmt::format("DumpType {:#x} ({}) is not supported: header only", h.dumpType,
                                                  dumpTypeName(h.dumpType)));
        }
        if (triage_ && triage_->sizeOfDump > file_.size()) truncated_ = true;
    }

private:
    void parseHeader() {
        Bytes f = file_;
        uint32_t sig = f.getOr<uint32_t>(0, 0), valid = f.getOr<uint32_t>(4, 0);
        if (sig != layout::kSignature || (valid != layout::kValidDump32 && valid != layout::kValidDump64))
            throw FormatError("not a Windows kernel dump (no PAGEDUMP/PAGEDU64 signature)");
        Header& h = header_;
        h.is64 = valid == layout::kValidDump64;
        h.headerSize = h.is64 ? layout::h64::kSize : layout::h32::kSize;
        if (f.size() < h.headerSize)
            throw FormatError(fmt::format("kernel dump header is cut: file is {:#x} bytes, the {} header needs {:#x}",
                                          f.size(), h.is64 ? "PAGEDU64" : "PAGEDUMP", h.headerSize));
        auto u32 = [&](uint32_t off) { return f.getOr<uint32_t>(off, 0); };
        auto u64 = [&](uint32_t off) { return f.getOr<uint64_t>(off, 0); };
        h.majorVersion = u32(8);
        h.minorVersion = u32(0xc);
        if (h.is64) {
            namespace L = layout::h64;
            h.directoryTableBase = u64(L::kDirectoryTableBase);
            h.pfnDataBase = u64(L::kPfnDataBase);
            h.psLoadedModuleList = u64(L::kPsLoadedModuleList);
            h.psActiveProcessHead = u64(L::kPsActiveProcessHead);
            h.machineImageType = u32(L::kMachineImageType);
            h.numberProcessors = u32(L::kNumberProcessors);
            h.bugCheckCode = u32(L::kBugCheckCode);
            for (int i = 0; i < 4; ++i) h.bugCheckParameters[i] = u64(L::kBugCheckParameters + 8 * i);
            h.versionUser = headerString(f, L::kVersionUser, 32);
            h.kdDebuggerDataBlock = u64(L::kKdDebuggerDataBlock);
            h.contextRecord = f.subClamped(L::kContextRecord, L::kContextSize);
            h.exception = readExceptionRecord(f.subClamped(L::kException, 0x98), true);
            h.dumpType = u32(L::kDumpType);
            h.requiredDumpSpace = u64(L::kRequiredDumpSpace);
            h.systemTime = u64(L::kSystemTime);
            h.comment = headerString(f, L::kComment, 128);
            h.systemUpTime = u64(L::kSystemUpTime);
            h.miniDumpFields = u32(L::kMiniDumpFields);
            h.secondaryDataState = u32(L::kSecondaryDataState);
            h.productType = u32(L::kProductType);
            h.suiteMask = u32(L::kSuiteMask);
            h.writerStatus = u32(L::kWriterStatus);
            h.kdSecondaryVersion = f.getOr<uint8_t>(L::kKdSecondaryVersion, 0);
        } else {
            namespace L = layout::h32;
            h.directoryTableBase = u32(L::kDirectoryTableBase);
            h.pfnDataBase = u32(L::kPfnDataBase);
            h.psLoadedModuleList = u32(L::kPsLoadedModuleList);
            h.psActiveProcessHead = u32(L::kPsActiveProcessHead);
            h.machineImageType = u32(L::kMachineImageType);
            h.numberProcessors = u32(L::kNumberProcessors);
            h.bugCheckCode = u32(L::kBugCheckCode);
            for (int i = 0; i < 4; ++i) h.bugCheckParameters[i] = u32(L::kBugCheckParameters + 4 * i);
            h.versionUser = headerString(f, L::kVersionUser, 32);
            h.paeEnabled = f.getOr<uint8_t>(L::kPaeEnabled, 0) == 1;
            h.kdSecondaryVersion = f.getOr<uint8_t>(L::kKdSecondaryVersion, 0);
            h.kdDebuggerDataBlock = u32(L::kKdDebuggerDataBlock);
            h.contextRecord = f.subClamped(L::kContextRecord, L::kContextSize);
            h.exception = readExceptionRecord(f.subClamped(L::kException, 0x50), false);
            h.comment = headerString(f, L::kComment, 128);
            h.dumpType = u32(L::kDumpType);
            h.miniDumpFields = u32(L::kMiniDumpFields);
            h.secondaryDataState = u32(L::kSecondaryDataState);
            h.productType = u32(L::kProductType);
            h.suiteMask = u32(L::kSuiteMask);
            h.writerStatus = u32(L::kWriterStatus);
            h.requiredDumpSpace = u64(L::kRequiredDumpSpace);
            h.systemUpTime = u64(L::kSystemUpTime);
            h.systemTime = u64(L::kSystemTime);
        }
        h.machine = machineFromImageType(h.machineImageType);
        if (h.machine == Machine::Unknown)
            addWarning(warnings_, fmt::format("unknown MachineImageType {:#x}", h.machineImageType));
        else if (is64(h.machine) != h.is64)
            addWarning(warnings_, fmt::format("MachineImageType {:#x} does not match the {} header",
                                              h.machineImageType, h.is64 ? "64-bit" : "32-bit"));
    }

    // Common end of every page-holding dump type: note a cut file.
    void noteMissing(uint64_t missing) {
        if (missing == 0) return;
        truncated_ = true;
        addWarning(warnings_, fmt::format("dump file is cut: {:#x} of its pages lie past the end of the file "
                                          "({:#x} bytes, RequiredDumpSpace {:#x})",
                                          missing, file_.size(), header_.requiredDumpSpace));
    }

    // Full dump: PHYSICAL_MEMORY_DESCRIPTOR in the header, pages right after it.
    void buildRuns() {
        Header& h = header_;
        uint32_t descOff = h.is64 ? layout::h64::kPhysicalMemoryBlock : layout::h32::kPhysicalMemoryBlock;
        uint32_t runsOff = h.is64 ? layout::h64::kRuns : layout::h32::kRuns;
        uint32_t runSize = h.is64 ? 16 : 8;
        uint32_t descEnd = h.is64 ? layout::h64::kContextRecord : layout::h32::kContextRecord;
        uint32_t n = file_.getOr<uint32_t>(descOff, 0);
        if (n == layout::kSignature)
            throw FormatError("full dump without a physical memory descriptor (PhysicalMemoryBlock is unset)");
        // The descriptor lives in the header's fixed buffer (700 bytes before the context record).
        uint32_t maxRuns = (descEnd - runsOff) / runSize;
        if (n > maxRuns)
            throw FormatError(fmt::format("full dump: NumberOfRuns {} exceeds the {} runs the header can hold", n,
                                          maxRuns));
        h.physicalPages = h.is64 ? file_.getOr<uint64_t>(descOff + 8, 0) : file_.getOr<uint32_t>(descOff + 4, 0);
        std::vector<RunMemory::Run> runs;
        uint64_t offset = h.headerSize;
        h.firstPageOffset = offset;
        for (uint32_t i = 0; i < n; ++i) {
            uint64_t at = runsOff + uint64_t{i} * runSize;
            Header::Run r;
            r.basePage = h.is64 ? file_.getOr<uint64_t>(at, 0) : file_.getOr<uint32_t>(at, 0);
            r.pageCount = h.is64 ? file_.getOr<uint64_t>(at + 8, 0) : file_.getOr<uint32_t>(at + 4, 0);
            if (r.pageCount > (UINT64_MAX - offset) / kPage)
                throw FormatError(fmt::format("full dump: run {} ({:#x} pages) overflows the file offsets", i,
                                              r.pageCount));
            h.physicalRuns.push_back(r);
            runs.push_back({r.basePage, r.pageCount, offset});
            offset += r.pageCount * kPage;
        }
        auto mem = std::make_unique<RunMemory>(file_, std::move(runs));
        uint64_t described = mem->presentPages() + mem->missingPages();
        if (described != h.physicalPages)
            addWarning(warnings_, fmt::format("full dump: runs hold {:#x} pages, NumberOfPages says {:#x}", described,
                                              h.physicalPages));
        noteMissing(mem->missingPages());
        physical_ = std::move(mem);
    }

    bool hasBitmapSignature() const {
        uint32_t sig = file_.getOr<uint32_t>(header_.headerSize, 0);
        return sig == layout::bmp::kSignatureSummary || sig == layout::bmp::kSignatureFull;
    }

    void buildBitmap() {
        Header& h = header_;
        uint64_t base = h.headerSize;
        auto hdr = file_.sub(base, layout::bmp::kBitmap);
        if (!hdr)
            throw FormatError(fmt::format("{} dump: the bitmap header at {:#x} is cut", dumpTypeName(h.dumpType), base));
        uint32_t sig = hdr->getOr<uint32_t>(0, 0), valid = hdr->getOr<uint32_t>(4, 0);
        if ((sig != layout::bmp::kSignatureSummary && sig != layout::bmp::kSignatureFull) ||
            valid != layout::kValidDump32)
            throw FormatError(fmt::format("{} dump: no SDMP/FDMP bitmap header at {:#x}", dumpTypeName(h.dumpType),
                                          base));
        uint64_t firstPage = hdr->getOr<uint64_t>(layout::bmp::kFirstPage, 0);
        uint64_t present = hdr->getOr<uint64_t>(layout::bmp::kTotalPresentPages, 0);
        uint64_t bits = hdr->getOr<uint64_t>(layout::bmp::kPages, 0);
        // The bitmap must be in the file: this also bounds the rank index.
        uint64_t bitmapOff = base + layout::bmp::kBitmap;
        uint64_t bitmapBytes = bits / 8 + (bits % 8 ? 1 : 0);
        auto bitmap = file_.sub(bitmapOff, bitmapBytes);
        if (!bitmap)
            throw FormatError(fmt::format("{} dump: a bitmap of {:#x} pages needs {:#x} bytes at {:#x}; the file has "
                                          "{:#x}",
                                          dumpTypeName(h.dumpType), bits, bitmapBytes, bitmapOff, file_.size()));
        if (firstPage < bitmapOff + bitmapBytes)
            throw FormatError(fmt::format("{} dump: FirstPage {:#x} points inside the bitmap header",
                                          dumpTypeName(h.dumpType), firstPage));
        h.firstPageOffset = firstPage;
        auto mem = std::make_unique<BitmapMemory>(file_, *bitmap, bits, firstPage);
        if (mem->setBits() != present)
            addWarning(warnings_, fmt::format("bitmap holds {:#x} pages, TotalPresentPages says {:#x}",
                                              mem->setBits(), present));
        noteMissing(mem->setBits() - mem->presentPages());
        physical_ = std::move(mem);
    }

    void buildRdmp() {
        Header& h = header_;
        if (!h.is64) {
            addWarning(warnings_, fmt::format("{} dump with a 32-bit header is not supported: header only",
                                              dumpTypeName(h.dumpType)));
            return;
        }
        uint64_t base = h.headerSize;
        auto hdr = file_.sub(base, layout::rdmp::kRanges);
        if (!hdr)
            throw FormatError(fmt::format("{} dump: the RDMP header at {:#x} is cut", dumpTypeName(h.dumpType), base));
        if (hdr->getOr<uint32_t>(0, 0) != layout::rdmp::kMarker ||
            hdr->getOr<uint32_t>(4, 0) != layout::rdmp::kSignature ||
            hdr->getOr<uint32_t>(8, 0) != layout::kValidDump32)
            throw FormatError(fmt::format("{} dump: no RDMP header at {:#x}", dumpTypeName(h.dumpType), base));
        uint64_t metadataSize = hdr->getOr<uint64_t>(layout::rdmp::kMetadataSize, 0);
        uint64_t firstPage = hdr->getOr<uint64_t>(layout::rdmp::kFirstPageOffset, 0);
        uint64_t rangesOff = base + layout::rdmp::kRanges;
        if (firstPage < rangesOff)
            throw FormatError(fmt::format("{} dump: FirstPageOffset {:#x} points inside the RDMP header",
                                          dumpTypeName(h.dumpType), firstPage));
        // The ranges run from the end of the RDMP header to the first page;
        // both the metadata size and the file bound how many there can be.
        uint64_t end = std::min(firstPage, file_.size());
        if (metadataSize >= 0x20 && metadataSize - 0x20 < end - base) end = std::min(end, base + 0x20 + metadataSize);
        uint64_t totalPages = h.dumpType == kCompleteMemory ? hdr->getOr<uint64_t>(layout::rdmp::kTotalNumberOfPages, 0)
                                                            : UINT64_MAX;
        h.firstPageOffset = firstPage;
        std::vector<RunMemory::Run> runs;
        uint64_t offset = firstPage, pages = 0;
        for (uint64_t at = rangesOff; at + 16 <= end && pages < totalPages; at += 16) {
            uint64_t pfn = file_.getOr<uint64_t>(at, 0), count = file_.getOr<uint64_t>(at + 8, 0);
            if (pfn == 0) break;  // a zero pfn ends the list (kdmp-parser)
            if (count > (UINT64_MAX - offset) / kPage)
                throw FormatError(fmt::format("{} dump: range at pfn {:#x} ({:#x} pages) overflows the file offsets",
                                              dumpTypeName(h.dumpType), pfn, count));
            h.physicalRuns.push_back({pfn, count});
            runs.push_back({pfn, count, offset});
            offset += count * kPage;
            pages += count;
        }
        h.physicalPages = pages;
        auto mem = std::make_unique<RunMemory>(file_, std::move(runs));
        noteMissing(mem->missingPages());
        physical_ = std::move(mem);
    }
};

}  // namespace

std::unique_ptr<KernelDumpFile> KernelDumpFile::parse(Bytes file) {
    auto p = std::make_unique<Parser>(file);
    p->run();
    return p;
}

}  // namespace nt::kdump
