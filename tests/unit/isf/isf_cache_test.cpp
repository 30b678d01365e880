// The persistent ISF cache (isf/isf_cache.h): a cached load answers exactly
// what a fresh decode answers (checked against the corpus JSON read by
// Python, not against ourselves alone); damaged, truncated, stale or forged
// entries are misses that get rewritten, never crashes; an unwritable cache
// falls back to decoding. Every test uses its own temporary cache directory.
#include <gtest/gtest.h>

#include <chrono>

#include <fcntl.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "base/error.h"
#include "isf/isf_cache.h"
#include "isf/isf_file.h"
#include "support/test_support.h"

namespace nt::isf {
namespace {

namespace fs = std::filesystem;
using Outcome = IsfCacheStatus::Outcome;

constexpr const char* k5278 = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string t = (fs::temp_directory_path() / "ntriage-isf-cache-test-XXXXXX").string();
        if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
        path_ = t;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

std::vector<uint8_t> readBytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> xzCompress(const std::string& text) {
    std::vector<uint8_t> out(lzma_stream_buffer_bound(text.size()));
    size_t pos = 0;
    EXPECT_EQ(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const uint8_t*>(text.data()),
                                      text.size(), out.data(), &pos, out.size()),
              LZMA_OK);
    out.resize(pos);
    return out;
}

// A small table with an escaped symbol name (the index's name pool) and
// a symbol whose address the tests change.
std::string smallIsf(uint64_t fooRva) {
    return R"({"metadata":{"format":"6.1.0","windows":{"pdb":{"GUID":"00112233445566778899AABBCCDDEEFF","age":2,"database":"small.pdb","machine_type":34404}}},
 "base_types":{"pointer":{"kind":"int","signed":false,"size":8},"unsigned long":{"kind":"int","signed":false,"size":4}},
 "user_types":{"_S":{"kind":"struct","size":8,"fields":{"A":{"offset":0,"type":{"kind":"base","name":"unsigned long"}},
                                                        "B":{"offset":4,"type":{"kind":"base","name":"unsigned long"}}}}},
 "enums":{"_E":{"base":"unsigned long","size":4,"constants":{"One":1}}},
 "symbols":{"Bar":{"address":4096},"Foo":{"address":)" +
           std::to_string(fooRva) + R"(},"Quo\"ted\u0041":{"address":8192}}})";
}

const types::Field* field(const types::Type& t, const std::string& name) {
    for (const auto& f : t.fields)
        if (f.name == name) return &f;
    return nullptr;
}

uint64_t offsetOf(const IsfFile& f, const std::string& type, const std::string& name) {
    auto id = f.findType(type);
    if (!id) return ~0ull;
    const types::Field* fld = field(*f.type(*id), name);
    return fld ? fld->offset : ~0ull;
}

// Header fields the tests damage (isf_cache.cpp documents the layout).
constexpr size_t kHeaderSize = 128;
uint64_t headerField(const std::vector<uint8_t>& entry, size_t at) {
    uint64_t v;
    std::memcpy(&v, entry.data() + at, 8);
    return v;
}

// Re-seals an entry whose body was edited: body and header checksums as
// the writer computes them, so only the structural checks stand between
// the edit and the reader (what a hostile writer of the cache could do).
void reseal(std::vector<uint8_t>& entry) {
    const uint64_t body = lzma_crc64(entry.data() + kHeaderSize, entry.size() - kHeaderSize, 0);
    std::memcpy(entry.data() + 80, &body, 8);
    const uint64_t head = lzma_crc64(entry.data(), 120, 0);
    std::memcpy(entry.data() + 120, &head, 8);
}

