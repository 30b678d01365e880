#include "support/kdump_builder/x64_code.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace nt::test::kdump {

namespace {

enum : uint8_t { UWOP_PUSH_NONVOL = 0, UWOP_ALLOC_LARGE = 1, UWOP_ALLOC_SMALL = 2, UWOP_PUSH_MACHFRAME = 10 };

// The prolog's instructions: each push, then sub rsp.
std::vector<uint8_t> prologBytes(const X64Prolog& p, std::vector<uint8_t>* offsetsAfterPush) {
    std::vector<uint8_t> b;
    for (uint8_t r : p.pushes) {
        if (r >= 8) b.push_back(0x41);
        b.push_back(static_cast<uint8_t>(0x50 + (r & 7)));
        if (offsetsAfterPush) offsetsAfterPush->push_back(static_cast<uint8_t>(b.size()));
    }
    if (p.alloc < 0x80) {
        b.insert(b.end(), {0x48, 0x83, 0xec, static_cast<uint8_t>(p.alloc)});
    } else {
        b.insert(b.end(), {0x48, 0x81, 0xec});
        for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(p.alloc >> (8 * i)));
    }
    return b;
}

// UNWIND_INFO: header, codes in reverse prolog order, padded to an even count.
std::vector<uint8_t> unwindInfo(const X64Prolog& p) {
    if (p.alloc % 8 || p.alloc == 0) throw std::invalid_argument("X64Prolog: alloc must be a non-zero multiple of 8");
    std::vector<uint8_t> after;
    std::vector<uint8_t> code = prologBytes(p, &after);
    const auto prologSize = static_cast<uint8_t>(code.size());
    std::vector<uint16_t> slots;
    auto op = [](uint8_t offset, uint8_t o, uint8_t info) { return static_cast<uint16_t>(offset | (o << 8) | (info << 12)); };
    if (p.alloc <= 0x80) {
        slots.push_back(op(prologSize, UWOP_ALLOC_SMALL, static_cast<uint8_t>(p.alloc / 8 - 1)));
    } else if (p.alloc <= 0x7fff8) {
        slots.push_back(op(prologSize, UWOP_ALLOC_LARGE, 0));
        slots.push_back(static_cast<uint16_t>(p.alloc / 8));
    } else {
        slots.push_back(op(prologSize, UWOP_ALLOC_LARGE, 1));
        slots.push_back(static_cast<uint16_t>(p.alloc & 0xffff));
        slots.push_back(static_cast<uint16_t>(p.alloc >> 16));
    }
    for (size_t k = p.pushes.size(); k-- > 0;) slots.push_back(op(after[k], UWOP_PUSH_NONVOL, p.pushes[k]));
    if (p.machineFrame) slots.push_back(op(0, UWOP_PUSH_MACHFRAME, p.errorCode ? 1 : 0));
    std::vector<uint8_t> u = {1 /* version 1, no flags */, prologSize, static_cast<uint8_t>(slots.size()), 0};
    if (slots.size() % 2) slots.push_back(0);
    for (uint16_t s : slots) u.insert(u.end(), {static_cast<uint8_t>(s), static_cast<uint8_t>(s >> 8)});
    return u;
}

void put16(std::vector<uint8_t>& h, size_t o, uint16_t v) { std::memcpy(h.data() + o, &v, 2); }
void put32(std::vector<uint8_t>& h, size_t o, uint32_t v) { std::memcpy(h.data() + o, &v, 4); }
void put64(std::vector<uint8_t>& h, size_t o, uint64_t v) { std::memcpy(h.data() + o, &v, 8); }

}  // namespace

X64Image::X64Image(AddressSpace& space, uint64_t base, uint32_t sizeOfImage)
    : space_(space), base_(base), size_(sizeOfImage) {}

