// dt through the Engine: the hand-made widget ISF over a synthetic x64
// target (values), and the real ntkrnlmp ISF of build 19041.804 (type-only
// layouts, whose offsets test_isf checks against the JSON with Python).
#include <gtest/gtest.h>

#include <cstring>

#include "commands/engine.h"
#include "isf/isf_file.h"
#include "memory/range_memory.h"
#include "support/test_support.h"

namespace nt {
namespace {

constexpr uint64_t kWidget = 0xffffe86d079b8000;
constexpr const char* k5278 = "jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz";

class FakeTarget : public Target {
public:
    const Memory& memory() const override { return mem; }
    RangeMemory mem;
    std::vector<uint8_t> widget = std::vector<uint8_t>(0x48, 0);
};

std::unique_ptr<Engine> widgetEngine() {
    auto t = std::make_unique<FakeTarget>();
    t->machine = Machine::Amd64;
    auto put = [&](size_t off, uint64_t v, size_t n) { std::memcpy(t->widget.data() + off, &v, n); };
    put(0x0, 5, 2);
    put(0x2, 0x48, 2);
    put(0x4, 0xb, 4);
    put(0x8, kWidget + 8, 8);
    put(0x10, kWidget + 8, 8);
    put(0x30, kWidget, 8);
    put(0x40, 2, 4);
    put(0x44, 0x1f, 4);
    t->mem.add(kWidget, Bytes(t->widget.data(), t->widget.size()));
    t->mem.finalize();
    t->finalize();
    auto e = std::make_unique<Engine>(std::move(t));
    e->addTypeSource("widget", std::shared_ptr<const types::TypeProvider>(
                                   isf::IsfFile::open(test::fixtureFile("isf/widget.json"))));
    return e;
}

TEST(DtCommand, TypeOnlyWithAndWithoutModule) {
    auto e = widgetEngine();
    Output o = e->execute("dt widget!_INNER");
    ASSERT_FALSE(o.error) << o.text;
    EXPECT_EQ(o.text, "   +0x000 Count            : Uint4B\n");
    EXPECT_EQ(o.json["type"], "widget!_INNER");
    EXPECT_EQ(o.json["size"], 4);
    EXPECT_EQ(o.json["fields"][0]["name"], "Count");
    EXPECT_EQ(o.json["fields"][0]["type"], "Uint4B");
    // Without a module every source is searched and the match is named first.
    o = e->execute("dt _INNER");
    EXPECT_EQ(o.text, "widget!_INNER\n   +0x000 Count            : Uint4B\n");
}

TEST(DtCommand, ValuesFieldsAndRecursion) {
    auto e = widgetEngine();
    Output o = e->execute("dt widget!_WIDGET ffffe86d`079b8000 Type Mode State Inner");
    ASSERT_FALSE(o.error) << o.text;
    EXPECT_EQ(o.text,
              "   +0x000 Type             : 0n5\n"
              "   +0x004 Mode             : 0y101 (0x5)\n"
              "   +0x040 State            : 2 ( WidgetDead )\n"
              "   +0x044 Inner            : _INNER\n");
    EXPECT_EQ(o.json["address"], kWidget);
    EXPECT_EQ(o.json["fields"][1]["raw"], 5);
    EXPECT_EQ(o.json["fields"][1]["bitPosition"], 1);
    EXPECT_EQ(o.json["fields"][1]["bitLength"], 3);
    EXPECT_EQ(o.json["fields"][3]["address"], kWidget + 0x44);

    o = e->execute("dt -r1 widget!_WIDGET Inner 0xffffe86d079b8000");
    EXPECT_EQ(o.text,
              "   +0x044 Inner            : _INNER\n"
              "      +0x000 Count            : 0x1f\n");
    EXPECT_EQ(o.json["fields"][0]["fields"][0]["value"], "0x1f");
}

TEST(DtCommand, ErrorsAsWinDbgWordsThem) {
    auto e = widgetEngine();
    Output o = e->execute("dt widget!_FOO");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "Symbol widget!_FOO not found.\n");
    o = e->execute("dt widget!_WIDGET NoSuchField");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "Cannot find specified field members.\n");
    o = e->execute("dt -v widget!_WIDGET");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "dt: option '-v' is not supported (supported: -r[N], -n)\n");
    o = e->execute("dt widget!_WIDGET 1000");
    EXPECT_TRUE(o.error);
    EXPECT_EQ(o.text, "Memory read error 00000000`00001000\n");
}

