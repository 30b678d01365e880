#include "support/kdump_builder/dump_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace nt::test::kdump {

namespace {

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

template <class T>
void put(std::vector<uint8_t>& b, uint64_t off, T v) {
    if (off + sizeof(T) > b.size()) b.resize(off + sizeof(T));
    std::memcpy(b.data() + off, &v, sizeof(T));
}

void putBytes(std::vector<uint8_t>& b, uint64_t off, const void* p, size_t n) {
    if (off + n > b.size()) b.resize(off + n);
    if (n) std::memcpy(b.data() + off, p, n);
}

void putText(std::vector<uint8_t>& b, uint64_t off, std::string_view s, size_t field) {
    std::vector<uint8_t> z(field, 0);
    std::memcpy(z.data(), s.data(), std::min(s.size(), field - 1));
    putBytes(b, off, z.data(), field);
}

std::u16string toUtf16(std::string_view s) {
    // Names here are ASCII paths; anything else becomes '?'.
    std::u16string w;
    for (char c : s) w.push_back(static_cast<uint8_t>(c) < 0x80 ? char16_t(c) : u'?');
    return w;
}

constexpr uint32_t tag(const char (&s)[5]) {
    return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
           uint32_t(uint8_t(s[3])) << 24;
}

}  // namespace

std::vector<PfnRun> runsOf(const std::vector<uint64_t>& pfns) {
    std::vector<PfnRun> out;
    for (uint64_t pfn : pfns) {
        if (!out.empty() && out.back().basePage + out.back().pageCount == pfn) ++out.back().pageCount;
        else out.push_back({pfn, 1});
    }
    return out;
}

// Destination of the bytes: a vector or a (sparse) file.
class DumpWriter::Sink {
public:
    virtual ~Sink() = default;
    virtual void write(uint64_t off, const uint8_t* p, size_t n) = 0;
    virtual void finish(uint64_t size) = 0;
    void write(uint64_t off, const std::vector<uint8_t>& b) { write(off, b.data(), b.size()); }
};

std::vector<uint64_t> DumpWriter::storedPfns() const {
    std::vector<uint64_t> pfns = phys_.presentPfns();
    if (filter_) pfns.erase(std::remove_if(pfns.begin(), pfns.end(), [&](uint64_t p) { return !filter_(p); }), pfns.end());
    return pfns;
}

void DumpWriter::emitPages(Sink& out, uint64_t offset, const std::vector<uint64_t>& pfns) const {
    layout_.firstPageOffset = offset;
    layout_.pagePfns = pfns;
    for (size_t i = 0; i < pfns.size(); ++i) {
        uint64_t at = offset + i * kPageSize;
        uint64_t pfn = pfns[i];
        if (!phys_.hasStoredPage(pfn)) {
            // A synthetic page: only the stamp, the zeros stay holes of a sparse file.
            if (pfn % kStampEvery == 0) out.write(at, reinterpret_cast<const uint8_t*>(&pfn), sizeof pfn);
            continue;
        }
        out.write(at, phys_.page(pfn).data(), kPageSize);
    }
}