void X64Image::writeHeader(uint32_t timestamp, const std::string& pdbName, const std::string& guidHex, uint32_t age,
                           uint32_t checksum) {
    space_.ensureMapped(base_, 0x1000);
    std::vector<uint8_t> h(0x1000, 0);
    h[0] = 'M', h[1] = 'Z';
    const uint32_t pe = 0x100;
    put32(h, 0x3C, pe);
    std::memcpy(h.data() + pe, "PE\0\0", 4);
    const uint32_t coff = pe + 4;
    put16(h, coff + 0, 0x8664);      // Machine
    put16(h, coff + 2, 1);           // NumberOfSections
    put32(h, coff + 4, timestamp);
    put16(h, coff + 16, 0xF0);       // SizeOfOptionalHeader (PE32+)
    put16(h, coff + 18, 0x22);       // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE
    const uint32_t opt = coff + 20;
    put16(h, opt + 0, 0x20B);        // PE32+
    put32(h, opt + 16, 0x1000);      // AddressOfEntryPoint
    put64(h, opt + 24, base_);       // ImageBase
    put32(h, opt + 32, 0x1000);      // SectionAlignment
    put32(h, opt + 36, 0x200);       // FileAlignment
    put16(h, opt + 40, 10);          // OS version
    put16(h, opt + 48, 10);          // subsystem version
    put32(h, opt + 56, size_);
    put32(h, opt + 60, 0x1000);      // SizeOfHeaders
    put32(h, opt + 64, checksum);
    put16(h, opt + 68, 1);           // Subsystem: native
    put32(h, opt + 108, 16);         // NumberOfRvaAndSizes
    const uint32_t dirs = opt + 112;
    const uint32_t debugDir = 0x300, rsds = 0x340;
    put32(h, dirs + 8 * 6, debugDir);  // IMAGE_DIRECTORY_ENTRY_DEBUG
    put32(h, dirs + 8 * 6 + 4, 0x1C);
    const uint32_t sect = opt + 0xF0;
    std::memcpy(h.data() + sect, ".text\0\0\0", 8);
    put32(h, sect + 8, size_ - 0x1000);   // VirtualSize
    put32(h, sect + 12, 0x1000);          // VirtualAddress
    put32(h, sect + 16, size_ - 0x1000);  // SizeOfRawData
    put32(h, sect + 20, 0x1000);          // PointerToRawData
    put32(h, sect + 36, 0x60000020);      // code, execute, read
    put32(h, debugDir + 4, timestamp);
    put32(h, debugDir + 12, 2);  // IMAGE_DEBUG_TYPE_CODEVIEW
    put32(h, debugDir + 16, static_cast<uint32_t>(24 + pdbName.size() + 1));
    put32(h, debugDir + 20, rsds);  // AddressOfRawData (RVA)
    put32(h, debugDir + 24, rsds);  // PointerToRawData
    std::memcpy(h.data() + rsds, "RSDS", 4);
    if (guidHex.size() != 32) throw std::invalid_argument("X64Image::writeHeader: GUID needs 32 hex digits");
    auto hexAt = [&](size_t i, size_t n) { return std::stoull(guidHex.substr(i, n), nullptr, 16); };
    // Data1..Data3 little-endian, Data4 as bytes.
    put32(h, rsds + 4, static_cast<uint32_t>(hexAt(0, 8)));
    put16(h, rsds + 8, static_cast<uint16_t>(hexAt(8, 4)));
    put16(h, rsds + 10, static_cast<uint16_t>(hexAt(12, 4)));
    for (int i = 0; i < 8; ++i) h[rsds + 12 + i] = static_cast<uint8_t>(hexAt(16 + 2 * i, 2));
    put32(h, rsds + 20, age);
    if (rsds + 24 + pdbName.size() + 1 > h.size()) throw std::invalid_argument("X64Image::writeHeader: PDB name too long");
    std::memcpy(h.data() + rsds + 24, pdbName.c_str(), pdbName.size() + 1);
    space_.write(base_, h);
}

const X64Function& X64Image::addFunction(const std::string& name, uint32_t rva, uint32_t size, const X64Prolog& prolog) {
    std::vector<uint8_t> code = prolog.leaf ? std::vector<uint8_t>{} : prologBytes(prolog, nullptr);
    if (rva < 0x1000 || uint64_t(rva) + size > size_ || size < code.size() + 16)
        throw std::invalid_argument("X64Image::addFunction: " + name + " does not fit");
    for (const X64Function& f : functions_)
        if (base_ + rva < f.start + f.size && f.start < base_ + rva + size)
            throw std::invalid_argument("X64Image::addFunction: " + name + " overlaps " + f.name);
    const uint64_t start = base_ + rva;
    space_.ensureMapped(start, size);
    code.resize(size, 0x90);
    space_.write(start, code);
    functions_.push_back({name, start, size, prolog});
    return functions_.back();
}

uint32_t X64Image::unwindDataSize() const {
    uint32_t n = 0;
    for (const X64Function& f : functions_)
        if (!f.prolog.leaf) n += 12 + (static_cast<uint32_t>(unwindInfo(f.prolog).size() + 3) & ~3u);
    return n;
}

