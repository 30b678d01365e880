// The built-in XP SP3 x86 table against the offsets the seeds and public dt
// output pin (see the sources listed in src/nt/builtin_types.cpp); the
// generated x64 tables against the ISF files they were generated from.
#include <gtest/gtest.h>

#include "isf/isf_file.h"
#include "nt/builtin_types.h"
#include "support/test_support.h"
#include "nt/layout.h"
#include "types/dt_render.h"

namespace nt {
namespace {

std::shared_ptr<const types::TypeProvider> xp() { return builtinTypesFor(Machine::X86, 2600); }

uint64_t off(const NtLayout& l, std::string_view type, std::string_view path) {
    auto o = l.offset(type, path);
    EXPECT_TRUE(o.has_value()) << type << "." << path;
    return o.value_or(~0ull);
}

TEST(BuiltinTypes, OnlyVerifiedBuildsHaveATable) {
    EXPECT_NE(xp(), nullptr);
    EXPECT_EQ(xp()->pointerSize(), 4u);
    EXPECT_EQ(builtinTypesFor(Machine::X86, 2195), nullptr);  // Windows 2000: unverified
    EXPECT_EQ(builtinTypesFor(Machine::Amd64, 2600), nullptr);
    EXPECT_EQ(builtinTypesFor(Machine::X86, 7601), nullptr);
    EXPECT_EQ(builtinTypesFor(Machine::Amd64, 22621), nullptr);  // no ISF of 22H2 in the corpus
    EXPECT_EQ(builtinTypesFor(Machine::Arm64, 19041), nullptr);
    EXPECT_EQ(builtinLayoutBuilds(Machine::Amd64),
              (std::vector<uint32_t>{7601, 9600, 14393, 17763, 18362, 19041, 20348, 22000}));
    // Enablement-package builds share their base build's layout.
    EXPECT_EQ(builtinTypesFor(Machine::Amd64, 19045), builtinTypesFor(Machine::Amd64, 19041));
    EXPECT_EQ(builtinTypesFor(Machine::Amd64, 18363), builtinTypesFor(Machine::Amd64, 18362));
}

// The x64 tables are generated from the JPCERT ISF files; every row of every
// table must equal what our ISF reader reads from the file it came from (and
// from the other files of that build): offset, bit position and length, and
// the size of the field's type; every structure's size too.
struct IsfOfBuild {
    uint32_t build;
    const char* file;
};
constexpr IsfOfBuild kIsfs[] = {
    {7601, "339E74133576439CBCDF7E0229DA3773-1.json.xz"},  {9600, "22597D0B40394E23936F6A24C6C52D5B-1.json.xz"},
    {14393, "517E128F7B7C4EA79491DE6B9B9CE190-1.json.xz"}, {17763, "A1E1C9A90091DA9805D0EBA0470BEC85-1.json.xz"},
    {18362, "11BC9A513F1140CA359ECDF50F0122C1-1.json.xz"}, {19041, "5278AFF86C341677D7D7835C85B7B844-1.json.xz"},
    {19041, "FC57F1C841C2C3F793D57AC134DC0EFA-1.json.xz"}, {19041, "3FCC539FF307DD2D9C509206D352B9AA-1.json.xz"},
    {20348, "E113513ECFAD6E8858567EEC9E6E285F-1.json.xz"}, {22000, "FDCBA251C28BD5935DB2F7AEE341482A-1.json.xz"},
};

TEST(BuiltinTypes, X64TablesEqualTheIsfFilesTheyCameFrom) {
    size_t rows = 0, structs = 0;
    for (const auto& [build, file] : kIsfs) {
        std::string path = test::corpusFile(std::string("jpcert-isf/ntkrnlmp.pdb/") + file);
        if (path.empty()) GTEST_SKIP() << "corpus file not found: jpcert-isf/ntkrnlmp.pdb/" << file;
        auto isf = isf::IsfFile::open(path);
        auto table = builtinTypesFor(Machine::Amd64, build);
        ASSERT_NE(table, nullptr) << build;
        EXPECT_EQ(table->pointerSize(), 8u);
        std::vector<std::string> names;
        table->forEachTypeName([&](std::string_view n) {
            names.emplace_back(n);
            return true;
        });
        for (const std::string& name : names) {
            const types::Type* ours = table->type(*table->findType(name));
            auto theirsId = isf->findType(name);
            ASSERT_TRUE(theirsId) << build << " " << name;
            const types::Type* theirs = isf->type(*theirsId);
            if (ours->kind == types::TypeKind::Enum) {
                ASSERT_EQ(ours->enumerators.size(), theirs->enumerators.size()) << build << " " << name;
                for (size_t i = 0; i < ours->enumerators.size(); ++i) {
                    EXPECT_EQ(ours->enumerators[i].name, theirs->enumerators[i].name) << build << " " << name;
                    EXPECT_EQ(ours->enumerators[i].value, theirs->enumerators[i].value) << build << " " << name;
                }
                continue;
            }
            ++structs;
            EXPECT_EQ(ours->size, theirs->size) << build << " " << name;
            for (const types::Field& f : ours->fields) {
                const types::Field* g = nullptr;
                for (const types::Field& h : theirs->fields)
                    if (h.name == f.name) g = &h;
                ASSERT_NE(g, nullptr) << build << " " << name << "." << f.name;
                EXPECT_EQ(f.offset, g->offset) << build << " " << name << "." << f.name;
                EXPECT_EQ(f.bitPosition, g->bitPosition) << build << " " << name << "." << f.name;
                EXPECT_EQ(f.bitLength, g->bitLength) << build << " " << name << "." << f.name;
                const types::Type* ft = table->type(f.type);
                const types::Type* gt = isf->type(g->type);
                ASSERT_TRUE(ft && gt);
                if (!ft->incomplete) {
                    EXPECT_EQ(ft->size, gt->size) << build << " " << name << "." << f.name;
                }
                ++rows;
            }
        }
    }
    EXPECT_GT(structs, 8u * 40);
    EXPECT_GT(rows, 8u * 200);
}

// What `!process 0 0` and `!thread` read, on the build the triage dump and the
// bench dumps come from: a WinDbg user's own numbers for 19041.
TEST(BuiltinTypes, X64Build19041ProcessAndThreadOffsets) {
    NtLayout l(builtinTypesFor(Machine::Amd64, 19041).get(), nullptr, 8);
    EXPECT_EQ(off(l, "_EPROCESS", "UniqueProcessId"), 0x440u);
    EXPECT_EQ(off(l, "_EPROCESS", "ActiveProcessLinks"), 0x448u);
    EXPECT_EQ(off(l, "_EPROCESS", "ImageFileName"), 0x5a8u);
    EXPECT_EQ(off(l, "_EPROCESS", "Pcb.DirectoryTableBase"), 0x28u);
    EXPECT_EQ(off(l, "_EPROCESS", "ThreadListHead"), 0x5e0u);
    EXPECT_EQ(off(l, "_ETHREAD", "Cid.UniqueThread"), 0x480u);
    EXPECT_EQ(off(l, "_ETHREAD", "Tcb.ApcState.ApcListHead[1]"), 0x98u + 0x10u);
    EXPECT_EQ(off(l, "_ETHREAD", "Tcb.State"), 0x184u);
    EXPECT_EQ(off(l, "_KPCR", "Prcb.CurrentThread"), 0x188u);
    auto io = l.field("_ETHREAD", "ThreadIoPriority");
    ASSERT_TRUE(io);
    EXPECT_EQ(io->bitPosition, 9u);
    EXPECT_EQ(io->bitLength, 3u);
    EXPECT_EQ(l.enumName("_KWAIT_REASON", 6), "UserRequest");
    EXPECT_EQ(l.enumName("_KTHREAD_STATE", 5), "Waiting");
}

// Seed 003: KeUnstackDetachProcess tests [esi+165h], [esi+48h], [esi+34h], [esi+3Ch].
TEST(BuiltinTypes, KthreadApcFieldsMatchSeed003) {
    NtLayout l(xp().get(), nullptr, 4);
    EXPECT_EQ(off(l, "_KTHREAD", "ApcState"), 0x34u);
    EXPECT_EQ(off(l, "_KTHREAD", "ApcState.ApcListHead[0]"), 0x34u);
    EXPECT_EQ(off(l, "_KTHREAD", "ApcState.ApcListHead[1]"), 0x3cu);
    EXPECT_EQ(off(l, "_KTHREAD", "ApcState.Process"), 0x44u);  // also seed 002's [eax+44h]
    EXPECT_EQ(off(l, "_KTHREAD", "ApcState.KernelApcInProgress"), 0x48u);
    EXPECT_EQ(off(l, "_KTHREAD", "ApcState.KernelApcPending"), 0x49u);
    EXPECT_EQ(off(l, "_KTHREAD", "ApcStateIndex"), 0x165u);
    EXPECT_EQ(off(l, "_KTHREAD", "SavedApcState"), 0x14cu);
    EXPECT_EQ(l.size("_KTHREAD"), 0x1c0u);
    EXPECT_EQ(l.size("_KAPC_STATE"), 0x18u);
}

TEST(BuiltinTypes, XpProcessThreadAndProcessorOffsets) {
    NtLayout l(xp().get(), nullptr, 4);
    EXPECT_EQ(off(l, "_ETHREAD", "Cid.UniqueProcess"), 0x1ecu);  // 0x1e0 on Windows 2000
    EXPECT_EQ(off(l, "_ETHREAD", "Cid.UniqueThread"), 0x1f0u);
    EXPECT_EQ(off(l, "_ETHREAD", "ThreadsProcess"), 0x220u);
    EXPECT_EQ(off(l, "_EPROCESS", "Pcb.DirectoryTableBase"), 0x18u);
    EXPECT_EQ(off(l, "_EPROCESS", "UniqueProcessId"), 0x84u);
    EXPECT_EQ(off(l, "_EPROCESS", "ActiveProcessLinks"), 0x88u);
    EXPECT_EQ(off(l, "_EPROCESS", "ImageFileName"), 0x174u);
    EXPECT_EQ(off(l, "_EPROCESS", "ThreadListHead"), 0x190u);
    EXPECT_EQ(off(l, "_EPROCESS", "Peb"), 0x1b0u);
    EXPECT_EQ(l.size("_EPROCESS"), 0x260u);
    EXPECT_EQ(l.size("_ETHREAD"), 0x258u);
    EXPECT_EQ(off(l, "_KPRCB", "DpcTime"), 0x4b0u);
    EXPECT_EQ(off(l, "_KPRCB", "InterruptTime"), 0x4b8u);  // published XP dt output
    EXPECT_EQ(off(l, "_KPCR", "SelfPcr"), 0x1cu);
    EXPECT_EQ(off(l, "_KPCR", "Prcb"), 0x20u);
    EXPECT_EQ(off(l, "_KPCR", "Irql"), 0x24u);
    EXPECT_EQ(off(l, "_KPCR", "IDT"), 0x38u);
    EXPECT_EQ(off(l, "_KPCR", "GDT"), 0x3cu);
    EXPECT_EQ(off(l, "_KPCR", "TSS"), 0x40u);
    EXPECT_EQ(off(l, "_KPCR", "PrcbData"), 0x120u);
    EXPECT_EQ(off(l, "_KPCR", "PrcbData.CurrentThread"), 0x124u);  // fs:[124h]
    EXPECT_EQ(off(l, "_KPRCB", "ProcessorState"), 0x1cu);  // XP (0x18 from Vista on)
    EXPECT_EQ(off(l, "_KPRCB", "ProcessorState.SpecialRegisters.Cr3"), 0x1cu + 0x2cc + 8);
    EXPECT_EQ(off(l, "_OBJECT_HEADER", "Body"), 0x18u);
    EXPECT_EQ(off(l, "_KTRAP_FRAME", "Eip"), 0x68u);
    EXPECT_EQ(off(l, "_LDR_DATA_TABLE_ENTRY", "BaseDllName"), 0x2cu);
}

// Seed 002's `dt _KTSS`: the field list, offsets and the structure size
// (IoMapBase 0x20ac = sizeof(KTSS): no I/O permission map in use).
TEST(BuiltinTypes, KtssMatchesSeed002) {
    NtLayout l(xp().get(), nullptr, 4);
    EXPECT_EQ(off(l, "_KTSS", "Backlink"), 0x0u);
    EXPECT_EQ(off(l, "_KTSS", "Esp0"), 0x4u);
    EXPECT_EQ(off(l, "_KTSS", "CR3"), 0x1cu);
    EXPECT_EQ(off(l, "_KTSS", "Eip"), 0x20u);
    EXPECT_EQ(off(l, "_KTSS", "Es"), 0x48u);
    EXPECT_EQ(off(l, "_KTSS", "IoMapBase"), 0x66u);
    EXPECT_EQ(off(l, "_KTSS", "IntDirectionMap"), 0x208cu);
    EXPECT_EQ(l.size("_KTSS"), 0x20acu);
    auto id = xp()->findType("_KTSS");
    ASSERT_TRUE(id);
    types::DtRequest req;
    req.types = xp().get();
    req.type = *id;
    auto nodes = types::dtLayout(req);
    ASSERT_TRUE(nodes);
    auto text = types::dtText(*nodes);
    ASSERT_EQ(text.size(), 27u);
    EXPECT_EQ(text.front(), "   +0x000 Backlink         : Uint2B");
    EXPECT_EQ(text[6], "   +0x01c CR3              : Uint4B");
    EXPECT_EQ(text.back(), "   +0x208c IntDirectionMap  : [32] UChar");
}

TEST(BuiltinTypes, EnumsAndUnknownNames) {
    NtLayout l(xp().get(), nullptr, 4);
    EXPECT_EQ(l.enumName("_KTHREAD_STATE", 5), "Waiting");
    EXPECT_EQ(l.enumName("_KWAIT_REASON", 17), "WrLpcReply");
    EXPECT_EQ(l.enumValue("_KWAIT_REASON", "WrKernel"), 26);
    // Referenced-only structures are incomplete, not findable.
    EXPECT_FALSE(xp()->findType("_KQUEUE").has_value());
    EXPECT_FALSE(xp()->findType("_NOPE").has_value());
    size_t named = 0;
    xp()->forEachTypeName([&](std::string_view) { return ++named, true; });
    EXPECT_GE(named, 40u);
}

}  // namespace
}  // namespace nt