TEST(IsfCache, CachedLoadAnswersLikeTheJsonItself) {
    NT_REQUIRE_CORPUS_FILE(path, k5278);
    // The oracle: Python's json module on the decompressed file.
    const std::string oracle = test::captureOutput(
        "xz -dc '" + path +
        "' | python3 -c \"import json,sys; d=json.load(sys.stdin); e=d['user_types']['_EPROCESS']['fields'];"
        " k=d['user_types']['_KPROCESS']['fields']; s=d['symbols'];"
        " print(len(s), e['UniqueProcessId']['offset'], e['ActiveProcessLinks']['offset'], e['ImageFileName']['offset'],"
        " e['Peb']['offset'], e['ObjectTable']['offset'], k['DirectoryTableBase']['offset'],"
        " s['KdDebuggerDataBlock']['address'], s['PsLoadedModuleList']['address'], s['PsActiveProcessHead']['address'],"
        " s['KiProcessorBlock']['address'], s['PspCidTable']['address'])\"");
    ASSERT_FALSE(oracle.empty()) << "python3/xz oracle did not run";
    std::istringstream in(oracle);
    uint64_t count, pid, links, image, peb, table, dtb, kdbg, modules, active, prcbs, cid;
    ASSERT_TRUE(in >> count >> pid >> links >> image >> peb >> table >> dtb >> kdbg >> modules >> active >> prcbs >> cid);

    TempDir cache;
    IsfCacheStatus first, second;
    auto stored = openIsfCached(path, cache.path(), &first);
    EXPECT_EQ(first.outcome, Outcome::Stored) << first.detail;
    EXPECT_FALSE(first.replaced);
    EXPECT_TRUE(fs::exists(first.entry));
    auto cached = openIsfCached(path, cache.path(), &second);
    ASSERT_EQ(second.outcome, Outcome::Hit) << second.detail;
    auto fresh = IsfFile::open(path);

    for (const IsfFile* f : {fresh.get(), stored.get(), cached.get()}) {
        EXPECT_EQ(f->metadata().guid, "5278AFF86C341677D7D7835C85B7B844");
        EXPECT_EQ(f->metadata().age, 1u);
        EXPECT_EQ(f->pointerSize(), 8u);
        EXPECT_EQ(f->symbolCount(), count);
        EXPECT_EQ(offsetOf(*f, "_EPROCESS", "UniqueProcessId"), pid);
        EXPECT_EQ(offsetOf(*f, "_EPROCESS", "ActiveProcessLinks"), links);
        EXPECT_EQ(offsetOf(*f, "_EPROCESS", "ImageFileName"), image);
        EXPECT_EQ(offsetOf(*f, "_EPROCESS", "Peb"), peb);
        EXPECT_EQ(offsetOf(*f, "_EPROCESS", "ObjectTable"), table);
        EXPECT_EQ(offsetOf(*f, "_KPROCESS", "DirectoryTableBase"), dtb);
        EXPECT_EQ(f->rvaOf("KdDebuggerDataBlock"), kdbg);
        EXPECT_EQ(f->rvaOf("PsLoadedModuleList"), modules);
        EXPECT_EQ(f->rvaOf("PsActiveProcessHead"), active);
        EXPECT_EQ(f->rvaOf("KiProcessorBlock"), prcbs);
        EXPECT_EQ(f->rvaOf("PspCidTable"), cid);
        EXPECT_FALSE(f->rvaOf("NoSuchSymbolAnywhere"));
        auto at = f->symbolAt(active + 8);
        ASSERT_TRUE(at);
        EXPECT_EQ(at->name, "PsActiveProcessHead");
        EXPECT_EQ(at->rva, active);
        EXPECT_TRUE(f->findType("_POOL_TYPE"));  // an enum
    }

    // Beyond the oracle's sample: every symbol in address order and every
    // type name, the same from the entry as from the decode.
    auto listing = [](const IsfFile& f) {
        std::string s;
        f.forEachSymbol([&](const IsfSymbol& sym) {
            s += std::string(sym.name) + "=" + std::to_string(sym.rva) + "\n";
            return true;
        });
        f.forEachTypeName([&](std::string_view n) {
            s += std::string(n) + "\n";
            return true;
        });
        return s;
    };
    const std::string expected = listing(*fresh);
    EXPECT_EQ(listing(*cached), expected);
    EXPECT_EQ(listing(*stored), expected);
}

