// Test helpers: a synthetic PE image mapped in a fake target, plus a stack.
// Each unwinder test writes the exact code, unwind data and stack words it
// needs, so the expected registers follow from the ABI rules alone.
#pragma once

#include <cstring>
#include <vector>

#include "memory/range_memory.h"
#include "pe/pe_image.h"
#include "target/model.h"

namespace nt::test {

class SynthTarget : public Target {
public:
    const Memory& memory() const override { return mem_; }
    // Maps every buffer; call after the buffers are final.
    void map(uint64_t addr, std::vector<uint8_t>& buf) { ranges_.emplace_back(addr, &buf); }
    void finish() {
        mem_ = RangeMemory();
        for (auto& [a, b] : ranges_) mem_.add(a, Bytes(b->data(), b->size()));
        mem_.finalize();
    }

private:
    RangeMemory mem_;
    std::vector<std::pair<uint64_t, std::vector<uint8_t>*>> ranges_;
};

// Layout: headers at 0, .text at 0x1000 (0x2000 bytes, executable), .rdata at
// 0x3000 (0x1000 bytes): .pdata at 0x3000, .xdata from 0x3800.
struct SynthImage {
    static constexpr uint32_t kSize = 0x4000;
    static constexpr uint32_t kText = 0x1000, kRdata = 0x3000, kPdata = 0x3000, kXdata = 0x3800;
    std::vector<uint8_t> bytes = std::vector<uint8_t>(kSize, 0);
    uint32_t timestamp = 0x5eed1234;
    Machine machine;
    uint32_t nPdata = 0;
    uint32_t xdataNext = kXdata;

    explicit SynthImage(Machine m, bool withPdata = true) : machine(m) {
        bool is64 = m == Machine::Amd64 || m == Machine::Arm64;
        put16(0, 0x5a4d);
        put32(0x3c, 0x80);
        put32(0x80, 0x4550);
        uint16_t mt = m == Machine::Amd64 ? 0x8664 : m == Machine::Arm64 ? 0xaa64 : 0x14c;
        put16(0x84, mt);
        put16(0x86, 2);
        put32(0x88, timestamp);
        uint16_t optSize = is64 ? 0xf0 : 0xe0;
        put16(0x94, optSize);
        uint32_t oh = 0x98;
        put16(oh, is64 ? 0x20b : 0x10b);
        put32(oh + 56, kSize);
        uint32_t nd = is64 ? 108 : 92;
        put32(oh + nd, 16);
        if (withPdata) put32(oh + nd + 4 + 3 * 8, kPdata);  // size set as functions are added
        pdataSizeOff = oh + nd + 4 + 3 * 8 + 4;
        uint32_t sh = oh + optSize;
        std::memcpy(&bytes[sh], ".text", 5);
        put32(sh + 8, 0x2000);
        put32(sh + 12, kText);
        put32(sh + 16, 0x2000);
        put32(sh + 20, kText);
        put32(sh + 36, 0x60000020);
        std::memcpy(&bytes[sh + 40], ".rdata", 6);
        put32(sh + 48, 0x1000);
        put32(sh + 52, kRdata);
        put32(sh + 56, 0x1000);
        put32(sh + 60, kRdata);
        put32(sh + 76, 0x40000040);
        // Fill code with int3 so nothing looks like an epilog or a call by accident.
        std::memset(&bytes[kText], 0xcc, 0x2000);
    }
    void put16(uint32_t o, uint16_t v) { std::memcpy(&bytes[o], &v, 2); }
    void put32(uint32_t o, uint32_t v) { std::memcpy(&bytes[o], &v, 4); }
    void code(uint32_t rva, std::vector<uint8_t> b) { std::memcpy(&bytes[rva], b.data(), b.size()); }

    // x64 UNWIND_INFO; returns its rva. codes are raw 16-bit slots in order.
    uint32_t unwindInfo(uint8_t version, uint8_t flags, uint8_t prologSize, std::vector<uint16_t> codes,
                        uint8_t frameReg = 0, uint8_t frameOffset = 0, const uint32_t* chained = nullptr) {
        uint32_t at = xdataNext;
        bytes[at] = uint8_t(version | (flags << 3));
        bytes[at + 1] = prologSize;
        bytes[at + 2] = uint8_t(codes.size());
        bytes[at + 3] = uint8_t(frameReg | (frameOffset << 4));
        for (size_t i = 0; i < codes.size(); ++i) put16(at + 4 + uint32_t(i) * 2, codes[i]);
        uint32_t end = at + 4 + uint32_t((codes.size() + 1) & ~size_t(1)) * 2;
        if (chained) {
            for (int k = 0; k < 3; ++k) put32(end + 4 * k, chained[k]);
            end += 12;
        }
        xdataNext = (end + 3) & ~3u;
        return at;
    }
    // Adds a .pdata entry (must be added in ascending begin order).
    void function(uint32_t begin, uint32_t end, uint32_t unwind) {
        uint32_t o = kPdata + nPdata * 12;
        put32(o, begin);
        put32(o + 4, end);
        put32(o + 8, unwind);
        ++nPdata;
        put32(pdataSizeOff, nPdata * 12);
    }
    // ARM64 .pdata entry (8 bytes): begin + packed word or .xdata rva.
    void arm64Function(uint32_t begin, uint32_t word) {
        uint32_t o = kPdata + nPdata * 8;
        put32(o, begin);
        put32(o + 4, word);
        ++nPdata;
        put32(pdataSizeOff, nPdata * 8);
    }
    // ARM64 .xdata with E=1 (single epilog, no scope words); returns its rva.
    uint32_t arm64Xdata(uint32_t functionLength, std::vector<uint8_t> codes) {
        while (codes.size() % 4) codes.push_back(0xe4);
        uint32_t at = xdataNext;
        put32(at, (functionLength / 4) | (1u << 21) | (uint32_t(codes.size() / 4) << 27));
        std::memcpy(&bytes[at + 4], codes.data(), codes.size());
        xdataNext = (at + 4 + uint32_t(codes.size()) + 3) & ~3u;
        return at;
    }
    // Packed unwind word (Flag 1).
    static uint32_t arm64Packed(uint32_t functionLength, unsigned regF, unsigned regI, unsigned h, unsigned cr,
                                unsigned frameSize16) {
        return 1u | ((functionLength / 4) << 2) | (regF << 13) | (regI << 16) | (h << 20) | (cr << 21) |
               (frameSize16 << 23);
    }
    Module module(uint64_t base) const {
        Module m;
        m.base = base;
        m.size = kSize;
        m.timestamp = timestamp;
        m.path = "C:\\synth\\synth.dll";
        m.name = "synth";
        return m;
    }

private:
    uint32_t pdataSizeOff = 0;
};

// x64 unwind code slot: CodeOffset, UnwindOp, OpInfo.
inline uint16_t uw(uint8_t offset, uint8_t op, uint8_t info) { return uint16_t(offset | (op << 8) | (info << 12)); }

struct Stack {
    uint64_t base;
    std::vector<uint8_t> bytes;
    Stack(uint64_t b, size_t size) : base(b), bytes(size, 0) {}
    void q(uint64_t addr, uint64_t v) { std::memcpy(&bytes[addr - base], &v, 8); }
    void d(uint64_t addr, uint32_t v) { std::memcpy(&bytes[addr - base], &v, 4); }
};

}  // namespace nt::test
