// The MSF container: other block sizes, scattered blocks and large
// directories give the same answers; damaged files are a FormatError.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>

#include "base/error.h"
#include "msf_builder.h"
#include "pdb/pdb_file.h"
#include "support/test_support.h"

using namespace nt;
using namespace nt::pdb;
using namespace nt::pdbtest;

namespace {

std::vector<uint8_t> readFile(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Bytes view(const std::vector<uint8_t>& v) { return Bytes(v.data(), v.size()); }

uint32_t get32(const std::vector<uint8_t>& f, uint64_t off) {
    uint32_t v;
    std::memcpy(&v, f.data() + off, 4);
    return v;
}

// Every answer of a for RVAs [from, to) equals b's.
void expectSameAnswers(const PdbFile& a, const PdbFile& b, uint32_t from, uint32_t to, uint32_t step) {
    EXPECT_EQ(a.guid(), b.guid());
    EXPECT_EQ(a.age(), b.age());
    EXPECT_EQ(a.machine(), b.machine());
    for (uint32_t rva = from; rva < to; rva += step) {
        auto x = a.symbolAt(rva), y = b.symbolAt(rva);
        ASSERT_EQ(x.has_value(), y.has_value()) << std::hex << rva;
        if (x) {
            EXPECT_EQ(x->name, y->name);
            EXPECT_EQ(x->rva, y->rva);
            EXPECT_EQ(x->size, y->size);
        }
        auto l = a.lineAt(rva), m = b.lineAt(rva);
        ASSERT_EQ(l.has_value(), m.has_value()) << std::hex << rva;
        if (l) {
            EXPECT_EQ(l->file, m->file);
            EXPECT_EQ(l->line, m->line);
        }
    }
}

void expectFormatError(const std::vector<uint8_t>& bytes, const char* what) {
    try {
        auto p = PdbFile::openBytes(view(bytes));
        ADD_FAILURE() << what << ": opened";
    } catch (const FormatError& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
}

}  // namespace

TEST(Msf, RejectsNonMsf) {
    expectFormatError({}, "empty");
    expectFormatError(std::vector<uint8_t>(4096, 0), "zeros");
    std::vector<uint8_t> cab(100, 0);
    std::memcpy(cab.data(), "MSCF", 4);
    expectFormatError(cab, "cab");
}

TEST(Msf, EveryBlockSizeAndScatteredBlocksGiveTheSameAnswers) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    auto orig = PdbFile::open(path);
    for (uint32_t bs : {512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u}) {
        for (bool scattered : {false, true}) {
            SCOPED_TRACE(std::to_string(bs) + (scattered ? " scattered" : " linear"));
            auto bytes = relayout(orig->msf(), bs, scattered);
            auto re = PdbFile::openBytes(view(bytes));
            EXPECT_EQ(re->msf().blockSize(), bs);
            expectSameAnswers(*orig, *re, 0x1000, 0x2200, 1);
            EXPECT_EQ(re->rvaOf("crash"), std::optional<uint32_t>(0x10b0));
        }
    }
}

// ntdll.pdb with 512-byte blocks: a directory of ~26 blocks, every stream
// read across non-adjacent blocks.
TEST(Msf, LargeDirectoryNtdll) {
    NT_REQUIRE_CORPUS_FILE(path, "processmarauder/x64/ntdll.pdb");
    auto orig = PdbFile::open(path);
    auto bytes = relayout(orig->msf(), 512, true);
    auto re = PdbFile::openBytes(view(bytes));
    uint32_t dirBytes = get32(bytes, 44);
    EXPECT_GT(dirBytes, 10u * 512);
    ASSERT_NE(re->publics(), nullptr);
    EXPECT_EQ(re->publics()->count(), orig->publics()->count());
    expectSameAnswers(*orig, *re, 0x1000, 0x180000, 0x37);
    EXPECT_EQ(re->rvaOf("RtlUserThreadStart"), orig->rvaOf("RtlUserThreadStart"));
}

TEST(Msf, StreamReaderViewsAndCopies) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    auto orig = PdbFile::open(path);
    auto bytes = relayout(orig->msf(), 512, true);
    auto m = Msf::open(view(bytes));
    uint32_t big = 0;
    for (uint32_t i = 0; i < m.streamCount(); ++i)
        if (m.streamSize(i) > m.streamSize(big)) big = i;
    StreamReader s = m.stream(big);
    ASSERT_GT(s.size(), 1200u);
    std::vector<uint8_t> scratch, expect(s.size());
    orig->msf().stream(big).copyOut(0, s.size(), expect.data());
    // Inside one block: a view into the file, scratch untouched.
    auto a = s.read(10, 100, scratch);
    ASSERT_TRUE(a);
    EXPECT_TRUE(scratch.empty());
    EXPECT_GE(a->data(), bytes.data());
    EXPECT_LT(a->data(), bytes.data() + bytes.size());
    EXPECT_EQ(0, std::memcmp(a->data(), expect.data() + 10, 100));
    // Across scattered blocks: a copy.
    auto b = s.read(500, 600, scratch);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->data(), scratch.data());
    EXPECT_EQ(0, std::memcmp(b->data(), expect.data() + 500, 600));
    // Past the end: nothing.
    EXPECT_FALSE(s.read(s.size() - 1, 2, scratch));
    EXPECT_FALSE(s.read(UINT64_MAX, 2, scratch));
    EXPECT_FALSE(s.get<uint32_t>(s.size() - 3));
    EXPECT_TRUE(s.get<uint32_t>(s.size() - 4));
    // Nil and absent streams are empty.
    EXPECT_EQ(m.stream(100000).size(), 0u);
    EXPECT_FALSE(m.hasStream(100000));
}

