// NtLayout over the ntoskrnl 19041 ISF, over a hand-made ISF with an
// anonymous union, and over the KDDEBUGGER_DATA64 fallback. Expected offsets
// were read from the ISF JSON with python3 (json.load, user_types[...]).
#include <gtest/gtest.h>

#include <algorithm>

#include "nt/layout.h"
#include "nt_test_support.h"

namespace nt {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(NtLayout, FieldPathsOfTheIsf) {
    NT_REQUIRE_NT_ISF(isf);
    NtLayout l(isf.get(), nullptr);
    EXPECT_EQ(l.pointerSize(), 8u);
    auto dtb = l.field("_EPROCESS", "Pcb.DirectoryTableBase");
    ASSERT_TRUE(dtb);
    EXPECT_EQ(dtb->offset, 0x28u);
    EXPECT_EQ(dtb->size, 8u);
    EXPECT_EQ(l.offset("_EPROCESS", "ActiveProcessLinks"), 0x448u);
    EXPECT_EQ(l.offset("_EPROCESS", "UniqueProcessId"), 0x440u);
    auto image = l.field("_EPROCESS", "ImageFileName");
    ASSERT_TRUE(image);
    EXPECT_EQ(image->offset, 0x5a8u);
    EXPECT_EQ(image->size, 15u);
    EXPECT_EQ(l.offset("_ETHREAD", "Tcb.ApcState.Process"), 0xb8u);  // 0x98 + 0x20
    EXPECT_EQ(l.offset("_ETHREAD", "Cid.UniqueThread"), 0x480u);
    EXPECT_EQ(l.offset("_ETHREAD", "Tcb.ApcState.ApcListHead[1]"), 0xa8u);
    EXPECT_EQ(l.offset("_ETHREAD", "Tcb.WaitBlock[2].Object"), 0x1c0u);  // 0x140 + 2*0x30 + 0x20
    EXPECT_EQ(l.size("_EPROCESS"), 0xa40u);
    EXPECT_EQ(l.size("_ETHREAD"), 0x898u);
    EXPECT_EQ(l.size("_KWAIT_BLOCK"), 0x30u);
}

TEST(NtLayout, BitfieldsAndSignedness) {
    NT_REQUIRE_NT_ISF(isf);
    NtLayout l(isf.get(), nullptr);
    auto alertable = l.field("_ETHREAD", "Tcb.Alertable");
    ASSERT_TRUE(alertable);
    EXPECT_EQ(alertable->offset, 0x74u);
    EXPECT_EQ(alertable->bitPosition, 4);
    EXPECT_EQ(alertable->bitLength, 1);
    EXPECT_EQ(alertable->size, 4u);
    auto owner = l.field("_OWNER_ENTRY", "OwnerCount");
    ASSERT_TRUE(owner);
    EXPECT_EQ(owner->bitPosition, 3);
    EXPECT_EQ(owner->bitLength, 29);
    auto prio = l.field("_KTHREAD", "Priority");
    ASSERT_TRUE(prio);
    EXPECT_EQ(prio->offset, 0xc3u);
    EXPECT_TRUE(prio->isSigned);
    EXPECT_FALSE(l.field("_KTHREAD", "State")->isSigned);
    // Nothing lives inside a bitfield; an index past the array is no field.
    EXPECT_FALSE(l.has("_KTHREAD", "Alertable.X"));
    EXPECT_FALSE(l.has("_KTHREAD", "WaitBlock[4]"));
    EXPECT_FALSE(l.has("_KTHREAD", "WaitBlock[x]"));
}

TEST(NtLayout, MissingFieldsAreRecordedNotGuessed) {
    NT_REQUIRE_NT_ISF(isf);
    NtLayout l(isf.get(), nullptr);
    EXPECT_FALSE(l.field("_EPROCESS", "SessionId"));        // gone since Windows 8
    EXPECT_FALSE(l.has("_KWAIT_BLOCK", "NextWaitBlock"));   // has() is a question, not a need
    EXPECT_FALSE(l.field("_NO_SUCH_TYPE", "X"));
    auto missing = l.missing();
    EXPECT_TRUE(contains(missing, "_EPROCESS.SessionId"));
    EXPECT_TRUE(contains(missing, "_NO_SUCH_TYPE.X"));
    EXPECT_FALSE(contains(missing, "_KWAIT_BLOCK.NextWaitBlock"));
}

TEST(NtLayout, EnumNamesFromTheTypeSource) {
    NT_REQUIRE_NT_ISF(isf);
    NtLayout l(isf.get(), nullptr);
    EXPECT_EQ(l.enumName("_KWAIT_REASON", 6), "UserRequest");
    EXPECT_EQ(l.enumName("_KWAIT_REASON", 13), "WrUserRequest");
    EXPECT_EQ(l.enumName("_KWAIT_REASON", 37), "WrAlertByThreadId");
    EXPECT_EQ(l.enumName("_KTHREAD_STATE", 5), "Waiting");
    EXPECT_EQ(l.enumName("_KTHREAD_STATE", 9), "WaitingForProcessInSwap");
    EXPECT_EQ(l.enumName("_KWAIT_REASON", 99), "");
    EXPECT_EQ(l.enumValue("_KWAIT_REASON", "WrLpcReply"), 17);
}

TEST(NtLayout, BuiltInEnumNamesWithoutTypes) {
    NtLayout l(nullptr, nullptr);
    EXPECT_EQ(l.enumName("_KWAIT_REASON", 15), "WrQueue");
    EXPECT_EQ(l.enumName("_KWAIT_REASON", 0), "Executive");
    EXPECT_EQ(l.enumName("_KTHREAD_STATE", 2), "Running");
    EXPECT_EQ(l.enumName("_KTHREAD_STATE", 7), "DeferredReady");
    EXPECT_EQ(l.enumName("_KTHREAD_STATE", -1), "");
    EXPECT_EQ(l.enumValue("_KTHREAD_STATE", "Waiting"), 5);
}

TEST(NtLayout, DebuggerDataFallback) {
    KdDebuggerData k;
    k.present = true;
    k.offsetKThreadTeb = 0xf0;
    k.offsetKThreadApcProcess = 0xb8;
    k.offsetKThreadState = 0x184;
    k.offsetEprocessPeb = 0x550;
    k.offsetEprocessDirectoryTableBase = 0x28;
    k.offsetPcrContainedPrcb = 0x180;
    k.offsetPrcbCurrentThread = 0x8;
    k.sizeEProcess = 0xa40;
    NtLayout l(nullptr, &k, 8);
    auto teb = l.field("_ETHREAD", "Tcb.Teb");
    ASSERT_TRUE(teb);
    EXPECT_EQ(teb->offset, 0xf0u);
    EXPECT_EQ(teb->size, 8u);
    EXPECT_TRUE(teb->fromDebuggerData);
    EXPECT_EQ(l.offset("_KTHREAD", "ApcState.Process"), 0xb8u);
    EXPECT_EQ(l.field("_KTHREAD", "State")->size, 1u);
    EXPECT_EQ(l.offset("_EPROCESS", "Pcb.DirectoryTableBase"), 0x28u);
    EXPECT_EQ(l.offset("_KPCR", "Prcb.CurrentThread"), 0x188u);
    EXPECT_EQ(l.size("_EPROCESS"), 0xa40u);
    // Not in the debugger data: missing, never guessed.
    EXPECT_FALSE(l.field("_EPROCESS", "ImageFileName"));
    EXPECT_FALSE(l.field("_EPROCESS", "UniqueProcessId"));
    EXPECT_FALSE(l.field("_KTHREAD", "KernelStack"));  // offset 0 in this block: not filled in
    EXPECT_FALSE(l.size("_ETHREAD"));
    auto missing = l.missing();
    EXPECT_TRUE(contains(missing, "_EPROCESS.ImageFileName"));
    EXPECT_TRUE(contains(missing, "_KTHREAD.KernelStack"));
    EXPECT_TRUE(contains(missing, "sizeof(_ETHREAD)"));
    // 32-bit targets: pointers are 4 bytes.
    NtLayout l32(nullptr, &k, 4);
    EXPECT_EQ(l32.field("_KTHREAD", "Teb")->size, 4u);
}

TEST(NtLayout, AnonymousMembersAreSearched) {
    // A source that keeps an anonymous union nested (instead of flattening
    // its members into the parent, as PDBs and JPCERT's ISF files do).
    auto f = isf::IsfFile::fromJson(R"({"metadata":{},
      "base_types":{"unsigned long":{"kind":"int","signed":false,"size":4},
                    "char":{"kind":"char","signed":true,"size":1},
                    "pointer":{"kind":"int","signed":false,"size":8}},
      "user_types":{
        "_OUTER":{"kind":"struct","size":16,"fields":{
           "Head":{"offset":0,"type":{"kind":"base","name":"unsigned long"}},
           "__unnamed_1":{"offset":8,"type":{"kind":"union","name":"__unnamed_u"}}}},
        "__unnamed_u":{"kind":"union","size":8,"fields":{
           "Flags":{"offset":0,"type":{"kind":"base","name":"unsigned long"}},
           "Mode":{"offset":4,"type":{"kind":"bitfield","bit_position":2,"bit_length":3,
                   "type":{"kind":"base","name":"unsigned long"}}},
           "Level":{"offset":4,"type":{"kind":"base","name":"char"}}}}},
      "enums":{}, "symbols":{}})");
    NtLayout l(f.get(), nullptr);
    EXPECT_EQ(l.offset("_OUTER", "Flags"), 8u);
    auto mode = l.field("_OUTER", "Mode");
    ASSERT_TRUE(mode);
    EXPECT_EQ(mode->offset, 12u);
    EXPECT_EQ(mode->bitPosition, 2);
    EXPECT_EQ(mode->bitLength, 3);
    EXPECT_TRUE(l.field("_OUTER", "Level")->isSigned);
    EXPECT_FALSE(l.has("_OUTER", "Nothing"));
}

}  // namespace
}  // namespace nt
