// The persistent cache of decoded ISF tables. Decoding a kernel's .json.xz
// (0.6 MB of xz, 6 MB of JSON) and indexing it costs a process ~50 ms of
// CPU; a cache entry holds the decoded document and its index blob
// (isf_index.h), so the next open maps the entry and answers lookups
// without decoding or scanning anything.
//
// Keying: an entry is named after its source (file name + a hash of the
// source's absolute path) and its header records the source's size, mtime
// and the CRC-64 of its bytes, all compared on every open: a changed source
// is never served stale, it is decoded again and its entry rewritten.
//
// An entry is hostile input too: its header (magic, version, CRC), its
// length and the CRC-64 of its whole body are checked before anything in it
// is used, and IsfIndex bounds-checks every record it reads. A failed check
// is a miss (the entry is rewritten). Writes go to a temporary file renamed
// into place; a cache that cannot be written is skipped silently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "isf/isf_file.h"

namespace nt::isf {

struct IsfCacheStatus {
    enum class Outcome {
        NotUsed,    // no cache directory, or the source is plain JSON (nothing to decode)
        Hit,        // served from the entry
        Stored,     // decoded, and the entry written
        NotStored,  // decoded; the entry could not be written (detail says why)
    };
    Outcome outcome = Outcome::NotUsed;
    bool replaced = false;  // an entry existed but was stale or damaged (detail says which)
    std::string entry;      // the entry's path; "" when the cache was not used
    std::string detail;
};

// Opens an ISF table (.json or .json.xz) through the cache in cacheDir
// (created when missing). An empty cacheDir is IsfFile::open. Throws
// FormatError, as IsfFile::open does, when the source itself is bad;
// nothing about the cache ever throws.
std::unique_ptr<IsfFile> openIsfCached(const std::string& path, const std::string& cacheDir,
                                       IsfCacheStatus* status = nullptr);

// Where the entry of source lives in cacheDir.
std::string isfCacheEntryPath(const std::string& source, const std::string& cacheDir);

// The cache's size bound: entries are about 8 MB per kernel build, and a
// crash-reporting host sees many builds. After each store the least
// recently used entries (by mtime: a hit touches its entry) are removed
// until the *.ntrisf files total at most this; $NTRIAGE_ISF_CACHE_MAX_MB
// overrides the default of 1024 MiB.
uint64_t isfCacheMaxBytes();

// Removes the least recently used entries of cacheDir until the rest total
// at most maxBytes, never `keep` (the entry just written), and temporary
// files older than an hour (a writer that died). Returns how many files it
// removed. Looks at most at 100 000 directory entries.
size_t trimIsfCache(const std::string& cacheDir, const std::string& keep, uint64_t maxBytes);

}  // namespace nt::isf
