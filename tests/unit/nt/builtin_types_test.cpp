// The built-in XP SP3 x86 table against the offsets the seeds and public dt
// output pin (see the sources listed in src/nt/builtin_types.cpp).
#include <gtest/gtest.h>

#include "nt/builtin_types.h"
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
