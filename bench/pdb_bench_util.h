// Shared by the PDB benchmarks: running the peer tool (llvm-symbolizer-16)
// as a timed child process, building the PE it needs to find a PDB, and a
// reporter that prints "ours vs peer" ratios at the end of a run.
//
// llvm-symbolizer does not open a bare .pdb: it opens a PE, reads the
// CodeView (RSDS) record of its debug directory and loads the PDB named
// there (a relative name is opened relative to the working directory). So we
// copy a small PE of our fixtures (same machine) and rewrite its RSDS record to name the
// PDB under test; addresses are then fed as ImageBase + RVA.
#pragma once

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "pdb/pdb_file.h"

namespace ntbench {

namespace fs = std::filesystem;

inline const std::string kCorpus = NTRIAGE_CORPUS_DIR;
// The bench sources sit in <repo>/bench; the fixtures in <repo>/tests.
inline const fs::path kRepo = fs::path(__FILE__).parent_path().parent_path();
inline const char* kSymbolizer = "llvm-symbolizer-16";

// A private directory removed (with its contents) at exit.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "ntriage-bench-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

struct ChildTime {
    double wall = 0;  // seconds from fork to reaped exit
    double cpu = 0;   // the child's user + system seconds
};

// Runs argv in cwd with stdin/stdout redirected to files (stderr to
// /dev/null) and returns its wall-clock and CPU time. The CPU time is what
// to compare when the machine is loaded (other jobs stretch wall time).
// Throws when the child fails to start or exits non-zero.
inline ChildTime runTimed(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& in,
                       const fs::path& out) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int fin = ::open(in.c_str(), O_RDONLY);
        int fout = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fnull = ::open("/dev/null", O_WRONLY);
        if (fin < 0 || fout < 0 || fnull < 0 || chdir(cwd.c_str()) != 0) _exit(126);
        dup2(fin, 0);
        dup2(fout, 1);
        dup2(fnull, 2);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    struct rusage usage {};
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) throw std::runtime_error("wait4 failed");
    }
    ChildTime t;
    t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto secs = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) * 1e-6; };
    t.cpu = secs(usage.ru_utime) + secs(usage.ru_stime);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(argv[0] + std::string(" failed (status ") + std::to_string(status) + ")");
    return t;
}

// Times the child per iteration: wall clock as the benchmark's (manual)
// time, its CPU time as the counter "child_cpu_ms" (our own process's CPU
// time, which Google Benchmark reports, would not include the child).
inline void timeChild(benchmark::State& state, const std::vector<std::string>& argv, const fs::path& cwd,
                      const fs::path& in, const fs::path& out) {
    double cpu = 0;
    for (auto _ : state) {
        ChildTime t = runTimed(argv, cwd, in, out);
        state.SetIterationTime(t.wall);
        cpu += t.cpu;
    }
    state.counters["child_cpu_ms"] =
        benchmark::Counter(cpu * 1e3 / double(state.iterations() ? state.iterations() : 1));
}

inline std::vector<uint8_t> readFile(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + p.string());
    return {std::istreambuf_iterator<char>(f), {}};
}

template <typename T>
T getLe(const std::vector<uint8_t>& b, size_t off) {
    if (off > b.size() || b.size() - off < sizeof(T)) throw std::runtime_error("PE truncated");
    T v;
    std::memcpy(&v, b.data() + off, sizeof(T));
    return v;
}

struct PeForPdb {
    fs::path exe;          // the patched PE; run llvm-symbolizer in its directory
    uint64_t imageBase = 0;
};

// A small PE of our fixtures for the PDB's machine (x64 or x86); empty for
// another machine.
inline fs::path templatePeFor(const nt::pdb::PdbFile& pdb) {
    const fs::path wine = kRepo / "tests/fixtures/wine/out";
    switch (pdb.machine()) {
    case 0x8664: return wine / "crash-x64-clang.exe";
    case 0x14C: return wine / "crash-x86-clang.exe";
    default: return {};
    }
}

