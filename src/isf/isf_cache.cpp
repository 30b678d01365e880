#include "isf/isf_cache.h"

#include <fcntl.h>
#include <lzma.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "isf/xz_decode.h"

namespace nt::isf {
namespace {

// Entry layout: a 128-byte header, the JSON document, zero padding to 8,
// the index blob. Header fields (little-endian, like the blob):
//   0 magic  8 u32 version  12 u32 header size  16 u64 file size
//  24 u64 source size  32 u64 source mtime (ns)  40 u64 source CRC-64
//  48 u64 document offset  56 u64 document size  64 u64 index offset
//  72 u64 index size  80 u64 CRC-64 of the bytes after the header
//  88..119 zero  120 u64 CRC-64 of bytes 0..119
constexpr char kMagic[8] = {'N', 'T', 'R', 'I', 'S', 'F', 'C', '\n'};
// Bump when the header, the blob or the name hash change: old entries then miss.
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 128;
constexpr size_t kHeaderCrcAt = 120;
// The index of a 512 MiB document cannot need more than its size again.
constexpr uint64_t kMaxEntrySize = kHeaderSize + 2 * kMaxDecompressedIsf;

struct SourceKey {
    uint64_t size = 0;
    uint64_t mtimeNs = 0;
    uint64_t crc = 0;
    bool operator==(const SourceKey&) const = default;
};

struct Header {
    uint64_t fileSize = 0;
    SourceKey source;
    uint64_t docOffset = 0, docSize = 0, indexOffset = 0, indexSize = 0;
    uint64_t bodyCrc = 0;
};

uint64_t get64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

uint32_t get32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, sizeof v); }

uint64_t align8(uint64_t v) { return (v + 7) & ~uint64_t(7); }

std::array<uint8_t, kHeaderSize> encodeHeader(const Header& h) {
    std::array<uint8_t, kHeaderSize> b{};
    std::memcpy(b.data(), kMagic, sizeof kMagic);
    const uint32_t version = kVersion, headerSize = kHeaderSize;
    std::memcpy(b.data() + 8, &version, 4);
    std::memcpy(b.data() + 12, &headerSize, 4);
    put64(b.data() + 16, h.fileSize);
    put64(b.data() + 24, h.source.size);
    put64(b.data() + 32, h.source.mtimeNs);
    put64(b.data() + 40, h.source.crc);
    put64(b.data() + 48, h.docOffset);
    put64(b.data() + 56, h.docSize);
    put64(b.data() + 64, h.indexOffset);
    put64(b.data() + 72, h.indexSize);
    put64(b.data() + 80, h.bodyCrc);
    put64(b.data() + kHeaderCrcAt, lzma_crc64(b.data(), kHeaderCrcAt, 0));
    return b;
}

// The header of an entry of `size` bytes, or why it is not one.
std::optional<Header> decodeHeader(const uint8_t* p, uint64_t size, std::string& why) {
    auto reject = [&](const char* reason) {
        why = reason;
        return std::nullopt;
    };
    if (size < kHeaderSize || std::memcmp(p, kMagic, sizeof kMagic) != 0) return reject("not a cache entry");
    if (get32(p + 8) != kVersion || get32(p + 12) != kHeaderSize) return reject("another format version");
    if (get64(p + kHeaderCrcAt) != lzma_crc64(p, kHeaderCrcAt, 0)) return reject("header checksum mismatch");
    Header h;
    h.fileSize = get64(p + 16);
    h.source = {get64(p + 24), get64(p + 32), get64(p + 40)};
    h.docOffset = get64(p + 48);
    h.docSize = get64(p + 56);
    h.indexOffset = get64(p + 64);
    h.indexSize = get64(p + 72);
    h.bodyCrc = get64(p + 80);
    if (h.fileSize != size) return reject("truncated or extended");
    // Every section where the writer puts it, and nothing outside the file.
    if (h.docOffset != kHeaderSize || h.docSize > kMaxDecompressedIsf ||
        h.indexOffset != align8(h.docOffset + h.docSize) || h.indexOffset > size || h.indexSize != size - h.indexOffset)
        return reject("sections do not fit");
    return h;
}

// A read-only mapping of a whole cache entry, populated up front: the body
// checksum reads every page anyway, and one populate beats a fault per page.
class EntryMapping {
public:
    static std::shared_ptr<EntryMapping> open(const std::string& path, std::string& why);
    EntryMapping(const EntryMapping&) = delete;
    EntryMapping& operator=(const EntryMapping&) = delete;
    ~EntryMapping() {
        if (addr_) ::munmap(addr_, size_);
    }
    const uint8_t* data() const { return static_cast<const uint8_t*>(addr_); }
    uint64_t size() const { return size_; }

private:
    EntryMapping(void* addr, uint64_t size) : addr_(addr), size_(size) {}
    void* addr_;
    uint64_t size_;
};

