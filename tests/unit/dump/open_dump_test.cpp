#include "dump/open_dump.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "unit/dump/dump_builder.h"

using namespace nt;
using nt::test::view;

namespace {
std::string errorOf(const std::vector<uint8_t>& bytes, const std::string& name = "x.dmp") {
    try {
        openDumpBytes(view(bytes), name);
    } catch (const FormatError& e) {
        return e.what();
    }
    return "";
}
std::vector<uint8_t> withMagic(std::string_view magic, size_t size = 0x2000) {
    std::vector<uint8_t> v(size);
    std::copy(magic.begin(), magic.end(), v.begin());
    return v;
}
}  // namespace

// Kernel dumps go to the kernel reader: a header of zeros names its problem
// (no machine type) instead of being taken for another format.
TEST(OpenDump, KernelDumpsGoToTheKernelReader) {
    std::string e64 = errorOf(withMagic("PAGEDU64"));
    std::string e32 = errorOf(withMagic("PAGEDUMP", 0x1000));
    EXPECT_EQ(e64.rfind("x.dmp: ", 0), 0u) << e64;
    EXPECT_EQ(e32.rfind("x.dmp: ", 0), 0u) << e32;
    EXPECT_EQ(e64.find("not supported"), std::string::npos) << e64;
    EXPECT_NE(errorOf(withMagic("PAGEDU64", 0x100)).find("0x2000"), std::string::npos);  // header cut
}

TEST(OpenDump, UnknownSignature) {
    EXPECT_NE(errorOf(withMagic("\x7f" "ELF")).find("not a dump file: unknown signature 0x464c457f"),
              std::string::npos);
}

TEST(OpenDump, TooShortFiles) {
    EXPECT_NE(errorOf({}).find("truncated: file is 0 bytes"), std::string::npos);
    EXPECT_NE(errorOf(withMagic("MDMP", 10)).find("truncated"), std::string::npos);
    EXPECT_NE(errorOf(withMagic("USERDU64", 0x20)).find("truncated"), std::string::npos);
}

TEST(OpenDump, DispatchesMinidumpAndKeepsName) {
    nt::test::MinidumpBuilder mb;
    mb.systemInfo(0);
    auto bytes = mb.build();
    auto t = openDumpBytes(view(bytes), "mini.dmp");
    EXPECT_EQ(t->dumpKind, "minidump");
    EXPECT_EQ(t->dumpPath, "mini.dmp");
    EXPECT_EQ(t->machine, Machine::X86);
}

TEST(OpenDump, MissingFileNamesThePath) {
    try {
        openDump("/nonexistent/dir/crash.dmp");
        FAIL();
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/crash.dmp"), std::string::npos);
    }
}
