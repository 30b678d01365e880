// The corruption sweep: every input file, truncated at evenly spaced points
// and with seeded bit-flip mutants, is opened and run through the standard
// command set, each run in its own child process with a time and memory
// limit. A run must end in a clean result (opened, or a FormatError naming
// the problem): a signal, a timeout or memory beyond the budget is a finding.
//
//   ntriage_sweep [--truncations N] [--mutants M] [--seed S] [--time-ms T] FILE|DIR...
//
// Kernel dumps (PAGEDUMP/PAGEDU64) get the kernel command set instead of the
// user one, and with --synthetic-kernel-dumps ISF two dumps of the synthetic
// kernel-dump builder (tests/support/kdump_builder: a bitmap and a full dump
// of a small NT world) join the inputs. --kernel-only keeps only kernel
// dumps; --kernel-symbols DIR puts DIR (e.g. the corpus's jpcert-isf) on the
// symbol path of kernel-dump runs (offline), so that the NT object model
// runs over the damaged memory too. --save-findings DIR keeps the inputs
// of crashes, timeouts and runs over budget (and, with --save-growth-mib N,
// of runs whose peak growth passes N MiB) for reproduction.
//
// Prints one summary line; exits 1 when anything was found.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "breakpad/sym_file.h"
#include "commands/engine.h"
#include "dump/open_dump.h"
#include "isf/isf_file.h"
#include "pdb/pdb_file.h"
#if NTRIAGE_SWEEP_KDUMP_BUILDER
#include "support/kdump_builder/kdump_builder.h"
#endif