TEST(DtCommand, WildcardListingAndEnums) {
    auto e = widgetEngine();
    Output o = e->execute("dt widget!_W*");
    ASSERT_FALSE(o.error) << o.text;
    EXPECT_EQ(o.text,
              "          widget!_WIDGET\n"
              "          widget!_WIDGET_STATE\n"
              "          widget!_WIDGET_TABLE\n");
    EXPECT_EQ(o.json["types"].size(), 3u);
    o = e->execute("dt widget!_WIDGET_STATE");
    EXPECT_EQ(o.text, "   WidgetIdle = 0n0\n   WidgetBusy = 0n1\n   WidgetDead = 0n2\n");
}

std::unique_ptr<Engine> kernelEngine(const std::string& isfPath) {
    auto t = std::make_unique<FakeTarget>();
    t->machine = Machine::Amd64;
    t->mem.finalize();
    t->finalize();
    auto e = std::make_unique<Engine>(std::move(t));
    e->addTypeSource("nt", std::shared_ptr<const types::TypeProvider>(isf::IsfFile::open(isfPath)));
    return e;
}

std::string firstLines(const std::string& s, size_t n) {
    size_t pos = 0;
    for (size_t i = 0; i < n && pos != std::string::npos; ++i) {
        pos = s.find('\n', pos);
        if (pos != std::string::npos) ++pos;
    }
    return s.substr(0, pos);
}

TEST(DtCommand, KernelEprocessFromIsf) {
    NT_REQUIRE_CORPUS_FILE(path, k5278);
    auto e = kernelEngine(path);
    Output o = e->execute("dt nt!_EPROCESS");
    ASSERT_FALSE(o.error) << o.text;
    // Offsets from the ISF JSON (python3: user_types._EPROCESS.fields).
    EXPECT_EQ(firstLines(o.text, 4),
              "   +0x000 Pcb              : _KPROCESS\n"
              "   +0x438 ProcessLock      : _EX_PUSH_LOCK\n"
              "   +0x440 UniqueProcessId  : Ptr64 Void\n"
              "   +0x448 ActiveProcessLinks : _LIST_ENTRY\n");
    EXPECT_NE(o.text.find("   +0x5a8 ImageFileName    : [15] UChar\n"), std::string::npos);
    o = e->execute("dt nt!_EPROCESS UniqueProcessId ImageFileName");
    EXPECT_EQ(o.text,
              "   +0x440 UniqueProcessId  : Ptr64 Void\n"
              "   +0x5a8 ImageFileName    : [15] UChar\n");
    o = e->execute("dt nt!_KTSS64");
    EXPECT_EQ(o.text,
              "   +0x000 Reserved0        : Uint4B\n"
              "   +0x004 Rsp0             : Uint8B\n"
              "   +0x00c Rsp1             : Uint8B\n"
              "   +0x014 Rsp2             : Uint8B\n"
              "   +0x01c Ist              : [8] Uint8B\n"
              "   +0x05c Reserved1        : Uint8B\n"
              "   +0x064 Reserved2        : Uint2B\n"
              "   +0x066 IoMapBase        : Uint2B\n");
    o = e->execute("dt nt!_KTSS*");
    EXPECT_NE(o.text.find("          nt!_KTSS64\n"), std::string::npos);
}

}  // namespace
}  // namespace nt
