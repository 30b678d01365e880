// Kernel-dump scaling (issue 4): the whole `ntriage DUMP -c "!process 0 0"`
// process on synthetic x64 bitmap dumps (type 5) of 1, 4 and 16 GiB of
// physical memory holding the same NT world (50 processes besides System
// and Idle, 3 threads each; see make_kernel_bench_dumps.cpp). Aim: under
// 50 ms and under 64 MiB peak on 16 GiB, and no growth with the dump size.
//
// Each iteration forks and execs the ntriage binary (the one built beside
// this bench) with the ISF of the dumps' kernel on its symbol path, offline,
// and reaps it with wait4: wall time is the benchmark time; the child's CPU
// time and peak RSS (rusage.ru_maxrss) are counters. A forked child starts
// with the copy of this process's resident pages, which ru_maxrss then
// includes: this process's own RSS is printed as that floor (a few MiB).
// The page cache is warm (one untimed run per dump first), and so is the
// ISF cache (isf/isf_cache.h), which the children keep in <dumps>/isf-cache
// ($NTRIAGE_CACHE; emptied when the bench starts, never the user's own).
// A second family times the first run of a machine instead: the ISF cache
// emptied before each run, so the child decodes the .json.xz and writes
// the entry. A third family times `vertarget` with no symbol path on the
// same dumps: the dump reader alone, without the (size-independent) ISF load.
// A fourth runs the issue's command as written, `ntriage DUMP -c "!process 0
// 0"` with no symbol path: the layouts then come from the built-in table of
// the dumps' build (19041, generated from the same ISF), and the bench checks
// that its output equals the ISF run's.
//
// The dumps are read from $NTRIAGE_KERNEL_BENCH_DUMPS, default
// <build>/kernel-dumps (scripts/bench.sh writes them there once); a missing
// one is generated with make_kernel_bench_dumps.
//   ./kernel_bitmap_bench [--benchmark_filter=16GiB]
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string kIsfDir = std::string(NTRIAGE_CORPUS_DIR) + "/jpcert-isf";
const uint64_t kSizesGiB[] = {1, 4, 16};
constexpr const char* kWanted = "!process 0 0";
// Used while `!process` is not registered in the binary under test.
constexpr const char* kFallback = "vertarget; lm; k";

struct ChildRun {
    double wall = 0;      // seconds, fork to reaped exit
    double cpu = 0;       // the child's user + system seconds
    long maxRssKiB = 0;   // the child's peak resident set
    int status = 0;
};

// Runs argv with stdout to `out` (stdin and stderr: /dev/null).
ChildRun runChild(const std::vector<std::string>& argv, const fs::path& out) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int fnull = ::open("/dev/null", O_RDWR);
        int fout = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fnull < 0 || fout < 0) _exit(126);
        dup2(fnull, 0);
        dup2(fout, 1);
        dup2(fnull, 2);
        execv(args[0], args.data());
        _exit(127);
    }
    ChildRun r;
    struct rusage usage {};
    while (wait4(pid, &r.status, 0, &usage) < 0) {
        if (errno != EINTR) throw std::runtime_error("wait4 failed");
    }
    r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto secs = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) * 1e-6; };
    r.cpu = secs(usage.ru_utime) + secs(usage.ru_stime);
    r.maxRssKiB = usage.ru_maxrss;
    return r;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

long selfRssKiB() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

size_t countLinesStarting(const std::string& text, const std::string& prefix) {
    size_t n = 0;
    for (size_t at = 0; at < text.size();) {
        if (text.compare(at, prefix.size(), prefix) == 0) ++n;
        size_t nl = text.find('\n', at);
        if (nl == std::string::npos) break;
        at = nl + 1;
    }
    return n;
}

// The children's ISF cache directory ($NTRIAGE_CACHE).
fs::path gIsfCache;

struct Case {
    uint64_t gib = 0;
    bool coldIsfCache = false;  // empty the ISF cache before each run
    fs::path dump;
    uint64_t fileBytes = 0, diskBytes = 0;
    std::vector<std::string> argv;
    fs::path out;
};

void BM_NtriageProcessList(benchmark::State& state, const Case* c) {
    double cpu = 0;
    long peak = 0;
    for (auto _ : state) {
        if (c->coldIsfCache) {
            std::error_code ec;
            fs::remove_all(gIsfCache, ec);  // not timed: the timing is the child's, fork to exit
        }
        ChildRun r = runChild(c->argv, c->out);
        if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
            state.SkipWithError(("ntriage failed, status " + std::to_string(r.status)).c_str());
            break;
        }
        state.SetIterationTime(r.wall);
        cpu += r.cpu;
        peak = std::max(peak, r.maxRssKiB);
    }
    double n = double(state.iterations() ? state.iterations() : 1);
    state.counters["child_cpu_ms"] = benchmark::Counter(cpu * 1e3 / n);
    state.counters["peak_rss_MiB"] = benchmark::Counter(double(peak) / 1024.0);
    state.counters["file_GiB"] = benchmark::Counter(double(c->fileBytes) / double(1ull << 30));
    state.counters["disk_MiB"] = benchmark::Counter(double(c->diskBytes) / double(1 << 20));
}