std::vector<uint8_t> DumpWriter::headerBytes(uint32_t dumpType, const std::vector<PfnRun>& runs) const {
    const HeaderInfo& h = header_;
    std::vector<uint8_t> b(headerSize());
    for (size_t i = 0; i + 4 <= b.size(); i += 4) std::memcpy(b.data() + i, "PAGE", 4);
    std::memcpy(b.data() + 4, h.is64 ? "DU64" : "DUMP", 4);
    put<uint32_t>(b, 0x8, h.majorVersion);
    put<uint32_t>(b, 0xC, h.minorVersion);
    uint32_t machine = h.machineImageType ? h.machineImageType : (h.is64 ? 0x8664 : 0x14c);
    uint32_t miniDumpFields = h.miniDumpFields ? *h.miniDumpFields : (dumpType == 4 ? 0xcffu : 0);
    bool writeFields = h.miniDumpFields.has_value() || dumpType == 4;
    std::vector<uint8_t> ctx = h.context;
    if (h.is64) {
        put<uint64_t>(b, 0x10, h.directoryTableBase);
        put<uint64_t>(b, 0x18, h.pfnDataBase);
        put<uint64_t>(b, 0x20, h.psLoadedModuleList);
        put<uint64_t>(b, 0x28, h.psActiveProcessHead);
        put<uint32_t>(b, 0x30, machine);
        put<uint32_t>(b, 0x34, h.numberProcessors);
        put<uint32_t>(b, 0x38, h.bugCheckCode);
        put<uint32_t>(b, 0x3C, 0);
        for (int i = 0; i < 4; ++i) put<uint64_t>(b, 0x40 + 8 * i, h.bugCheckParameters[i]);
        if (!h.versionUser.empty()) putText(b, 0x60, h.versionUser, 32);
        put<uint64_t>(b, 0x80, h.kdDebuggerDataBlock);
        if (!runs.empty() && runs.size() <= 42) {
            uint64_t pages = 0;
            for (auto& r : runs) pages += r.pageCount;
            put<uint32_t>(b, 0x88, static_cast<uint32_t>(runs.size()));
            put<uint32_t>(b, 0x8C, 0);
            put<uint64_t>(b, 0x90, pages);
            for (size_t i = 0; i < runs.size(); ++i) {
                put<uint64_t>(b, 0x98 + 16 * i, runs[i].basePage);
                put<uint64_t>(b, 0xA0 + 16 * i, runs[i].pageCount);
            }
        }
        if (ctx.size() > 3000) ctx.resize(3000);
        putBytes(b, 0x348, ctx.data(), ctx.size());
        std::vector<uint8_t> ex(0x98, 0);
        if (h.exception) {
            put<uint32_t>(ex, 0, h.exception->code);
            put<uint32_t>(ex, 4, h.exception->flags);
            put<uint64_t>(ex, 8, h.exception->record);
            put<uint64_t>(ex, 0x10, h.exception->address);
            size_t n = std::min<size_t>(h.exception->parameters.size(), 15);
            put<uint32_t>(ex, 0x18, static_cast<uint32_t>(n));
            for (size_t i = 0; i < n; ++i) put<uint64_t>(ex, 0x20 + 8 * i, h.exception->parameters[i]);
        }
        putBytes(b, 0xF00, ex.data(), ex.size());
        put<uint32_t>(b, 0xF98, dumpType);
        put<uint32_t>(b, 0xF9C, 0);
        // RequiredDumpSpace (0xFA0) is set by emit() once the size is known.
        put<uint64_t>(b, 0xFA8, h.systemTime);
        if (!h.comment.empty()) putText(b, 0xFB0, h.comment, 128);
        put<uint64_t>(b, 0x1030, h.systemUpTime);
        if (writeFields) put<uint32_t>(b, 0x1038, miniDumpFields);
        put<uint32_t>(b, 0x103C, h.secondaryDataState);
        put<uint32_t>(b, 0x1040, h.productType);
        put<uint32_t>(b, 0x1044, h.suiteMask);
        put<uint32_t>(b, 0x1048, h.writerStatus);
        put<uint8_t>(b, 0x104C, 0);
        put<uint8_t>(b, 0x104D, h.kdSecondaryVersion);
        put<uint16_t>(b, 0x104E, 0);
    } else {
        put<uint32_t>(b, 0x10, static_cast<uint32_t>(h.directoryTableBase));
        put<uint32_t>(b, 0x14, static_cast<uint32_t>(h.pfnDataBase));
        put<uint32_t>(b, 0x18, static_cast<uint32_t>(h.psLoadedModuleList));
        put<uint32_t>(b, 0x1C, static_cast<uint32_t>(h.psActiveProcessHead));
        put<uint32_t>(b, 0x20, machine);
        put<uint32_t>(b, 0x24, h.numberProcessors);
        put<uint32_t>(b, 0x28, h.bugCheckCode);
        for (int i = 0; i < 4; ++i) put<uint32_t>(b, 0x2C + 4 * i, static_cast<uint32_t>(h.bugCheckParameters[i]));
        if (!h.versionUser.empty()) putText(b, 0x3C, h.versionUser, 32);
        put<uint8_t>(b, 0x5C, h.paeEnabled ? 1 : 0);
        put<uint8_t>(b, 0x5D, h.kdSecondaryVersion);
        put<uint16_t>(b, 0x5E, 0);
        put<uint32_t>(b, 0x60, static_cast<uint32_t>(h.kdDebuggerDataBlock));
        if (!runs.empty() && runs.size() <= 86) {
            uint64_t pages = 0;
            for (auto& r : runs) pages += r.pageCount;
            put<uint32_t>(b, 0x64, static_cast<uint32_t>(runs.size()));
            put<uint32_t>(b, 0x68, static_cast<uint32_t>(pages));
            for (size_t i = 0; i < runs.size(); ++i) {
                put<uint32_t>(b, 0x6C + 8 * i, static_cast<uint32_t>(runs[i].basePage));
                put<uint32_t>(b, 0x70 + 8 * i, static_cast<uint32_t>(runs[i].pageCount));
            }
        }
        if (ctx.size() > 1200) ctx.resize(1200);
        putBytes(b, 0x320, ctx.data(), ctx.size());
        std::vector<uint8_t> ex(0x50, 0);
        if (h.exception) {
            put<uint32_t>(ex, 0, h.exception->code);
            put<uint32_t>(ex, 4, h.exception->flags);
            put<uint32_t>(ex, 8, static_cast<uint32_t>(h.exception->record));
            put<uint32_t>(ex, 0xC, static_cast<uint32_t>(h.exception->address));
            size_t n = std::min<size_t>(h.exception->parameters.size(), 15);
            put<uint32_t>(ex, 0x10, static_cast<uint32_t>(n));
            for (size_t i = 0; i < n; ++i) put<uint32_t>(ex, 0x14 + 4 * i, static_cast<uint32_t>(h.exception->parameters[i]));
        }
        putBytes(b, 0x7D0, ex.data(), ex.size());
        if (!h.comment.empty()) putText(b, 0x820, h.comment, 128);
        put<uint32_t>(b, 0xF88, dumpType);
        if (writeFields) put<uint32_t>(b, 0xF8C, miniDumpFields);
        put<uint32_t>(b, 0xF90, h.secondaryDataState);
        put<uint32_t>(b, 0xF94, h.productType);
        put<uint32_t>(b, 0xF98, h.suiteMask);
        put<uint32_t>(b, 0xF9C, h.writerStatus);
        put<uint64_t>(b, 0xFB8, h.systemUpTime);
        put<uint64_t>(b, 0xFC0, h.systemTime);
    }
    return b;
}