namespace {

enum Outcome : int { kOpened = 0, kCleanError = 3 };

constexpr const char* kUserCommands = "vertarget; ~*k; lm; r; db @$ip; ~*kv; .exr -1; !teb; !peb; u @$ip";
constexpr const char* kKernelCommands = "vertarget; .bugcheck; lm; r; k; db @$ip; !pcr; !running; !vm";
// Added to the kernel set when the engine has them (they are newer).
constexpr const char* kKernelObjectCommands[] = {"!process 0 0", "!thread"};

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

bool isKernelDump(const std::vector<uint8_t>& b) { return startsWith(b, "PAGEDUMP") || startsWith(b, "PAGEDU64"); }

bool isSymbolFile(const std::vector<uint8_t>& b, const std::string& name) {
    auto endsWith = [&](std::string_view s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
    return endsWith(".pdb") || endsWith(".sym") || endsWith(".syms") || endsWith(".json") || endsWith(".json.xz") ||
           startsWith(b, "Microsoft C/C++ MSF 7.00") || startsWith(b, "MODULE ");
}

enum class Kind { Dump, KernelDump, SymbolFile };

// What a run does with the input beyond its kind.
struct RunConfig {
    std::string kernelSymbolPath;  // empty: no symbols for kernel dumps
};

std::string kernelCommandLine(const nt::Engine& engine) {
    std::string line = kKernelCommands;
    for (const char* c : kKernelObjectCommands) {
        std::string_view name(c);
        name = name.substr(0, name.find(' '));
        if (engine.commands().count(std::string(name))) line += std::string("; ") + c;
    }
    return line;
}

// Runs in the child: open the bytes, run the commands, report peak growth.
[[noreturn]] void child(const std::vector<uint8_t>& bytes, Kind kind, const RunConfig& config, int reportFd) {
    long before = rssKiB();
    int status = kOpened;
    try {
        if (kind == Kind::SymbolFile) {
            exerciseSymbolFile(bytes);
        } else {
            auto target = nt::openDumpBytes(nt::Bytes(bytes.data(), bytes.size()), "sweep");
            nt::Engine engine(std::move(target));
            std::string line = kUserCommands;
            if (kind == Kind::KernelDump) {
                line = kernelCommandLine(engine);
                if (!config.kernelSymbolPath.empty()) {
                    auto options = engine.symbols().locatorOptions();
                    options.offline = true;  // never a download from a sweep
                    engine.symbols().setLocatorOptions(options);
                    engine.symbols().setSymbolPath(config.kernelSymbolPath);
                }
            }
            for (auto& out : engine.runLine(line))
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
    std::string saveDir;  // where the inputs of findings are written (empty: nowhere)
    long saveGrowthKiB = 0;  // also save inputs whose peak growth passes this (0: no)
    long saved = 0;
};

// Keeps the input of a finding for reproduction and minimisation.
void saveFinding(const std::vector<uint8_t>& bytes, const char* what, Totals& t) {
    if (t.saveDir.empty()) return;
    std::filesystem::create_directories(t.saveDir);
    std::string path = t.saveDir + "/" + what + "-" + std::to_string(t.saved++) + ".bin";
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    std::fprintf(stderr, "  saved as %s\n", path.c_str());
}

void runOne(const std::vector<uint8_t>& bytes, Kind kind, const RunConfig& config, const std::string& label, int timeMs,
            Totals& t) {
    int fds[2];
    if (pipe(fds) != 0) return;
    // Give the heap freed by earlier inputs back to the system first: the
    // child's growth is measured from its resident size at start, and
    // allocations landing in already-resident free heap would not show.
    malloc_trim(0);
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
        child(bytes, kind, config, fds[1]);
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
        saveFinding(bytes, "timeout", t);
        return;
    }
    if (WIFSIGNALED(status) || !WIFEXITED(status) || (WEXITSTATUS(status) != kOpened && WEXITSTATUS(status) != kCleanError)) {
        ++t.crashes;
        std::fprintf(stderr, "CRASH %s (status 0x%x)\n", label.c_str(), status);
        saveFinding(bytes, "crash", t);
        return;
    }
    if (WEXITSTATUS(status) == kOpened) ++t.opened;
    else ++t.clean;
    if (t.verbose)
        std::fprintf(stderr, "%s %s (%.3f s, peak growth %.1f MiB)\n", WEXITSTATUS(status) == kOpened ? "OPENED" : "CLEAN",
                     label.c_str(), secs, double(growth) / 1024.0);
    long budgetKiB = static_cast<long>((4 * bytes.size() + (64ull << 20)) / 1024);
#if defined(__SANITIZE_ADDRESS__)
    // ASan's shadow memory and quarantine inflate every peak: the budget is
    // checked by the uninstrumented build.
    budgetKiB = std::numeric_limits<long>::max();
#endif
    if (growth > budgetKiB) {
        ++t.overBudget;
        std::fprintf(stderr, "OVER-BUDGET %s: %ld KiB > %ld KiB\n", label.c_str(), growth, budgetKiB);
        saveFinding(bytes, "over-budget", t);
    } else if (t.saveGrowthKiB > 0 && growth > t.saveGrowthKiB) {
        std::fprintf(stderr, "GROWTH %s: %ld KiB\n", label.c_str(), growth);
        saveFinding(bytes, "growth", t);
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

uint64_t fnv1a(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    return h;
}

// A private directory removed (with its contents) at exit.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "ntriage-sweep-XXXXXX").string();
        if (mkdtemp(tmpl.data())) path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Two dumps of a small synthetic NT world (a few processes with waiting
// threads, a driver, a bugcheck on processor 0): a bitmap (5) and a full
// (1) dump, whose page tables, lists and objects the mutants then damage.
// Empty (with a note) when the builder is not linked or the ISF is absent.
std::vector<std::string> writeSyntheticKernelDumps(const std::string& isf, const std::filesystem::path& dir) {
#if NTRIAGE_SWEEP_KDUMP_BUILDER
    namespace kd = nt::test::kdump;
    if (dir.empty() || !std::filesystem::is_regular_file(isf)) {
        std::printf("synthetic kernel dumps skipped: ISF %s absent\n", isf.c_str());
        return {};
    }
    kd::NtWorldBuilder w(isf);
    uint64_t smss = w.addProcess("smss.exe", 0x1a0, 4);
    uint64_t app = w.addProcess(kd::ProcessSpec{"contoso.exe", 0xa50, 0x1a0, 1, 0});
    uint64_t crashing = 0;
    for (uint64_t process : {smss, app}) {
        for (unsigned i = 0; i < 2; ++i) {
            kd::ThreadSpec s;
            s.tid = (process == app ? 0xa54 : 0x1a4) + 4 * i;
            s.state = i == 0 && process == app ? kd::Running : kd::Waiting;
            s.waitReason = 6;  // UserRequest
            s.waitMode = kd::UserMode;
            kd::ThreadInfo ti = w.addThread(process, s);
            if (s.state == kd::Running) crashing = ti.ethread;
            else w.waitOn(ti.ethread, {w.addEvent(true, false), w.addSemaphore(4, 0)});
        }
    }
    w.addDriver("amdppm.sys", 0xfffff8048b580000ull, 0x3b000, 0x5f3d1c2a);
    w.setCurrentThread(0, crashing);
    nt::CpuContext c(nt::Machine::Amd64);
    c.set(nt::Reg::Rip, w.kernBase() + 0x1000);
    c.set(nt::Reg::Rsp, w.thread(crashing).stackBase - 0x100);
    w.setContext(c, 0);
    w.setBugcheck(0x1000007e, {0xffffffffc0000005ull, w.kernBase() + 0x1000, 0, 0});
    std::vector<std::string> out;
    for (auto [type, name] : {std::pair<uint32_t, const char*>{kd::kBitmapFull, "synthetic-bitmap.dmp"},
                              std::pair<uint32_t, const char*>{kd::kFull, "synthetic-full.dmp"}}) {
        std::string path = (dir / name).string();
        w.buildFile(path, type);
        out.push_back(path);
    }
    return out;
#else
    (void)dir;
    std::printf("synthetic kernel dumps skipped: built without the kernel-dump builder (ISF %s)\n", isf.c_str());
    return {};
#endif
}

}  // namespace

int main(int argc, char** argv) {
    int truncations = 64, mutants = 200, timeMs = 2000;
    unsigned seed = 1;
    uint64_t maxFileBytes = 64ull << 20;
    std::vector<std::string> files;
    bool verbose = false, kernelOnly = false;
    std::string syntheticIsf;
    RunConfig config;
    Totals t;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--truncations") truncations = std::stoi(next());
        else if (a == "--mutants") mutants = std::stoi(next());
        else if (a == "--seed") seed = static_cast<unsigned>(std::stoul(next()));
        else if (a == "--time-ms") timeMs = std::stoi(next());
        else if (a == "--max-file-mb") maxFileBytes = std::stoull(next()) << 20;
        else if (a == "--verbose") verbose = true;
        else if (a == "--kernel-only") kernelOnly = true;
        else if (a == "--kernel-symbols") config.kernelSymbolPath = next();
        else if (a == "--synthetic-kernel-dumps") syntheticIsf = next();
        else if (a == "--save-findings") t.saveDir = next();
        else if (a == "--save-growth-mib") t.saveGrowthKiB = std::stol(next()) * 1024;
        else if (std::filesystem::is_directory(a)) {
            for (auto& e : std::filesystem::recursive_directory_iterator(a))
                if (e.is_regular_file()) files.push_back(e.path().string());
        } else if (std::filesystem::is_regular_file(a)) {
            files.push_back(a);
        }
    }
    std::sort(files.begin(), files.end());
    std::optional<TempDir> synthetic;
    if (!syntheticIsf.empty()) {
        synthetic.emplace();
        // The builder runs in a child with a memory ceiling: a builder bug
        // (it is test code, edited by others) must not take the machine.
        std::fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            struct rlimit as {};
            as.rlim_cur = as.rlim_max = 2ull << 30;
            setrlimit(RLIMIT_AS, &as);
            try {
                writeSyntheticKernelDumps(syntheticIsf, synthetic->path());
            } catch (const std::exception& e) {
                std::printf("synthetic kernel dumps skipped: the builder failed: %s\n", e.what());
                std::fflush(stdout);
                _exit(1);
            }
            std::fflush(stdout);
            _exit(0);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            std::vector<std::string> made;
            for (auto& e : std::filesystem::directory_iterator(synthetic->path())) made.push_back(e.path().string());
            std::sort(made.begin(), made.end());
            files.insert(files.end(), made.begin(), made.end());
        } else if (pid > 0 && WIFSIGNALED(status)) {
            std::printf("synthetic kernel dumps skipped: the builder died (signal %d)\n", WTERMSIG(status));
        }
    }
    t.verbose = verbose;
    long kernelFiles = 0;
    for (const auto& f : files) {
        std::error_code sizeError;
        if (std::filesystem::file_size(f, sizeError) > maxFileBytes || sizeError) continue;  // before reading it
        std::vector<uint8_t> orig = readFile(f);
        if (orig.size() > maxFileBytes) continue;
        // The kind (and so the command set) is the original file's: a
        // mutant with a damaged magic still gets the kernel commands.
        Kind kind = isSymbolFile(orig, f) ? Kind::SymbolFile : isKernelDump(orig) ? Kind::KernelDump : Kind::Dump;
        if (kernelOnly && kind != Kind::KernelDump) continue;
        if (kind == Kind::KernelDump) ++kernelFiles;
        // One generator per file, seeded by the seed and the file's name:
        // a mutant's label reproduces it whatever other files are swept.
        std::mt19937_64 rng(seed ^ fnv1a(std::filesystem::path(f).filename().string()));
        runOne(orig, kind, config, f, timeMs, t);
        for (int k = 1; k <= truncations && !orig.empty(); ++k) {
            size_t cut = orig.size() * static_cast<size_t>(k - 1) / static_cast<size_t>(truncations);
            std::vector<uint8_t> v(orig.begin(), orig.begin() + static_cast<long>(cut));
            runOne(v, kind, config, f + " truncated at " + std::to_string(cut), timeMs, t);
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
            runOne(v, kind, config, f + " mutant " + std::to_string(k) + " (seed " + std::to_string(seed) + ")", timeMs,
                   t);
        }
    }
    std::printf("sweep: %ld runs, %ld opened, %ld clean errors, %ld crashes, %ld timeouts, %ld over memory budget; "
                "slowest run %.3f s; worst peak growth %.1f MiB (%s); %ld kernel dump files\n",
                t.runs, t.opened, t.clean, t.crashes, t.timeouts, t.overBudget, t.worstSeconds,
                t.worstGrowthKiB / 1024.0, t.worstFile.c_str(), kernelFiles);
    return (t.crashes || t.timeouts || t.overBudget) ? 1 : 0;
}