// Copies the PE `templatePe` (of the PDB's machine), rewrites its CodeView record (found
// through the debug directory) to pdb's GUID and `age` and the name
// "<stem>.pdb", and symlinks the PDB beside it under that name.
inline PeForPdb makePeForPdb(const fs::path& templatePe, const fs::path& pdbPath, const nt::pdb::PdbFile& pdb,
                             uint32_t age, const fs::path& dir) {
    std::vector<uint8_t> pe = readFile(templatePe);
    uint32_t nt = getLe<uint32_t>(pe, 0x3C);
    if (getLe<uint32_t>(pe, nt) != 0x4550) throw std::runtime_error("template is not a PE");
    uint16_t sectionCount = getLe<uint16_t>(pe, nt + 6);
    uint16_t optSize = getLe<uint16_t>(pe, nt + 20);
    size_t opt = nt + 24;
    uint16_t magic = getLe<uint16_t>(pe, opt);
    if (magic != 0x20B && magic != 0x10B) throw std::runtime_error("template has no PE32(+) header");
    bool pe64 = magic == 0x20B;
    PeForPdb result;
    result.imageBase = pe64 ? getLe<uint64_t>(pe, opt + 24) : getLe<uint32_t>(pe, opt + 28);
    // Data directory 6 (debug); the directories start at 112 (PE32+) or 96 (PE32).
    size_t debugDir = opt + (pe64 ? 112 : 96) + 6 * 8;
    uint32_t debugRva = getLe<uint32_t>(pe, debugDir);
    uint32_t debugSize = getLe<uint32_t>(pe, debugDir + 4);
    size_t sections = opt + optSize;
    auto fileOffsetOf = [&](uint32_t rva) -> size_t {
        for (uint16_t i = 0; i < sectionCount; ++i) {
            size_t s = sections + size_t(i) * 40;
            uint32_t va = getLe<uint32_t>(pe, s + 12), rawSize = getLe<uint32_t>(pe, s + 16);
            if (rva >= va && rva - va < rawSize) return getLe<uint32_t>(pe, s + 20) + (rva - va);
        }
        throw std::runtime_error("debug directory outside the sections");
    };
    size_t rsds = 0, rsdsSize = 0;
    for (uint32_t d = 0; d + 28 <= debugSize; d += 28) {
        size_t e = fileOffsetOf(debugRva + d);
        if (getLe<uint32_t>(pe, e + 12) == 2 /* IMAGE_DEBUG_TYPE_CODEVIEW */) {
            rsdsSize = getLe<uint32_t>(pe, e + 16);
            rsds = getLe<uint32_t>(pe, e + 24);  // PointerToRawData
        }
    }
    if (!rsds || rsdsSize < 25 || getLe<uint32_t>(pe, rsds) != 0x53445352 /* "RSDS" */)
        throw std::runtime_error("template has no RSDS record");
    if (rsds + rsdsSize > pe.size()) throw std::runtime_error("RSDS record truncated");
    // The GUID is stored in the PE exactly as in the PDB info stream
    // (Data1..3 little-endian, then the 8 bytes of Data4).
    const nt::pdb::Guid& g = pdb.guid();
    std::memcpy(&pe[rsds + 4], &g.data1, 4);
    std::memcpy(&pe[rsds + 8], &g.data2, 2);
    std::memcpy(&pe[rsds + 10], &g.data3, 2);
    std::memcpy(&pe[rsds + 12], g.data4.data(), 8);
    std::memcpy(&pe[rsds + 20], &age, 4);
    std::string name = pdbPath.stem().string() + ".pdb";
    size_t nameRoom = rsdsSize - 24;  // includes the terminating NUL
    if (name.size() + 1 > nameRoom) name = "p.pdb";
    std::memset(&pe[rsds + 24], 0, nameRoom);
    std::memcpy(&pe[rsds + 24], name.data(), name.size());

    result.exe = dir / (pdbPath.stem().string() + ".exe");
    std::ofstream(result.exe, std::ios::binary).write(reinterpret_cast<const char*>(pe.data()), long(pe.size()));
    fs::create_symlink(fs::absolute(pdbPath), dir / name);
    return result;
}

// The function llvm-symbolizer named for each line of its JSON output ("" when
// none). With inline information it lists the inlined frames innermost
// first; the last one is the function that holds the address, which is what
// PdbFile::symbolAt answers.
inline std::vector<std::string> peerNames(const fs::path& jsonLines) {
    std::ifstream in(jsonLines);
    std::vector<std::string> names;
    std::string line;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        std::string name;
        if (j.contains("Symbol") && !j["Symbol"].empty()) name = j["Symbol"].back().value("FunctionName", "");
        names.push_back(name);
    }
    return names;
}

// One line of the "ours vs peer" table printed after the benchmarks.
struct Comparison {
    std::string what;
    std::string ours;  // benchmark names
    std::string peer;
};

// Console output as usual, plus the mean real time per iteration of every
// run kept so that main() can print the comparisons.
class RecordingReporter : public benchmark::ConsoleReporter {
public:
    // Colour only on a terminal (--benchmark_color applies to the default
    // reporter, not to ours): "summary" lines must start their line in a file.
    RecordingReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& r : runs) {
            if (r.run_type != Run::RT_Iteration || r.iterations == 0) continue;
            // Seconds per iteration whatever the display unit.
            Time& t = times_[r.run_name.function_name];
            t.wall = r.real_accumulated_time / double(r.iterations);
            auto child = r.counters.find("child_cpu_ms");
            t.cpu = child != r.counters.end() ? child->second.value * 1e-3
                                              : r.cpu_accumulated_time / double(r.iterations);
        }
        ConsoleReporter::ReportRuns(runs);
    }
    struct Time {
        double wall = 0;  // seconds per iteration
        double cpu = 0;   // ours: this process; a peer: the child process
    };
    const std::map<std::string, Time>& times() const { return times_; }

private:
    std::map<std::string, Time> times_;
};

// "summary<TAB>what<TAB>ours ms<TAB>peer ms<TAB>ratio<TAB>ours CPU ms<TAB>
// peer CPU ms<TAB>CPU ratio" (wall clock, then CPU time; "-" where there is no
// peer): scripts/bench.sh collects these lines. A ratio is peer / ours
// (above 1: we are faster).
inline void printComparisons(const RecordingReporter& rep, const std::vector<Comparison>& rows) {
    const auto& times = rep.times();
    for (const auto& c : rows) {
        auto o = times.find(c.ours), p = times.find(c.peer);
        if (o == times.end()) continue;
        const auto& ours = o->second;
        if (p == times.end() || ours.wall <= 0 || ours.cpu <= 0) {
            std::printf("summary\t%s\t%.3f\t-\t-\t%.3f\t-\t-\n", c.what.c_str(), ours.wall * 1e3, ours.cpu * 1e3);
            continue;
        }
        const auto& peer = p->second;
        std::printf("summary\t%s\t%.3f\t%.3f\t%.2f\t%.3f\t%.3f\t%.2f\n", c.what.c_str(), ours.wall * 1e3,
                    peer.wall * 1e3, peer.wall / ours.wall, ours.cpu * 1e3, peer.cpu * 1e3, peer.cpu / ours.cpu);
    }
    std::fflush(stdout);
}

}  // namespace ntbench
