// The corruption sweep: every input file, truncated at evenly spaced points
// and with seeded bit-flip mutants, is opened and run through the standard
// command set, each run in its own child process with a time and memory
// limit. A run must end in a clean result (opened, or a FormatError naming
// the problem): a signal, a timeout or memory beyond the budget is a finding.
//
//   ntriage_sweep [--truncations N] [--mutants M] [--seed S] [--time-ms T] FILE|DIR...
//
// Prints one summary line; exits 1 when anything was found.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "breakpad/sym_file.h"
#include "commands/engine.h"
#include "dump/open_dump.h"
#include "isf/isf_file.h"
#include "pdb/pdb_file.h"

namespace {

enum Outcome : int { kOpened = 0, kCleanError = 3 };

constexpr const char* kUserCommands = "vertarget; ~*k; lm; r; db @$ip; ~*kv; .exr -1; !teb; !peb; u @$ip";

long rssKiB() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

bool startsWith(const std::vector<uint8_t>& b, std::string_view s) {
    return b.size() >= s.size() && std::memcmp(b.data(), s.data(), s.size()) == 0;
}

// Lays out up to `budget` types of a source, following fields, pointers and
// arrays one level: what `dt` and the object model do with them.
void walkTypes(const nt::types::TypeProvider& tp) {
    unsigned budget = 2000;
    tp.forEachTypeName([&](std::string_view name) {
        if (auto id = tp.findType(name)) {
            if (const auto* t = tp.type(*id)) {
                for (const auto& f : t->fields) {
                    if (const auto* ft = tp.type(f.type); ft && ft->target != nt::types::kNoType) (void)tp.type(ft->target);
                }
            }
        }
        return --budget > 0;
    });
}

// The symbol-file readers get the same treatment as the dump readers: a
// bad PDB, .sym or ISF table must end in a FormatError or in answers, never
// in a crash or a hang.
void exerciseSymbolFile(const std::vector<uint8_t>& bytes) {
    nt::Bytes b(bytes.data(), bytes.size());
    if (startsWith(bytes, "Microsoft C/C++ MSF 7.00")) {
        auto pdb = nt::pdb::PdbFile::openBytes(b);
        for (uint32_t rva = 0; rva < 0x200000; rva += 0x1003) {
            (void)pdb->symbolAt(rva);
            (void)pdb->lineAt(rva);
            (void)pdb->frameDataAt(rva);
        }
        (void)pdb->rvaOf("main");
        if (const auto* tp = pdb->types()) walkTypes(*tp);
    } else if (startsWith(bytes, "MODULE ")) {
        auto sym = nt::breakpad::SymFile::parse(b);
        for (uint64_t rva = 0; rva < 0x200000; rva += 0x1003) {
            (void)sym.functionAt(rva);
            (void)sym.lineAt(rva);
            (void)sym.stackWinAt(rva);
            (void)sym.cfiAt(rva);
        }
    } else {
        auto isf = nt::isf::IsfFile::fromBytes(std::span<const uint8_t>(bytes.data(), bytes.size()));
        for (uint64_t rva = 0; rva < 0x2000000; rva += 0x10003) (void)isf->symbolAt(rva);
        walkTypes(*isf);
    }
}

bool isSymbolFile(const std::vector<uint8_t>& b, const std::string& name) {
    auto endsWith = [&](std::string_view s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
    return endsWith(".pdb") || endsWith(".sym") || endsWith(".syms") || endsWith(".json") || endsWith(".json.xz") ||
           startsWith(b, "Microsoft C/C++ MSF 7.00") || startsWith(b, "MODULE ");
}

// Runs in the child: open the bytes, run the commands, report peak growth.
[[noreturn]] void child(const std::vector<uint8_t>& bytes, bool symbolFile, int reportFd) {
    long before = rssKiB();
    int status = kOpened;
    try {
        if (symbolFile) {
            exerciseSymbolFile(bytes);
        } else {
            auto target = nt::openDumpBytes(nt::Bytes(bytes.data(), bytes.size()), "sweep");
            nt::Engine engine(std::move(target));
            for (auto& out : engine.runLine(kUserCommands))
                (void)out.json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
    } catch (const nt::FormatError&) {
        status = kCleanError;
    }
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    long growth = ru.ru_maxrss - before;
    if (write(reportFd, &growth, sizeof growth) != sizeof growth) _exit(4);
    _exit(status);
}

struct Totals {
    long runs = 0, opened = 0, clean = 0, crashes = 0, timeouts = 0, overBudget = 0;
    long worstGrowthKiB = 0;
    std::string worstFile;
    double worstSeconds = 0;
    bool verbose = false;
};

void runOne(const std::vector<uint8_t>& bytes, bool symbolFile, const std::string& label, int timeMs, Totals& t) {
    int fds[2];
    if (pipe(fds) != 0) return;
    auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        // A hard ceiling well above the budget, so a runaway child cannot take
        // the machine. Not under AddressSanitizer, which reserves terabytes of
        // address space for its shadow: there the measured peak still counts.
#if !defined(__SANITIZE_ADDRESS__)
        struct rlimit as {};
        as.rlim_cur = as.rlim_max = (4 * bytes.size() + (1ull << 30));
        setrlimit(RLIMIT_AS, &as);
#endif
        child(bytes, symbolFile, fds[1]);
    }
    close(fds[1]);
    int status = 0;
    bool timedOut = false;
    while (true) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
        if (ms > timeMs) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            timedOut = true;
            break;
        }
        usleep(500);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    long growth = 0;
    if (read(fds[0], &growth, sizeof growth) != sizeof growth) growth = 0;
    close(fds[0]);
    ++t.runs;
    if (secs > t.worstSeconds) t.worstSeconds = secs;
    if (timedOut) {
        ++t.timeouts;
        std::fprintf(stderr, "TIMEOUT %s\n", label.c_str());
        return;
    }
    if (WIFSIGNALED(status) || !WIFEXITED(status) || (WEXITSTATUS(status) != kOpened && WEXITSTATUS(status) != kCleanError)) {
        ++t.crashes;
        std::fprintf(stderr, "CRASH %s (status 0x%x)\n", label.c_str(), status);
        return;
    }
    if (WEXITSTATUS(status) == kOpened) ++t.opened;
    else ++t.clean;
    if (t.verbose) std::fprintf(stderr, "%s %s\n", WEXITSTATUS(status) == kOpened ? "OPENED" : "CLEAN", label.c_str());
    long budgetKiB = static_cast<long>((4 * bytes.size() + (64ull << 20)) / 1024);
#if defined(__SANITIZE_ADDRESS__)
    // ASan's shadow memory and quarantine inflate every peak: the budget is
    // checked by the uninstrumented build.
    budgetKiB = std::numeric_limits<long>::max();
#endif
    if (growth > budgetKiB) {
        ++t.overBudget;
        std::fprintf(stderr, "OVER-BUDGET %s: %ld KiB > %ld KiB\n", label.c_str(), growth, budgetKiB);
    }
    if (growth > t.worstGrowthKiB) {
        t.worstGrowthKiB = growth;
        t.worstFile = label;
    }
}

std::vector<uint8_t> readFile(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
    int truncations = 64, mutants = 200, timeMs = 2000;
    unsigned seed = 1;
    uint64_t maxFileBytes = 64ull << 20;
    std::vector<std::string> files;
    bool verbose = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--truncations") truncations = std::stoi(next());
        else if (a == "--mutants") mutants = std::stoi(next());
        else if (a == "--seed") seed = static_cast<unsigned>(std::stoul(next()));
        else if (a == "--time-ms") timeMs = std::stoi(next());
        else if (a == "--max-file-mb") maxFileBytes = std::stoull(next()) << 20;
        else if (a == "--verbose") verbose = true;
        else if (std::filesystem::is_directory(a)) {
            for (auto& e : std::filesystem::recursive_directory_iterator(a))
                if (e.is_regular_file()) files.push_back(e.path().string());
        } else if (std::filesystem::is_regular_file(a)) {
            files.push_back(a);
        }
    }
    std::sort(files.begin(), files.end());
    Totals t;
    t.verbose = verbose;
    std::mt19937_64 rng(seed);
    for (const auto& f : files) {
        std::vector<uint8_t> orig = readFile(f);
        if (orig.size() > maxFileBytes) continue;
        bool sym = isSymbolFile(orig, f);
        runOne(orig, sym, f, timeMs, t);
        for (int k = 1; k <= truncations && !orig.empty(); ++k) {
            size_t cut = orig.size() * static_cast<size_t>(k - 1) / static_cast<size_t>(truncations);
            std::vector<uint8_t> v(orig.begin(), orig.begin() + static_cast<long>(cut));
            runOne(v, sym, f + " truncated at " + std::to_string(cut), timeMs, t);
        }
        for (int k = 0; k < mutants && !orig.empty(); ++k) {
            std::vector<uint8_t> v = orig;
            // Flip 1-8 bits, biased to the first 64 KiB where headers and directories live.
            int flips = 1 + static_cast<int>(rng() % 8);
            for (int b = 0; b < flips; ++b) {
                size_t span = (rng() & 1) ? std::min<size_t>(v.size(), 65536) : v.size();
                size_t at = rng() % span;
                v[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
            }
            runOne(v, sym, f + " mutant " + std::to_string(k) + " (seed " + std::to_string(seed) + ")", timeMs, t);
        }
    }
    std::printf("sweep: %ld runs, %ld opened, %ld clean errors, %ld crashes, %ld timeouts, %ld over memory budget; "
                "slowest run %.3f s; worst peak growth %.1f MiB (%s)\n",
                t.runs, t.opened, t.clean, t.crashes, t.timeouts, t.overBudget, t.worstSeconds,
                t.worstGrowthKiB / 1024.0, t.worstFile.c_str());
    return (t.crashes || t.timeouts || t.overBudget) ? 1 : 0;
}
