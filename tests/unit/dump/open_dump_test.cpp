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

TEST(OpenDump, KernelDumpsAreNotSupportedYet) {
    EXPECT_EQ(errorOf(withMagic("PAGEDU64")), "x.dmp: kernel dumps are not supported yet (PAGEDU64 kernel dump)");
    EXPECT_EQ(errorOf(withMagic("PAGEDUMP")), "x.dmp: kernel dumps are not supported yet (PAGEDUMP kernel dump)");
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
