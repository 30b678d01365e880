// Known answers from the corpus PDBs through PdbFile::types(): the NT
// structures WinDbg users know by heart (x64 and x86 ntdll), and the one
// structure sigsegv.pdb carries.
#include <gtest/gtest.h>

#include "pdb/pdb_file.h"
#include "support/test_support.h"

using namespace nt::pdb;
using nt::types::BaseKind;
using nt::types::Field;
using nt::types::Type;
using nt::types::TypeKind;
using nt::types::TypeProvider;

namespace {

const Type* named(const TypeProvider& tp, std::string_view name) {
    auto id = tp.findType(name);
    return id ? tp.type(*id) : nullptr;
}

const Field* field(const Type& t, std::string_view name) {
    for (const auto& f : t.fields)
        if (f.name == name) return &f;
    return nullptr;
}

}  // namespace

TEST(PdbTypes, Ntdll64ListEntryUnicodeStringPeb) {
    NT_REQUIRE_CORPUS_FILE(path, "processmarauder/x64/ntdll.pdb");
    auto pdb = PdbFile::open(path);
    const TypeProvider* tp = pdb->types();
    ASSERT_NE(tp, nullptr);
    EXPECT_EQ(tp->pointerSize(), 8u);

    const Type* le = named(*tp, "_LIST_ENTRY");
    ASSERT_NE(le, nullptr);
    EXPECT_EQ(le->kind, TypeKind::Struct);
    EXPECT_EQ(le->size, 16u);
    ASSERT_EQ(le->fields.size(), 2u);
    EXPECT_EQ(le->fields[1].name, "Blink");
    EXPECT_EQ(le->fields[1].offset, 8u);
    // Flink: Ptr64 _LIST_ENTRY, through a pointer to the forward reference.
    const Type* flink = tp->type(le->fields[0].type);
    ASSERT_NE(flink, nullptr);
    EXPECT_EQ(flink->kind, TypeKind::Pointer);
    EXPECT_EQ(flink->size, 8u);
    EXPECT_EQ(tp->type(flink->target), le);

    const Type* us = named(*tp, "_UNICODE_STRING");
    ASSERT_NE(us, nullptr);
    EXPECT_EQ(us->size, 16u);
    ASSERT_EQ(us->fields.size(), 3u);
    const Type* len = tp->type(us->fields[0].type);
    ASSERT_NE(len, nullptr);
    EXPECT_EQ(len->base, BaseKind::UInt);  // Uint2B
    EXPECT_EQ(len->size, 2u);
    EXPECT_EQ(us->fields[2].name, "Buffer");
    EXPECT_EQ(us->fields[2].offset, 8u);
    const Type* buf = tp->type(us->fields[2].type);
    ASSERT_NE(buf, nullptr);
    EXPECT_EQ(buf->kind, TypeKind::Pointer);  // Ptr64 Wchar
    ASSERT_NE(tp->type(buf->target), nullptr);
    EXPECT_EQ(tp->type(buf->target)->base, BaseKind::WChar);

    const Type* peb = named(*tp, "_PEB");
    ASSERT_NE(peb, nullptr);
    EXPECT_EQ(peb->size, 0x7c8u);
    EXPECT_EQ(field(*peb, "Ldr")->offset, 0x18u);
    EXPECT_EQ(field(*peb, "ProcessParameters")->offset, 0x20u);
    EXPECT_EQ(field(*peb, "SessionId")->offset, 0x2c0u);
    const Field* large = field(*peb, "ImageUsesLargePages");  // +0x003 Pos 0, 1 Bit
    ASSERT_NE(large, nullptr);
    EXPECT_EQ(large->offset, 3u);
    EXPECT_EQ(large->bitPosition, 0);
    EXPECT_EQ(large->bitLength, 1);
    const Field* prot = field(*peb, "IsProtectedProcess");  // +0x003 Pos 1, 1 Bit
    ASSERT_NE(prot, nullptr);
    EXPECT_EQ(prot->bitPosition, 1);
    const Type* ldr = tp->type(field(*peb, "Ldr")->type);
    ASSERT_NE(ldr, nullptr);
    ASSERT_NE(tp->type(ldr->target), nullptr);
    EXPECT_EQ(tp->type(ldr->target)->name, "_PEB_LDR_DATA");
    EXPECT_FALSE(tp->type(ldr->target)->incomplete);
}

TEST(PdbTypes, Ntdll32Peb) {
    NT_REQUIRE_CORPUS_FILE(path, "processmarauder/x86/wntdll.pdb");
    auto pdb = PdbFile::open(path);
    const TypeProvider* tp = pdb->types();
    ASSERT_NE(tp, nullptr);
    EXPECT_EQ(tp->pointerSize(), 4u);
    const Type* peb = named(*tp, "_PEB");
    ASSERT_NE(peb, nullptr);
    EXPECT_EQ(peb->size, 0x480u);
    EXPECT_EQ(field(*peb, "Ldr")->offset, 0xcu);
    EXPECT_EQ(field(*peb, "ProcessParameters")->offset, 0x10u);
    const Type* ldr = tp->type(field(*peb, "Ldr")->type);
    ASSERT_NE(ldr, nullptr);
    EXPECT_EQ(ldr->kind, TypeKind::Pointer);
    EXPECT_EQ(ldr->size, 4u);  // Ptr32 _PEB_LDR_DATA
    const Type* le = named(*tp, "_LIST_ENTRY");
    ASSERT_NE(le, nullptr);
    EXPECT_EQ(le->size, 8u);
    EXPECT_EQ(le->fields[1].offset, 4u);
}

// sigsegv.pdb's only structures are MSVC's attribute helpers.
TEST(PdbTypes, SigsegvEventSourceAttribute) {
    NT_REQUIRE_CORPUS_FILE(path, "lldb/sigsegv.pdb");
    auto pdb = PdbFile::open(path);
    const TypeProvider* tp = pdb->types();
    ASSERT_NE(tp, nullptr);
    const Type* t = named(*tp, "__vc_attributes::event_sourceAttribute");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->size, 12u);
    ASSERT_EQ(t->fields.size(), 3u);
    EXPECT_EQ(t->fields[0].name, "type");
    EXPECT_EQ(t->fields[1].name, "optimize");
    EXPECT_EQ(t->fields[1].offset, 4u);
    EXPECT_EQ(t->fields[2].name, "decorate");
    EXPECT_EQ(t->fields[2].offset, 8u);
    EXPECT_EQ(tp->type(t->fields[2].type)->base, BaseKind::Bool);
    const Type* e = tp->type(t->fields[0].type);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->kind, TypeKind::Enum);
    EXPECT_EQ(e->size, 4u);
    ASSERT_EQ(e->enumerators.size(), 3u);
    EXPECT_EQ(e->enumerators[2].name, "managed");
    EXPECT_EQ(e->enumerators[2].value, 2);
    EXPECT_EQ(tp, pdb->types());  // built once
}
