// Builders for small synthetic dumps, so that each test states its scenario
// in bytes it wrote itself (in the spirit of rust-minidump's minidump-synth).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace nt::test {

// A little-endian byte buffer.
class Buf {
public:
    Buf& u8(uint8_t v) { b_.push_back(v); return *this; }
    Buf& u16(uint16_t v) { return raw(&v, 2); }
    Buf& u32(uint32_t v) { return raw(&v, 4); }
    Buf& u64(uint64_t v) { return raw(&v, 8); }
    Buf& zeros(size_t n) { b_.resize(b_.size() + n, 0); return *this; }
    Buf& bytes(const std::vector<uint8_t>& v) { b_.insert(b_.end(), v.begin(), v.end()); return *this; }
    Buf& ascii(std::string_view s) { return raw(s.data(), s.size()); }
    // UTF-16LE code units of an ASCII string (no terminator).
    Buf& utf16(std::string_view s) {
        for (char c : s) u16(static_cast<uint8_t>(c));
        return *this;
    }
    Buf& raw(const void* p, size_t n) {
        auto c = static_cast<const uint8_t*>(p);
        b_.insert(b_.end(), c, c + n);
        return *this;
    }
    void put32(size_t off, uint32_t v) { std::memcpy(b_.data() + off, &v, 4); }
    size_t size() const { return b_.size(); }
    const std::vector<uint8_t>& vec() const { return b_; }
    std::vector<uint8_t>& vec() { return b_; }

private:
    std::vector<uint8_t> b_;
};

// A minidump laid out as: header | directory (room for kMaxStreams) | data.
// Blobs are appended to the data area and return their RVA at once, so a
// stream can point at strings or contexts added before it.
class MinidumpBuilder {
public:
    static constexpr uint32_t kMaxStreams = 16;
    static constexpr uint32_t kDataStart = 32 + 12 * kMaxStreams;

    MinidumpBuilder() { file_.zeros(kDataStart); }

    // Appends bytes (4-aligned) and returns their RVA.
    uint32_t blob(const std::vector<uint8_t>& data) {
        while (file_.size() % 4) file_.u8(0);
        uint32_t rva = static_cast<uint32_t>(file_.size());
        file_.bytes(data);
        return rva;
    }
    // A MINIDUMP_STRING; returns its RVA.
    uint32_t string(std::string_view s) {
        Buf b;
        b.u32(static_cast<uint32_t>(s.size() * 2)).utf16(s).u16(0);
        return blob(b.vec());
    }
    // Adds a stream whose bytes are `data`; returns its RVA.
    uint32_t stream(uint32_t type, const std::vector<uint8_t>& data) {
        uint32_t rva = blob(data);
        dir_.push_back({type, static_cast<uint32_t>(data.size()), rva});
        return rva;
    }
    // Adds a directory entry pointing anywhere (for bad-RVA tests).
    void rawEntry(uint32_t type, uint32_t size, uint32_t rva) { dir_.push_back({type, size, rva}); }

    // SystemInfo for Windows NT on `arch` (9 = AMD64, 0 = x86), build 19041.
    uint32_t systemInfo(uint16_t arch = 9, uint32_t platform = 2, std::string_view csd = "") {
        uint32_t csdRva = string(csd);
        Buf s;
        s.u16(arch).u16(6).u16(0x9e0a).u8(8).u8(1).u32(10).u32(0).u32(19041).u32(platform).u32(csdRva);
        s.u16(0x100).u16(0);
        s.ascii("GenuineIntel").u32(0x906ea).u32(0xbfebfbff).u32(0);
        return stream(7, s.vec());
    }

    std::vector<uint8_t> build(uint32_t timestamp = 0x5f000000, uint64_t flags = 0) const {
        std::vector<uint8_t> out = file_.vec();
        Buf h;
        h.ascii("MDMP").u32(0xa793).u32(static_cast<uint32_t>(dir_.size())).u32(32).u32(0).u32(timestamp).u64(flags);
        for (const auto& d : dir_) h.u32(d.type).u32(d.size).u32(d.rva);
        std::memcpy(out.data(), h.vec().data(), h.size());
        return out;
    }

private:
    struct Entry {
        uint32_t type, size, rva;
    };
    Buf file_;
    std::vector<Entry> dir_;
};

inline Bytes view(const std::vector<uint8_t>& v) { return Bytes(v.data(), v.size()); }

}  // namespace nt::test