void DumpWriter::emitTriage(Sink& out) const {
    if (!triage_) throw std::logic_error("DumpWriter: a triage dump needs setTriage()");
    const TriageInfo& t = *triage_;
    const bool w64 = header_.is64;
    const uint64_t base = headerSize();
    std::vector<uint8_t> f;  // everything from `base` on, offsets relative to the file
    auto at = [&](uint64_t fileOff) { return fileOff - base; };
    uint64_t cur = base + (w64 ? 0x80 : 0x68);
    auto take = [&](uint64_t size, uint64_t align = 8) {
        cur = alignUp(cur, align);
        uint64_t o = cur;
        cur += size;
        return o;
    };
    auto tput32 = [&](uint64_t fieldOff, uint64_t v) { put<uint32_t>(f, fieldOff, static_cast<uint32_t>(v)); };
    f.resize(w64 ? 0x80 : 0x68);
    Layout& L = layout_;
    L.triageOffset = base;

    tput32(0x00, t.servicePackBuild);
    tput32(0x0C, w64 ? 0x348 : 0x320);  // ContextOffset: the header's ContextRecord
    tput32(0x10, w64 ? 0xF00 : 0x7D0);  // ExceptionOffset: the header's Exception
    tput32(0x44, 0xFFFFFFFFu);           // TriageOptions

    if (t.mmInfo) {
        uint64_t size = w64 ? 0x50 : 0x34;
        uint64_t o = take(size);
        std::vector<uint8_t> mm(size, 0);
        put<uint32_t>(mm, 0, 1);  // Version
        put<uint32_t>(mm, 4, static_cast<uint32_t>(size));
        putBytes(f, at(o), mm.data(), mm.size());
        tput32(0x14, o);
        L.mmOffset = o;
    }
    {
        uint64_t entry = w64 ? 0x38 : 0x28;
        uint64_t head = w64 ? 8 : 4;
        uint64_t o = take(head + entry * t.unloadedDrivers.size());
        if (w64) put<uint64_t>(f, at(o), t.unloadedDrivers.size());
        else put<uint32_t>(f, at(o), static_cast<uint32_t>(t.unloadedDrivers.size()));
        for (size_t i = 0; i < t.unloadedDrivers.size(); ++i) {
            const auto& u = t.unloadedDrivers[i];
            uint64_t e = at(o + head + entry * i);
            std::u16string w = toUtf16(u.name);
            if (w.size() > 12) w.resize(12);
            uint16_t len = static_cast<uint16_t>(w.size() * 2);
            put<uint16_t>(f, e, len);
            put<uint16_t>(f, e + 2, len);
            uint64_t nameAt = e + (w64 ? 0x10 : 0x8);
            std::vector<uint8_t> chars(24, 0);
            for (size_t k = 0; k < w.size(); ++k) put<uint16_t>(chars, 2 * k, static_cast<uint16_t>(w[k]));
            putBytes(f, nameAt, chars.data(), chars.size());
            if (w64) {
                put<uint64_t>(f, e + 0x28, u.start);
                put<uint64_t>(f, e + 0x30, u.end);
            } else {
                put<uint32_t>(f, e + 0x20, static_cast<uint32_t>(u.start));
                put<uint32_t>(f, e + 0x24, static_cast<uint32_t>(u.end));
            }
        }
        tput32(0x18, o);
        L.unloadedDriversOffset = o;
    }
    auto blob = [&](const std::vector<uint8_t>& bytes, uint64_t field, uint64_t* layoutField) {
        if (bytes.empty()) return;
        uint64_t o = take(bytes.size());
        putBytes(f, at(o), bytes.data(), bytes.size());
        tput32(field, o);
        *layoutField = o;
    };
    blob(t.prcb, 0x1C, &L.prcbOffset);
    blob(t.process, 0x20, &L.processOffset);
    blob(t.thread, 0x24, &L.threadOffset);
    if (!t.callStack.empty()) {
        uint64_t o = take(t.callStack.size());
        putBytes(f, at(o), t.callStack.data(), t.callStack.size());
        tput32(0x28, o);
        tput32(0x2C, t.callStack.size());
        L.callStackOffset = o;
    }
    if (w64) put<uint64_t>(f, 0x48, t.topOfStack);
    else tput32(0x48, t.topOfStack);
    if (!t.debuggerData.empty()) {
        uint64_t o = take(t.debuggerData.size());
        putBytes(f, at(o), t.debuggerData.data(), t.debuggerData.size());
        tput32(w64 ? 0x70 : 0x58, o);
        tput32(w64 ? 0x74 : 0x5C, t.debuggerData.size());
        L.debuggerDataOffset = o;
    }
    // Driver list, then the string pool its entries point into.
    uint64_t entrySize = w64 ? 0x90 : 0x4C;
    uint64_t list = take(entrySize * t.drivers.size());
    uint64_t pool = alignUp(cur, 8);
    uint64_t p = pool;
    for (size_t i = 0; i < t.drivers.size(); ++i) {
        const auto& d = t.drivers[i];
        std::u16string w = toUtf16(d.name);
        put<uint32_t>(f, at(p), static_cast<uint32_t>(w.size()));
        for (size_t k = 0; k < w.size(); ++k) put<uint16_t>(f, at(p + 4 + 2 * k), static_cast<uint16_t>(w[k]));
        put<uint16_t>(f, at(p + 4 + 2 * w.size()), 0);
        uint64_t e = at(list + entrySize * i);
        put<uint32_t>(f, e, static_cast<uint32_t>(p));
        uint16_t len = static_cast<uint16_t>(w.size() * 2);
        if (w64) {
            put<uint32_t>(f, e + 4, 0);
            uint64_t l = e + 8;  // LdrEntry
            put<uint64_t>(f, l + 0x30, d.base);
            put<uint32_t>(f, l + 0x40, d.size);
            put<uint16_t>(f, l + 0x48, len);  // FullDllName (buffer not kept)
            put<uint16_t>(f, l + 0x4A, len);
            put<uint32_t>(f, l + 0x68, d.flags);
            put<uint32_t>(f, l + 0x78, d.checksum);
            put<uint32_t>(f, l + 0x80, d.timestamp);
            put<uint32_t>(f, l + 0x84, 0);
        } else {
            uint64_t l = e + 4;
            put<uint32_t>(f, l + 0x18, static_cast<uint32_t>(d.base));
            put<uint32_t>(f, l + 0x20, d.size);
            put<uint16_t>(f, l + 0x24, len);
            put<uint16_t>(f, l + 0x26, len);
            put<uint32_t>(f, l + 0x34, d.flags);
            put<uint32_t>(f, l + 0x40, d.checksum);
            put<uint32_t>(f, l + 0x44, d.timestamp);
        }
        p = alignUp(p + 4 + 2 * w.size() + 2, 8);
    }
    tput32(0x30, list);
    tput32(0x34, t.drivers.size());
    tput32(0x38, pool);
    tput32(0x3C, p - pool);
    L.driverListOffset = list;
    L.stringPoolOffset = pool;
    cur = p;
    if (t.dataPage) {
        uint64_t o = take(t.dataPage->bytes.size());
        putBytes(f, at(o), t.dataPage->bytes.data(), t.dataPage->bytes.size());
        if (w64) put<uint64_t>(f, 0x60, t.dataPage->address);
        else tput32(0x4C, t.dataPage->address);
        tput32(w64 ? 0x68 : 0x50, o);
        tput32(w64 ? 0x6C : 0x54, t.dataPage->bytes.size());
    }
    if (!t.dataBlocks.empty()) {
        // {u64 Address, u32 Offset, u32 Size} in both widths; 32-bit
        // addresses sign-extended (as in the RPi3 ARM small dump).
        uint64_t descSize = 0x10;
        uint64_t desc = take(descSize * t.dataBlocks.size());
        for (size_t i = 0; i < t.dataBlocks.size(); ++i) {
            const auto& blk = t.dataBlocks[i];
            uint64_t o = take(blk.bytes.size());
            putBytes(f, at(o), blk.bytes.data(), blk.bytes.size());
            uint64_t d = at(desc + descSize * i);
            uint64_t va = w64 ? blk.address : uint64_t(int64_t(int32_t(uint32_t(blk.address))));
            put<uint64_t>(f, d, va);
            put<uint32_t>(f, d + 8, static_cast<uint32_t>(o));
            put<uint32_t>(f, d + 12, static_cast<uint32_t>(blk.bytes.size()));
        }
        tput32(w64 ? 0x78 : 0x60, desc);
        tput32(w64 ? 0x7C : 0x64, t.dataBlocks.size());
        L.dataBlocksOffset = desc;
    }
    uint64_t valid = take(4, 4);
    put<uint32_t>(f, at(valid), tag("TRGD"));
    tput32(0x08, valid);
    tput32(0x04, valid + 4);  // SizeOfDump: as in the real files, up to the end of the marker
    L.validOffset = valid;
    out.write(base, f);
}