TEST(IsfCache, DamagedOrTruncatedEntryIsRebuilt) {
    TempDir dir;
    const std::string source = dir / "small.json.xz";
    writeBytes(source, xzCompress(smallIsf(0x3000)));
    const std::string cache = dir / "cache";
    IsfCacheStatus st;
    openIsfCached(source, cache, &st);
    ASSERT_EQ(st.outcome, Outcome::Stored) << st.detail;
    const std::vector<uint8_t> good = readBytes(st.entry);
    ASSERT_GT(good.size(), kHeaderSize);
    const uint64_t docSize = headerField(good, 56);

    struct Damage {
        const char* what;
        std::function<void(std::vector<uint8_t>&)> apply;
        const char* detail;
    };
    const std::vector<Damage> damages = {
        {"bit flip in the document", [&](auto& e) { e[kHeaderSize + docSize / 2] ^= 0x04; }, "body checksum mismatch"},
        {"bit flip in the index", [](auto& e) { e[e.size() - 3] ^= 0x80; }, "body checksum mismatch"},
        {"bit flip in the header", [](auto& e) { e[30] ^= 0x01; }, "header checksum mismatch"},
        {"truncated", [](auto& e) { e.resize(e.size() / 2); }, "truncated or extended"},
        {"extended", [](auto& e) { e.push_back(0); }, "truncated or extended"},
        {"header only", [](auto& e) { e.resize(kHeaderSize); }, "truncated or extended"},
        {"shorter than a header", [](auto& e) { e.resize(40); }, "size out of range"},
        {"empty", [](auto& e) { e.clear(); }, "size out of range"},
        {"not an entry", [](auto& e) { std::fill(e.begin(), e.end(), 'x'); }, "not a cache entry"},
        {"another version", [](auto& e) { e[8] = 99; reseal(e); }, "another format version"},
    };
    for (const auto& d : damages) {
        std::vector<uint8_t> bad = good;
        d.apply(bad);
        writeBytes(st.entry, bad);
        IsfCacheStatus again;
        auto f = openIsfCached(source, cache, &again);
        EXPECT_EQ(again.outcome, Outcome::Stored) << d.what;
        EXPECT_TRUE(again.replaced) << d.what;
        EXPECT_EQ(again.detail, d.detail) << d.what;
        EXPECT_EQ(f->rvaOf("Foo"), 0x3000u) << d.what;
        EXPECT_EQ(f->rvaOf("Quo\"tedA"), 0x2000u) << d.what;
        EXPECT_EQ(readBytes(st.entry), good) << d.what << ": the entry was not rewritten";
        IsfCacheStatus hit;
        openIsfCached(source, cache, &hit);
        EXPECT_EQ(hit.outcome, Outcome::Hit) << d.what;
    }
}

TEST(IsfCache, ForgedEntriesNeverCrash) {
    // An entry with valid checksums but random bytes in its document or
    // index: either rejected or read with every record bounds-checked.
    // (Run under ASan by scripts/test.sh.)
    TempDir dir;
    const std::string source = dir / "small.json.xz";
    writeBytes(source, xzCompress(smallIsf(0x3000)));
    const std::string cache = dir / "cache";
    IsfCacheStatus st;
    openIsfCached(source, cache, &st);
    const std::vector<uint8_t> good = readBytes(st.entry);
    std::mt19937 rng(4);
    int hits = 0;
    for (int round = 0; round < 250; ++round) {
        std::vector<uint8_t> bad = good;
        const int edits = 1 + static_cast<int>(rng() % 8);
        for (int i = 0; i < edits; ++i) {
            const size_t at = kHeaderSize + rng() % (bad.size() - kHeaderSize);
            bad[at] = static_cast<uint8_t>(rng() % 3 == 0 ? 0xFF : rng());
        }
        reseal(bad);
        writeBytes(st.entry, bad);
        IsfCacheStatus s;
        auto f = openIsfCached(source, cache, &s);
        ASSERT_NE(f, nullptr);
        hits += s.outcome == Outcome::Hit;
        // Whatever it says, asking must be safe.
        (void)f->rvaOf("Foo");
        (void)f->rvaOf("");
        (void)f->symbolAt(0x2500);
        f->forEachSymbol([](const IsfSymbol&) { return true; });
        for (const char* t : {"_S", "_E", ""})
            if (auto id = f->findType(t)) (void)f->type(*id);
        f->forEachTypeName([&](std::string_view n) {
            if (auto id = f->findType(n)) (void)f->type(*id);
            return true;
        });
        for (types::TypeId id = 0; id < 8; ++id) (void)f->type(id);
    }
    EXPECT_GT(hits, 0);  // some edits leave a readable entry: the record checks were exercised
}

