// Temporary directories and small file helpers for the symbol-store tests.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "symsrv/symbol_locator.h"

namespace nt::test {

class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("ntr-symsrv-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string str() const { return path_.string(); }
    std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

private:
    std::filesystem::path path_;
};

inline void writeFile(const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream o(path, std::ios::binary);
    o.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string readFile(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline bool anyProbe(const std::vector<symsrv::Probe>& probes, const std::string& whereSuffix,
                     const std::string& resultPart) {
    for (const auto& p : probes) {
        bool whereOk = p.where.size() >= whereSuffix.size() &&
                       p.where.compare(p.where.size() - whereSuffix.size(), whereSuffix.size(), whereSuffix) == 0;
        if (whereOk && p.result.find(resultPart) != std::string::npos) return true;
    }
    return false;
}

inline std::string describe(const std::vector<symsrv::Probe>& probes) {
    std::string s;
    for (const auto& p : probes) s += "  " + p.where + " -> " + p.result + (p.destination.empty() ? "" : " [" + p.destination + "]") + "\n";
    return s;
}

// No temporary download files left anywhere under dir.
inline size_t countTemporaries(const std::string& dir) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        n += it->path().filename().string().find(".tmp-") != std::string::npos;
    return n;
}

}  // namespace nt::test
