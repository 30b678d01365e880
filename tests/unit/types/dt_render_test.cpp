// dt rendering over a hand-made ISF (tests/fixtures/isf/widget.json) with a
// known layout, type-only and over fake memory. Expected text is written by
// hand after WinDbg's conventions (FACTS.md §2.7 and the dt outputs quoted there).
#include <gtest/gtest.h>

#include <cstring>

#include "isf/isf_file.h"
#include "memory/range_memory.h"
#include "support/test_support.h"
#include "types/dt_render.h"

namespace nt::types {
namespace {

constexpr uint64_t kWidget = 0xffffe86d079b8000;
constexpr uint64_t kText = 0xffffe86d079b9000;

std::unique_ptr<isf::IsfFile> widgetIsf() { return isf::IsfFile::open(test::fixtureFile("isf/widget.json")); }

template <class T>
void put(std::vector<uint8_t>& b, size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}

struct WidgetMemory {
    std::vector<uint8_t> widget = std::vector<uint8_t>(0x48, 0);
    std::vector<uint8_t> text;
    RangeMemory mem;
    WidgetMemory() {
        put<int16_t>(widget, 0x0, 5);
        put<uint16_t>(widget, 0x2, 0x48);
        put<uint32_t>(widget, 0x4, 0xb);  // Busy = 1, Mode = 0b101
        put<uint64_t>(widget, 0x8, kWidget + 8);
        put<uint64_t>(widget, 0x10, kWidget + 8);
        put<uint16_t>(widget, 0x18, 10);  // "Hello": 5 UTF-16 units
        put<uint16_t>(widget, 0x1a, 12);
        put<uint64_t>(widget, 0x20, kText);
        put<uint64_t>(widget, 0x28, 0);  // Owner: null
        put<uint64_t>(widget, 0x30, kWidget);
        std::memcpy(widget.data() + 0x38, "abc", 3);
        widget[0x3e] = 'b';
        put<int32_t>(widget, 0x40, 1);
        put<uint32_t>(widget, 0x44, 0x1f);
        for (char c : std::string("Hello")) {
            text.push_back(static_cast<uint8_t>(c));
            text.push_back(0);
        }
        mem.add(kWidget, Bytes(widget.data(), widget.size()));
        mem.add(kText, Bytes(text.data(), text.size()));
        mem.finalize();
    }
};

std::string joined(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

TEST(DtRender, TypeOnlyLayout) {
    auto isf = widgetIsf();
    DtRequest req;
    req.types = isf.get();
    req.type = *isf->findType("_WIDGET");
    auto nodes = dtLayout(req);
    ASSERT_TRUE(nodes);
    EXPECT_EQ(joined(dtText(*nodes)),
              "   +0x000 Type             : Int2B\n"
              "   +0x002 Size             : Uint2B\n"
              "   +0x004 Flags            : Uint4B\n"
              "   +0x004 Busy             : Pos 0, 1 Bit\n"
              "   +0x004 Mode             : Pos 1, 3 Bits\n"
              "   +0x008 Links            : _LIST_ENTRY\n"
              "   +0x018 Name             : _UNICODE_STRING\n"
              "   +0x028 Owner            : Ptr64 _WIDGET\n"
              "   +0x030 Context          : Ptr64 Void\n"
              "   +0x038 Tag              : [6] UChar\n"
              "   +0x03e Letter           : Char\n"
              "   +0x040 State            : _WIDGET_STATE\n"
              "   +0x044 Inner            : _INNER\n");
}

TEST(DtRender, ValuesOverMemory) {
    auto isf = widgetIsf();
    WidgetMemory m;
    DtRequest req;
    req.types = isf.get();
    req.type = *isf->findType("_WIDGET");
    req.memory = &m.mem;
    req.address = kWidget;
    auto nodes = dtLayout(req);
    ASSERT_TRUE(nodes);
    EXPECT_EQ(joined(dtText(*nodes)),
              "   +0x000 Type             : 0n5\n"
              "   +0x002 Size             : 0x48\n"
              "   +0x004 Flags            : 0xb\n"
              "   +0x004 Busy             : 0y1\n"
              "   +0x004 Mode             : 0y101 (0x5)\n"
              "   +0x008 Links            : _LIST_ENTRY [ 0xffffe86d`079b8008 - 0xffffe86d`079b8008 ]\n"
              "   +0x018 Name             : _UNICODE_STRING \"Hello\"\n"
              "   +0x028 Owner            : (null) \n"
              "   +0x030 Context          : 0xffffe86d`079b8000 Void\n"
              "   +0x038 Tag              : [6]  \"abc\"\n"
              "   +0x03e Letter           : 98 'b'\n"
              "   +0x040 State            : 1 ( WidgetBusy )\n"
              "   +0x044 Inner            : _INNER\n");
    EXPECT_EQ((*nodes)[4].raw, 5u);
    EXPECT_EQ((*nodes)[0].address, kWidget);
}

TEST(DtRender, FieldSelectionPathsAndRecursion) {
    auto isf = widgetIsf();
    WidgetMemory m;
    DtRequest req;
    req.types = isf.get();
    req.type = *isf->findType("_WIDGET");
    req.memory = &m.mem;
    req.address = kWidget;
    req.fields = {"Size", "Links."};
    auto nodes = dtLayout(req);
    ASSERT_TRUE(nodes);
    EXPECT_EQ(joined(dtText(*nodes)),
              "   +0x002 Size             : 0x48\n"
              "   +0x008 Links            : _LIST_ENTRY [ 0xffffe86d`079b8008 - 0xffffe86d`079b8008 ]\n"
              "      +0x000 Flink            : 0xffffe86d`079b8008 _LIST_ENTRY\n"
              "      +0x008 Blink            : 0xffffe86d`079b8008 _LIST_ENTRY\n");

    // A path through a pointer: Context is void*, so nothing below it;
    // Name.Length selects one subfield.
    req.fields = {"Name.Length"};
    nodes = dtLayout(req);
    ASSERT_TRUE(nodes);
    EXPECT_EQ(joined(dtText(*nodes)),
              "   +0x018 Name             : _UNICODE_STRING \"Hello\"\n"
              "      +0x000 Length           : 0xa\n");

    req.fields = {"NoSuchField"};
    EXPECT_FALSE(dtLayout(req));

    // -r1: sub-structures expand one level; pointers are not followed.
    req.fields = {"In*", "Owner"};
    req.recurse = 1;
    nodes = dtLayout(req);
    ASSERT_TRUE(nodes);
    EXPECT_EQ(joined(dtText(*nodes)),
              "   +0x028 Owner            : (null) \n"
              "   +0x044 Inner            : _INNER\n"
              "      +0x000 Count            : 0x1f\n");
}

TEST(DtRender, MissingMemoryAndOddTypes) {
    auto isf = widgetIsf();
    RangeMemory empty;
    empty.finalize();
    DtRequest req;
    req.types = isf.get();
    req.type = *isf->findType("_WIDGET_TABLE");
    req.memory = &empty;
    req.address = 0x1000;
    auto nodes = dtLayout(req);
    ASSERT_TRUE(nodes);
    EXPECT_EQ(joined(dtText(*nodes)),
              "   +0x000 First            : ??\n"
              "   +0x008 Handler          : ??\n"
              "   +0x010 Count            : ??\n");
    req.memory = nullptr;
    nodes = dtLayout(req);
    EXPECT_EQ((*nodes)[1].typeText, "Ptr64 <function>");
    EXPECT_EQ((*nodes)[2].typeText, "Uint8B");
}

TEST(DtRender, EnumListingAndWildcards) {
    auto isf = widgetIsf();
    const Type* e = isf->type(*isf->findType("_WIDGET_STATE"));
    EXPECT_EQ(joined(dtEnumText(*e)), "   WidgetIdle = 0n0\n   WidgetBusy = 0n1\n   WidgetDead = 0n2\n");
    EXPECT_TRUE(dtWildcardMatch("_KT*", "_KTHREAD"));
    EXPECT_TRUE(dtWildcardMatch("*THREAD", "_KTHREAD"));
    EXPECT_TRUE(dtWildcardMatch("_K?HREAD", "_KTHREAD"));
    EXPECT_FALSE(dtWildcardMatch("_KT*", "_EPROCESS"));
    EXPECT_EQ(dtPointer(0xffffe86d079b8000, 8), "0xffffe86d`079b8000");
    EXPECT_EQ(dtPointer(0x191ea0, 4), "0x00191ea0");
}

// x86: 32-bit pointers print as 0x%08x and list links as plain hex; the
// FACTS.md §2.7 example `dt nt!_PEB Ldr Ldr. 7ffdf000` rebuilt on a minimal
// x86 _PEB. (MSDOCS abridges that example: WinDbg names the pointee type
// after a pointer value, as in `DeviceObject : 0xffff998a`a73c8930 _DEVICE_OBJECT`.)
TEST(DtRender, X86PebLdrThroughPointer) {
    const std::string json = R"({"metadata":{"windows":{"pdb":{"GUID":"0","age":1,"database":"ntdll.pdb","machine_type":332}}},
      "base_types":{"pointer":{"kind":"int","signed":false,"size":4},
                    "unsigned long":{"kind":"int","signed":false,"size":4},
                    "unsigned char":{"kind":"char","signed":false,"size":1},
                    "void":{"kind":"void","signed":true,"size":0}},
      "user_types":{
        "_LIST_ENTRY":{"kind":"struct","size":8,"fields":{
          "Flink":{"offset":0,"type":{"kind":"pointer","subtype":{"kind":"struct","name":"_LIST_ENTRY"}}},
          "Blink":{"offset":4,"type":{"kind":"pointer","subtype":{"kind":"struct","name":"_LIST_ENTRY"}}}}},
        "_PEB_LDR_DATA":{"kind":"struct","size":40,"fields":{
          "Length":{"offset":0,"type":{"kind":"base","name":"unsigned long"}},
          "Initialized":{"offset":4,"type":{"kind":"base","name":"unsigned char"}},
          "SsHandle":{"offset":8,"type":{"kind":"pointer","subtype":{"kind":"base","name":"void"}}},
          "InLoadOrderModuleList":{"offset":12,"type":{"kind":"struct","name":"_LIST_ENTRY"}}}},
        "_PEB":{"kind":"struct","size":16,"fields":{
          "Mutant":{"offset":4,"type":{"kind":"pointer","subtype":{"kind":"base","name":"void"}}},
          "ImageBaseAddress":{"offset":8,"type":{"kind":"pointer","subtype":{"kind":"base","name":"void"}}},
          "Ldr":{"offset":12,"type":{"kind":"pointer","subtype":{"kind":"struct","name":"_PEB_LDR_DATA"}}}}}}})";
    auto isf = isf::IsfFile::fromJson(json);
    EXPECT_EQ(isf->pointerSize(), 4u);
    std::vector<uint8_t> peb(16, 0), ldr(40, 0);
    put<uint32_t>(peb, 4, 0xffffffff);
    put<uint32_t>(peb, 8, 0x400000);
    put<uint32_t>(peb, 12, 0x191ea0);
    put<uint32_t>(ldr, 0, 0x28);
    ldr[4] = 1;
    put<uint32_t>(ldr, 12, 0x191ee0);
    put<uint32_t>(ldr, 16, 0x192848);
    RangeMemory mem;
    mem.add(0x7ffdf000, Bytes(peb.data(), peb.size()));
    mem.add(0x191ea0, Bytes(ldr.data(), ldr.size()));
    mem.finalize();
    DtRequest req;
    req.types = isf.get();
    req.type = *isf->findType("_PEB");
    req.memory = &mem;
    req.address = 0x7ffdf000;
    req.fields = {"Ldr", "Ldr."};
    auto nodes = dtLayout(req);
    ASSERT_TRUE(nodes);
    EXPECT_EQ(joined(dtText(*nodes)),
              "   +0x00c Ldr              : 0x00191ea0 _PEB_LDR_DATA\n"
              "      +0x000 Length           : 0x28\n"
              "      +0x004 Initialized      : 0x1 ''\n"
              "      +0x008 SsHandle         : (null) \n"
              "      +0x00c InLoadOrderModuleList : _LIST_ENTRY [ 0x191ee0 - 0x192848 ]\n");
    req.fields = {};
    req.memory = nullptr;
    nodes = dtLayout(req);
    EXPECT_EQ(joined(dtText(*nodes)),
              "   +0x004 Mutant           : Ptr32 Void\n"
              "   +0x008 ImageBaseAddress : Ptr32 Void\n"
              "   +0x00c Ldr              : Ptr32 _PEB_LDR_DATA\n");
}

TEST(IsfFixture, MetadataSymbolsAndPointerSize) {
    auto isf = widgetIsf();
    EXPECT_EQ(isf->metadata().guid, "00112233445566778899AABBCCDDEEFF");
    EXPECT_EQ(isf->metadata().age, 2u);
    EXPECT_EQ(isf->metadata().pdbName, "widget.pdb");
    EXPECT_EQ(isf->pointerSize(), 8u);
    EXPECT_EQ(isf->rvaOf("WidgetList"), 0x1000u);
    auto s = isf->symbolAt(0x1008);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->name, "WidgetList");
    EXPECT_EQ(isf->symbolAt(0x1010)->name, "WidgetCount");
    EXPECT_EQ(isf->symbolAt(0x5000)->name, "WidgetMain");
    EXPECT_FALSE(isf->symbolAt(0xfff));
    std::string all;
    isf->forEachSymbol([&](const isf::IsfSymbol& sym) {
        all += std::string(sym.name) + "@" + std::to_string(sym.rva) + " ";
        return true;
    });
    EXPECT_EQ(all, "WidgetList@4096 WidgetCount@4112 WidgetMain@8192 ");
    const Type* w = isf->type(*isf->findType("_WIDGET"));
    EXPECT_EQ(w->size, 0x48u);
    EXPECT_EQ(w->fields.size(), 13u);
}

}  // namespace
}  // namespace nt::types
