// The Windows XP SP3 x86 table. Every row is "offset name type" as WinDbg's
// `dt` prints it, so the table can be checked line by line against a real
// `dt nt!_KTHREAD` of that kernel. Sources (public dt output of 5.1.2600 SP2/
// SP3 ntoskrnl/ntkrnlpa; the same offsets as the Vergilius Project pages
// "Windows XP | 2003 / SP3 x86" and ReactOS's ndk/i386 headers for XP):
//  * _KTHREAD, _KPCR, _KPRCB, _KPROCESSOR_STATE, _KSPECIAL_REGISTERS,
//    _CONTEXT, _LDR_DATA_TABLE_ENTRY, _KAPC: the dt dumps quoted in the
//    DBAF project's windows data-structure header (XP SP3, with a KDBG of
//    Size 0x290 and KernBase 804d8000); _KPRCB.ProcessorState is at +0x1c
//    on XP (CpuType/CpuID/CpuStep sit at 0x18..0x1b; Vista+ has it at 0x18).
//  * _EPROCESS: dt dumps of XP SP2/SP3 in several public write-ups
//    (+0x084 UniqueProcessId, +0x088 ActiveProcessLinks, +0x14c
//    InheritedFromUniqueProcessId, +0x170 Session, +0x174 ImageFileName,
//    +0x190 ThreadListHead, +0x1b0 Peb).
//  * _ETHREAD: +0x1ec Cid, +0x220 ThreadsProcess, +0x22c ThreadListEntry
//    (XP dt dumps; Windows 2000 had Cid at +0x1e0, seed 002's
//    PsGetCurrentProcessId).
//  * _KPRCB.DebugDpcTime +0x4b4 / InterruptTime +0x4b8: published XP SP2/SP3
//    `dt nt!_KPRCB` output (after DpcTime +0x4b0, before AdjustDpcThreshold).
//  * _KAPC_STATE / KTHREAD APC fields: seed 003 (KeUnstackDetachProcess
//    tests [esi+165h] ApcStateIndex, [esi+48h] KernelApcInProgress,
//    [esi+34h] ApcListHead[0], [esi+3Ch] ApcListHead[1]).
//  * _KTSS: seed 002's `dt _KTSS` (Backlink 0 ... IoMapBase 0x66, IoMaps
//    0x68, IntDirectionMap 0x208c); the hardware TSS (Intel SDM vol. 3
//    §7.2.1) puts EFLAGS..EDI in what NT calls NotUsed2.
//  * _OBJECT_HEADER (XP form with a Type pointer, Body at 0x18): MSDOCS
//    "Determining the ACL of an Object" and FACTS.md §2.7.
//  * _KTRAP_FRAME: the x86 layout unchanged from NT 4 to Windows 10 x86
//    (also what .trap uses in kernel_system_commands.cpp).
//  * enums _KTHREAD_STATE (XP has no DeferredReady/GateWait) and
//    _KWAIT_REASON (XP's 27 reasons).
#include "nt/builtin_types.h"

#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace nt {