void DumpWriter::emit(Sink& out, uint32_t dumpType, const Corruption& damage) const {
    layout_ = Layout{};
    const uint64_t hs = headerSize();
    layout_.headerSize = hs;
    std::vector<uint64_t> pfns = storedPfns();
    std::vector<PfnRun> ramRuns = runsOf(phys_.presentPfns());
    uint64_t total = hs;
    uint64_t highest = pfns.empty() ? 0 : pfns.back();

    switch (dumpType) {
        case 1: {
            std::vector<PfnRun> runs = runsOf(pfns);
            if (damage.overclaimPages) runs.push_back({highest + 2, damage.overclaimPages});
            size_t maxRuns = header_.is64 ? 42 : 86;
            if (runs.size() > maxRuns) throw std::length_error("DumpWriter: too many runs for a full dump header");
            ramRuns = runs;
            emitPages(out, hs, pfns);
            total = hs + pfns.size() * kPageSize;
            break;
        }
        case 2:
        case 5:
        case 6: {
            uint64_t bits = std::max(phys_.spanPages(), highest + 1);
            std::vector<uint64_t> claimed = pfns;
            for (uint64_t i = 1; i <= damage.overclaimPages; ++i) claimed.push_back(highest + i);
            if (!claimed.empty()) bits = std::max(bits, claimed.back() + 1);
            std::vector<uint8_t> bitmap(alignUp((bits + 7) / 8, 8), 0);
            for (uint64_t pfn : claimed) bitmap[pfn / 8] |= uint8_t(1u << (pfn % 8));
            const char* sig = dumpType == 5 ? "FDMP" : "SDMP";
            // Same _SUMMARY_DUMP on 32- and 64-bit dumps (Volatility 3 crash_common).
            uint64_t first = alignUp(hs + 0x38 + bitmap.size(), kPageSize);
            std::vector<uint8_t> h(0x38, 0);
            std::memcpy(h.data(), sig, 4);
            std::memcpy(h.data() + 4, "DUMP", 4);
            put<uint64_t>(h, 0x20, first);
            put<uint64_t>(h, 0x28, claimed.size());
            put<uint64_t>(h, 0x30, bits);
            h.insert(h.end(), bitmap.begin(), bitmap.end());
            out.write(hs, h);
            emitPages(out, first, pfns);
            total = first + pfns.size() * kPageSize;
            break;
        }
        case 8:
        case 9:
        case 10: {
            std::vector<PfnRun> ranges = runsOf(pfns);
            if (!ranges.empty() && ranges.front().basePage == 0)
                throw std::invalid_argument("DumpWriter: RDMP dumps cannot hold pfn 0 (it ends the range list)");
            if (damage.overclaimPages) ranges.push_back({highest + 2, damage.overclaimPages});
            uint64_t first = alignUp(hs + 0x30 + 16 * (ranges.size() + 1), kPageSize);
            uint64_t metadataSize = first - hs - 0x20;
            std::vector<uint8_t> h(0x30 + 16 * (ranges.size() + 1), 0);
            put<uint32_t>(h, 0, 0x40);
            std::memcpy(h.data() + 4, "RDMP", 4);
            std::memcpy(h.data() + 8, "DUMP", 4);
            put<uint32_t>(h, 0xC, 0);
            put<uint64_t>(h, 0x10, metadataSize);
            put<uint64_t>(h, 0x18, first);
            uint64_t totalPages = 0;
            for (auto& r : ranges) totalPages += r.pageCount;
            if (dumpType == 10) {
                put<uint32_t>(h, 0x20, static_cast<uint32_t>(ranges.size()));
                put<uint64_t>(h, 0x28, totalPages);
            }
            for (size_t i = 0; i < ranges.size(); ++i) {
                put<uint64_t>(h, 0x30 + 16 * i, ranges[i].basePage);
                put<uint64_t>(h, 0x38 + 16 * i, ranges[i].pageCount);
            }
            out.write(hs, h);
            emitPages(out, first, pfns);
            total = first + pfns.size() * kPageSize;
            break;
        }
        case 4: {
            emitTriage(out);
            total = layout_.validOffset + 4;
            ramRuns.clear();  // small dumps leave the descriptor as PAGE fill
            break;
        }
        default:
            throw std::invalid_argument("DumpWriter: unsupported dump type " + std::to_string(dumpType));
    }
    std::vector<uint8_t> header = headerBytes(dumpType, ramRuns);
    put<uint64_t>(header, 0xFA0, total);  // RequiredDumpSpace, at 0xFA0 in both widths
    out.write(0, header);
    uint64_t size = damage.cutAt ? std::min(*damage.cutAt, total) : total;
    layout_.fileSize = size;
    out.finish(size);
}