TEST(IsfCache, ChangedSourceIsNeverServedStale) {
    TempDir dir;
    const std::string source = dir / "small.json.xz";
    const std::string cache = dir / "cache";
    writeBytes(source, xzCompress(smallIsf(0x3000)));
    IsfCacheStatus st;
    EXPECT_EQ(openIsfCached(source, cache, &st)->rvaOf("Foo"), 0x3000u);
    ASSERT_EQ(st.outcome, Outcome::Stored);

    // Same size, same mtime, other content: only the content hash tells.
    struct stat before {};
    ASSERT_EQ(::stat(source.c_str(), &before), 0);
    uint64_t other = 0x3001;
    while (xzCompress(smallIsf(other)).size() != static_cast<size_t>(before.st_size) && other < 0x4000) ++other;
    writeBytes(source, xzCompress(smallIsf(other)));
    struct stat after {};
    ASSERT_EQ(::stat(source.c_str(), &after), 0);
    ASSERT_EQ(after.st_size, before.st_size) << "the two sources must have the same size";
    const struct timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, source.c_str(), times, 0), 0);
    IsfCacheStatus changed;
    EXPECT_EQ(openIsfCached(source, cache, &changed)->rvaOf("Foo"), other);
    EXPECT_EQ(changed.outcome, Outcome::Stored);
    EXPECT_TRUE(changed.replaced);
    EXPECT_EQ(changed.detail, "stale: the source changed");

    // Another size.
    writeBytes(source, xzCompress(smallIsf(0x123456789)));
    IsfCacheStatus resized;
    EXPECT_EQ(openIsfCached(source, cache, &resized)->rvaOf("Foo"), 0x123456789u);
    EXPECT_TRUE(resized.replaced);
    IsfCacheStatus hit;
    EXPECT_EQ(openIsfCached(source, cache, &hit)->rvaOf("Foo"), 0x123456789u);
    EXPECT_EQ(hit.outcome, Outcome::Hit);

    // A damaged source is an error, as without the cache, and leaves the entry alone.
    auto truncated = readBytes(source);
    truncated.resize(truncated.size() / 2);
    writeBytes(source, truncated);
    EXPECT_THROW(openIsfCached(source, cache), FormatError);
}

TEST(IsfCache, UnwritableCacheFallsBackToDecoding) {
    TempDir dir;
    const std::string source = dir / "small.json.xz";
    writeBytes(source, xzCompress(smallIsf(0x3000)));
    // Below a regular file nothing can be created, not even by root.
    writeBytes(dir / "file", {1, 2, 3});
    std::vector<std::string> unwritable = {dir / "file" + "/cache"};
    if (::geteuid() != 0) {
        fs::create_directory(dir / "readonly");
        fs::permissions(dir / "readonly", fs::perms::owner_read | fs::perms::owner_exec);
        unwritable.push_back(dir / "readonly");
    }
    for (const auto& cache : unwritable) {
        IsfCacheStatus st;
        auto f = openIsfCached(source, cache, &st);
        EXPECT_EQ(st.outcome, Outcome::NotStored) << cache;
        EXPECT_FALSE(st.detail.empty());
        EXPECT_EQ(f->rvaOf("Foo"), 0x3000u);
        EXPECT_EQ(f->symbolAt(0x3004)->name, "Foo");
        EXPECT_EQ(f->type(*f->findType("_S"))->fields.size(), 2u);
        EXPECT_FALSE(fs::exists(st.entry));
    }
    if (::geteuid() != 0) fs::permissions(dir / "readonly", fs::perms::owner_all);
}

TEST(IsfCache, PlainJsonAndNoDirectoryAreNotCached) {
    TempDir dir;
    const std::string json = dir / "small.json";
    std::ofstream(json) << smallIsf(0x3000);
    IsfCacheStatus st;
    EXPECT_EQ(openIsfCached(json, dir / "cache", &st)->rvaOf("Foo"), 0x3000u);
    EXPECT_EQ(st.outcome, Outcome::NotUsed);
    EXPECT_FALSE(fs::exists(dir / "cache"));
    writeBytes(dir / "small.json.xz", xzCompress(smallIsf(0x3000)));
    EXPECT_EQ(openIsfCached(dir / "small.json.xz", "", &st)->rvaOf("Foo"), 0x3000u);
    EXPECT_EQ(st.outcome, Outcome::NotUsed);
    // The error of a missing source names it, as IsfFile::open's does.
    EXPECT_THROW(openIsfCached(dir / "missing.json.xz", dir / "cache"), FormatError);
}

TEST(IsfCache, OneEntryPerSourceFile) {
    TempDir dir;
    fs::create_directories(dir / "a");
    fs::create_directories(dir / "b");
    const auto bytes = xzCompress(smallIsf(0x3000));
    writeBytes(dir / "a/t.json.xz", bytes);
    writeBytes(dir / "b/t.json.xz", xzCompress(smallIsf(0x4000)));
    const std::string cache = dir / "cache";
    // Two spellings of one file share an entry; two files of one name do not.
    EXPECT_EQ(isfCacheEntryPath(dir / "a/t.json.xz", cache), isfCacheEntryPath(dir / "b/../a/t.json.xz", cache));
    EXPECT_NE(isfCacheEntryPath(dir / "a/t.json.xz", cache), isfCacheEntryPath(dir / "b/t.json.xz", cache));
    EXPECT_EQ(openIsfCached(dir / "a/t.json.xz", cache)->rvaOf("Foo"), 0x3000u);
    EXPECT_EQ(openIsfCached(dir / "b/t.json.xz", cache)->rvaOf("Foo"), 0x4000u);
    IsfCacheStatus st;
    EXPECT_EQ(openIsfCached(dir / "a/t.json.xz", cache, &st)->rvaOf("Foo"), 0x3000u);
    EXPECT_EQ(st.outcome, Outcome::Hit);
}

