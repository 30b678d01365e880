// PeImage against llvm-readobj-16 (an independent PE parser), run at test time
// on the corpus images. Every fact compared comes from llvm-readobj's output.
#include "pe/pe_image.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "memory/range_memory.h"
#include "support/test_support.h"

namespace nt {
namespace {

std::string runTool(const std::string& cmd) { return test::captureOutput(cmd); }

bool haveReadobj() { return !runTool("command -v llvm-readobj-16").empty(); }

std::string trim(std::string s) {
    size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// Number in "0x1A", "36864", or the last "(0x...)" of a value.
uint64_t num(const std::string& v) {
    size_t p = v.rfind("(0x");
    if (p != std::string::npos) return std::stoull(v.substr(p + 1), nullptr, 16);
    return std::stoull(v, nullptr, 0);
}

struct Readobj {
    std::map<std::string, std::string> header;  // first occurrence of each key
    struct Sec { std::string name; uint64_t vsize, va, rawSize, raw, ch; };
    std::vector<Sec> sections;
    std::set<std::tuple<uint64_t, std::string, uint64_t, std::string>> exports;  // ordinal, name, rva, fwd
    std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> unwind;  // VAs
    std::string pdbGuid, pdbName;
    uint64_t pdbAge = 0;
};

Readobj readobj(const std::string& file) {
    Readobj r;
    std::istringstream in(runTool("llvm-readobj-16 --file-headers --sections --coff-exports --coff-debug-directory --unwind '" +
                                  file + "' 2>/dev/null"));
    std::string line, block;
    Readobj::Sec sec{};
    uint64_t ord = 0, rva = 0;
    std::string name, fwd;
    uint64_t rfStart = 0, rfEnd = 0;
    while (std::getline(in, line)) {
        std::string t = trim(line);
        if (t == "Section {") { block = "sec"; sec = {}; continue; }
        if (t == "Export {") { block = "exp"; ord = rva = 0; name.clear(); fwd.clear(); continue; }
        if (t == "RuntimeFunction {") { block = "rf"; continue; }
        if (t == "}" && block == "sec") { r.sections.push_back(sec); block.clear(); continue; }
        if (t == "}" && block == "exp") { r.exports.insert({ord, name, fwd.empty() ? rva : 0, fwd}); block.clear(); continue; }
        size_t c = t.find(": ");
        std::string k = c == std::string::npos ? (t.size() && t.back() == ':' ? t.substr(0, t.size() - 1) : t) : t.substr(0, c);
        std::string v = c == std::string::npos ? "" : t.substr(c + 2);
        if (block == "sec") {
            if (k == "Name") sec.name = v.substr(0, v.find(" ("));
            else if (k == "VirtualSize") sec.vsize = num(v);
            else if (k == "VirtualAddress") sec.va = num(v);
            else if (k == "RawDataSize") sec.rawSize = num(v);
            else if (k == "PointerToRawData") sec.raw = num(v);
            else if (k == "Characteristics [") sec.ch = num(v);
            else if (t.rfind("Characteristics [", 0) == 0) sec.ch = num(t);
        } else if (block == "exp") {
            if (k == "Ordinal") ord = num(v);
            else if (k == "Name") name = v;
            else if (k == "RVA") rva = num(v);
            else if (k == "ForwardedTo") fwd = v;
        } else if (block == "rf") {
            if (k == "StartAddress") rfStart = num(v);
            else if (k == "EndAddress") rfEnd = num(v);
            else if (k == "UnwindInfoAddress") { r.unwind.emplace_back(rfStart, rfEnd, num(v)); block.clear(); }
        } else {
            if (k == "PDBGUID") r.pdbGuid = v;
            else if (k == "PDBAge") r.pdbAge = num(v);
            else if (k == "PDBFileName") r.pdbName = v;
            else if (!v.empty() && !r.header.count(k)) r.header[k] = v;
        }
    }
    return r;
}

std::string guidBytes(const CodeViewInfo& cv) {
    std::string s = "(";
    char b[4];
    for (size_t i = 0; i < cv.guid.size(); ++i) {
        std::snprintf(b, sizeof b, "%02X", cv.guid[i]);
        s += (i ? " " : "") + std::string(b);
    }
    return s + ")";
}

void compareWithReadobj(const std::string& path, Machine expectMachine) {
    if (!haveReadobj()) GTEST_SKIP() << "llvm-readobj-16 not installed";
    Readobj r = readobj(path);
    ASSERT_FALSE(r.header.empty()) << "llvm-readobj produced no output for " << path;
    auto img = PeImage::load(fileImageSource(path));
    ASSERT_TRUE(img);
    EXPECT_EQ(img->machine(), expectMachine);
    EXPECT_EQ(img->timestamp(), num(r.header["TimeDateStamp"]));
    EXPECT_EQ(img->sizeOfImage(), num(r.header["SizeOfImage"]));
    EXPECT_EQ(img->checksum(), num(r.header["CheckSum"]));
    EXPECT_EQ(img->imageBase(), num(r.header["ImageBase"]));
    EXPECT_EQ(img->entryPoint(), num(r.header["AddressOfEntryPoint"]));
    EXPECT_EQ(img->is64(), r.header["Magic"] == "0x20B");
    EXPECT_EQ(img->directory(3).first, num(r.header["ExceptionTableRVA"]));
    EXPECT_EQ(img->directory(3).second, num(r.header["ExceptionTableSize"]));
    EXPECT_EQ(img->directory(6).first, num(r.header["DebugRVA"]));
    EXPECT_EQ(img->directory(0).first, num(r.header["ExportTableRVA"]));

    ASSERT_EQ(img->sections().size(), r.sections.size());
    ASSERT_EQ(img->sections().size(), num(r.header["SectionCount"]));
    for (size_t i = 0; i < r.sections.size(); ++i) {
        const auto& s = img->sections()[i];
        EXPECT_EQ(s.name, r.sections[i].name);
        EXPECT_EQ(s.virtualSize, r.sections[i].vsize) << s.name;
        EXPECT_EQ(s.virtualAddress, r.sections[i].va) << s.name;
        EXPECT_EQ(s.rawSize, r.sections[i].rawSize) << s.name;
        EXPECT_EQ(s.rawOffset, r.sections[i].raw) << s.name;
        EXPECT_EQ(s.characteristics, r.sections[i].ch) << s.name;
    }

    std::set<std::tuple<uint64_t, std::string, uint64_t, std::string>> ours;
    for (const auto& e : img->exports()) ours.insert({e.ordinal, e.name, e.forwarder.empty() ? e.rva : 0, e.forwarder});
    EXPECT_EQ(ours.size(), r.exports.size());
    EXPECT_TRUE(ours == r.exports);

    const auto& rfs = img->runtimeFunctions();
    ASSERT_EQ(rfs.size(), r.unwind.size());
    for (size_t i = 0; i < rfs.size(); ++i) {
        EXPECT_EQ(img->imageBase() + rfs[i].begin, std::get<0>(r.unwind[i]));
        EXPECT_EQ(img->imageBase() + rfs[i].end, std::get<1>(r.unwind[i]));
        EXPECT_EQ(img->imageBase() + rfs[i].unwindData, std::get<2>(r.unwind[i]));
    }
    // Binary search: the middle of each function finds it; the end does not.
    for (size_t i = 0; i < rfs.size(); i += 97) {
        uint32_t mid = rfs[i].begin + (rfs[i].end - rfs[i].begin) / 2;
        const RuntimeFunction* f = img->findRuntimeFunction(mid);
        ASSERT_TRUE(f);
        EXPECT_EQ(f->begin, rfs[i].begin);
    }

    auto cv = img->codeView();
    if (r.pdbName.empty()) {
        EXPECT_FALSE(cv);
    } else {
        ASSERT_TRUE(cv);
        EXPECT_EQ(cv->pdbName, r.pdbName);
        EXPECT_EQ(cv->age, r.pdbAge);
        EXPECT_EQ(guidBytes(*cv), r.pdbGuid);
    }
}

TEST(PeImage, Kernel32X64MatchesReadobj) {
    NT_REQUIRE_CORPUS_FILE(p, "rizin-testbins/kernel32.dll");
    compareWithReadobj(p, Machine::Amd64);
}

TEST(PeImage, CrashExeX86MatchesReadobj) {
    NT_REQUIRE_CORPUS_FILE(p, "symbolic/crash.exe");
    compareWithReadobj(p, Machine::X86);
}

TEST(PeImage, CrashWithExceptionX64MatchesReadobj) {
    NT_REQUIRE_CORPUS_FILE(p, "symbolic/CrashWithException.exe");
    compareWithReadobj(p, Machine::Amd64);
}

// Known facts from llvm-readobj on the corpus (see its output in the test above):
// kernel32's first export forwards to NTDLL; the RSDS GUID of crash.exe.
TEST(PeImage, Kernel32ForwarderAndLookup) {
    NT_REQUIRE_CORPUS_FILE(p, "rizin-testbins/kernel32.dll");
    auto img = PeImage::load(fileImageSource(p));
    ASSERT_TRUE(img);
    ASSERT_FALSE(img->exports().empty());
    EXPECT_EQ(img->exports()[0].name, "AcquireSRWLockExclusive");
    EXPECT_EQ(img->exports()[0].forwarder, "NTDLL.RtlAcquireSRWLockExclusive");
    EXPECT_EQ(img->exportDllName(), "KERNEL32.dll");
    EXPECT_TRUE(img->isExecutableRva(0x1000));
    EXPECT_FALSE(img->isExecutableRva(0x74000));
}

TEST(PeImage, CrashExeCodeViewGuidString) {
    NT_REQUIRE_CORPUS_FILE(p, "symbolic/crash.exe");
    auto img = PeImage::load(fileImageSource(p));
    ASSERT_TRUE(img);
    auto cv = img->codeView();
    ASSERT_TRUE(cv);
    // The symbol-store directory name of crash.pdb in the MANIFEST (without the age).
    EXPECT_EQ(cv->guidString(), "3249D99D0C4049318610F4E4FB0B6936");
}

// A memory image (as mapped in a dump) built from the file bytes: reads by RVA
// go straight to base + rva, so the same facts come out.
TEST(PeImage, MemorySourceMapsSections) {
    NT_REQUIRE_CORPUS_FILE(p, "symbolic/CrashWithException.exe");
    auto file = PeImage::load(fileImageSource(p));
    ASSERT_TRUE(file);
    std::vector<uint8_t> mapped(file->sizeOfImage());
    // Like the loader: headers, then each section at its VirtualAddress.
    file->source().readRva(0, std::span<uint8_t>(mapped.data(), 0x400));
    for (const auto& sec : file->sections())
        file->source().readRva(sec.virtualAddress, std::span<uint8_t>(mapped.data() + sec.virtualAddress,
                                                                      std::min<size_t>(sec.virtualSize, mapped.size() - sec.virtualAddress)));
    RangeMemory mem;
    mem.add(0x140000000, Bytes(mapped.data(), mapped.size()));
    mem.finalize();
    auto img = PeImage::load(memoryImageSource(mem, 0x140000000));
    ASSERT_TRUE(img);
    EXPECT_EQ(img->timestamp(), file->timestamp());
    EXPECT_EQ(img->runtimeFunctions().size(), file->runtimeFunctions().size());
    ASSERT_TRUE(img->codeView());
    EXPECT_EQ(img->codeView()->pdbName, file->codeView()->pdbName);
    EXPECT_TRUE(img->source().isMemory());
}

// Hostile input: truncations and garbage never crash and give no image or
// fewer facts.
TEST(PeImage, TruncatedAndGarbageHeaders) {
    NT_REQUIRE_CORPUS_FILE(p, "rizin-testbins/kernel32.dll");
    MappedFile f = MappedFile::open(p);
    for (uint64_t cut : {0ull, 2ull, 0x40ull, 0x100ull, 0x180ull, 0x200ull, 0x400ull, 0x1000ull}) {
        RangeMemory mem;
        mem.add(0x10000, f.bytes().subClamped(0, cut));
        mem.finalize();
        auto img = PeImage::load(memoryImageSource(mem, 0x10000));
        if (img) {
            img->exports();
            img->runtimeFunctions();
            img->codeView();
        }
    }
    std::vector<uint8_t> junk(4096, 0xff);
    junk[0] = 'M';
    junk[1] = 'Z';
    RangeMemory mem;
    mem.add(0, Bytes(junk.data(), junk.size()));
    mem.finalize();
    EXPECT_FALSE(PeImage::load(memoryImageSource(mem, 0)));
}

}  // namespace
}  // namespace nt
