// Helpers of the NT object-model tests: the ISF of the triage_x64 kernel
// (loaded once) and a small writable address space for synthetic objects.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "isf/isf_file.h"
#include "memory/range_memory.h"
#include "support/test_support.h"

namespace nt::test {

inline constexpr const char* kNtIsf = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";
inline constexpr const char* kTriageX64 = "rizin-testbins/triage_x64.dmp";

// The ntoskrnl 19041 ISF, decompressed once for the whole test binary;
// nullptr when the corpus is absent.
inline std::shared_ptr<isf::IsfFile> ntIsf() {
    static std::shared_ptr<isf::IsfFile> file = [] {
        std::string p = corpusFile(kNtIsf);
        return p.empty() ? nullptr : std::shared_ptr<isf::IsfFile>(isf::IsfFile::open(p));
    }();
    return file;
}

// Blocks of zeroed bytes at chosen virtual addresses; memory() is a
// RangeMemory over them (rebuilt after every change, the blocks stay put).
class SyntheticSpace {
public:
    void allocate(uint64_t va, uint64_t size) { blocks_[va] = std::vector<uint8_t>(size); }

    void write(uint64_t va, const void* data, size_t n) {
        auto it = blocks_.upper_bound(va);
        if (it == blocks_.begin()) throw std::out_of_range("unallocated write");
        --it;
        if (va - it->first + n > it->second.size()) throw std::out_of_range("write past block");
        std::memcpy(it->second.data() + (va - it->first), data, n);
    }
    template <class T>
    void put(uint64_t va, T v) { write(va, &v, sizeof v); }
    void putPtr(uint64_t va, uint64_t v) { put<uint64_t>(va, v); }
    // A _UNICODE_STRING at va whose buffer is placed at buf.
    void putUnicodeString(uint64_t va, uint64_t buf, std::string_view ascii) {
        std::vector<uint8_t> w;
        for (char c : ascii) {
            w.push_back(static_cast<uint8_t>(c));
            w.push_back(0);
        }
        allocate(buf, w.size() + 2);
        write(buf, w.data(), w.size());
        put<uint16_t>(va, static_cast<uint16_t>(w.size()));
        put<uint16_t>(va + 2, static_cast<uint16_t>(w.size() + 2));
        putPtr(va + 8, buf);
    }
    void emptyList(uint64_t head) {
        putPtr(head, head);
        putPtr(head + 8, head);
    }
    // Links entries into a circular list at head, in order.
    void link(uint64_t head, const std::vector<uint64_t>& entries) {
        std::vector<uint64_t> ring{head};
        ring.insert(ring.end(), entries.begin(), entries.end());
        for (size_t i = 0; i < ring.size(); ++i) {
            putPtr(ring[i], ring[(i + 1) % ring.size()]);
            putPtr(ring[i] + 8, ring[(i + ring.size() - 1) % ring.size()]);
        }
    }

    const RangeMemory& memory() {
        mem_ = RangeMemory();
        for (auto& [va, bytes] : blocks_) mem_.add(va, Bytes(bytes.data(), bytes.size()));
        mem_.finalize();
        return mem_;
    }

private:
    std::map<uint64_t, std::vector<uint8_t>> blocks_;
    RangeMemory mem_;
};

}  // namespace nt::test

#define NT_REQUIRE_NT_ISF(var)                                                     \
    auto var = ::nt::test::ntIsf();                                                \
    if (!var) GTEST_SKIP() << "corpus file not found: " << ::nt::test::kNtIsf