namespace {

struct FieldRow {
    uint32_t offset;
    const char* name;
    const char* type;  // "Uint4B", "Ptr32 _KTHREAD", "[2] _LIST_ENTRY", "_KAPC_STATE"
    uint8_t bitPosition = 0;
    uint8_t bitLength = 0;  // 0: not a bitfield; else `type` is the storage unit
};

struct StructRow {
    const char* name;
    uint32_t size;
    std::vector<FieldRow> fields;
    bool isUnion = false;
};

struct EnumRow {
    const char* name;
    std::vector<std::pair<const char*, int64_t>> values;
};

struct BuiltinTable {
    unsigned pointerSize;
    std::vector<StructRow> structs;
    std::vector<EnumRow> enums;
};

// clang-format off
const std::vector<StructRow>& xpSp3Structs() {
    static const std::vector<StructRow> rows = {
        {"_LIST_ENTRY", 0x8, {{0x0, "Flink", "Ptr32 _LIST_ENTRY"}, {0x4, "Blink", "Ptr32 _LIST_ENTRY"}}},
        {"_SINGLE_LIST_ENTRY", 0x4, {{0x0, "Next", "Ptr32 _SINGLE_LIST_ENTRY"}}},
        {"_UNICODE_STRING", 0x8, {{0x0, "Length", "Uint2B"}, {0x2, "MaximumLength", "Uint2B"}, {0x4, "Buffer", "Ptr32 Wchar"}}},
        {"_CLIENT_ID", 0x8, {{0x0, "UniqueProcess", "Ptr32 Void"}, {0x4, "UniqueThread", "Ptr32 Void"}}},
        {"_LARGE_INTEGER", 0x8, {{0x0, "LowPart", "Uint4B"}, {0x4, "HighPart", "Int4B"}, {0x0, "QuadPart", "Int8B"}}, true},
        {"_ULARGE_INTEGER", 0x8, {{0x0, "LowPart", "Uint4B"}, {0x4, "HighPart", "Uint4B"}, {0x0, "QuadPart", "Uint8B"}}, true},
        {"_QUAD", 0x8, {{0x0, "DoNotUseThisField", "Float8"}}},
        {"_EX_PUSH_LOCK", 0x4, {{0x0, "Value", "Uint4B"}, {0x0, "Ptr", "Ptr32 Void"}}, true},
        {"_EX_RUNDOWN_REF", 0x4, {{0x0, "Count", "Uint4B"}, {0x0, "Ptr", "Ptr32 Void"}}, true},
        {"_EX_FAST_REF", 0x4, {{0x0, "Object", "Ptr32 Void"}, {0x0, "Value", "Uint4B"}}, true},
        {"_DISPATCHER_HEADER", 0x10, {
            {0x0, "Type", "UChar"}, {0x1, "Absolute", "UChar"}, {0x2, "Size", "UChar"}, {0x3, "Inserted", "UChar"},
            {0x4, "SignalState", "Int4B"}, {0x8, "WaitListHead", "_LIST_ENTRY"}}},
        {"_KEVENT", 0x10, {{0x0, "Header", "_DISPATCHER_HEADER"}}},
        {"_KMUTANT", 0x20, {
            {0x0, "Header", "_DISPATCHER_HEADER"}, {0x10, "MutantListEntry", "_LIST_ENTRY"},
            {0x18, "OwnerThread", "Ptr32 _KTHREAD"}, {0x1c, "Abandoned", "UChar"}, {0x1d, "ApcDisable", "UChar"}}},
        {"_KSEMAPHORE", 0x14, {{0x0, "Header", "_DISPATCHER_HEADER"}, {0x10, "Limit", "Int4B"}}},
        {"_KTIMER", 0x28, {
            {0x0, "Header", "_DISPATCHER_HEADER"}, {0x10, "DueTime", "_ULARGE_INTEGER"},
            {0x18, "TimerListEntry", "_LIST_ENTRY"}, {0x20, "Dpc", "Ptr32 _KDPC"}, {0x24, "Period", "Int4B"}}},
        {"_FAST_MUTEX", 0x20, {
            {0x0, "Count", "Int4B"}, {0x4, "Owner", "Ptr32 _KTHREAD"}, {0x8, "Contention", "Uint4B"},
            {0xc, "Event", "_KEVENT"}, {0x1c, "OldIrql", "Uint4B"}}},
        {"_KWAIT_BLOCK", 0x18, {
            {0x0, "WaitListEntry", "_LIST_ENTRY"}, {0x8, "Thread", "Ptr32 _KTHREAD"}, {0xc, "Object", "Ptr32 Void"},
            {0x10, "NextWaitBlock", "Ptr32 _KWAIT_BLOCK"}, {0x14, "WaitKey", "Uint2B"}, {0x16, "WaitType", "Uint2B"}}},
        {"_KAPC_STATE", 0x18, {
            {0x0, "ApcListHead", "[2] _LIST_ENTRY"}, {0x10, "Process", "Ptr32 _KPROCESS"},
            {0x14, "KernelApcInProgress", "UChar"}, {0x15, "KernelApcPending", "UChar"}, {0x16, "UserApcPending", "UChar"}}},
        {"_KAPC", 0x30, {
            {0x0, "Type", "Int2B"}, {0x2, "Size", "Int2B"}, {0x4, "Spare0", "Uint4B"}, {0x8, "Thread", "Ptr32 _KTHREAD"},
            {0xc, "ApcListEntry", "_LIST_ENTRY"}, {0x14, "KernelRoutine", "Ptr32 Void"},
            {0x18, "RundownRoutine", "Ptr32 Void"}, {0x1c, "NormalRoutine", "Ptr32 Void"},
            {0x20, "NormalContext", "Ptr32 Void"}, {0x24, "SystemArgument1", "Ptr32 Void"},
            {0x28, "SystemArgument2", "Ptr32 Void"}, {0x2c, "ApcStateIndex", "Char"}, {0x2d, "ApcMode", "Char"},
            {0x2e, "Inserted", "UChar"}}},
        {"_KTHREAD", 0x1c0, {
            {0x000, "Header", "_DISPATCHER_HEADER"}, {0x010, "MutantListHead", "_LIST_ENTRY"},
            {0x018, "InitialStack", "Ptr32 Void"}, {0x01c, "StackLimit", "Ptr32 Void"}, {0x020, "Teb", "Ptr32 Void"},
            {0x024, "TlsArray", "Ptr32 Void"}, {0x028, "KernelStack", "Ptr32 Void"}, {0x02c, "DebugActive", "UChar"},
            {0x02d, "State", "UChar"}, {0x02e, "Alerted", "[2] UChar"}, {0x030, "Iopl", "UChar"},
            {0x031, "NpxState", "UChar"}, {0x032, "Saturation", "Char"}, {0x033, "Priority", "Char"},
            {0x034, "ApcState", "_KAPC_STATE"}, {0x04c, "ContextSwitches", "Uint4B"}, {0x050, "IdleSwapBlock", "UChar"},
            {0x051, "Spare0", "[3] UChar"}, {0x054, "WaitStatus", "Int4B"}, {0x058, "WaitIrql", "UChar"},
            {0x059, "WaitMode", "Char"}, {0x05a, "WaitNext", "UChar"}, {0x05b, "WaitReason", "UChar"},
            {0x05c, "WaitBlockList", "Ptr32 _KWAIT_BLOCK"}, {0x060, "WaitListEntry", "_LIST_ENTRY"},
            {0x060, "SwapListEntry", "_SINGLE_LIST_ENTRY"}, {0x068, "WaitTime", "Uint4B"},
            {0x06c, "BasePriority", "Char"}, {0x06d, "DecrementCount", "UChar"}, {0x06e, "PriorityDecrement", "Char"},
            {0x06f, "Quantum", "Char"}, {0x070, "WaitBlock", "[4] _KWAIT_BLOCK"}, {0x0d0, "LegoData", "Ptr32 Void"},
            {0x0d4, "KernelApcDisable", "Uint4B"}, {0x0d8, "UserAffinity", "Uint4B"},
            {0x0dc, "SystemAffinityActive", "UChar"}, {0x0dd, "PowerState", "UChar"}, {0x0de, "NpxIrql", "UChar"},
            {0x0df, "InitialNode", "UChar"}, {0x0e0, "ServiceTable", "Ptr32 Void"}, {0x0e4, "Queue", "Ptr32 _KQUEUE"},
            {0x0e8, "ApcQueueLock", "Uint4B"}, {0x0f0, "Timer", "_KTIMER"}, {0x118, "QueueListEntry", "_LIST_ENTRY"},
            {0x120, "SoftAffinity", "Uint4B"}, {0x124, "Affinity", "Uint4B"}, {0x128, "Preempted", "UChar"},
            {0x129, "ProcessReadyQueue", "UChar"}, {0x12a, "KernelStackResident", "UChar"},
            {0x12b, "NextProcessor", "UChar"}, {0x12c, "CallbackStack", "Ptr32 Void"},
            {0x130, "Win32Thread", "Ptr32 Void"}, {0x134, "TrapFrame", "Ptr32 _KTRAP_FRAME"},
            {0x138, "ApcStatePointer", "[2] Ptr32 _KAPC_STATE"}, {0x140, "PreviousMode", "Char"},
            {0x141, "EnableStackSwap", "UChar"}, {0x142, "LargeStack", "UChar"}, {0x143, "ResourceIndex", "UChar"},
            {0x144, "KernelTime", "Uint4B"}, {0x148, "UserTime", "Uint4B"}, {0x14c, "SavedApcState", "_KAPC_STATE"},
            {0x164, "Alertable", "UChar"}, {0x165, "ApcStateIndex", "UChar"}, {0x166, "ApcQueueable", "UChar"},
            {0x167, "AutoAlignment", "UChar"}, {0x168, "StackBase", "Ptr32 Void"}, {0x16c, "SuspendApc", "_KAPC"},
            {0x19c, "SuspendSemaphore", "_KSEMAPHORE"}, {0x1b0, "ThreadListEntry", "_LIST_ENTRY"},
            {0x1b8, "FreezeCount", "Char"}, {0x1b9, "SuspendCount", "Char"}, {0x1ba, "IdealProcessor", "UChar"},
            {0x1bb, "DisableBoost", "UChar"}}},
        {"_ETHREAD", 0x258, {
            {0x000, "Tcb", "_KTHREAD"}, {0x1c0, "CreateTime", "_LARGE_INTEGER"}, {0x1c8, "ExitTime", "_LARGE_INTEGER"},
            {0x1c8, "LpcReplyChain", "_LIST_ENTRY"}, {0x1c8, "KeyedWaitChain", "_LIST_ENTRY"},
            {0x1d0, "ExitStatus", "Int4B"}, {0x1d0, "OfsChain", "Ptr32 Void"}, {0x1d4, "PostBlockList", "_LIST_ENTRY"},
            {0x1dc, "TerminationPort", "Ptr32 _TERMINATION_PORT"}, {0x1dc, "ReaperLink", "Ptr32 _ETHREAD"},
            {0x1dc, "KeyedWaitValue", "Ptr32 Void"}, {0x1e0, "ActiveTimerListLock", "Uint4B"},
            {0x1e4, "ActiveTimerListHead", "_LIST_ENTRY"}, {0x1ec, "Cid", "_CLIENT_ID"},
            {0x1f4, "LpcReplySemaphore", "_KSEMAPHORE"}, {0x1f4, "KeyedWaitSemaphore", "_KSEMAPHORE"},
            {0x208, "LpcReplyMessage", "Ptr32 Void"}, {0x208, "LpcWaitingOnPort", "Ptr32 Void"},
            {0x20c, "ImpersonationInfo", "Ptr32 _PS_IMPERSONATION_INFORMATION"}, {0x210, "IrpList", "_LIST_ENTRY"},
            {0x218, "TopLevelIrp", "Uint4B"}, {0x21c, "DeviceToVerify", "Ptr32 _DEVICE_OBJECT"},
            {0x220, "ThreadsProcess", "Ptr32 _EPROCESS"}, {0x224, "StartAddress", "Ptr32 Void"},
            {0x228, "Win32StartAddress", "Ptr32 Void"}, {0x228, "LpcReceivedMessageId", "Uint4B"},
            {0x22c, "ThreadListEntry", "_LIST_ENTRY"}, {0x234, "RundownProtect", "_EX_RUNDOWN_REF"},
            {0x238, "ThreadLock", "_EX_PUSH_LOCK"}, {0x23c, "LpcReplyMessageId", "Uint4B"},
            {0x240, "ReadClusterSize", "Uint4B"}, {0x244, "GrantedAccess", "Uint4B"},
            {0x248, "CrossThreadFlags", "Uint4B"}, {0x24c, "SameThreadPassiveFlags", "Uint4B"},
            {0x250, "SameThreadApcFlags", "Uint4B"}, {0x254, "ForwardClusterOnly", "UChar"},
            {0x255, "DisablePageFaultClustering", "UChar"}}},
        {"_KGDTENTRY", 0x8, {{0x0, "LimitLow", "Uint2B"}, {0x2, "BaseLow", "Uint2B"}, {0x4, "HighWord", "__unnamed"}}},
        // The bytes view of KGDTENTRY.HighWord (the real type is an unnamed union).
        {"__unnamed", 0x4, {{0x0, "BaseMid", "UChar"}, {0x1, "Flags1", "UChar"}, {0x2, "Flags2", "UChar"}, {0x3, "BaseHi", "UChar"}}},
        {"_KIDTENTRY", 0x8, {{0x0, "Offset", "Uint2B"}, {0x2, "Selector", "Uint2B"}, {0x4, "Access", "Uint2B"}, {0x6, "ExtendedOffset", "Uint2B"}}},
        {"_KPROCESS", 0x6c, {
            {0x00, "Header", "_DISPATCHER_HEADER"}, {0x10, "ProfileListHead", "_LIST_ENTRY"},
            {0x18, "DirectoryTableBase", "[2] Uint4B"}, {0x20, "LdtDescriptor", "_KGDTENTRY"},
            {0x28, "Int21Descriptor", "_KIDTENTRY"}, {0x30, "IopmOffset", "Uint2B"}, {0x32, "Iopl", "UChar"},
            {0x33, "Unused", "UChar"}, {0x34, "ActiveProcessors", "Uint4B"}, {0x38, "KernelTime", "Uint4B"},
            {0x3c, "UserTime", "Uint4B"}, {0x40, "ReadyListHead", "_LIST_ENTRY"},
            {0x48, "SwapListEntry", "_SINGLE_LIST_ENTRY"}, {0x4c, "VdmTrapcHandler", "Ptr32 Void"},
            {0x50, "ThreadListHead", "_LIST_ENTRY"}, {0x58, "ProcessLock", "Uint4B"}, {0x5c, "Affinity", "Uint4B"},
            {0x60, "StackCount", "Uint2B"}, {0x62, "BasePriority", "Char"}, {0x63, "ThreadQuantum", "Char"},
            {0x64, "AutoAlignment", "UChar"}, {0x65, "State", "UChar"}, {0x66, "ThreadSeed", "UChar"},
            {0x67, "DisableBoost", "UChar"}, {0x68, "PowerState", "UChar"}, {0x69, "DisableQuantum", "UChar"},
            {0x6a, "IdealNode", "UChar"}, {0x6b, "ExecuteOptions", "UChar"}}},
        {"_MMSUPPORT", 0x40, {{0x0, "LastTrimTime", "_LARGE_INTEGER"}}},
        {"_SE_AUDIT_PROCESS_CREATION_INFO", 0x4, {{0x0, "ImageFileName", "Ptr32 _OBJECT_NAME_INFORMATION"}}},
        {"_EPROCESS", 0x260, {
            {0x000, "Pcb", "_KPROCESS"}, {0x06c, "ProcessLock", "_EX_PUSH_LOCK"}, {0x070, "CreateTime", "_LARGE_INTEGER"},
            {0x078, "ExitTime", "_LARGE_INTEGER"}, {0x080, "RundownProtect", "_EX_RUNDOWN_REF"},
            {0x084, "UniqueProcessId", "Ptr32 Void"}, {0x088, "ActiveProcessLinks", "_LIST_ENTRY"},
            {0x090, "QuotaUsage", "[3] Uint4B"}, {0x09c, "QuotaPeak", "[3] Uint4B"}, {0x0a8, "CommitCharge", "Uint4B"},
            {0x0ac, "PeakVirtualSize", "Uint4B"}, {0x0b0, "VirtualSize", "Uint4B"},
            {0x0b4, "SessionProcessLinks", "_LIST_ENTRY"}, {0x0bc, "DebugPort", "Ptr32 Void"},
            {0x0c0, "ExceptionPort", "Ptr32 Void"}, {0x0c4, "ObjectTable", "Ptr32 _HANDLE_TABLE"},
            {0x0c8, "Token", "_EX_FAST_REF"}, {0x0cc, "WorkingSetLock", "_FAST_MUTEX"},
            {0x0ec, "WorkingSetPage", "Uint4B"}, {0x0f0, "AddressCreationLock", "_FAST_MUTEX"},
            {0x110, "HyperSpaceLock", "Uint4B"}, {0x114, "ForkInProgress", "Ptr32 _ETHREAD"},
            {0x118, "HardwareTrigger", "Uint4B"}, {0x11c, "VadRoot", "Ptr32 Void"}, {0x120, "VadHint", "Ptr32 Void"},
            {0x124, "CloneRoot", "Ptr32 Void"}, {0x128, "NumberOfPrivatePages", "Uint4B"},
            {0x12c, "NumberOfLockedPages", "Uint4B"}, {0x130, "Win32Process", "Ptr32 Void"},
            {0x134, "Job", "Ptr32 _EJOB"}, {0x138, "SectionObject", "Ptr32 Void"},
            {0x13c, "SectionBaseAddress", "Ptr32 Void"}, {0x140, "QuotaBlock", "Ptr32 _EPROCESS_QUOTA_BLOCK"},
            {0x144, "WorkingSetWatch", "Ptr32 _PAGEFAULT_HISTORY"}, {0x148, "Win32WindowStation", "Ptr32 Void"},
            {0x14c, "InheritedFromUniqueProcessId", "Ptr32 Void"}, {0x150, "LdtInformation", "Ptr32 Void"},
            {0x154, "VadFreeHint", "Ptr32 Void"}, {0x158, "VdmObjects", "Ptr32 Void"},
            {0x15c, "DeviceMap", "Ptr32 Void"}, {0x160, "PhysicalVadList", "_LIST_ENTRY"},
            {0x168, "Filler", "Uint8B"}, {0x170, "Session", "Ptr32 Void"}, {0x174, "ImageFileName", "[16] UChar"},
            {0x184, "JobLinks", "_LIST_ENTRY"}, {0x18c, "LockedPagesList", "Ptr32 Void"},
            {0x190, "ThreadListHead", "_LIST_ENTRY"}, {0x198, "SecurityPort", "Ptr32 Void"},
            {0x19c, "PaeTop", "Ptr32 Void"}, {0x1a0, "ActiveThreads", "Uint4B"}, {0x1a4, "GrantedAccess", "Uint4B"},
            {0x1a8, "DefaultHardErrorProcessing", "Uint4B"}, {0x1ac, "LastThreadExitStatus", "Int4B"},
            {0x1b0, "Peb", "Ptr32 _PEB"}, {0x1b4, "PrefetchTrace", "_EX_FAST_REF"},
            {0x1b8, "ReadOperationCount", "_LARGE_INTEGER"}, {0x1c0, "WriteOperationCount", "_LARGE_INTEGER"},
            {0x1c8, "OtherOperationCount", "_LARGE_INTEGER"}, {0x1d0, "ReadTransferCount", "_LARGE_INTEGER"},
            {0x1d8, "WriteTransferCount", "_LARGE_INTEGER"}, {0x1e0, "OtherTransferCount", "_LARGE_INTEGER"},
            {0x1e8, "CommitChargeLimit", "Uint4B"}, {0x1ec, "CommitChargePeak", "Uint4B"},
            {0x1f0, "AweInfo", "Ptr32 Void"}, {0x1f4, "SeAuditProcessCreationInfo", "_SE_AUDIT_PROCESS_CREATION_INFO"},
            {0x1f8, "Vm", "_MMSUPPORT"}}},
        // XP's MM_SESSION_SPACE starts ReferenceCount, u (flags), SessionId.
        {"_MM_SESSION_SPACE", 0x1278, {{0x0, "ReferenceCount", "Uint4B"}, {0x4, "u", "Uint4B"}, {0x8, "SessionId", "Uint4B"}}},
        {"_HANDLE_TABLE", 0x44, {
            {0x00, "TableCode", "Uint4B"}, {0x04, "QuotaProcess", "Ptr32 _EPROCESS"}, {0x08, "UniqueProcessId", "Ptr32 Void"},
            {0x0c, "HandleTableLock", "[4] _EX_PUSH_LOCK"}, {0x1c, "HandleTableList", "_LIST_ENTRY"},
            {0x24, "HandleContentionEvent", "_EX_PUSH_LOCK"}, {0x28, "DebugInfo", "Ptr32 Void"},
            {0x2c, "ExtraInfoPages", "Int4B"}, {0x30, "FirstFree", "Uint4B"}, {0x34, "LastFree", "Uint4B"},
            {0x38, "NextHandleNeedingPool", "Uint4B"}, {0x3c, "HandleCount", "Int4B"}, {0x40, "Flags", "Uint4B"}}},
        {"_OBJECT_HEADER", 0x20, {
            {0x00, "PointerCount", "Int4B"}, {0x04, "HandleCount", "Int4B"}, {0x04, "NextToFree", "Ptr32 Void"},
            {0x08, "Type", "Ptr32 _OBJECT_TYPE"}, {0x0c, "NameInfoOffset", "UChar"}, {0x0d, "HandleInfoOffset", "UChar"},
            {0x0e, "QuotaInfoOffset", "UChar"}, {0x0f, "Flags", "UChar"},
            {0x10, "ObjectCreateInfo", "Ptr32 _OBJECT_CREATE_INFORMATION"}, {0x10, "QuotaBlockCharged", "Ptr32 Void"},
            {0x14, "SecurityDescriptor", "Ptr32 Void"}, {0x18, "Body", "_QUAD"}}},
        {"_OBJECT_HEADER_NAME_INFO", 0x10, {
            {0x0, "Directory", "Ptr32 _OBJECT_DIRECTORY"}, {0x4, "Name", "_UNICODE_STRING"}, {0xc, "QueryReferences", "Uint4B"}}},
        {"_OBJECT_TYPE", 0x190, {
            {0x38, "TypeList", "_LIST_ENTRY"}, {0x40, "Name", "_UNICODE_STRING"}, {0x48, "DefaultObject", "Ptr32 Void"},
            {0x4c, "Index", "Uint4B"}, {0x50, "TotalNumberOfObjects", "Uint4B"}, {0x54, "TotalNumberOfHandles", "Uint4B"}}},
        {"_KiIoAccessMap", 0x2024, {{0x0, "DirectionMap", "[32] UChar"}, {0x20, "IoMap", "[8196] UChar"}}},
        {"_KTSS", 0x20ac, {
            {0x000, "Backlink", "Uint2B"}, {0x002, "Reserved0", "Uint2B"}, {0x004, "Esp0", "Uint4B"},
            {0x008, "Ss0", "Uint2B"}, {0x00a, "Reserved1", "Uint2B"}, {0x00c, "NotUsed1", "[4] Uint4B"},
            {0x01c, "CR3", "Uint4B"}, {0x020, "Eip", "Uint4B"}, {0x024, "NotUsed2", "[9] Uint4B"},
            {0x048, "Es", "Uint2B"}, {0x04a, "Reserved2", "Uint2B"}, {0x04c, "Cs", "Uint2B"},
            {0x04e, "Reserved3", "Uint2B"}, {0x050, "Ss", "Uint2B"}, {0x052, "Reserved4", "Uint2B"},
            {0x054, "Ds", "Uint2B"}, {0x056, "Reserved5", "Uint2B"}, {0x058, "Fs", "Uint2B"},
            {0x05a, "Reserved6", "Uint2B"}, {0x05c, "Gs", "Uint2B"}, {0x05e, "Reserved7", "Uint2B"},
            {0x060, "LDT", "Uint2B"}, {0x062, "Reserved8", "Uint2B"}, {0x064, "Flags", "Uint2B"},
            {0x066, "IoMapBase", "Uint2B"}, {0x068, "IoMaps", "[1] _KiIoAccessMap"},
            {0x208c, "IntDirectionMap", "[32] UChar"}}},
        {"_NT_TIB", 0x1c, {
            {0x00, "ExceptionList", "Ptr32 _EXCEPTION_REGISTRATION_RECORD"}, {0x04, "StackBase", "Ptr32 Void"},
            {0x08, "StackLimit", "Ptr32 Void"}, {0x0c, "SubSystemTib", "Ptr32 Void"}, {0x10, "FiberData", "Ptr32 Void"},
            {0x10, "Version", "Uint4B"}, {0x14, "ArbitraryUserPointer", "Ptr32 Void"}, {0x18, "Self", "Ptr32 _NT_TIB"}}},
        {"_FLOATING_SAVE_AREA", 0x70, {
            {0x00, "ControlWord", "Uint4B"}, {0x04, "StatusWord", "Uint4B"}, {0x08, "TagWord", "Uint4B"},
            {0x0c, "ErrorOffset", "Uint4B"}, {0x10, "ErrorSelector", "Uint4B"}, {0x14, "DataOffset", "Uint4B"},
            {0x18, "DataSelector", "Uint4B"}, {0x1c, "RegisterArea", "[80] UChar"}, {0x6c, "Cr0NpxState", "Uint4B"}}},
        {"_CONTEXT", 0x2cc, {
            {0x00, "ContextFlags", "Uint4B"}, {0x04, "Dr0", "Uint4B"}, {0x08, "Dr1", "Uint4B"}, {0x0c, "Dr2", "Uint4B"},
            {0x10, "Dr3", "Uint4B"}, {0x14, "Dr6", "Uint4B"}, {0x18, "Dr7", "Uint4B"},
            {0x1c, "FloatSave", "_FLOATING_SAVE_AREA"}, {0x8c, "SegGs", "Uint4B"}, {0x90, "SegFs", "Uint4B"},
            {0x94, "SegEs", "Uint4B"}, {0x98, "SegDs", "Uint4B"}, {0x9c, "Edi", "Uint4B"}, {0xa0, "Esi", "Uint4B"},
            {0xa4, "Ebx", "Uint4B"}, {0xa8, "Edx", "Uint4B"}, {0xac, "Ecx", "Uint4B"}, {0xb0, "Eax", "Uint4B"},
            {0xb4, "Ebp", "Uint4B"}, {0xb8, "Eip", "Uint4B"}, {0xbc, "SegCs", "Uint4B"}, {0xc0, "EFlags", "Uint4B"},
            {0xc4, "Esp", "Uint4B"}, {0xc8, "SegSs", "Uint4B"}, {0xcc, "ExtendedRegisters", "[512] UChar"}}},
        {"_DESCRIPTOR", 0x8, {{0x0, "Pad", "Uint2B"}, {0x2, "Limit", "Uint2B"}, {0x4, "Base", "Uint4B"}}},
        {"_KSPECIAL_REGISTERS", 0x54, {
            {0x00, "Cr0", "Uint4B"}, {0x04, "Cr2", "Uint4B"}, {0x08, "Cr3", "Uint4B"}, {0x0c, "Cr4", "Uint4B"},
            {0x10, "KernelDr0", "Uint4B"}, {0x14, "KernelDr1", "Uint4B"}, {0x18, "KernelDr2", "Uint4B"},
            {0x1c, "KernelDr3", "Uint4B"}, {0x20, "KernelDr6", "Uint4B"}, {0x24, "KernelDr7", "Uint4B"},
            {0x28, "Gdtr", "_DESCRIPTOR"}, {0x30, "Idtr", "_DESCRIPTOR"}, {0x38, "Tr", "Uint2B"},
            {0x3a, "Ldtr", "Uint2B"}, {0x3c, "Reserved", "[6] Uint4B"}}},
        {"_KPROCESSOR_STATE", 0x320, {{0x0, "ContextFrame", "_CONTEXT"}, {0x2cc, "SpecialRegisters", "_KSPECIAL_REGISTERS"}}},
        {"_KPRCB", 0xc50, {
            {0x000, "MinorVersion", "Uint2B"}, {0x002, "MajorVersion", "Uint2B"},
            {0x004, "CurrentThread", "Ptr32 _KTHREAD"}, {0x008, "NextThread", "Ptr32 _KTHREAD"},
            {0x00c, "IdleThread", "Ptr32 _KTHREAD"}, {0x010, "Number", "Char"}, {0x011, "Reserved", "Char"},
            {0x012, "BuildType", "Uint2B"}, {0x014, "SetMember", "Uint4B"}, {0x018, "CpuType", "Char"},
            {0x019, "CpuID", "Char"}, {0x01a, "CpuStep", "Uint2B"}, {0x01c, "ProcessorState", "_KPROCESSOR_STATE"},
            {0x33c, "KernelReserved", "[16] Uint4B"}, {0x37c, "HalReserved", "[16] Uint4B"},
            {0x4a0, "NpxThread", "Ptr32 _KTHREAD"}, {0x4a4, "InterruptCount", "Uint4B"},
            {0x4a8, "KernelTime", "Uint4B"}, {0x4ac, "UserTime", "Uint4B"}, {0x4b0, "DpcTime", "Uint4B"},
            {0x4b4, "DebugDpcTime", "Uint4B"}, {0x4b8, "InterruptTime", "Uint4B"},
            {0x860, "DpcListHead", "_LIST_ENTRY"}, {0x868, "DpcStack", "Ptr32 Void"},
            {0x900, "VendorString", "[13] UChar"}, {0x910, "MHz", "Uint4B"}, {0x914, "FeatureBits", "Uint4B"}}},
        {"_KPCR", 0xd70, {
            {0x000, "NtTib", "_NT_TIB"}, {0x01c, "SelfPcr", "Ptr32 _KPCR"}, {0x020, "Prcb", "Ptr32 _KPRCB"},
            {0x024, "Irql", "UChar"}, {0x028, "IRR", "Uint4B"}, {0x02c, "IrrActive", "Uint4B"}, {0x030, "IDR", "Uint4B"},
            {0x034, "KdVersionBlock", "Ptr32 Void"}, {0x038, "IDT", "Ptr32 _KIDTENTRY"},
            {0x03c, "GDT", "Ptr32 _KGDTENTRY"}, {0x040, "TSS", "Ptr32 _KTSS"}, {0x044, "MajorVersion", "Uint2B"},
            {0x046, "MinorVersion", "Uint2B"}, {0x048, "SetMember", "Uint4B"}, {0x04c, "StallScaleFactor", "Uint4B"},
            {0x050, "DebugActive", "UChar"}, {0x051, "Number", "UChar"}, {0x052, "Spare0", "UChar"},
            {0x053, "SecondLevelCacheAssociativity", "UChar"}, {0x054, "VdmAlert", "Uint4B"},
            {0x058, "KernelReserved", "[14] Uint4B"}, {0x090, "SecondLevelCacheSize", "Uint4B"},
            {0x094, "HalReserved", "[16] Uint4B"}, {0x0d4, "InterruptMode", "Uint4B"}, {0x0d8, "Spare1", "UChar"},
            {0x0dc, "KernelReserved2", "[17] Uint4B"}, {0x120, "PrcbData", "_KPRCB"}}},
        {"_KTRAP_FRAME", 0x8c, {
            {0x00, "DbgEbp", "Uint4B"}, {0x04, "DbgEip", "Uint4B"}, {0x08, "DbgArgMark", "Uint4B"},
            {0x0c, "DbgArgPointer", "Uint4B"}, {0x10, "TempSegCs", "Uint4B"}, {0x14, "TempEsp", "Uint4B"},
            {0x18, "Dr0", "Uint4B"}, {0x1c, "Dr1", "Uint4B"}, {0x20, "Dr2", "Uint4B"}, {0x24, "Dr3", "Uint4B"},
            {0x28, "Dr6", "Uint4B"}, {0x2c, "Dr7", "Uint4B"}, {0x30, "SegGs", "Uint4B"}, {0x34, "SegEs", "Uint4B"},
            {0x38, "SegDs", "Uint4B"}, {0x3c, "Edx", "Uint4B"}, {0x40, "Ecx", "Uint4B"}, {0x44, "Eax", "Uint4B"},
            {0x48, "PreviousPreviousMode", "Uint4B"}, {0x4c, "ExceptionList", "Ptr32 _EXCEPTION_REGISTRATION_RECORD"},
            {0x50, "SegFs", "Uint4B"}, {0x54, "Edi", "Uint4B"}, {0x58, "Esi", "Uint4B"}, {0x5c, "Ebx", "Uint4B"},
            {0x60, "Ebp", "Uint4B"}, {0x64, "ErrCode", "Uint4B"}, {0x68, "Eip", "Uint4B"}, {0x6c, "SegCs", "Uint4B"},
            {0x70, "EFlags", "Uint4B"}, {0x74, "HardwareEsp", "Uint4B"}, {0x78, "HardwareSegSs", "Uint4B"},
            {0x7c, "V86Es", "Uint4B"}, {0x80, "V86Ds", "Uint4B"}, {0x84, "V86Fs", "Uint4B"}, {0x88, "V86Gs", "Uint4B"}}},
        {"_LDR_DATA_TABLE_ENTRY", 0x50, {
            {0x00, "InLoadOrderLinks", "_LIST_ENTRY"}, {0x08, "InMemoryOrderLinks", "_LIST_ENTRY"},
            {0x10, "InInitializationOrderLinks", "_LIST_ENTRY"}, {0x18, "DllBase", "Ptr32 Void"},
            {0x1c, "EntryPoint", "Ptr32 Void"}, {0x20, "SizeOfImage", "Uint4B"},
            {0x24, "FullDllName", "_UNICODE_STRING"}, {0x2c, "BaseDllName", "_UNICODE_STRING"},
            {0x34, "Flags", "Uint4B"}, {0x38, "LoadCount", "Uint2B"}, {0x3a, "TlsIndex", "Uint2B"},
            {0x3c, "HashLinks", "_LIST_ENTRY"}, {0x3c, "SectionPointer", "Ptr32 Void"}, {0x40, "CheckSum", "Uint4B"},
            {0x44, "TimeDateStamp", "Uint4B"}, {0x44, "LoadedImports", "Ptr32 Void"},
            {0x48, "EntryPointActivationContext", "Ptr32 Void"}, {0x4c, "PatchInformation", "Ptr32 Void"}}},
    };
    return rows;
}

const std::vector<EnumRow>& xpSp3Enums() {
    static const std::vector<EnumRow> rows = {
        {"_KTHREAD_STATE", {{"Initialized", 0}, {"Ready", 1}, {"Running", 2}, {"Standby", 3}, {"Terminated", 4},
                            {"Waiting", 5}, {"Transition", 6}}},
        {"_KWAIT_REASON", {{"Executive", 0}, {"FreePage", 1}, {"PageIn", 2}, {"PoolAllocation", 3},
                           {"DelayExecution", 4}, {"Suspended", 5}, {"UserRequest", 6}, {"WrExecutive", 7},
                           {"WrFreePage", 8}, {"WrPageIn", 9}, {"WrPoolAllocation", 10}, {"WrDelayExecution", 11},
                           {"WrSuspended", 12}, {"WrUserRequest", 13}, {"WrEventPair", 14}, {"WrQueue", 15},
                           {"WrLpcReceive", 16}, {"WrLpcReply", 17}, {"WrVirtualMemory", 18}, {"WrPageOut", 19},
                           {"WrRendezvous", 20}, {"Spare2", 21}, {"Spare3", 22}, {"Spare4", 23}, {"Spare5", 24},
                           {"Spare6", 25}, {"WrKernel", 26}, {"MaximumWaitReason", 27}}},
    };
    return rows;
}
const BuiltinTable& xpSp3Table() {
    static const BuiltinTable table = {4, xpSp3Structs(), xpSp3Enums()};
    return table;
}

// The x64 tables, generated from the ISF files (one per build).
#include "nt/builtin_types_x64.inc"
// clang-format on

// The provider: every type built once, at construction, from the rows.
class TableTypes final : public types::TypeProvider {
public:
    explicit TableTypes(const BuiltinTable& table) : pointerSize_(table.pointerSize) {
        const auto& structs = table.structs;
        const auto& enums = table.enums;
        // Named types first so that fields can refer to any of them.
        for (const auto& s : structs) {
            types::Type t;
            t.kind = s.isUnion ? types::TypeKind::Union : types::TypeKind::Struct;
            t.name = s.name;
            t.size = s.size;
            byName_[s.name] = add(std::move(t));
        }
        for (const auto& e : enums) {
            types::Type t;
            t.kind = types::TypeKind::Enum;
            t.name = e.name;
            t.size = 4;
            t.target = parse("Int4B");
            for (const auto& [n, v] : e.values) t.enumerators.push_back({n, v});
            byName_[e.name] = add(std::move(t));
        }
        for (const auto& s : structs) {
            std::vector<types::Field> fields;
            for (const auto& f : s.fields)
                fields.push_back({f.name, f.offset, parse(f.type), f.bitPosition, f.bitLength});
            types_[byName_.at(s.name)].fields = std::move(fields);
        }
    }