// Mean wall and child CPU seconds per iteration, and the peak RSS, by benchmark name.
class RecordingReporter : public benchmark::ConsoleReporter {
public:
    // Colour only on a terminal: "summary" lines must start their line in a file.
    RecordingReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}
    struct Result {
        double wall = 0, cpu = 0, peakMiB = 0;
    };
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& r : runs) {
            if (r.run_type != Run::RT_Iteration || r.iterations == 0 || r.error_occurred) continue;
            Result& x = results_[r.run_name.function_name];
            x.wall = r.real_accumulated_time / double(r.iterations);
            if (auto it = r.counters.find("child_cpu_ms"); it != r.counters.end()) x.cpu = it->second.value * 1e-3;
            if (auto it = r.counters.find("peak_rss_MiB"); it != r.counters.end()) x.peakMiB = it->second.value;
        }
        ConsoleReporter::ReportRuns(runs);
    }
    const std::map<std::string, Result>& results() const { return results_; }

private:
    std::map<std::string, Result> results_;
};

fs::path dumpDir() {
    if (const char* d = std::getenv("NTRIAGE_KERNEL_BENCH_DUMPS"); d && *d) return d;
    return NTRIAGE_KERNEL_BENCH_DUMPS;
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    if (!fs::exists(kIsfDir)) {
        std::printf("skipped: the ISF directory %s is absent\n", kIsfDir.c_str());
        return 0;
    }
    const fs::path dir = dumpDir();
    gIsfCache = dir / "isf-cache";
    std::error_code ec;
    fs::remove_all(gIsfCache, ec);
    ::setenv("NTRIAGE_CACHE", gIsfCache.c_str(), 1);  // inherited by every child
    const fs::path out = fs::temp_directory_path() / ("ntriage-kernel-bench-" + std::to_string(getpid()) + ".txt");

    // Which command: `!process 0 0` when the binary answers it with the
    // process list, else the fallback (and the table says so).
    std::string command = kWanted;
    std::vector<std::unique_ptr<Case>> cases;
    for (uint64_t gib : kSizesGiB) {
        auto c = std::make_unique<Case>();
        c->gib = gib;
        c->dump = dir / ("bitmap-" + std::to_string(gib) + "gib.dmp");
        if (!fs::exists(c->dump)) {
            std::printf("generating %s\n", c->dump.c_str());
            std::fflush(stdout);
            ChildRun g = runChild({MAKE_KERNEL_BENCH_DUMPS, dir.string(), std::to_string(gib)}, "/dev/null");
            if (!WIFEXITED(g.status) || WEXITSTATUS(g.status) != 0 || !fs::exists(c->dump)) {
                std::printf("cannot generate %s (status %d)\n", c->dump.c_str(), g.status);
                return 1;
            }
        }
        struct stat st {};
        if (::stat(c->dump.c_str(), &st) != 0) return 1;
        c->fileBytes = uint64_t(st.st_size);
        c->diskBytes = uint64_t(st.st_blocks) * 512;
        c->out = out;
        cases.push_back(std::move(c));
    }
    auto argvFor = [&](const Case& c, const std::string& cmd) {
        return std::vector<std::string>{NTRIAGE_BINARY, c.dump.string(), "--offline", "-y", kIsfDir, "-c", cmd};
    };
    // The untimed first run of each dump warms the page cache and checks the answer.
    for (auto& c : cases) {
        ChildRun r = runChild(argvFor(*c, command), out);
        std::string text = slurp(out);
        if (command == kWanted && text.find("**** NT ACTIVE PROCESS DUMP ****") == std::string::npos) {
            std::printf("`!process 0 0` is not answered by %s (exit status %d); timing `%s` instead\n",
                        NTRIAGE_BINARY, r.status, kFallback);
            command = kFallback;
            r = runChild(argvFor(*c, command), out);
            text = slurp(out);
        }
        if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
            std::printf("ntriage failed on %s (status %d):\n%s\n", c->dump.c_str(), r.status, text.c_str());
            return 1;
        }
        std::printf("%-22s %6.2f GiB file, %6.1f MiB on disk; `%s`: %zu PROCESS lines, %zu output lines\n",
                    c->dump.filename().c_str(), double(c->fileBytes) / double(1ull << 30),
                    double(c->diskBytes) / double(1 << 20), command.c_str(), countLinesStarting(text, "PROCESS "),
                    countLinesStarting(text, ""));
    }
    for (auto& c : cases) c->argv = argvFor(*c, command);
    std::printf("command timed: ntriage DUMP --offline -y <corpus>/jpcert-isf -c \"%s\"%s\n", command.c_str(),
                command == kWanted ? "" : "  (FALLBACK: !process is not registered)");
    std::printf("this process's RSS at fork (floor of the children's peak): %.1f MiB\n", selfRssKiB() / 1024.0);

    // The same dumps opened with no symbols and only `vertarget`: the dump
    // reader's own cost (header, bitmap rank index), without the ISF load
    // that dominates the process list and does not depend on the dump.
    std::vector<std::unique_ptr<Case>> openOnly, cold, noSymbols;
    for (auto& c : cases) {
        auto n = std::make_unique<Case>(*c);
        n->argv = {NTRIAGE_BINARY, c->dump.string(), "--offline", "-c", command};
        noSymbols.push_back(std::move(n));
        auto o = std::make_unique<Case>(*c);
        o->argv = {NTRIAGE_BINARY, c->dump.string(), "--offline", "-c", "vertarget"};
        openOnly.push_back(std::move(o));
        auto k = std::make_unique<Case>(*c);
        k->coldIsfCache = true;
        cold.push_back(std::move(k));
    }
    for (size_t i = 0; i < cases.size(); ++i) {
        const std::string size = std::to_string(cases[i]->gib) + "GiB";
        benchmark::RegisterBenchmark(("ntriage-process-list/" + size).c_str(), BM_NtriageProcessList, cases[i].get())
            ->Unit(benchmark::kMillisecond)
            ->UseManualTime();
        benchmark::RegisterBenchmark(("ntriage-process-list-cold-isf-cache/" + size).c_str(), BM_NtriageProcessList,
                                     cold[i].get())
            ->Unit(benchmark::kMillisecond)
            ->UseManualTime();
        benchmark::RegisterBenchmark(("ntriage-open-vertarget/" + size).c_str(), BM_NtriageProcessList,
                                     openOnly[i].get())
            ->Unit(benchmark::kMillisecond)
            ->UseManualTime();
        benchmark::RegisterBenchmark(("ntriage-process-list-no-symbols/" + size).c_str(), BM_NtriageProcessList,
                                     noSymbols[i].get())
            ->Unit(benchmark::kMillisecond)
            ->UseManualTime();
    }
    // The built-in table must give the ISF's answer, or the no-symbols family times something else.
    for (size_t i = 0; i < cases.size(); ++i) {
        runChild(cases[i]->argv, out);
        const std::string withIsf = slurp(out);
        runChild(noSymbols[i]->argv, out);
        const std::string without = slurp(out);
        std::printf("no symbol path, %s: output %s the ISF run's (%zu PROCESS lines)\n",
                    cases[i]->dump.filename().c_str(), without == withIsf ? "equals" : "DIFFERS FROM",
                    countLinesStarting(without, "PROCESS "));
    }
    RecordingReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    std::remove(out.c_str());

    // Summary lines for scripts/bench.sh: each size against the aim (50 ms
    // as the "peer": ratio above 1 = under the aim), then the growth: the 16
    // GiB time as "ours" and the 1 GiB time as the "peer" (ratio 1.00 = no
    // growth; below 1 = slower on the bigger dump).
    const auto& res = reporter.results();
    for (const char* family :
         {"ntriage-process-list", "ntriage-process-list-cold-isf-cache", "ntriage-process-list-no-symbols"}) {
        const bool isCold = std::string(family).find("cold") != std::string::npos;
        const bool noSyms = std::string(family).find("no-symbols") != std::string::npos;
        for (const auto& c : cases) {
            auto it = res.find(std::string(family) + "/" + std::to_string(c->gib) + "GiB");
            if (it == res.end() || it->second.wall <= 0 || it->second.cpu <= 0) continue;
            const auto& r = it->second;
            std::printf("summary\t`%s` %llu GiB bitmap%s (peak %.1f MiB) vs aim 50 ms\t%.3f\t50.000\t%.2f\t%.3f\t50.000\t%.2f\n",
                        command.c_str(), static_cast<unsigned long long>(c->gib),
                        isCold ? ", cold ISF cache" : noSyms ? ", no symbol path" : "",
                        r.peakMiB, r.wall * 1e3, 0.05 / r.wall, r.cpu * 1e3, 0.05 / r.cpu);
        }
    }
    for (const char* family : {"ntriage-process-list", "ntriage-process-list-cold-isf-cache",
                               "ntriage-process-list-no-symbols", "ntriage-open-vertarget"}) {
        auto one = res.find(std::string(family) + "/1GiB"), sixteen = res.find(std::string(family) + "/16GiB");
        if (one == res.end() || sixteen == res.end() || one->second.wall <= 0 || sixteen->second.wall <= 0 ||
            one->second.cpu <= 0 || sixteen->second.cpu <= 0)
            continue;
        const auto &a = one->second, &b = sixteen->second;
        std::printf("%s: time ratio 16 GiB / 1 GiB: wall %.2f, CPU %.2f; peak RSS 16 GiB / 1 GiB: %.2f\n", family,
                    b.wall / a.wall, b.cpu / a.cpu, a.peakMiB > 0 ? b.peakMiB / a.peakMiB : 0.0);
        std::printf("summary\t%s growth: 16 GiB (ours) vs 1 GiB (peer)\t%.3f\t%.3f\t%.2f\t%.3f\t%.3f\t%.2f\n", family,
                    b.wall * 1e3, a.wall * 1e3, a.wall / b.wall, b.cpu * 1e3, a.cpu * 1e3, a.cpu / b.cpu);
    }
    std::fflush(stdout);
    benchmark::Shutdown();
    return 0;
}