// The cache stays under its bound: the least recently used entries go
// first (mtime; a hit touches its entry), never the entry just written, and
// a dead writer's temporary file older than an hour goes too.
TEST(IsfCache, TrimRemovesLeastRecentlyUsedEntries) {
    TempDir dir;
    const std::string cache = dir / "cache";
    fs::create_directories(cache);
    const auto now = fs::file_time_type::clock::now();
    auto entry = [&](const std::string& name, size_t size, std::chrono::minutes age) {
        writeBytes(cache + "/" + name, std::vector<uint8_t>(size, 0x5a));
        fs::last_write_time(cache + "/" + name, now - age);
    };
    entry("old.ntrisf", 1000, std::chrono::minutes(300));
    entry("mid.ntrisf", 1000, std::chrono::minutes(200));
    entry("new.ntrisf", 1000, std::chrono::minutes(100));
    entry("kept.ntrisf", 1000, std::chrono::minutes(400));  // the oldest, but just written
    entry("other.json", 5000, std::chrono::minutes(500));   // not an entry: never touched
    entry("x.ntrisf.Ab12Cd", 10, std::chrono::minutes(90));  // a dead writer's file
    entry("y.ntrisf.Ef34Gh", 10, std::chrono::minutes(5));   // a writer at work
    EXPECT_EQ(trimIsfCache(cache, cache + "/kept.ntrisf", 2500), 3u);
    EXPECT_FALSE(fs::exists(cache + "/old.ntrisf"));
    EXPECT_FALSE(fs::exists(cache + "/mid.ntrisf"));
    EXPECT_TRUE(fs::exists(cache + "/new.ntrisf"));
    EXPECT_TRUE(fs::exists(cache + "/kept.ntrisf"));
    EXPECT_TRUE(fs::exists(cache + "/other.json"));
    EXPECT_FALSE(fs::exists(cache + "/x.ntrisf.Ab12Cd"));
    EXPECT_TRUE(fs::exists(cache + "/y.ntrisf.Ef34Gh"));
    EXPECT_EQ(trimIsfCache(cache, "", 1 << 20), 0u);  // under the bound: nothing goes
    EXPECT_EQ(trimIsfCache(dir / "missing", "", 0), 0u);
}

TEST(IsfCache, StoringPastTheBoundEvictsTheColdestEntry) {
    TempDir dir;
    for (const char* n : {"a", "b", "c"}) writeBytes(dir / (std::string(n) + ".json.xz"), xzCompress(smallIsf(0x1000)));
    const std::string cache = dir / "cache";
    IsfCacheStatus st;
    openIsfCached(dir / "a.json.xz", cache, &st);
    ASSERT_EQ(st.outcome, Outcome::Stored);
    const uint64_t one = fs::file_size(st.entry);
    const std::string entryA = st.entry;
    fs::last_write_time(entryA, fs::file_time_type::clock::now() - std::chrono::hours(2));
    openIsfCached(dir / "b.json.xz", cache, &st);
    const std::string entryB = st.entry;
    fs::last_write_time(entryB, fs::file_time_type::clock::now() - std::chrono::hours(3));
    // A hit makes a the most recently used again.
    openIsfCached(dir / "a.json.xz", cache, &st);
    ASSERT_EQ(st.outcome, Outcome::Hit);
    // Room for two entries: storing c evicts b, the coldest.
    ::setenv("NTRIAGE_ISF_CACHE_MAX_MB", "0", 1);
    EXPECT_EQ(isfCacheMaxBytes(), 0u);
    ::unsetenv("NTRIAGE_ISF_CACHE_MAX_MB");
    EXPECT_EQ(isfCacheMaxBytes(), uint64_t{1024} << 20);
    EXPECT_EQ(trimIsfCache(cache, entryA, 2 * one), 0u);
    openIsfCached(dir / "c.json.xz", cache, &st);
    ASSERT_EQ(st.outcome, Outcome::Stored);
    EXPECT_EQ(trimIsfCache(cache, st.entry, 2 * one), 1u);
    EXPECT_TRUE(fs::exists(entryA));
    EXPECT_FALSE(fs::exists(entryB));
    EXPECT_TRUE(fs::exists(st.entry));
}

}  // namespace
}  // namespace nt::isf
