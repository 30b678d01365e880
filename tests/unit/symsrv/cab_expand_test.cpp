// CAB expansion on the real cabinets of the corpus: symbolicator's CAB
// `crash.pdb` (a symbol-store `.pd_` under its plain name) and kdlibcpp's
// dump cabinets, each compared with the extracted file kept beside it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <unistd.h>

#include "base/error.h"
#include "base/mapped_file.h"
#include "symsrv/cab_expand.h"
#include "support/test_support.h"

namespace {

using nt::symsrv::expandCabToMemory;
using nt::symsrv::listCab;

std::vector<uint8_t> readAll(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string sha256Of(const std::vector<uint8_t>& bytes) {
    auto tmp = std::filesystem::temp_directory_path() / ("ntr-cab-sha-" + std::to_string(::getpid()));
    {
        std::ofstream o(tmp, std::ios::binary);
        o.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    std::string out = nt::test::captureOutput("sha256sum '" + tmp.string() + "'");
    std::filesystem::remove(tmp);
    return out.substr(0, 64);
}

const std::string kMsfMagic("Microsoft C/C++ MSF 7.00\r\n\x1a" "DS\0\0\0", 32);

// The brief expected this CAB to hold the PDB; it does not. Its one member is
// `debug/debug.pdb` (not `crash.pdb.original` as its notes.md says), stored
// uncompressed, and it is the Breakpad text file for the same module,
// byte-identical to symbolic/crash.sym. The real PDB (MSF 7.00) is the plain
// copy under the ...ffffffff directory.
TEST(CabExpand, SymbolicatorCrashPdbCabHoldsTheBreakpadSymFile) {
    NT_REQUIRE_CORPUS_FILE(cab, "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb");
    NT_REQUIRE_CORPUS_FILE(plain, "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B6936ffffffff/crash.pdb");
    NT_REQUIRE_CORPUS_FILE(sym, "symbolic/crash.sym");
    auto in = nt::MappedFile::open(cab);
    auto members = listCab(in.bytes());
    ASSERT_EQ(members.size(), 1u);
    EXPECT_EQ(members[0].name, "debug/debug.pdb");
    EXPECT_EQ(members[0].size, 46361u);
    // The locator asks for "crash.pdb"; a one-member cabinet gives its member whatever its name.
    auto out = expandCabToMemory(in.bytes(), 1u << 24, "crash.pdb");
    ASSERT_EQ(out.size(), 46361u);
    const std::string head = "MODULE windows x86 3249D99D0C4049318610F4E4FB0B69361 crash.pdb";
    EXPECT_EQ(std::string(out.begin(), out.begin() + static_cast<long>(head.size())), head);
    EXPECT_TRUE(out == readAll(sym)) << "expanded CAB differs from symbolic/crash.sym";
    EXPECT_EQ(sha256Of(out), "cced554ca9360bfd8f52fcda3295f96832e9cf644cf3b27137d6ffc9119df953");
    auto real = readAll(plain);
    ASSERT_EQ(real.size(), 1019904u);
    EXPECT_EQ(std::string(real.begin(), real.begin() + 32), kMsfMagic);
    EXPECT_FALSE(out == real);
}

// Oracle: llvm-pdbutil-16 reads the GUID/age of the plain PDB; the module
// line inside the CAB names the same GUID and age.
TEST(CabExpand, CabModuleLineMatchesPlainPdbPerLlvmPdbutil) {
    NT_REQUIRE_CORPUS_FILE(cab, "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb");
    NT_REQUIRE_CORPUS_FILE(plain, "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B6936ffffffff/crash.pdb");
    std::string out = nt::test::captureOutput("llvm-pdbutil-16 dump -summary '" + plain + "' 2>&1");
    if (out.empty()) GTEST_SKIP() << "llvm-pdbutil-16 not available";
    EXPECT_NE(out.find("{3249D99D-0C40-4931-8610-F4E4FB0B6936}"), std::string::npos) << out;
    EXPECT_NE(out.find("Age: 1"), std::string::npos) << out;
    auto in = nt::MappedFile::open(cab);
    auto sym = expandCabToMemory(in.bytes(), 1u << 24);
    std::string text(sym.begin(), sym.end());
    EXPECT_EQ(text.rfind("MODULE windows x86 3249D99D0C4049318610F4E4FB0B69361 crash.pdb", 0), 0u);
}

TEST(CabExpand, KdlibcppCabinetsExpandToTheDumpsBesideThem) {
    const std::string root = nt::test::corpusDir();
    if (root.empty()) GTEST_SKIP() << "corpus not found";
    const std::map<std::string, std::string> knownSha = {
        {"target_minidump.dmp", "ea0b4087c899f7dbf16eb591e8bf5197608442498fca462906df0f8c51e7afd0"},
        {"targetapp_stacktest_wow64.cab.dmp", "b08bf92f29a4cf3040fae2032c2d421438f7ef8bc570bc0b1221a40900220197"},
        {"targetapp_stacktest_wow64_release.dmp", "7958571837ef5b92853e6227e947f1d11514e6bf6f8b3ba438b0bc0d8660e2bb"},
        {"targetapp_stacktest_x64_release.dmp", "0c2366ecabb90da9511b4215b253e5c3b9d635d196c24c87a676da9dca6a9f6a"},
        {"win10_arm64_mem.dmp", "0875a6b7df6dc14155ea9f71fcf6fc17b6317d085e36146246a66da389a44025"},
        {"RPi3_ARM_mini.cab.dmp", "970afb25368f05fd0fa58fa849ee756663ec69a5e804de4c45f6c715c973ea87"},
        {"targetapp_test_cv_allreg_amd64.dmp", "0a88d2dbc390fe023e5a165358bade154fd47602c8a879af9ef1b7284d6526c3"},
        {"targetapp_test_cv_allreg_i386.dmp", "57cbbf26e8a8125a1ab76caafc27710d6c94adb7161ff6444d30a31ae34a1180"},
    };
    size_t compared = 0, shaChecked = 0;
    for (const auto& dir : std::filesystem::directory_iterator(root + "/kdlibcpp/_cab")) {
        std::string name = dir.path().filename().string();
        std::string cabPath = dir.path().string() + "/" + name + ".cab";
        SCOPED_TRACE(cabPath);
        auto in = nt::MappedFile::open(cabPath);
        auto members = listCab(in.bytes());
        ASSERT_FALSE(members.empty());
        for (const auto& m : members) {
            std::string beside = root + "/kdlibcpp/" + name + "/" + m.name;
            if (!std::filesystem::exists(beside)) continue;  // only the dumps were kept
            auto bytes = expandCabToMemory(in.bytes(), 1ull << 26, m.name);
            EXPECT_EQ(bytes.size(), m.size);
            EXPECT_TRUE(bytes == readAll(beside)) << m.name << " differs from " << beside;
            ++compared;
            auto sha = knownSha.find(m.name);
            if (sha != knownSha.end()) {
                EXPECT_EQ(sha256Of(bytes), sha->second) << m.name;
                ++shaChecked;
            }
        }
    }
    EXPECT_EQ(compared, 8u);
    EXPECT_EQ(shaChecked, knownSha.size());
}

TEST(CabExpand, SizeLimitAndDamageAreFormatErrors) {
    NT_REQUIRE_CORPUS_FILE(cab, "kdlibcpp/_cab/targetapp_minidump/targetapp_minidump.cab");
    auto data = readAll(cab);
    nt::Bytes b(data.data(), data.size());
    // target_minidump.dmp is 22276 bytes: a smaller limit refuses before expanding.
    EXPECT_THROW(expandCabToMemory(b, 22275), nt::FormatError);
    EXPECT_EQ(expandCabToMemory(b, 22276).size(), 22276u);
    // One member: asked by another name, it is still the one (a store's `.pd_`).
    EXPECT_EQ(expandCabToMemory(b, 1 << 20, "other.pdb").size(), 22276u);
    // Truncations and a flipped payload never crash: FormatError or a short read caught as one.
    for (size_t cut : {0ul, 3ul, 4ul, 36ul, 60ul, data.size() / 2, data.size() - 1}) {
        nt::Bytes t(data.data(), cut);
        EXPECT_THROW(expandCabToMemory(t, 1 << 20), nt::FormatError) << "cut at " << cut;
    }
    auto corrupt = data;
    for (size_t i = 200; i < corrupt.size(); i += 7) corrupt[i] ^= 0x5a;
    try {
        auto out = expandCabToMemory(nt::Bytes(corrupt.data(), corrupt.size()), 1 << 20);
        EXPECT_LE(out.size(), 22276u);
    } catch (const nt::FormatError&) {
    }
    const char notCab[] = "Microsoft C/C++ MSF 7.00";
    EXPECT_FALSE(nt::symsrv::looksLikeCab(nt::Bytes(reinterpret_cast<const uint8_t*>(notCab), sizeof notCab)));
    EXPECT_THROW(listCab(nt::Bytes(reinterpret_cast<const uint8_t*>(notCab), sizeof notCab)), nt::FormatError);
}

}  // namespace

namespace {

// A stored (uncompressed) cabinet with one folder and one data block,
// written field by field from the MS-CAB layout.
std::vector<uint8_t> storedCab(const std::vector<std::pair<std::string, std::string>>& files) {
    std::string payload, entries;
    uint32_t offset = 0;
    auto put16 = [](std::string& s, uint16_t v) { s.push_back(char(v & 0xff)), s.push_back(char(v >> 8)); };
    auto put32 = [&](std::string& s, uint32_t v) { put16(s, uint16_t(v & 0xffff)), put16(s, uint16_t(v >> 16)); };
    for (const auto& [name, data] : files) {
        put32(entries, uint32_t(data.size()));
        put32(entries, offset);
        put16(entries, 0), put16(entries, 0x5021), put16(entries, 0), put16(entries, 0x20);
        entries += name;
        entries.push_back('\0');
        offset += uint32_t(data.size());
        payload += data;
    }
    const uint32_t coffFiles = 36 + 8, dataStart = coffFiles + uint32_t(entries.size());
    const uint32_t total = dataStart + 8 + uint32_t(payload.size());
    std::string cab = "MSCF";
    put32(cab, 0), put32(cab, total), put32(cab, 0), put32(cab, coffFiles), put32(cab, 0);
    cab.push_back(3), cab.push_back(1);
    put16(cab, 1), put16(cab, uint16_t(files.size())), put16(cab, 0), put16(cab, 0x1234), put16(cab, 0);
    put32(cab, dataStart), put16(cab, 1), put16(cab, 0);  // CFFOLDER: one block, no compression
    cab += entries;
    put32(cab, 0), put16(cab, uint16_t(payload.size())), put16(cab, uint16_t(payload.size()));  // CFDATA, no checksum
    cab += payload;
    return std::vector<uint8_t>(cab.begin(), cab.end());
}

TEST(CabExpand, MemberSelectionInATwoMemberCabinet) {
    auto cab = storedCab({{"a.sym", "MODULE windows x86 0123 a.pdb\n"}, {"b.pdb", "Microsoft C/C++ MSF 7.00"}});
    nt::Bytes b(cab.data(), cab.size());
    auto members = listCab(b);
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ(members[1].name, "b.pdb");
    EXPECT_EQ(members[1].size, 24u);
    auto pdb = expandCabToMemory(b, 1024, "B.PDB");  // Windows names: case-insensitive
    EXPECT_EQ(std::string(pdb.begin(), pdb.end()), "Microsoft C/C++ MSF 7.00");
    auto first = expandCabToMemory(b, 1024);
    EXPECT_EQ(std::string(first.begin(), first.end()), "MODULE windows x86 0123 a.pdb\n");
    EXPECT_THROW(expandCabToMemory(b, 1024, "c.pdb"), nt::FormatError);
    EXPECT_THROW(expandCabToMemory(b, 23, "b.pdb"), nt::FormatError);
    // The data block cut short: the member cannot be produced in full.
    nt::Bytes cut(cab.data(), cab.size() - 10);
    EXPECT_THROW(expandCabToMemory(cut, 1024, "b.pdb"), nt::FormatError);
}

}  // namespace