void X64Image::writeUnwindData(uint32_t rva) {
    const uint32_t total = unwindDataSize();
    if (uint64_t(rva) + total > size_) throw std::invalid_argument("X64Image::writeUnwindData: outside the image");
    for (uint64_t page = (base_ + rva) & ~0xfffull; page < base_ + rva + total; page += 0x1000)
        if (space_.isMapped(page)) throw std::invalid_argument("X64Image::writeUnwindData: target pages already in use");
    space_.ensureMapped(base_ + rva, total);

    std::vector<const X64Function*> sorted;
    for (const X64Function& f : functions_)
        if (!f.prolog.leaf) sorted.push_back(&f);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->start < b->start; });
    std::vector<uint8_t> table(12 * sorted.size()), infos;
    const uint32_t infoBase = rva + static_cast<uint32_t>(table.size());
    for (size_t i = 0; i < sorted.size(); ++i) {
        const X64Function& f = *sorted[i];
        auto begin = static_cast<uint32_t>(f.start - base_);
        put32(table, 12 * i, begin);
        put32(table, 12 * i + 4, begin + f.size);
        put32(table, 12 * i + 8, infoBase + static_cast<uint32_t>(infos.size()));
        std::vector<uint8_t> u = unwindInfo(f.prolog);
        u.resize((u.size() + 3) & ~size_t{3}, 0);
        infos.insert(infos.end(), u.begin(), u.end());
    }
    space_.write(base_ + rva, table);
    space_.write(base_ + infoBase, infos);
    // IMAGE_DIRECTORY_ENTRY_EXCEPTION (3) of the PE32+ header at base.
    const uint32_t pe = space_.readU32(base_ + 0x3c);
    const uint64_t dir = base_ + pe + 24 + 112 + 8 * 3;
    space_.writeU32(dir, rva);
    space_.writeU32(dir + 4, static_cast<uint32_t>(table.size()));
}

std::vector<uint8_t> X64Image::fileBytes() const {
    std::vector<uint8_t> out(size_, 0);
    for (uint64_t off = 0; off < size_; off += 0x1000) {
        if (!space_.isMapped(base_ + off)) continue;
        auto page = space_.read(base_ + off, std::min<uint64_t>(0x1000, size_ - off));
        std::copy(page.begin(), page.end(), out.begin() + static_cast<std::ptrdiff_t>(off));
    }
    return out;
}

X64StackLayout writeX64Stack(AddressSpace& space, uint64_t childSp, const std::vector<X64FrameSite>& frames,
                             const X64MachineReturn& ret) {
    X64StackLayout out;
    uint64_t sp = childSp;
    for (size_t i = 0; i < frames.size(); ++i) {
        const X64Function& fn = *frames[i].fn;
        if (frames[i].ip < fn.start || frames[i].ip >= fn.start + fn.size)
            throw std::invalid_argument("writeX64Stack: frame ip outside " + fn.name);
        if (i > 0 && frames[i].childSp) sp = frames[i].childSp;
        out.childSp.push_back(sp);
        // At the function's first byte nothing of the prolog has run.
        const bool entered = frames[i].ip != fn.start;
        const uint64_t slot = sp + (entered ? fn.prolog.frameBytes() : 0);
        space.ensureMapped(sp, slot + 8 - sp);
        if (entered)
            for (size_t k = 0; k < fn.prolog.pushes.size(); ++k)
                space.writeU64(slot - 8 * (k + 1), 0x1111111111111111ull * fn.prolog.pushes[k]);
        const bool last = i + 1 == frames.size();
        if (fn.prolog.machineFrame && entered) {
            // The interrupt frame: (error code), rip, cs, eflags, rsp, ss.
            const uint64_t mf = slot + (fn.prolog.errorCode ? 8 : 0);
            X64MachineReturn to = ret;
            if (!last) {
                if (!frames[i + 1].childSp)
                    throw std::invalid_argument("writeX64Stack: the frame after " + fn.name + " needs its childSp");
                to = X64MachineReturn{frames[i + 1].ip, frames[i + 1].childSp, 0x10, 0x18, 0x10282};
            }
            space.ensureMapped(slot, mf + 40 - slot);
            if (fn.prolog.errorCode) space.writeU64(slot, 2);  // write fault, not present
            space.writeU64(mf, to.rip);
            space.writeU64(mf + 8, to.cs);
            space.writeU64(mf + 16, to.eflags);
            space.writeU64(mf + 24, to.rsp);
            space.writeU64(mf + 32, to.ss);
            out.machineFrames.push_back(mf);
            out.machineFrame = mf;
            continue;  // the next frame, if any, starts at its own childSp
        }
        if (last) {
            space.writeU64(slot, 0);  // the thread's first frame: nothing to return to
            break;
        }
        const X64FrameSite& caller = frames[i + 1];
        if (caller.ip - 5 < caller.fn->start + 8)
            throw std::invalid_argument("writeX64Stack: return site too close to the start of " + caller.fn->name);
        space.writeU64(slot, caller.ip);
        // `call fn` ending at the return site.
        std::vector<uint8_t> call = {0xe8, 0, 0, 0, 0};
        auto rel = static_cast<int32_t>(static_cast<int64_t>(fn.start) - static_cast<int64_t>(caller.ip));
        std::memcpy(call.data() + 1, &rel, 4);
        space.write(caller.ip - 5, call);
        sp = slot + 8;
    }
    return out;
}

}  // namespace nt::test::kdump