TEST(Msf, TruncatedPdbsAreFormatErrors) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    auto bytes = readFile(path);
    for (size_t cut : {size_t(0), size_t(1), size_t(31), size_t(55), size_t(56), size_t(4095), size_t(4096),
                       size_t(8192), bytes.size() / 2, bytes.size() - 4096, bytes.size() - 1}) {
        SCOPED_TRACE(cut);
        expectFormatError(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut), "truncated");
    }
}

TEST(Msf, CorruptDirectoryIsFormatError) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    const auto good = readFile(path);
    const uint32_t bs = get32(good, 32), numBlocks = get32(good, 40), mapAddr = get32(good, 52);
    const uint32_t dirBlock = get32(good, uint64_t(mapAddr) * bs);
    const uint64_t dir = uint64_t(dirBlock) * bs;
    const uint32_t numStreams = get32(good, dir);
    auto mutate = [&](uint64_t off, uint32_t v, const char* what) {
        auto b = good;
        put32(b, off, v);
        expectFormatError(b, what);
    };
    mutate(32, 4097, "block size");
    mutate(32, 0, "block size 0");
    mutate(40, 0xFFFFFFFF, "block count past the file");
    mutate(44, 0xFFFFFFF0, "directory size past the file");
    mutate(44, 0, "empty directory");
    mutate(52, numBlocks, "block map past the end");
    mutate(52, 0, "block map at the superblock");
    mutate(uint64_t(mapAddr) * bs, numBlocks + 5, "directory block past the end");
    mutate(dir, 0x40000000, "stream count past the directory");
    mutate(dir + 4 + 4 * 2, 0x7FFFFFFF, "stream larger than the file");
    // The first block of the first non-empty stream.
    uint64_t firstBlockAt = dir + 4 + 4ull * numStreams;
    mutate(firstBlockAt, numBlocks, "stream block index past the end");
    mutate(firstBlockAt, 0xFFFFFFFF, "stream block index 0xFFFFFFFF");
}

// Blocks shared by several streams, or repeated within one, cannot loop.
TEST(Msf, DuplicateBlocksAreHarmless) {
    std::vector<StreamSpec> streams(3);
    streams[0].size = 0;
    streams[1].size = 512 * 40;
    streams[1].blocks.assign(40, 3);  // one block, 40 times
    streams[1].data.assign(512, 0xAB);
    streams[2].size = 512 * 40;       // 40 more blocks, the first shared with stream 1
    for (uint32_t b = 3; b < 43; ++b) streams[2].blocks.push_back(b);
    auto bytes = writeMsf(512, streams, 43);
    auto m = Msf::open(view(bytes));
    std::vector<uint8_t> scratch;
    auto all = m.stream(1).read(0, 512 * 40, scratch);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 512u * 40);
    EXPECT_EQ((*all->get<uint8_t>(512 * 40 - 1)), 0xAB);
    // Stream 1 (the info stream) is all 0xAB and there is no DBI: it opens,
    // and lookups find nothing.
    auto p = PdbFile::openBytes(view(bytes));
    EXPECT_EQ(p->age(), 0xABABABABu);
    EXPECT_FALSE(p->symbolAt(0x1000));
    EXPECT_FALSE(p->rvaOf("x"));
}

// A damaged DBI leaves the identity readable and the lookups empty.
TEST(Msf, DamagedDbiDegradesToNoSymbols) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    auto orig = PdbFile::open(path);
    auto bytes = relayout(orig->msf(), 4096, false, [](uint32_t i, StreamSpec& s) {
        if (i == 3) {
            s.size = 20;
            s.data.resize(20);
        }
    });
    auto re = PdbFile::openBytes(view(bytes));
    EXPECT_EQ(re->guid(), orig->guid());
    EXPECT_EQ(re->dbi(), nullptr);
    EXPECT_EQ(re->machine(), 0);
    EXPECT_FALSE(re->symbolAt(0x10d9));
    EXPECT_FALSE(re->lineAt(0x10d9));
    EXPECT_FALSE(re->rvaOf("crash"));
}

// Random damage anywhere: never a crash or a hang (run it under the
// sanitizer build for the memory checks).
TEST(Msf, RandomMutationsNeverCrash) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    const auto good = readFile(path);
    std::mt19937 rng(1234);
    int opened = 0;
    for (int iter = 0; iter < 400; ++iter) {
        auto b = good;
        int flips = 1 + static_cast<int>(rng() % 8);
        for (int i = 0; i < flips; ++i) {
            // Bias towards the superblock, directory and small streams.
            size_t off = (rng() % 16 == 0) ? rng() % 64 : rng() % b.size();
            b[off] = static_cast<uint8_t>(rng());
        }
        try {
            auto p = PdbFile::openBytes(view(b));
            ++opened;
            for (uint32_t rva : {0x1000u, 0x1040u, 0x10d9u, 0x1100u, 0x3000u, 0xFFFFFFFFu}) {
                (void)p->symbolAt(rva);
                (void)p->lineAt(rva);
            }
            (void)p->rvaOf("crash");
            (void)p->rvaOf("main");
            if (const Publics* pub = p->publics())
                for (uint32_t i = 0; i < pub->count() && i < 100; ++i) (void)pub->at(i);
        } catch (const FormatError&) {
        }
    }
    EXPECT_GT(opened, 100);
}