std::shared_ptr<EntryMapping> EntryMapping::open(const std::string& path, std::string& why) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;  // no entry yet: a plain miss
    struct stat st {};
    void* addr = MAP_FAILED;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) why = "not a regular file";
    else if (st.st_size < static_cast<off_t>(kHeaderSize) || static_cast<uint64_t>(st.st_size) > kMaxEntrySize)
        why = "size out of range";
    else addr = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    ::close(fd);
    if (addr == MAP_FAILED) {
        if (why.empty()) why = std::string("cannot map: ") + std::strerror(errno);
        return nullptr;
    }
    return std::shared_ptr<EntryMapping>(new EntryMapping(addr, static_cast<uint64_t>(st.st_size)));
}

// The table an entry holds, when it is intact and made from this source.
std::unique_ptr<IsfFile> loadEntry(const std::string& entry, const SourceKey& key, std::string& why) {
    std::shared_ptr<EntryMapping> map = EntryMapping::open(entry, why);
    if (!map) return nullptr;
    std::optional<Header> h = decodeHeader(map->data(), map->size(), why);
    if (!h) return nullptr;
    if (!(h->source == key)) {
        why = "stale: the source changed";
        return nullptr;
    }
    if (lzma_crc64(map->data() + kHeaderSize, map->size() - kHeaderSize, 0) != h->bodyCrc) {
        why = "body checksum mismatch";
        return nullptr;
    }
    const std::string_view doc(reinterpret_cast<const char*>(map->data() + h->docOffset), h->docSize);
    auto index = IsfIndex::view(doc, std::span<const uint8_t>(map->data() + h->indexOffset, h->indexSize));
    if (!index) {
        why = "index does not fit";
        return nullptr;
    }
    try {
        return IsfFile::fromIndex(*index, std::move(map));
    } catch (const FormatError& e) {
        why = e.what();
        return nullptr;
    }
}

bool writeAll(int fd, const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

// Writes the entry through a temporary file renamed into place, so that a
// reader never sees half an entry (and a crash leaves at most a stray
// temporary). No fsync: a torn entry after a power loss fails its checks.
bool storeEntry(const std::string& entry, const SourceKey& key, const IsfDocument& doc, std::string& why) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(entry).parent_path(), ec);
    std::string temp = entry + ".XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) {
        why = std::string("cannot create: ") + std::strerror(errno);
        return false;
    }
    ::fchmod(fd, 0644);  // the content is public symbol data; mkstemp's 0600 would hide it from a shared store
    static constexpr uint8_t kZeros[8] = {};
    Header h;
    h.source = key;
    h.docOffset = kHeaderSize;
    h.docSize = doc.json.size();
    h.indexOffset = align8(h.docOffset + h.docSize);
    h.indexSize = doc.index.size();
    h.fileSize = h.indexOffset + h.indexSize;
    const size_t pad = static_cast<size_t>(h.indexOffset - h.docOffset - h.docSize);
    h.bodyCrc = lzma_crc64(reinterpret_cast<const uint8_t*>(doc.json.data()), doc.json.size(), 0);
    h.bodyCrc = lzma_crc64(kZeros, pad, h.bodyCrc);
    h.bodyCrc = lzma_crc64(doc.index.data(), doc.index.size(), h.bodyCrc);
    const auto header = encodeHeader(h);
    const bool written = writeAll(fd, header.data(), header.size()) &&
                         writeAll(fd, doc.json.data(), doc.json.size()) && writeAll(fd, kZeros, pad) &&
                         writeAll(fd, doc.index.data(), doc.index.size());
    const int writeErrno = errno;
    const bool closed = ::close(fd) == 0;
    if (!written || !closed) {
        why = std::string("cannot write: ") + std::strerror(written ? errno : writeErrno);
    } else if (::rename(temp.c_str(), entry.c_str()) != 0) {
        why = std::string("cannot rename: ") + std::strerror(errno);
    } else {
        return true;
    }
    ::unlink(temp.c_str());
    return false;
}

std::optional<SourceKey> sourceKey(const std::string& path, std::span<const uint8_t> bytes) {
    struct stat st {};
    // A file that changes between the mapping and the stat is not cached.
    if (::stat(path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != bytes.size()) return std::nullopt;
    SourceKey k;
    k.size = bytes.size();
    k.mtimeNs = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ull + static_cast<uint64_t>(st.st_mtim.tv_nsec);
    k.crc = lzma_crc64(bytes.data(), bytes.size(), 0);
    return k;
}

// Decodes and indexes the source (with the RVA order, which the entry keeps).
std::shared_ptr<IsfDocument> decodeSource(const std::string& path, std::span<const uint8_t> xz) {
    auto doc = std::make_shared<IsfDocument>();
    try {
        doc->json = decodeXz(xz);
        doc->index = buildIsfIndex(doc->json, /*withRvaOrder=*/true);
    } catch (const FormatError& e) {
        throw FormatError(path + ": " + e.what());
    }
    return doc;
}

// A source that is not xz, or not a stable regular file: decoded as before.
std::unique_ptr<IsfFile> openUncached(const std::string& path, std::span<const uint8_t> bytes) {
    try {
        return IsfFile::fromBytes(bytes);
    } catch (const FormatError& e) {
        throw FormatError(path + ": " + e.what());
    }
}

std::string hex16(uint64_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
    return s;
}

}  // namespace

