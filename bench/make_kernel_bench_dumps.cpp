// Writes the dumps of the kernel-dump scaling benchmark (issue 4): x64
// bitmap dumps (type 5, "FDMP") of the same synthetic NT machine with 1, 4
// and 16 GiB of physical address space, all of it present except below
// 1 MiB, between the world's own pages and 64 MiB, and an MMIO hole from 3
// to 4 GiB (real machines' memory maps have such holes). The NT world
// (System, Idle and 50 processes of 3 waiting threads each, four drivers, a
// bugcheck) is identical in every file: only the amount of memory grows, so
// a reader whose cost follows the dump size shows it in the ratios.
//
// The filler pages are the builder's "synthetic" pages (zeros, one stamped
// page per MiB), written as holes of a sparse file: a 16 GiB dump costs
// about 64 MiB of disk.
//
//   make_kernel_bench_dumps OUTDIR [GIB...]     (default: 1 4 16)
// writes OUTDIR/bitmap-<N>gib.dmp and prints one line per file.
#include <sys/stat.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "support/kdump_builder/kdump_builder.h"

namespace {

namespace kd = nt::test::kdump;
namespace fs = std::filesystem;

const std::string kIsf =
    std::string(NTRIAGE_CORPUS_DIR) + "/jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

constexpr uint64_t kPagesPerGiB = (1ull << 30) / kd::kPageSize;
// The NT world's own pages are allocated from pfn 0x100 up; the filler
// starts above them (they take about 10 MiB; 64 MiB leaves room).
constexpr uint64_t kFillerFirstPfn = 0x4000;
constexpr uint64_t kMmioHoleFirstPfn = 3 * kPagesPerGiB, kMmioHoleEndPfn = 4 * kPagesPerGiB;

constexpr const char* kImages[] = {"smss.exe",     "csrss.exe",    "wininit.exe", "services.exe", "lsass.exe",
                                   "svchost.exe",  "fontdrvhost.exe", "dwm.exe",  "explorer.exe", "spoolsv.exe",
                                   "SearchApp.exe", "RuntimeBroker.exe", "conhost.exe", "notepad.exe", "msedge.exe"};
constexpr unsigned kProcesses = 50;  // besides System and Idle
constexpr unsigned kThreadsPerProcess = 3;

// The same machine whatever the size: processes, threads, waits, a crash
// on processor 0 in the last process's first thread.
void populate(kd::NtWorldBuilder& w) {
    uint64_t crashThread = 0;
    for (unsigned i = 0; i < kProcesses; ++i) {
        uint64_t pid = 0x100 + 4 * i;
        uint64_t parent = i == 0 ? 4 : 0x100;
        uint64_t process = w.addProcess(kImages[i % std::size(kImages)], pid, parent);
        for (unsigned t = 0; t < kThreadsPerProcess; ++t) {
            kd::ThreadSpec s;
            s.tid = pid + 0x1000 + 4 * t;
            s.state = kd::Waiting;
            s.waitReason = t == 0 ? 6 : 13;  // UserRequest, WrUserRequest
            s.waitMode = kd::UserMode;
            s.alertable = t != 0;
            s.teb = 0;  // the builder maps a TEB page
            kd::ThreadInfo ti = w.addThread(process, s);
            w.waitOn(ti.ethread, {w.addEvent(t == 0, false)});
            if (i + 1 == kProcesses && t == 0) crashThread = ti.ethread;
        }
    }
    w.addDriver("amdppm.sys", 0xfffff8048b580000ull, 0x3b000, 0x5f3d1c2a);
    w.addDriver("ntfs.sys", 0xfffff8048c200000ull, 0x2f6000, 0x6a2b7e11);
    w.setCurrentThread(0, crashThread);
    const kd::ThreadInfo& ct = w.thread(crashThread);
    nt::CpuContext c(nt::Machine::Amd64);
    c.set(nt::Reg::Rip, w.kernBase() + 0x1000);
    c.set(nt::Reg::Rsp, ct.stackBase - 0x200);
    w.setContext(c, 0);
    w.setBugcheck(0x1000007e, {0xffffffffc0000005ull, w.kernBase() + 0x1000, ct.stackBase - 0x600, ct.stackBase - 0x700});
}

// Makes [kFillerFirstPfn, gib GiB) present, except the MMIO hole.
void addFiller(kd::PhysicalImage& phys, uint64_t gib) {
    if (phys.nextPfn() >= kFillerFirstPfn)
        throw std::runtime_error("the NT world outgrew its " + std::to_string(kFillerFirstPfn) + " pages");
    uint64_t end = gib * kPagesPerGiB;
    phys.addSyntheticRange(kFillerFirstPfn, std::min(end, kMmioHoleFirstPfn) - kFillerFirstPfn);
    if (end > kMmioHoleEndPfn) phys.addSyntheticRange(kMmioHoleEndPfn, end - kMmioHoleEndPfn);
    phys.setSpanPages(end);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s OUTDIR [GIB...]\n", argv[0]);
        return 2;
    }
    const fs::path out = argv[1];
    std::vector<uint64_t> sizes;
    for (int i = 2; i < argc; ++i) sizes.push_back(std::stoull(argv[i]));
    if (sizes.empty()) sizes = {1, 4, 16};
    try {
        fs::create_directories(out);
        for (uint64_t gib : sizes) {
            if (gib == 0 || gib > 1024) throw std::invalid_argument("size out of range: " + std::to_string(gib));
            kd::NtWorldBuilder w(kIsf);
            populate(w);
            addFiller(w.phys(), gib);
            fs::path path = out / ("bitmap-" + std::to_string(gib) + "gib.dmp");
            fs::path tmp = path.string() + ".part";  // a half-written file never has the final name
            w.buildFile(tmp.string(), kd::kBitmapFull);
            fs::rename(tmp, path);
            struct stat st {};
            ::stat(path.c_str(), &st);
            std::printf("%s: %llu bytes, %.1f MiB on disk\n", path.c_str(),
                        static_cast<unsigned long long>(st.st_size), double(st.st_blocks) * 512.0 / (1 << 20));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_kernel_bench_dumps: %s\n", e.what());
        return 1;
    }
    return 0;
}
