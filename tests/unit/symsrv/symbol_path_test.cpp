// SymbolPath::parse/text over every form of FACTS.md §1.3, and the store
// index strings against directory names found in the corpus.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "symsrv/symbol_locator.h"
#include "support/test_support.h"

using nt::symsrv::PathElement;
using nt::symsrv::SymbolPath;
using Kind = PathElement::Kind;

namespace {

std::vector<std::string> chainOf(const SymbolPath& p, size_t i) { return p.elements.at(i).chain; }

TEST(SymbolPath, SrvAloneIsDefaultStoreWithoutCache) {
    auto p = SymbolPath::parse("srv*");
    ASSERT_EQ(p.elements.size(), 1u);
    EXPECT_EQ(p.elements[0].kind, Kind::Server);
    EXPECT_TRUE(p.elements[0].chain.empty());
    EXPECT_EQ(p.text(), "srv*");
}

TEST(SymbolPath, SrvWithStore) {
    auto p = SymbolPath::parse("srv*https://msdl.microsoft.com/download/symbols");
    ASSERT_EQ(p.elements.size(), 1u);
    EXPECT_EQ(chainOf(p, 0), std::vector<std::string>{"https://msdl.microsoft.com/download/symbols"});
}

TEST(SymbolPath, SrvCacheAndStoreKeepsDriveLetterVerbatim) {
    // The MSDOCS example.
    auto p = SymbolPath::parse(R"(srv*C:\MyServerSymbols*https://msdl.microsoft.com/download/symbols)");
    ASSERT_EQ(p.elements.size(), 1u);
    EXPECT_EQ(chainOf(p, 0),
              (std::vector<std::string>{R"(C:\MyServerSymbols)", "https://msdl.microsoft.com/download/symbols"}));
    EXPECT_EQ(p.text(), R"(srv*C:\MyServerSymbols*https://msdl.microsoft.com/download/symbols)");
}

TEST(SymbolPath, SrvTwoCachesAndStore) {
    auto p = SymbolPath::parse(R"(srv*c:\c1*\\share\c2*https://sym.example/s)");
    EXPECT_EQ(chainOf(p, 0), (std::vector<std::string>{R"(c:\c1)", R"(\\share\c2)", "https://sym.example/s"}));
}

TEST(SymbolPath, SrvIsCaseInsensitive) {
    for (const char* s : {"SRV*d:\\x*http://h/s", "Srv*d:\\x*http://h/s", "sRv*d:\\x*http://h/s"}) {
        auto p = SymbolPath::parse(s);
        ASSERT_EQ(p.elements.size(), 1u) << s;
        EXPECT_EQ(p.elements[0].kind, Kind::Server) << s;
        EXPECT_EQ(chainOf(p, 0), (std::vector<std::string>{"d:\\x", "http://h/s"})) << s;
    }
}

TEST(SymbolPath, SrvTrailingStarMeansDefaultStoreBehindCache) {
    auto p = SymbolPath::parse(R"(srv*C:\cache*)");
    EXPECT_EQ(chainOf(p, 0), (std::vector<std::string>{R"(C:\cache)", ""}));
    EXPECT_EQ(p.text(), R"(srv*C:\cache*)");
}

TEST(SymbolPath, SymsrvWithDll) {
    auto p = SymbolPath::parse(R"(symsrv*symsrv.dll*C:\sym*https://msdl.microsoft.com/download/symbols)");
    ASSERT_EQ(p.elements.size(), 1u);
    EXPECT_EQ(p.elements[0].kind, Kind::Server);
    EXPECT_EQ(p.elements[0].dll, "symsrv.dll");
    EXPECT_EQ(chainOf(p, 0), (std::vector<std::string>{R"(C:\sym)", "https://msdl.microsoft.com/download/symbols"}));
    EXPECT_EQ(p.text(), R"(symsrv*symsrv.dll*C:\sym*https://msdl.microsoft.com/download/symbols)");
    auto bare = SymbolPath::parse("SYMSRV*symsrv.dll");
    EXPECT_EQ(bare.elements.at(0).kind, Kind::Server);
    EXPECT_TRUE(bare.elements[0].chain.empty());
}

TEST(SymbolPath, CacheForms) {
    auto p = SymbolPath::parse(R"(cache*;CACHE*C:\MySymbols;cache*/tmp/x)");
    ASSERT_EQ(p.elements.size(), 3u);
    for (auto& e : p.elements) EXPECT_EQ(e.kind, Kind::Cache);
    EXPECT_EQ(p.elements[0].directory, "");
    EXPECT_EQ(p.elements[1].directory, R"(C:\MySymbols)");
    EXPECT_EQ(p.elements[2].directory, "/tmp/x");
    EXPECT_EQ(p.text(), R"(cache*;cache*C:\MySymbols;cache*/tmp/x)");
}

TEST(SymbolPath, DirectoriesEmptyElementsWhitespaceAndQuotes) {
    auto p = SymbolPath::parse(R"( ;;C:\dir one ; "D:\quoted path";  /home/u/syms  ;;"srv*e:\c*http://h/s" ; )");
    ASSERT_EQ(p.elements.size(), 4u);
    EXPECT_EQ(p.elements[0].kind, Kind::Directory);
    EXPECT_EQ(p.elements[0].directory, R"(C:\dir one)");
    EXPECT_EQ(p.elements[1].directory, R"(D:\quoted path)");
    EXPECT_EQ(p.elements[2].directory, "/home/u/syms");
    EXPECT_EQ(p.elements[3].kind, Kind::Server);
    EXPECT_EQ(chainOf(p, 3), (std::vector<std::string>{R"(e:\c)", "http://h/s"}));
    EXPECT_EQ(p.text(), R"(C:\dir one;D:\quoted path;/home/u/syms;srv*e:\c*http://h/s)");
}

TEST(SymbolPath, MixedPathKeepsOrder) {
    auto p = SymbolPath::parse(R"(C:\a;cache*C:\c;srv*C:\s*https://x/y;D:\b)");
    ASSERT_EQ(p.elements.size(), 4u);
    EXPECT_EQ(p.elements[0].kind, Kind::Directory);
    EXPECT_EQ(p.elements[1].kind, Kind::Cache);
    EXPECT_EQ(p.elements[2].kind, Kind::Server);
    EXPECT_EQ(p.elements[3].kind, Kind::Directory);
    EXPECT_EQ(SymbolPath::parse(p.text()).text(), p.text());
}

TEST(SymbolPath, NotAServerPrefix) {
    // "srv" without '*' and "server*x" are directories.
    auto p = SymbolPath::parse("srv;server*x;srvx*y");
    ASSERT_EQ(p.elements.size(), 3u);
    for (auto& e : p.elements) EXPECT_EQ(e.kind, Kind::Directory);
    EXPECT_TRUE(SymbolPath::parse("").elements.empty());
    EXPECT_TRUE(SymbolPath::parse(" ; ;\t").elements.empty());
}

// The raw RSDS GUID of test_app.pdb, read from breakpad's minidump2.dmp,
// must give the directory name under which breakpad stores test_app.sym.
TEST(StoreIndex, PdbIndexMatchesBreakpadStoreDirectory) {
    NT_REQUIRE_CORPUS_FILE(dump, "breakpad/minidump2.dmp");
    NT_REQUIRE_CORPUS_FILE(sym, "breakpad/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym");
    std::ifstream f(dump, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t at = bytes.find("RSDS");
    while (at != std::string::npos && bytes.compare(at + 24, 15, "c:\\test_app.pdb") != 0) at = bytes.find("RSDS", at + 4);
    ASSERT_NE(at, std::string::npos);
    const auto* guid = reinterpret_cast<const uint8_t*>(bytes.data() + at + 4);
    uint32_t age = 0;
    std::memcpy(&age, bytes.data() + at + 20, 4);
    EXPECT_EQ(age, 1u);
    EXPECT_EQ(nt::symsrv::pdbIndex(guid, age), "5A9832E5287241C1838ED98914E9B7FF1");
}

TEST(StoreIndex, PdbIndexOfCrashExeMatchesSymbolicatorStore) {
    NT_REQUIRE_CORPUS_FILE(exe, "symbolic/crash.exe");
    std::ifstream f(exe, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t at = bytes.find("RSDS");
    ASSERT_NE(at, std::string::npos);
    uint32_t age = 0;
    std::memcpy(&age, bytes.data() + at + 20, 4);
    EXPECT_EQ(nt::symsrv::pdbIndex(reinterpret_cast<const uint8_t*>(bytes.data() + at + 4), age),
              "3249D99D0C4049318610F4E4FB0B69361");
    // Age in hex without padding; large ages too.
    uint8_t zero[16] = {};
    EXPECT_EQ(nt::symsrv::pdbIndex(zero, 0x1a), "000000000000000000000000000000001A");
    EXPECT_EQ(nt::symsrv::pdbIndex(zero, 0xffffffff), "00000000000000000000000000000000FFFFFFFF");
}

TEST(StoreIndex, ImageIndexIsUpperTimestampLowerSize) {
    // symstore: %08X of TimeDateStamp, %x of SizeOfImage.
    EXPECT_EQ(nt::symsrv::imageIndex(0x5B3F4A6C, 0x1A5000), "5B3F4A6C1a5000");
    EXPECT_EQ(nt::symsrv::imageIndex(0x00ABCDEF, 0x7000), "00ABCDEF7000");
    EXPECT_EQ(nt::symsrv::imageIndex(0, 0), "000000000");
}

TEST(StoreIndex, ImageIndexOfCrashExeFromItsPeHeader) {
    NT_REQUIRE_CORPUS_FILE(exe, "symbolic/crash.exe");
    std::ifstream f(exe, std::ios::binary);
    std::string b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    uint32_t peOff = 0, ts = 0, sizeOfImage = 0;
    std::memcpy(&peOff, b.data() + 0x3c, 4);
    ASSERT_LT(peOff + 0x60u, b.size());
    std::memcpy(&ts, b.data() + peOff + 8, 4);
    std::memcpy(&sizeOfImage, b.data() + peOff + 24 + 56, 4);  // OptionalHeader.SizeOfImage
    // Oracle: llvm-readobj-16 prints TimeDateStamp 0x5AB38077, SizeOfImage 36864 (0x9000).
    std::string hdr = nt::test::captureOutput("llvm-readobj-16 --file-headers '" + exe + "' 2>/dev/null");
    if (!hdr.empty()) {
        EXPECT_NE(hdr.find("(0x5AB38077)"), std::string::npos) << hdr;
        EXPECT_NE(hdr.find("SizeOfImage: 36864"), std::string::npos) << hdr;
    }
    EXPECT_EQ(ts, 0x5AB38077u);
    EXPECT_EQ(sizeOfImage, 36864u);
    EXPECT_EQ(nt::symsrv::imageIndex(ts, sizeOfImage), "5AB380779000");
}

}  // namespace