std::string isfCacheEntryPath(const std::string& source, const std::string& cacheDir) {
    // The same file reached by two spellings shares one entry.
    std::string absolute = source;
    if (char* real = ::realpath(source.c_str(), nullptr)) {
        absolute = real;
        std::free(real);
    }
    std::string base = std::filesystem::path(absolute).filename().string();
    // The file name is only a label for humans: keep it short and plain.
    std::erase_if(base, [](char c) { return !(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'); });
    if (base.size() > 96) base.resize(96);
    return cacheDir + "/" + base + "." + hex16(isfNameHash(absolute)) + ".ntrisf";
}

uint64_t isfCacheMaxBytes() {
    if (const char* v = std::getenv("NTRIAGE_ISF_CACHE_MAX_MB"); v && *v) {
        char* end = nullptr;
        const unsigned long long mb = std::strtoull(v, &end, 10);
        if (end && *end == '\0' && mb <= (uint64_t{1} << 40)) return static_cast<uint64_t>(mb) << 20;
    }
    return uint64_t{1024} << 20;
}

size_t trimIsfCache(const std::string& cacheDir, const std::string& keep, uint64_t maxBytes) {
    namespace fs = std::filesystem;
    struct Entry {
        fs::path path;
        uint64_t size;
        fs::file_time_type used;
    };
    std::vector<Entry> entries;
    size_t removed = 0, seen = 0;
    uint64_t total = 0;
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    const std::string keepName = fs::path(keep).filename().string();
    for (fs::directory_iterator it(cacheDir, ec), end; !ec && it != end && seen < 100000; it.increment(ec), ++seen) {
        const fs::path p = it->path();
        const std::string name = p.filename().string();
        std::error_code e2;
        const auto used = fs::last_write_time(p, e2);
        if (e2 || !it->is_regular_file(e2)) continue;
        if (name.find(".ntrisf.") != std::string::npos) {  // mkstemp's leftovers
            if (now - used > std::chrono::hours(1) && fs::remove(p, e2)) ++removed;
            continue;
        }
        if (name.size() < 7 || name.compare(name.size() - 7, 7, ".ntrisf") != 0) continue;
        const uint64_t size = it->file_size(e2);
        if (e2) continue;
        total += size;
        if (name != keepName) entries.push_back({p, size, used});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used < b.used; });
    for (const Entry& e : entries) {
        if (total <= maxBytes) break;
        std::error_code e2;
        if (fs::remove(e.path, e2)) {
            total -= e.size;
            ++removed;
        }
    }
    return removed;
}

std::unique_ptr<IsfFile> openIsfCached(const std::string& path, const std::string& cacheDir, IsfCacheStatus* status) {
    IsfCacheStatus local;
    IsfCacheStatus& st = status ? *status : local;
    st = {};
    if (cacheDir.empty()) return IsfFile::open(path);
    MappedFile file = MappedFile::open(path);
    const std::span<const uint8_t> bytes(file.bytes().data(), file.bytes().size());
    // Plain JSON needs no decoding, and an entry would duplicate the file.
    if (!looksLikeXz(bytes)) return openUncached(path, bytes);
    const std::optional<SourceKey> key = sourceKey(path, bytes);
    if (!key) return openUncached(path, bytes);

    st.entry = isfCacheEntryPath(path, cacheDir);
    if (auto hit = loadEntry(st.entry, *key, st.detail)) {
        st.outcome = IsfCacheStatus::Outcome::Hit;
        ::utimensat(AT_FDCWD, st.entry.c_str(), nullptr, 0);  // recently used (a read-only store just refuses)
        return hit;
    }
    st.replaced = !st.detail.empty();
    std::shared_ptr<IsfDocument> doc = decodeSource(path, bytes);
    std::unique_ptr<IsfFile> fresh = IsfFile::fromDocument(doc);
    std::string why;
    st.outcome = storeEntry(st.entry, *key, *doc, why) ? IsfCacheStatus::Outcome::Stored : IsfCacheStatus::Outcome::NotStored;
    if (st.outcome == IsfCacheStatus::Outcome::Stored) trimIsfCache(cacheDir, st.entry, isfCacheMaxBytes());
    if (!why.empty()) st.detail = st.detail.empty() ? why : st.detail + "; " + why;
    return fresh;
}

}  // namespace nt::isf
