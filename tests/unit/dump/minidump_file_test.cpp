#include "dump/minidump/minidump_file.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "dump/minidump/minidump_format.h"
#include "unit/dump/dump_builder.h"

using namespace nt;
using nt::test::Buf;
using nt::test::MinidumpBuilder;
using nt::test::view;

namespace {

std::string errorOf(Bytes b) {
    try {
        MinidumpFile::parse(b);
    } catch (const FormatError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(MinidumpFile, HeaderAndDirectory) {
    MinidumpBuilder mb;
    mb.stream(3, {1, 0, 0, 0});
    mb.stream(0x12345678, {9, 9});
    auto bytes = mb.build(0x5c0b9e05, 0x121);
    MinidumpFile f = MinidumpFile::parse(view(bytes));
    EXPECT_EQ(f.timestamp(), 0x5c0b9e05u);
    EXPECT_EQ(f.flags(), 0x121u);
    ASSERT_EQ(f.directory().size(), 2u);
    EXPECT_EQ(f.directory()[1].type, 0x12345678u);
    EXPECT_EQ(f.directory()[1].size, 2u);
    auto s = f.stream(0x12345678);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->size(), 2u);
    EXPECT_EQ(s->data()[0], 9);
    EXPECT_FALSE(f.stream(4));
}

TEST(MinidumpFile, VersionHighWordIsFree) {
    // Real dumps carry the dbghelp build in the high word (0xA0ABA793).
    auto bytes = MinidumpBuilder().build();
    bytes[6] = 0xab;
    bytes[7] = 0xa0;
    EXPECT_EQ(MinidumpFile::parse(view(bytes)).version(), 0xa0aba793u);
}

TEST(MinidumpFile, TruncatedHeader) {
    auto bytes = MinidumpBuilder().build();
    bytes.resize(20);
    EXPECT_NE(errorOf(view(bytes)).find("truncated"), std::string::npos);
}

TEST(MinidumpFile, BadSignatureAndVersion) {
    auto bytes = MinidumpBuilder().build();
    bytes[0] = 'X';
    EXPECT_NE(errorOf(view(bytes)).find("signature"), std::string::npos);
    bytes = MinidumpBuilder().build();
    bytes[4] = 0x94;
    EXPECT_NE(errorOf(view(bytes)).find("version"), std::string::npos);
}

TEST(MinidumpFile, DirectoryPastEndIsRejectedWithoutWalkingIt) {
    auto bytes = MinidumpBuilder().build();
    uint32_t huge = 0xffffffff;
    std::memcpy(bytes.data() + 8, &huge, 4);  // NumberOfStreams
    EXPECT_NE(errorOf(view(bytes)).find("stream directory of 4294967295 entries"), std::string::npos);
}

TEST(MinidumpFile, StreamOutsideFileThrowsOnlyWhenRead) {
    MinidumpBuilder mb;
    mb.rawEntry(4, 0x100, 0x7fffffff);
    auto bytes = mb.build();
    MinidumpFile f = MinidumpFile::parse(view(bytes));  // directory itself is fine
    try {
        f.stream(4);
        FAIL() << "no error";
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("ModuleListStream"), std::string::npos) << e.what();
    }
}

TEST(MinidumpFile, StringsAreUtf16AndBounded) {
    MinidumpBuilder mb;
    uint32_t rva = mb.string("C:\\Windows\\System32\\ntdll.dll");
    Buf bad;
    bad.u32(0x1000).utf16("ab");  // length runs past the end of the file
    uint32_t badRva = mb.blob(bad.vec());
    auto bytes = mb.build();
    MinidumpFile f = MinidumpFile::parse(view(bytes));
    EXPECT_EQ(f.string(rva, "x"), "C:\\Windows\\System32\\ntdll.dll");
    EXPECT_THROW(f.string(badRva, "x"), FormatError);
    EXPECT_THROW(f.string(0xfffffff0, "x"), FormatError);
}

TEST(MinidumpFormat, StreamNames) {
    EXPECT_EQ(mdmp::streamTypeName(3), "ThreadListStream");
    EXPECT_EQ(mdmp::streamTypeName(24), "ThreadNamesStream");
    EXPECT_EQ(mdmp::streamTypeName(0x47670001), "BreakpadInfoStream");
    EXPECT_EQ(mdmp::streamTypeName(0x4b6b0001), "");
}

TEST(MinidumpFile, RepeatedStringsHaveABudget) {
    // One 64 KiB string read over and over: honest dumps never do this.
    MinidumpBuilder mb;
    uint32_t rva = mb.string(std::string(0x8000, 'a'));
    auto bytes = mb.build();
    MinidumpFile f = MinidumpFile::parse(view(bytes));
    size_t reads = 0;
    try {
        for (; reads < 10000; ++reads) f.string(rva, "name");
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("repeated"), std::string::npos);
    }
    // Budget: 2 * file size + 1 MiB, each read charges 64 KiB.
    EXPECT_GT(reads, 16u);
    EXPECT_LT(reads, 40u);
}