    std::optional<types::TypeId> findType(std::string_view name) const override {
        auto it = byName_.find(std::string(name));
        if (it == byName_.end()) return std::nullopt;
        if (types_[it->second].incomplete) return std::nullopt;
        return it->second;
    }
    const types::Type* type(types::TypeId id) const override { return id < types_.size() ? &types_[id] : nullptr; }
    void forEachTypeName(const std::function<bool(std::string_view)>& fn) const override {
        for (const auto& [name, id] : byName_)
            if (!types_[id].incomplete && !fn(name)) return;
    }
    unsigned pointerSize() const override { return pointerSize_; }

private:
    types::TypeId add(types::Type t) {
        types_.push_back(std::move(t));
        return static_cast<types::TypeId>(types_.size() - 1);
    }

    types::TypeId base(types::BaseKind kind, uint64_t size, const std::string& key) {
        if (auto it = bases_.find(key); it != bases_.end()) return it->second;
        types::Type t;
        t.kind = types::TypeKind::Base;
        t.base = kind;
        t.size = size;
        return bases_[key] = add(std::move(t));
    }

    // "Ptr32 X" / "Ptr64 X", "[N] X", a base name, or a struct/union/enum name
    // (an undefined name becomes an incomplete struct: dt prints it by name).
    types::TypeId parse(std::string_view text) {
        if (text.rfind("Ptr32 ", 0) == 0 || text.rfind("Ptr64 ", 0) == 0) {
            std::string key(text);
            if (auto it = derived_.find(key); it != derived_.end()) return it->second;
            types::Type t;
            t.kind = types::TypeKind::Pointer;
            t.size = text[3] == '6' ? 8 : 4;
            t.target = parse(text.substr(6));
            return derived_[key] = add(std::move(t));
        }
        if (!text.empty() && text[0] == '[') {
            std::string key(text);
            if (auto it = derived_.find(key); it != derived_.end()) return it->second;
            size_t close = text.find("] ");
            uint64_t count = std::strtoull(std::string(text.substr(1, close - 1)).c_str(), nullptr, 10);
            types::Type t;
            t.kind = types::TypeKind::Array;
            t.target = parse(text.substr(close + 2));
            t.count = count;
            t.size = count * types_[t.target].size;
            return derived_[key] = add(std::move(t));
        }
        static const std::map<std::string, std::pair<types::BaseKind, uint64_t>, std::less<>> kBases = {
            {"UChar", {types::BaseKind::UChar, 1}}, {"Char", {types::BaseKind::Char, 1}},
            {"Uint2B", {types::BaseKind::UInt, 2}}, {"Int2B", {types::BaseKind::Int, 2}},
            {"Uint4B", {types::BaseKind::UInt, 4}}, {"Int4B", {types::BaseKind::Int, 4}},
            {"Uint8B", {types::BaseKind::UInt, 8}}, {"Int8B", {types::BaseKind::Int, 8}},
            {"Wchar", {types::BaseKind::WChar, 2}}, {"Float8", {types::BaseKind::Float, 8}},
            {"Float4", {types::BaseKind::Float, 4}}};
        if (text == "Void") {
            if (!voidId_) {
                types::Type t;
                t.kind = types::TypeKind::Void;
                voidId_ = add(std::move(t));
            }
            return *voidId_;
        }
        if (auto b = kBases.find(text); b != kBases.end()) return base(b->second.first, b->second.second, b->first);
        std::string name(text);
        if (auto it = byName_.find(name); it != byName_.end()) return it->second;
        types::Type t;
        t.kind = types::TypeKind::Struct;
        t.name = name;
        t.incomplete = true;
        return byName_[name] = add(std::move(t));
    }

