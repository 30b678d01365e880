#include "symsrv/store_files.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>

#include "base/error.h"
#include "base/mapped_file.h"
#include "symsrv/cab_expand.h"

namespace nt::symsrv {
namespace fs = std::filesystem;

namespace {

bool equalsIgnoreCase(const std::string& a, const std::string& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// A store directory holds one entry per file name or index; huge ones are
// possible (a name directory of a busy server), so the scan is bounded.
constexpr size_t kMaxEntriesScanned = 1u << 20;

}  // namespace

std::string toLocalPath(const std::string& location) {
    std::string s = location;
    std::replace(s.begin(), s.end(), '\\', '/');
    return s;
}

bool isRegularFile(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

namespace {

// Depth-first: a Linux copy of a Windows store may hold both `ntdll.pdb/`
// and `NTDLL.PDB/`, and the index may sit under either.
std::optional<fs::path> resolveFrom(const fs::path& cur, const std::vector<std::string>& components, size_t i) {
    if (i == components.size()) return cur;
    const std::string& c = components[i];
    if (c.empty() || c == "." || c == ".." || c.find('/') != std::string::npos) return std::nullopt;
    std::error_code ec;
    fs::path exact = cur / c;
    bool exactExists = fs::exists(exact, ec);
    if (exactExists) {
        if (auto r = resolveFrom(exact, components, i + 1)) return r;
    }
    size_t scanned = 0, variants = 0;
    fs::directory_iterator it(cur, ec), end;
    for (; !ec && it != end && scanned < kMaxEntriesScanned && variants < 16; it.increment(ec), ++scanned) {
        std::string name = it->path().filename().string();
        if (name == c || !equalsIgnoreCase(name, c)) continue;
        ++variants;
        if (auto r = resolveFrom(it->path(), components, i + 1)) return r;
    }
    return std::nullopt;
}

}  // namespace

std::optional<fs::path> resolveIgnoringCase(const fs::path& base, const std::vector<std::string>& components) {
    return resolveFrom(base, components, 0);
}

fs::path temporaryBeside(const fs::path& dest) {
    static std::atomic<uint64_t> counter{0};
    size_t tid = std::hash<std::thread::id>{}(std::this_thread::get_id());
    std::string name = "." + dest.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(tid % 100000) + "-" + std::to_string(counter++);
    return dest.parent_path() / name;
}

bool commitTemporary(const fs::path& temp, const fs::path& dest, std::string& error) {
    std::error_code ec;
    fs::rename(temp, dest, ec);
    if (ec) {
        error = "cannot rename into " + dest.string() + ": " + ec.message();
        fs::remove(temp, ec);
        return false;
    }
    return true;
}

bool copyAtomically(const fs::path& src, const fs::path& dest, std::string& error) {
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    fs::path tmp = temporaryBeside(dest);
    fs::copy_file(src, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec) {
        error = "cannot copy to " + dest.string() + ": " + ec.message();
        fs::remove(tmp, ec);
        return false;
    }
    return commitTemporary(tmp, dest, error);
}

bool expandCabAtomically(const fs::path& src, const fs::path& dest, const std::string& member, uint64_t maxBytes,
                         std::string& error) {
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    fs::path tmp = temporaryBeside(dest);
    std::FILE* out = std::fopen(tmp.c_str(), "wb");
    if (!out) {
        error = "cannot create " + tmp.string();
        return false;
    }
    bool ok = true;
    try {
        MappedFile in = MappedFile::open(src.string());
        expandCab(in.bytes(), maxBytes, member, [&](const uint8_t* p, size_t n) {
            return std::fwrite(p, 1, n, out) == n;
        });
    } catch (const FormatError& e) {
        error = e.what();
        ok = false;
    }
    if (std::fclose(out) != 0 && ok) {
        error = "cannot write " + tmp.string();
        ok = false;
    }
    if (!ok) {
        fs::remove(tmp, ec);
        return false;
    }
    return commitTemporary(tmp, dest, error);
}

bool fileLooksLikeCab(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    char sig[4] = {};
    return f.read(sig, 4) && sig[0] == 'M' && sig[1] == 'S' && sig[2] == 'C' && sig[3] == 'F';
}

std::optional<std::string> readSmallFile(const fs::path& p, uint64_t maxBytes) {
    std::error_code ec;
    uint64_t size = fs::file_size(p, ec);
    if (ec || size > maxBytes) return std::nullopt;
    std::ifstream f(p, std::ios::binary);
    if (!f) return std::nullopt;
    std::string s(size, '\0');
    if (!f.read(s.data(), static_cast<std::streamsize>(size))) return std::nullopt;
    return s;
}

}  // namespace nt::symsrv
