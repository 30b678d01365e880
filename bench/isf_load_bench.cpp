// Loading the ntkrnlmp ISF of build 19041.804 (6.2 MB JSON, 0.6 MB xz) and
// answering what `dt nt!_EPROCESS` needs first: findType + the type's fields.
// The aim (issue): under 100 ms, of which xz decoding is about 40 ms.
//   ./isf_load_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include "base/mapped_file.h"
#include "isf/isf_file.h"
#include "isf/xz_decode.h"

namespace {

const std::string kPath =
    std::string(NTRIAGE_CORPUS_DIR) + "/jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

// The whole path a session takes: open (xz + index) then one type and one field.
void BM_IsfOpenAndFindEprocess(benchmark::State& state) {
    for (auto _ : state) {
        auto isf = nt::isf::IsfFile::open(kPath);
        auto id = isf->findType("_EPROCESS");
        const nt::types::Type* t = isf->type(*id);
        uint64_t off = 0;
        for (const auto& f : t->fields)
            if (f.name == "UniqueProcessId") off = f.offset;
        benchmark::DoNotOptimize(off);
    }
}
BENCHMARK(BM_IsfOpenAndFindEprocess)->Unit(benchmark::kMillisecond);

// Its two parts: decompression alone (liblzma, the floor)...
void BM_IsfXzDecodeOnly(benchmark::State& state) {
    nt::MappedFile f = nt::MappedFile::open(kPath);
    for (auto _ : state) {
        std::string json = nt::isf::decodeXz(std::span<const uint8_t>(f.bytes().data(), f.bytes().size()));
        benchmark::DoNotOptimize(json.data());
    }
}
BENCHMARK(BM_IsfXzDecodeOnly)->Unit(benchmark::kMillisecond);

// ...and validating + indexing the decompressed JSON (our part).
void BM_IsfIndexJsonOnly(benchmark::State& state) {
    nt::MappedFile f = nt::MappedFile::open(kPath);
    const std::string json = nt::isf::decodeXz(std::span<const uint8_t>(f.bytes().data(), f.bytes().size()));
    for (auto _ : state) {
        auto isf = nt::isf::IsfFile::fromJson(json);
        benchmark::DoNotOptimize(isf->findType("_EPROCESS"));
    }
}
BENCHMARK(BM_IsfIndexJsonOnly)->Unit(benchmark::kMillisecond);

// First symbol lookup (sorting the ~40,000 symbols happens here).
void BM_IsfFirstSymbolLookup(benchmark::State& state) {
    nt::MappedFile f = nt::MappedFile::open(kPath);
    const std::string json = nt::isf::decodeXz(std::span<const uint8_t>(f.bytes().data(), f.bytes().size()));
    for (auto _ : state) {
        state.PauseTiming();
        auto isf = nt::isf::IsfFile::fromJson(json);
        state.ResumeTiming();
        benchmark::DoNotOptimize(isf->rvaOf("PsActiveProcessHead"));
    }
}
BENCHMARK(BM_IsfFirstSymbolLookup)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