    std::deque<types::Type> types_;  // stable addresses
    std::map<std::string, types::TypeId> byName_, bases_, derived_;
    std::optional<types::TypeId> voidId_;
    unsigned pointerSize_;
};

// Builds that share one kernel structure layout with a build in the tables:
// 18363 is 18362 with an enablement package, 19042-19045 are 19041's.
uint32_t layoutBuild(uint32_t build) {
    if (build == 18363) return 18362;
    if (build >= 19042 && build <= 19045) return 19041;
    return build;
}

}  // namespace

std::shared_ptr<const types::TypeProvider> builtinTypesFor(Machine machine, uint32_t buildNumber) {
    static std::mutex mutex;
    static std::map<std::pair<Machine, uint32_t>, std::shared_ptr<const types::TypeProvider>> built;
    const BuiltinTable* table = nullptr;
    uint32_t build = buildNumber;
    if (machine == Machine::X86 && buildNumber == 2600) {
        table = &xpSp3Table();
    } else if (machine == Machine::Amd64) {
        build = layoutBuild(buildNumber);
        for (const auto& [b, get] : x64Tables())
            if (b == build) table = &get();
    }
    if (!table) return nullptr;
    std::lock_guard lock(mutex);
    auto& slot = built[{machine, build}];
    if (!slot) slot = std::make_shared<TableTypes>(*table);
    return slot;
}

std::vector<uint32_t> builtinLayoutBuilds(Machine machine) {
    std::vector<uint32_t> builds;
    if (machine == Machine::X86) builds.push_back(2600);
    if (machine == Machine::Amd64)
        for (const auto& entry : x64Tables()) builds.push_back(entry.first);
    return builds;
}

}  // namespace nt
