// Symbolizing 100,000 addresses against ntdll.pdb (a real Microsoft public
// PDB: publics only), ours versus llvm-symbolizer-16 in the same run.
//
//   ours, warm:  PdbFile::symbolAt over the 100,000 RVAs, PDB already open
//   ours, cold:  PdbFile::open + the 100,000 symbolAt calls
//   peer:        one llvm-symbolizer-16 process fed all 100,000 addresses on
//                stdin (output to a file), wall-clock from fork to exit
//
// The RVAs are spread uniformly over ntdll's code sections with a fixed seed.
// Before timing, every address is symbolized by both and the function names
// are compared; the counts (and examples of any disagreement) are printed.
//   ./pdb_symbolize_bench [--benchmark_min_time=2]
#include <cinttypes>
#include <iostream>
#include <random>

#include "pdb_bench_util.h"

namespace {

using namespace ntbench;

constexpr size_t kAddressCount = 100000;
constexpr uint64_t kSeed = 0x6e74726961676521;  // "ntriage!"

const fs::path kPdbPath = fs::path(kCorpus) / "processmarauder/x64/ntdll.pdb";
// A small x64 PE whose RSDS record we rewrite to name ntdll.pdb.
const fs::path kTemplatePe = kRepo / "tests/fixtures/wine/out/crash-x64-clang.exe";

struct Fixture {
    TempDir dir;
    std::unique_ptr<nt::pdb::PdbFile> pdb;
    std::vector<uint32_t> rvas;
    PeForPdb pe;
    fs::path addresses;  // one "0x<ImageBase+RVA>" per line
    fs::path output;
};

Fixture* fixture = nullptr;

// Uniform over the bytes of the executable sections (IMAGE_SCN_MEM_EXECUTE
// or IMAGE_SCN_CNT_CODE), deterministic for a given seed and PDB.
std::vector<uint32_t> codeRvas(const nt::pdb::PdbFile& pdb) {
    std::vector<std::pair<uint32_t, uint32_t>> code;  // (va, size)
    uint64_t total = 0;
    for (const auto& s : pdb.dbi()->sections()) {
        if (s.characteristics & (0x20000000u | 0x20u)) {
            code.emplace_back(s.virtualAddress, s.virtualSize);
            total += s.virtualSize;
        }
    }
    if (total == 0) throw std::runtime_error("no code section in " + kPdbPath.string());
    std::mt19937_64 rng(kSeed);
    std::vector<uint32_t> rvas;
    rvas.reserve(kAddressCount);
    for (size_t i = 0; i < kAddressCount; ++i) {
        uint64_t pos = rng() % total;
        for (const auto& [va, size] : code) {
            if (pos < size) {
                rvas.push_back(va + uint32_t(pos));
                break;
            }
            pos -= size;
        }
    }
    return rvas;
}

void writeAddresses(const fs::path& file, uint64_t imageBase, const std::vector<uint32_t>& rvas) {
    std::FILE* f = std::fopen(file.c_str(), "w");
    if (!f) throw std::runtime_error("cannot write " + file.string());
    for (uint32_t rva : rvas) std::fprintf(f, "0x%" PRIx64 "\n", imageBase + rva);
    std::fclose(f);
}

std::vector<std::string> symbolizerArgs(const PeForPdb& pe, bool json) {
    // --no-demangle: we print the PDB's names as stored, so compare those.
    std::vector<std::string> a{kSymbolizer, "--obj=" + pe.exe.filename().string(), "--no-demangle"};
    if (json) a.push_back("--output-style=JSON");
    return a;
}

std::string ourName(const nt::pdb::PdbFile& pdb, uint32_t rva) {
    auto s = pdb.symbolAt(rva);
    return s ? s->name : std::string();
}

// Runs llvm-symbolizer once over `rvas` (JSON output) and returns its names.
std::vector<std::string> symbolizeWithPeer(const std::vector<uint32_t>& rvas, const std::string& tag) {
    fs::path in = fixture->dir.path() / (tag + ".in"), out = fixture->dir.path() / (tag + ".json");
    writeAddresses(in, fixture->pe.imageBase, rvas);
    runTimed(symbolizerArgs(fixture->pe, true), fixture->dir.path(), in, out);
    return peerNames(out);
}

// A few named functions must come back with the same name from both before
// anything is timed: otherwise the peer is not reading ntdll.pdb.
bool peerReadsTheSamePdb() {
    std::vector<uint32_t> probes;
    for (const char* fn : {"RtlAllocateHeap", "NtCreateFile", "LdrLoadDll", "RtlUserThreadStart"}) {
        auto rva = fixture->pdb->rvaOf(fn);
        if (!rva) {
            std::cerr << "ntdll.pdb has no public " << fn << "\n";
            return false;
        }
        probes.push_back(*rva + 3);  // inside the function, not at its start
    }
    auto peer = symbolizeWithPeer(probes, "probe");
    bool ok = peer.size() == probes.size();
    for (size_t i = 0; ok && i < probes.size(); ++i) {
        std::string ours = ourName(*fixture->pdb, probes[i]);
        std::printf("probe rva 0x%x: ours '%s', llvm-symbolizer '%s'\n", probes[i], ours.c_str(), peer[i].c_str());
        ok = !ours.empty() && ours == peer[i];
    }
    return ok;
}

// The function's own name, without scope or decoration, enough to see that
// two answers name the same function: "?SetValue@?$RTL_BINARY_ARRAY@...@@SAJ..."
// and "RTL_BINARY_ARRAY<RTLP_FLS_SLOT,8,4>::SetValue" both give "SetValue".
// Special decorated names ("??...": operators, template functions) give "".
std::string leafName(const std::string& name) {
    if (name.empty()) return {};
    if (name[0] == '?') {
        if (name.size() < 2 || name[1] == '?') return {};
        size_t at = name.find('@');
        return at == std::string::npos ? std::string() : name.substr(1, at - 1);
    }
    size_t scope = name.rfind("::");
    return scope == std::string::npos ? name : name.substr(scope + 2);
}

// Compares both answers on every address and prints the counts.
void printAgreement() {
    auto peer = symbolizeWithPeer(fixture->rvas, "all");
    if (peer.size() != fixture->rvas.size()) {
        std::printf("agreement: llvm-symbolizer printed %zu answers for %zu addresses\n", peer.size(),
                    fixture->rvas.size());
        return;
    }
    size_t same = 0, bothNone = 0, decoration = 0, onlyOurs = 0, onlyPeer = 0, differ = 0;
    std::vector<std::string> examples;
    for (size_t i = 0; i < peer.size(); ++i) {
        std::string ours = ourName(*fixture->pdb, fixture->rvas[i]);
        if (ours == peer[i] && !ours.empty()) {
            ++same;
            continue;
        }
        // llvm-symbolizer (--functions=linkage, its default) prefers the
        // public's decorated name; we prefer the module's S_GPROC32 name.
        bool sameModuloDecoration = !ours.empty() && !peer[i].empty() && leafName(ours) == leafName(peer[i]);
        size_t& bucket = ours == peer[i]        ? bothNone
                         : sameModuloDecoration ? decoration
                         : peer[i].empty()      ? onlyOurs
                         : ours.empty()         ? onlyPeer
                                                : differ;
        if (bucket++ < 3) {
            char buf[512];
            std::snprintf(buf, sizeof buf, "  rva 0x%x: ours '%s', llvm-symbolizer '%s'", fixture->rvas[i],
                          ours.c_str(), peer[i].c_str());
            examples.push_back(buf);
        }
    }
    std::printf("agreement over %zu addresses: %zu same name, %zu same modulo decoration, %zu both unnamed, "
                "%zu named only by us, %zu named only by llvm-symbolizer, %zu different names\n",
                peer.size(), same, decoration, bothNone, onlyOurs, onlyPeer, differ);
    for (const auto& e : examples) std::printf("%s\n", e.c_str());
}

void BM_NtriageSymbolize100kWarm(benchmark::State& state) {
    const auto& pdb = *fixture->pdb;
    for (auto _ : state) {
        for (uint32_t rva : fixture->rvas) benchmark::DoNotOptimize(pdb.symbolAt(rva));
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(fixture->rvas.size()));
}

void BM_NtriageSymbolize100kCold(benchmark::State& state) {
    for (auto _ : state) {
        auto pdb = nt::pdb::PdbFile::open(kPdbPath.string());
        for (uint32_t rva : fixture->rvas) benchmark::DoNotOptimize(pdb->symbolAt(rva));
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(fixture->rvas.size()));
}

void BM_LlvmSymbolizer100k(benchmark::State& state) {
    timeChild(state, symbolizerArgs(fixture->pe, false), fixture->dir.path(), fixture->addresses, fixture->output);
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(fixture->rvas.size()));
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    if (!fs::exists(kPdbPath) || !fs::exists(kTemplatePe)) {
        std::cerr << "skipped: needs " << kPdbPath << " and " << kTemplatePe << "\n";
        return 0;
    }
    Fixture f;
    fixture = &f;
    f.pdb = nt::pdb::PdbFile::open(kPdbPath.string());
    f.rvas = codeRvas(*f.pdb);
    // The linker writes the DBI age into the PE (matchAge()); for this
    // stripped PDB the info stream says 3 and DBI 1. llvm-symbolizer-16
    // accepts either (it checks neither age nor GUID), so use the real one.
    f.pe = makePeForPdb(kTemplatePe, kPdbPath, *f.pdb, f.pdb->matchAge(), f.dir.path());
    f.addresses = f.dir.path() / "addresses.txt";
    f.output = f.dir.path() / "symbolized.txt";
    writeAddresses(f.addresses, f.pe.imageBase, f.rvas);
    std::printf("ntdll.pdb guid %s info age %u dbi age %u; %zu addresses, seed 0x%" PRIx64 "\n",
                f.pdb->guid().toString().c_str(), f.pdb->age(), f.pdb->matchAge(), f.rvas.size(), kSeed);

    bool peerOk = false;
    try {
        peerOk = peerReadsTheSamePdb();
    } catch (const std::exception& e) {
        std::printf("llvm-symbolizer unusable: %s\n", e.what());
    }
    if (peerOk) printAgreement();
    else std::printf("llvm-symbolizer does not agree on the probes: peer benchmark not run\n");

    benchmark::RegisterBenchmark("BM_NtriageSymbolize100kWarm", BM_NtriageSymbolize100kWarm)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_NtriageSymbolize100kCold", BM_NtriageSymbolize100kCold)
        ->Unit(benchmark::kMillisecond);
    if (peerOk)
        benchmark::RegisterBenchmark("BM_LlvmSymbolizer100k", BM_LlvmSymbolizer100k)
            ->Unit(benchmark::kMillisecond)
            ->UseManualTime();

    RecordingReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    printComparisons(reporter, {{"symbolize 100k ntdll addresses, open+lookups (cold)",
                                 "BM_NtriageSymbolize100kCold", "BM_LlvmSymbolizer100k"},
                                {"symbolize 100k ntdll addresses, lookups only (warm)",
                                 "BM_NtriageSymbolize100kWarm", "BM_LlvmSymbolizer100k"}});
    benchmark::Shutdown();
    return 0;
}