namespace {

class BufferSink final : public DumpWriter::Sink {
public:
    explicit BufferSink(std::vector<uint8_t>& b) : b_(b) {}
    void write(uint64_t off, const uint8_t* p, size_t n) override {
        if (off + n > b_.size()) b_.resize(off + n);
        if (n) std::memcpy(b_.data() + off, p, n);
    }
    void finish(uint64_t size) override { b_.resize(size); }

private:
    std::vector<uint8_t>& b_;
};

class FileSink final : public DumpWriter::Sink {
public:
    explicit FileSink(const std::string& path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd_ < 0) throw std::runtime_error("DumpWriter: cannot create " + path);
    }
    ~FileSink() override {
        if (fd_ >= 0) ::close(fd_);
    }
    void write(uint64_t off, const uint8_t* p, size_t n) override {
        while (n) {
            ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(off));
            if (w <= 0) throw std::runtime_error("DumpWriter: write failed");
            p += w;
            off += static_cast<uint64_t>(w);
            n -= static_cast<size_t>(w);
        }
    }
    void finish(uint64_t size) override {
        if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) throw std::runtime_error("DumpWriter: truncate failed");
    }

private:
    int fd_ = -1;
};

}  // namespace

std::vector<uint8_t> DumpWriter::write(uint32_t dumpType, const Corruption& damage) const {
    std::vector<uint8_t> out;
    BufferSink sink(out);
    emit(sink, dumpType, damage);
    return out;
}

void DumpWriter::writeFile(const std::string& path, uint32_t dumpType, const Corruption& damage) const {
    FileSink sink(path);
    emit(sink, dumpType, damage);
}

}  // namespace nt::test::kdump
