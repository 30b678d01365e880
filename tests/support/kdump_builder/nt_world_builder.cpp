#include "support/kdump_builder/nt_world_builder.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "dump/kernel/kdbg.h"
#include "isf/isf_file.h"

namespace nt::test::kdump {

namespace {

constexpr uint64_t kKpcrBase = 0xfffff8047a000000ull;  // KPCR i at + i * 0x10000
constexpr uint64_t kStackSize = 0x6000;

// Object type indices as on Windows 10 19041 (ObTypeIndexTable order).
struct TypeDef {
    const char* name;
    uint8_t index;
};
constexpr TypeDef kTypes[] = {{"Type", 2},   {"Directory", 3}, {"Process", 7},  {"Thread", 8},  {"Event", 16},
                              {"Mutant", 17}, {"Semaphore", 19}, {"Timer", 20}, {"Device", 33}, {"Driver", 34},
                              {"File", 37}};
// Windows 7 SP1 (build 7601): Event is 0xc there (the seed-000 dump's
// `dt nt!_OBJECT_HEADER` shows TypeIndex 0xc for an Event).
constexpr TypeDef kTypesWin7[] = {{"Type", 2},   {"Directory", 3}, {"Process", 7},  {"Thread", 8},  {"Event", 12},
                                  {"Mutant", 14}, {"Semaphore", 16}, {"Timer", 17}, {"Device", 25}, {"Driver", 26},
                                  {"File", 28}};
constexpr uint32_t kFirstWin8Build = 9200;  // type indices before this build: kTypesWin7

std::vector<uint8_t> ascii(std::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); }

}  // namespace

NtWorldBuilder::NtWorldBuilder(const std::string& isfPath, NtWorldOptions options) : opt_(options) {
    isf_ = isf::IsfFile::open(isfPath);
    if (isf_->pointerSize() != 8) throw std::invalid_argument("NtWorldBuilder: x64 ISF needed");
    layout_ = std::make_unique<TypeLayout>(*isf_);
    phys_.setNextPfn(0x100);  // leave low memory as a hole, like firmware does
    kernel_ = std::make_unique<AddressSpace>(phys_, PagingMode::X64);
    if (opt_.processors == 0) opt_.processors = 1;

    writeKernelImageHeader();
    for (const char* list : {"PsActiveProcessHead", "PsLoadedModuleList", "ExpSystemResourcesList"}) {
        kernel_->ensureMapped(symbol(list), 16);
        kernel_->writeEmptyList(symbol(list));
    }
    // Windows 7 has no ObHeaderCookie: TypeIndex is then stored in clear.
    if (hasSymbol("ObHeaderCookie")) {
        kernel_->ensureMapped(symbol("ObHeaderCookie"), 1);
        kernel_->writeU8(symbol("ObHeaderCookie"), opt_.obHeaderCookie);
    }
    kernel_->ensureMapped(symbol("KeNumberProcessors"), 4);
    kernel_->writeU32(symbol("KeNumberProcessors"), opt_.processors);
    std::string lab = !opt_.buildLab.empty() ? opt_.buildLab
                                             : std::to_string(opt_.buildNumber) + ".1.amd64fre.vb_release.191206-1406";
    kernel_->ensureMapped(symbol("NtBuildLab"), lab.size() + 1);
    auto labBytes = ascii(lab);
    labBytes.push_back(0);
    kernel_->write(symbol("NtBuildLab"), labBytes);
    kernel_->ensureMapped(symbol("PspCidTable"), 8);
    kernel_->ensureMapped(symbol("MmPfnDatabase"), 8);
    kernel_->writeU64(symbol("MmPfnDatabase"), 0xffffe70000000000ull);
    kernel_->ensureMapped(symbol("KiBugCheckData"), 40);
    // The clock: KeMaximumIncrement (100 ns units per tick, 15.625 ms) and
    // KUSER_SHARED_DATA's SystemTime (the dump header's time), which a full
    // dump has and a small dump lacks.
    if (hasSymbol("KeMaximumIncrement")) {
        kernel_->ensureMapped(symbol("KeMaximumIncrement"), 4);
        kernel_->writeU32(symbol("KeMaximumIncrement"), 156250);
    }
    constexpr uint64_t kSharedData = 0xfffff78000000000ull;
    kernel_->ensureMapped(kSharedData, 0x1000);
    const uint64_t now = HeaderInfo{}.systemTime;
    const uint64_t st = kSharedData + layout_->offsetOf("_KUSER_SHARED_DATA", "SystemTime");
    kernel_->writeU32(st, static_cast<uint32_t>(now));
    kernel_->writeU32(st + 4, static_cast<uint32_t>(now >> 32));
    kernel_->writeU32(st + 8, static_cast<uint32_t>(now >> 32));
    // 1000 s of uptime (the header's "System Uptime: 0 days 0:16:40") in
    // 15.625 ms ticks: what !thread's "Ticks:" counts from.
    const char* tick = layout_->has("_KUSER_SHARED_DATA", "TickCountQuad") ? "TickCountQuad" : "TickCount.LowPart";
    setField(kSharedData, "_KUSER_SHARED_DATA", tick, 64000);
    kernel_->ensureMapped(symbol("MmUnloadedDrivers"), 8);
    kernel_->ensureMapped(symbol("MmLastUnloadedDriver"), 4);

    createTypes();

    // System (pid 4) owns the kernel address space; Idle (pid 0) is not on
    // the active process list, like on a real system.
    ProcessSpec sys{"System", 4, 0, std::nullopt, 0};
    system_ = addProcess(sys);
    ProcessSpec idle{"Idle", 0, 0, std::nullopt, 0};
    idleProcess_ = addProcess(idle);

    createProcessors();
    addDriver("ntoskrnl.exe", opt_.kernBase, opt_.kernelSizeOfImage, opt_.kernelTimestamp, 0xa5938c);
    addDriver("hal.dll", 0xfffff8047b400000ull, 0x60000, 0x5a2b1c3d, 0x6e5b1);
    writeKdbg();
}

NtWorldBuilder::~NtWorldBuilder() = default;

uint64_t NtWorldBuilder::symbol(const std::string& name) const {
    auto rva = isf_->rvaOf(name);
    if (!rva) throw std::out_of_range("NtWorldBuilder: ISF has no symbol " + name);
    return opt_.kernBase + *rva;
}

bool NtWorldBuilder::hasSymbol(const std::string& name) const { return isf_->rvaOf(name).has_value(); }

std::string NtWorldBuilder::ldrEntryType() const {
    // Windows 7's PDB has no _KLDR_DATA_TABLE_ENTRY; its loader list holds _LDR_DATA_TABLE_ENTRY.
    return layout_->has("_KLDR_DATA_TABLE_ENTRY", "DllBase") ? "_KLDR_DATA_TABLE_ENTRY" : "_LDR_DATA_TABLE_ENTRY";
}

uint64_t NtWorldBuilder::kprcb(unsigned processor) const {
    return kpcrs_.at(processor) + layout_->offsetOf("_KPCR", "Prcb");
}

std::vector<uint8_t> NtWorldBuilder::readKernel(uint64_t va, uint64_t size) const { return kernel_->read(va, size); }

uint64_t NtWorldBuilder::allocPool(uint64_t size, uint64_t align) {
    poolNext_ = (poolNext_ + align - 1) / align * align;
    uint64_t va = poolNext_;
    poolNext_ += std::max<uint64_t>(size, 1);
    kernel_->ensureMapped(va, size);
    return va;
}

void NtWorldBuilder::setField(uint64_t address, const std::string& type, const std::string& path, uint64_t value) {
    setFieldIn(*kernel_, address, type, path, value);
}

void NtWorldBuilder::setFieldIn(AddressSpace& space, uint64_t address, const std::string& type, const std::string& path,
                                uint64_t value) {
    AddressSpace* kernel = &space;
    FieldInfo f = layout_->at(type, path);
    uint64_t va = address + f.offset;
    uint64_t size = f.size ? f.size : 8;
    if (size > 8) throw std::invalid_argument("setField: " + path + " is not a scalar");
    uint64_t cur = 0;
    auto old = kernel->read(va, size);
    std::memcpy(&cur, old.data(), size);
    if (f.bitLength) {
        uint64_t mask = (f.bitLength >= 64 ? ~0ull : ((1ull << f.bitLength) - 1)) << f.bitPosition;
        cur = (cur & ~mask) | ((value << f.bitPosition) & mask);
    } else {
        cur = value;
    }
    std::vector<uint8_t> b(size);
    std::memcpy(b.data(), &cur, size);
    kernel->write(va, b);
}

uint64_t NtWorldBuilder::getField(uint64_t address, const std::string& type, const std::string& path) const {
    FieldInfo f = layout_->at(type, path);
    uint64_t size = std::min<uint64_t>(f.size ? f.size : 8, 8);
    auto b = kernel_->read(address + f.offset, size);
    uint64_t v = 0;
    std::memcpy(&v, b.data(), size);
    if (f.bitLength) v = (v >> f.bitPosition) & (f.bitLength >= 64 ? ~0ull : ((1ull << f.bitLength) - 1));
    return v;
}

uint64_t NtWorldBuilder::allocObject(const std::string& typeName, uint64_t bodySize, const std::string& name) {
    return allocObjectWithInfo(typeName, bodySize, name.empty() ? 0 : 0x2, name);
}

uint64_t NtWorldBuilder::allocObjectWithInfo(const std::string& typeName, uint64_t bodySize, uint8_t infoMask,
                                             const std::string& name) {
    static const char* const kOptional[] = {"_OBJECT_HEADER_CREATOR_INFO",  "_OBJECT_HEADER_NAME_INFO",
                                            "_OBJECT_HEADER_HANDLE_INFO",   "_OBJECT_HEADER_QUOTA_INFO",
                                            "_OBJECT_HEADER_PROCESS_INFO",  "_OBJECT_HEADER_AUDIT_INFO",
                                            "_OBJECT_HEADER_EXTENDED_INFO", "_OBJECT_HEADER_PADDING_INFO"};
    if (!name.empty()) infoMask |= 0x2;
    uint64_t bodyOff = layout_->offsetOf("_OBJECT_HEADER", "Body");
    // Optional header i sits below the object header at the summed sizes of
    // the present headers with a bit <= i (bit 0 closest to the header).
    uint64_t optionalSize = 0;
    uint64_t nameInfoBelow = 0;
    for (unsigned bit = 0; bit < 8; ++bit) {
        if (!(infoMask & (1u << bit))) continue;
        optionalSize += layout_->sizeOf(kOptional[bit]);
        if (bit == 1) nameInfoBelow = optionalSize;
    }
    uint64_t base = allocPool(optionalSize + bodyOff + bodySize, 16);
    uint64_t header = base + optionalSize;
    uint8_t real = typeIndices_.count(typeName) ? typeIndices_.at(typeName) : 0;
    uint8_t stored = hasSymbol("ObHeaderCookie") ? static_cast<uint8_t>(real ^ opt_.obHeaderCookie ^ ((header >> 8) & 0xff))
                                                 : real;
    setField(header, "_OBJECT_HEADER", "PointerCount", 1);
    setField(header, "_OBJECT_HEADER", "HandleCount", name.empty() ? 0 : 1);
    setField(header, "_OBJECT_HEADER", "TypeIndex", stored);
    setField(header, "_OBJECT_HEADER", "InfoMask", infoMask);
    if (!name.empty()) {
        uint64_t ni = header - nameInfoBelow;
        uint64_t nameOff = layout_->offsetOf("_OBJECT_HEADER_NAME_INFO", "Name");
        uint64_t buf = allocPool(2 * name.size() + 2, 8);
        kernel_->writeUnicodeString(ni + nameOff, buf, name);
        setField(ni, "_OBJECT_HEADER_NAME_INFO", "ReferenceCount", 1);
    }
    return header + bodyOff;
}

uint64_t NtWorldBuilder::objectHeader(uint64_t object) const {
    return object - layout_->offsetOf("_OBJECT_HEADER", "Body");
}

void NtWorldBuilder::writeKernelImageHeader() {
    auto img = std::make_unique<X64Image>(*kernel_, opt_.kernBase, opt_.kernelSizeOfImage);
    const auto& meta = isf_->metadata();
    img->writeHeader(opt_.kernelTimestamp, meta.pdbName.empty() ? "ntkrnlmp.pdb" : meta.pdbName,
                     meta.guid.size() == 32 ? meta.guid : "5278AFF86C341677D7D7835C85B7B844", meta.age ? meta.age : 1,
                     0xa5938c);
    images_[opt_.kernBase] = std::move(img);
}

void NtWorldBuilder::createTypes() {
    uint64_t table = symbol("ObTypeIndexTable");
    kernel_->ensureMapped(table, 8 * 64);
    const bool win7 = opt_.buildNumber < kFirstWin8Build;
    const TypeDef* types = win7 ? kTypesWin7 : kTypes;
    const size_t typeCount = win7 ? std::size(kTypesWin7) : std::size(kTypes);
    for (size_t i = 0; i < typeCount; ++i) typeIndices_[types[i].name] = types[i].index;
    uint64_t typeSize = layout_->sizeOf("_OBJECT_TYPE");
    for (size_t i = 0; i < typeCount; ++i) {
        const TypeDef& t = types[i];
        uint64_t obj = allocObject("Type", typeSize, t.name);
        uint64_t buf = allocPool(2 * std::strlen(t.name) + 2, 8);
        kernel_->writeUnicodeString(obj + layout_->offsetOf("_OBJECT_TYPE", "Name"), buf, t.name);
        setField(obj, "_OBJECT_TYPE", "Index", t.index);
        kernel_->writeEmptyList(obj + layout_->offsetOf("_OBJECT_TYPE", "TypeList"));
        kernel_->writeU64(table + 8 * t.index, obj);
        typeObjects_[t.name] = obj;
    }
    // Index 1 is the reserved "bad" marker in the real table; 0 stays null.
    kernel_->writeU64(table + 8, 0xbad0b0b0);
    kernel_->ensureMapped(symbol("ObpTypeObjectType"), 8);
    kernel_->writeU64(symbol("ObpTypeObjectType"), typeObjects_.at("Type"));
}

uint64_t NtWorldBuilder::addProcess(const ProcessSpec& spec) {
    const TypeLayout& L = *layout_;
    uint64_t ep = allocObject("Process", L.sizeOf("_EPROCESS"));
    AddressSpace* space = nullptr;
    if (spec.pid == 4 || spec.pid == 0) {
        space = kernel_.get();
    } else {
        spaces_.push_back(kernel_->newProcessSpace());
        space = &spaces_.back();
    }
    spaceOf_[ep] = space;
    setField(ep, "_EPROCESS", "Pcb.Header.Type", 3);
    setField(ep, "_EPROCESS", "Pcb.Header.Size", L.sizeOf("_KPROCESS") / 4 & 0xff);
    kernel_->writeEmptyList(ep + L.offsetOf("_EPROCESS", "Pcb.Header.WaitListHead"));
    setField(ep, "_EPROCESS", "Pcb.DirectoryTableBase", space->dtb());
    if (L.has("_EPROCESS", "Pcb.UserDirectoryTableBase")) setField(ep, "_EPROCESS", "Pcb.UserDirectoryTableBase", 1);
    kernel_->writeEmptyList(ep + L.offsetOf("_EPROCESS", "Pcb.ThreadListHead"));
    kernel_->writeEmptyList(ep + L.offsetOf("_EPROCESS", "ThreadListHead"));
    setField(ep, "_EPROCESS", "UniqueProcessId", spec.pid);
    setField(ep, "_EPROCESS", "InheritedFromUniqueProcessId", spec.parentPid);
    uint64_t peb = spec.peb;
    if (peb == 0 && spec.pid > 4) {
        peb = userNext_;
        userNext_ += 0x10000;
        space->mapNew(peb, 0x1000);
    }
    setField(ep, "_EPROCESS", "Peb", peb);
    if (spec.pid != 0) setField(ep, "_EPROCESS", "ObjectTable", allocPool(0x80));
    std::vector<uint8_t> name(15, 0);
    std::memcpy(name.data(), spec.name.data(), std::min<size_t>(spec.name.size(), 14));
    kernel_->write(ep + L.offsetOf("_EPROCESS", "ImageFileName"), name);
    if (spec.sessionId) {
        uint64_t session = allocPool(L.sizeOf("_MM_SESSION_SPACE"), 0x1000);
        setField(session, "_MM_SESSION_SPACE", "SessionId", *spec.sessionId);
        setField(ep, "_EPROCESS", "Session", session);
    }
    if (!spec.imagePath.empty()) {
        // OBJECT_NAME_INFORMATION: a UNICODE_STRING followed by its buffer.
        uint64_t info = allocPool(16 + 2 * spec.imagePath.size() + 2, 8);
        kernel_->writeUnicodeString(info, info + 16, spec.imagePath);
        setField(ep, "_EPROCESS", "SeAuditProcessCreationInfo.ImageFileName", info);
    }
    if (spec.pid != 0)  // Idle is not on the list
        kernel_->insertTailList(symbol("PsActiveProcessHead"), ep + L.offsetOf("_EPROCESS", "ActiveProcessLinks"));
    return ep;
}

AddressSpace& NtWorldBuilder::processSpace(uint64_t eprocess) { return *spaceOf_.at(eprocess); }

uint64_t NtWorldBuilder::createThreadObject(uint64_t process, const ThreadSpec& spec, ThreadInfo& info) {
    const TypeLayout& L = *layout_;
    uint64_t et = allocObject("Thread", L.sizeOf("_ETHREAD"));
    info.ethread = et;
    info.process = process;
    // Kernel stack: a guard gap, then kStackSize mapped bytes (or where the
    // spec puts it, to reproduce a real dump's addresses).
    if (spec.stackBase) {
        info.stackBase = spec.stackBase;
        info.stackLimit = spec.stackBase - kStackSize;
        kernel_->ensureMapped(info.stackLimit, kStackSize);
    } else {
        stackNext_ += 0x2000;
        info.stackLimit = stackNext_;
        info.stackBase = stackNext_ + kStackSize;
        stackNext_ += kStackSize;
        kernel_->mapNew(info.stackLimit, kStackSize);
    }
    info.initialStack = info.stackBase - 0x1d0;  // below the initial trap/FX save area
    info.kernelStack = info.initialStack - 0x2a0;
    auto set = [&](const char* path, uint64_t v) { setField(et, "_ETHREAD", path, v); };
    set("Tcb.Header.Type", 6);
    set("Tcb.Header.Size", L.sizeOf("_KTHREAD") / 4 & 0xff);
    kernel_->writeEmptyList(et + L.offsetOf("_ETHREAD", "Tcb.Header.WaitListHead"));
    set("Tcb.InitialStack", info.initialStack);
    set("Tcb.StackBase", info.stackBase);
    set("Tcb.StackLimit", info.stackLimit);
    set("Tcb.KernelStack", info.kernelStack);
    set("Tcb.State", spec.state);
    set("Tcb.WaitReason", spec.waitReason);
    set("Tcb.WaitMode", spec.waitMode);
    if (L.has("_KTHREAD", "Alertable")) set("Tcb.Alertable", spec.alertable ? 1 : 0);
    set("Tcb.Priority", static_cast<uint8_t>(spec.priority));
    set("Tcb.BasePriority", static_cast<uint8_t>(spec.basePriority));
    set("Tcb.WaitTime", spec.waitTime);
    set("Tcb.ContextSwitches", spec.contextSwitches);
    set("Tcb.KernelTime", spec.kernelTime);
    set("Tcb.UserTime", spec.userTime);
    set("Tcb.ApcState.Process", process);
    set("Tcb.Process", process);
    kernel_->writeEmptyList(et + L.offsetOf("_ETHREAD", "Tcb.ApcState.ApcListHead[0]"));
    kernel_->writeEmptyList(et + L.offsetOf("_ETHREAD", "Tcb.ApcState.ApcListHead[1]"));
    if (L.has("_KTHREAD", "Affinity")) set("Tcb.Affinity.Mask", 1);
    set("Cid.UniqueProcess", getField(process, "_EPROCESS", "UniqueProcessId"));
    set("Cid.UniqueThread", spec.tid);
    set("StartAddress", spec.startAddress);
    set("Win32StartAddress", spec.win32StartAddress);
    uint64_t teb = spec.teb;
    uint64_t pid = getField(process, "_EPROCESS", "UniqueProcessId");
    if (teb == 0 && pid > 4) {
        teb = userNext_;
        userNext_ += 0x10000;
        processSpace(process).mapNew(teb, 0x2000);
        processSpace(process).writeU64(teb + 0x30, teb);  // NtTib.Self
    }
    set("Tcb.Teb", teb);
    kernel_->insertTailList(process + L.offsetOf("_EPROCESS", "ThreadListHead"), et + L.offsetOf("_ETHREAD", "ThreadListEntry"));
    kernel_->insertTailList(process + L.offsetOf("_EPROCESS", "Pcb.ThreadListHead"),
                            et + L.offsetOf("_ETHREAD", "Tcb.ThreadListEntry"));
    threads_[et] = info;
    return et;
}

ThreadInfo NtWorldBuilder::addThread(uint64_t process, const ThreadSpec& spec) {
    ThreadInfo info;
    createThreadObject(process, spec, info);
    return info;
}

void NtWorldBuilder::waitOn(uint64_t thread, const std::vector<uint64_t>& objects, bool waitAll) {
    const TypeLayout& L = *layout_;
    uint64_t blockSize = L.sizeOf("_KWAIT_BLOCK");
    uint64_t inlineBlocks = L.offsetOf("_ETHREAD", "Tcb.WaitBlock");
    uint64_t first = objects.size() <= 4 ? thread + inlineBlocks : allocPool(blockSize * objects.size(), 16);
    for (size_t i = 0; i < objects.size(); ++i) {
        uint64_t wb = first + blockSize * i;
        setField(wb, "_KWAIT_BLOCK", "WaitType", waitAll ? 0 : 1);
        setField(wb, "_KWAIT_BLOCK", "BlockState", 4);  // WaitBlockActive
        setField(wb, "_KWAIT_BLOCK", "WaitKey", i);
        setField(wb, "_KWAIT_BLOCK", "Thread", thread);
        setField(wb, "_KWAIT_BLOCK", "Object", objects[i]);
        // Before Windows 8 the blocks form a ring through NextWaitBlock.
        if (L.has("_KWAIT_BLOCK", "NextWaitBlock"))
            setField(wb, "_KWAIT_BLOCK", "NextWaitBlock", first + blockSize * ((i + 1) % objects.size()));
        uint64_t head = objects[i] + L.offsetOf("_DISPATCHER_HEADER", "WaitListHead");
        kernel_->insertTailList(head, wb + L.offsetOf("_KWAIT_BLOCK", "WaitListEntry"));
    }
    setField(thread, "_ETHREAD", "Tcb.WaitBlockList", first);
    if (L.has("_KTHREAD", "WaitBlockCount")) setField(thread, "_ETHREAD", "Tcb.WaitBlockCount", objects.size());
}

uint64_t NtWorldBuilder::addEvent(bool synchronization, bool signaled, const std::string& name) {
    return addEvent(synchronization, signaled, uint8_t{0}, name);
}

uint64_t NtWorldBuilder::addEvent(bool synchronization, bool signaled, uint8_t infoMask, const std::string& name) {
    uint64_t ev = allocObjectWithInfo("Event", layout_->sizeOf("_KEVENT"), infoMask, name);
    setField(ev, "_KEVENT", "Header.Type", synchronization ? 1 : 0);
    setField(ev, "_KEVENT", "Header.Size", layout_->sizeOf("_KEVENT") / 4);
    setField(ev, "_KEVENT", "Header.SignalState", signaled ? 1 : 0);
    kernel_->writeEmptyList(ev + layout_->offsetOf("_KEVENT", "Header.WaitListHead"));
    return ev;
}

uint64_t NtWorldBuilder::addMutant(uint64_t ownerThread, const std::string& name) {
    uint64_t m = allocObject("Mutant", layout_->sizeOf("_KMUTANT"), name);
    setField(m, "_KMUTANT", "Header.Type", 2);
    setField(m, "_KMUTANT", "Header.Size", layout_->sizeOf("_KMUTANT") / 4);
    setField(m, "_KMUTANT", "Header.SignalState", ownerThread ? 0 : 1);
    kernel_->writeEmptyList(m + layout_->offsetOf("_KMUTANT", "Header.WaitListHead"));
    kernel_->writeEmptyList(m + layout_->offsetOf("_KMUTANT", "MutantListEntry"));
    setField(m, "_KMUTANT", "OwnerThread", ownerThread);
    return m;
}

uint64_t NtWorldBuilder::addSemaphore(int32_t limit, int32_t count, const std::string& name) {
    uint64_t s = allocObject("Semaphore", layout_->sizeOf("_KSEMAPHORE"), name);
    setField(s, "_KSEMAPHORE", "Header.Type", 5);
    setField(s, "_KSEMAPHORE", "Header.Size", layout_->sizeOf("_KSEMAPHORE") / 4);
    setField(s, "_KSEMAPHORE", "Header.SignalState", static_cast<uint32_t>(count));
    setField(s, "_KSEMAPHORE", "Limit", static_cast<uint32_t>(limit));
    kernel_->writeEmptyList(s + layout_->offsetOf("_KSEMAPHORE", "Header.WaitListHead"));
    return s;
}

uint64_t NtWorldBuilder::addResource(const ResourceSpec& spec) {
    const TypeLayout& L = *layout_;
    uint64_t r = allocPool(L.sizeOf("_ERESOURCE"), 16);
    auto set = [&](const char* path, uint64_t v) { setField(r, "_ERESOURCE", path, v); };
    kernel_->insertTailList(symbol("ExpSystemResourcesList"), r + L.offsetOf("_ERESOURCE", "SystemResourcesList"));
    set("ActiveCount", spec.owners.size());
    set("Flag", spec.exclusive && !spec.owners.empty() ? 0x80 : 0);  // ResourceOwnedExclusive
    set("ActiveEntries", spec.owners.size());
    set("ContentionCount", spec.contentionCount);
    if (!spec.owners.empty()) {
        set("OwnerEntry.OwnerThread", spec.owners[0]);
        set("OwnerEntry.OwnerCount", 1);
    }
    if (spec.owners.size() > 1) {
        // OwnerTable: entry 0's TableSize is the table's length, owners follow.
        uint64_t es = L.sizeOf("_OWNER_ENTRY");
        uint64_t n = spec.owners.size();
        uint64_t table = allocPool(es * (n + 1), 16);
        setField(table, "_OWNER_ENTRY", "TableSize", n + 1);
        for (uint64_t i = 1; i < n; ++i) {
            setField(table + es * i, "_OWNER_ENTRY", "OwnerThread", spec.owners[i]);
            setField(table + es * i, "_OWNER_ENTRY", "OwnerCount", 1);
        }
        set("OwnerTable", table);
    }
    set("NumberOfSharedWaiters", spec.sharedWaiters.size());
    set("NumberOfExclusiveWaiters", spec.exclusiveWaiters.size());
    if (!spec.sharedWaiters.empty()) {
        uint64_t sem = addSemaphore(0x7fffffff, 0);
        set("SharedWaiters", sem);
        for (uint64_t t : spec.sharedWaiters) waitOn(t, {sem});
    }
    if (!spec.exclusiveWaiters.empty()) {
        uint64_t ev = addEvent(true, false);
        set("ExclusiveWaiters", ev);
        for (uint64_t t : spec.exclusiveWaiters) waitOn(t, {ev});
    }
    return r;
}

uint64_t NtWorldBuilder::addDriver(const std::string& name, uint64_t base, uint32_t size, uint32_t timestamp,
                                   uint32_t checksum) {
    const TypeLayout& L = *layout_;
    const std::string ldr = ldrEntryType();
    uint64_t e = allocPool(L.sizeOf(ldr), 16);
    bool core = name == "ntoskrnl.exe" || name == "hal.dll";
    std::string full = std::string("\\SystemRoot\\system32\\") + (core ? "" : "drivers\\") + name;
    uint64_t fullBuf = allocPool(2 * full.size() + 2, 8);
    uint64_t baseBuf = allocPool(2 * name.size() + 2, 8);
    kernel_->writeUnicodeString(e + L.offsetOf(ldr, "FullDllName"), fullBuf, full);
    kernel_->writeUnicodeString(e + L.offsetOf(ldr, "BaseDllName"), baseBuf, name);
    setField(e, ldr, "DllBase", base);
    setField(e, ldr, "EntryPoint", base + 0x1000);
    setField(e, ldr, "SizeOfImage", size);
    setField(e, ldr, "TimeDateStamp", timestamp);
    setField(e, ldr, "CheckSum", checksum);
    setField(e, ldr, "Flags", 0x49104000);
    setField(e, ldr, "LoadCount", 1);
    kernel_->insertTailList(symbol("PsLoadedModuleList"), e + L.offsetOf(ldr, "InLoadOrderLinks"));
    drivers_[name] = e;
    return e;
}

void NtWorldBuilder::addUnloadedDriver(const std::string& name, uint64_t start, uint64_t end) {
    unloaded_.push_back({name, start, end});
    // MmUnloadedDrivers -> array of _UNLOADED_DRIVERS {UNICODE_STRING Name,
    // StartAddress, EndAddress, CurrentTime} (0x28 bytes on x64; the type is
    // not in the ISF), MmLastUnloadedDriver = count.
    constexpr uint64_t kEntry = 0x28;
    uint64_t arr = kernel_->readU64(symbol("MmUnloadedDrivers"));
    if (arr == 0) {
        arr = allocPool(kEntry * 50, 16);
        kernel_->writeU64(symbol("MmUnloadedDrivers"), arr);
    }
    uint32_t n = kernel_->readU32(symbol("MmLastUnloadedDriver"));
    if (n >= 50) return;
    uint64_t e = arr + kEntry * n;
    uint64_t buf = allocPool(2 * name.size() + 2, 8);
    kernel_->writeUnicodeString(e, buf, name);
    kernel_->writeU64(e + 0x10, start);
    kernel_->writeU64(e + 0x18, end);
    kernel_->writeU64(e + 0x20, 0x01d7087d6a4a2000ull);
    kernel_->writeU32(symbol("MmLastUnloadedDriver"), n + 1);
}

void NtWorldBuilder::createProcessors() {
    const TypeLayout& L = *layout_;
    uint64_t kpcrSize = L.sizeOf("_KPCR");
    uint64_t block = symbol("KiProcessorBlock");
    kernel_->ensureMapped(block, 8 * opt_.processors);
    for (unsigned i = 0; i < opt_.processors; ++i) {
        uint64_t pcr = kKpcrBase + uint64_t(i) * 0x10000;
        kernel_->ensureMapped(pcr, kpcrSize);
        kpcrs_.push_back(pcr);
        uint64_t prcb = pcr + L.offsetOf("_KPCR", "Prcb");
        setField(pcr, "_KPCR", "Self", pcr);
        setField(pcr, "_KPCR", "CurrentPrcb", prcb);
        setField(prcb, "_KPRCB", "Number", i);
        // An Intel Coffee Lake at 3.19 GHz (what !cpuinfo shows).
        if (L.has("_KPRCB", "CpuModel")) {
            setField(prcb, "_KPRCB", "CpuType", 6);
            setField(prcb, "_KPRCB", "CpuModel", 0x9e);
            setField(prcb, "_KPRCB", "CpuStepping", 0xa);
            setField(prcb, "_KPRCB", "MHz", 3192);
            setField(prcb, "_KPRCB", "FeatureBits", 0x3d1b3fff);
            if (L.has("_KPRCB", "UpdateSignature.QuadPart"))
                setField(prcb, "_KPRCB", "UpdateSignature.QuadPart", 0x000000ea00000000ull);
            kernel_->write(prcb + L.offsetOf("_KPRCB", "VendorString"),
                           std::vector<uint8_t>{'G', 'e', 'n', 'u', 'i', 'n', 'e', 'I', 'n', 't', 'e', 'l', 0});
        }
        setField(prcb, "_KPRCB", "ProcessorState.SpecialRegisters.Cr3", kernel_->dtb());
        kernel_->writeU64(block + 8 * i, prcb);
        ThreadSpec s;
        s.tid = 0;
        s.state = Running;
        s.priority = 0;
        s.basePriority = 0;
        ThreadInfo info;
        uint64_t idle = createThreadObject(idleProcess_, s, info);
        idleThreads_.push_back(idle);
        currentThreads_.push_back(idle);
        setField(prcb, "_KPRCB", "IdleThread", idle);
        setField(prcb, "_KPRCB", "CurrentThread", idle);
        setField(idle, "_ETHREAD", "Tcb.NextProcessor", i);
        CpuContext ctx(Machine::Amd64);
        ctx.set(Reg::Rsp, info.kernelStack);
        ctx.set(Reg::Rip, opt_.kernBase + 0x1000);
        ctx.set(Reg::Cs, 0x10);
        ctx.set(Reg::Ss, 0x18);
        ctx.set(Reg::Eflags, 0x246);
        contexts_.push_back(ctx);
    }
    syncContexts();
}

void NtWorldBuilder::setCurrentThread(unsigned processor, uint64_t thread) {
    currentThreads_.at(processor) = thread;
    setField(kprcb(processor), "_KPRCB", "CurrentThread", thread);
    setField(thread, "_ETHREAD", "Tcb.NextProcessor", processor);
    // A running thread's KernelStack is stale; the context's rsp is what counts.
}

void NtWorldBuilder::setContext(const CpuContext& context, unsigned processor) {
    contexts_.at(processor) = context;
    syncContexts();  // KPRCB.ProcessorState.ContextFrame readable right away
}

void NtWorldBuilder::setBugcheck(uint32_t code, std::array<uint64_t, 4> params) {
    bugCheckCode_ = code;
    bugCheckParams_ = params;
    uint64_t d = symbol("KiBugCheckData");
    kernel_->writeU64(d, code);
    for (int i = 0; i < 4; ++i) kernel_->writeU64(d + 8 + 8 * i, params[i]);
}

void NtWorldBuilder::writeKdbg() {
    const TypeLayout& L = *layout_;
    uint64_t va = symbol("KdDebuggerDataBlock");
    kernel_->ensureMapped(va, 0x380);
    std::vector<uint8_t> b(0x380, 0);
    auto p16 = [&](uint32_t o, uint64_t v) {
        uint16_t x = static_cast<uint16_t>(v);
        std::memcpy(b.data() + o, &x, 2);
    };
    auto p32 = [&](uint32_t o, uint32_t v) { std::memcpy(b.data() + o, &v, 4); };
    auto p64 = [&](uint32_t o, uint64_t v) { std::memcpy(b.data() + o, &v, 8); };
    p64(0, va);  // List: a one-element list is enough for a reader
    p64(8, va);
    p32(kdbg::kOwnerTag, kdbg::kTag);
    p32(kdbg::kSize, 0x380);
    p64(kdbg::kKernBase, opt_.kernBase);
    p64(kdbg::kPsLoadedModuleList, symbol("PsLoadedModuleList"));
    p64(kdbg::kPsActiveProcessHead, symbol("PsActiveProcessHead"));
    p64(kdbg::kPspCidTable, symbol("PspCidTable"));
    p64(kdbg::kExpSystemResourcesList, symbol("ExpSystemResourcesList"));
    p64(kdbg::kKiBugcheckData, symbol("KiBugCheckData"));
    p64(kdbg::kObpRootDirectoryObject, symbol("ObpRootDirectoryObject"));
    p64(kdbg::kObpTypeObjectType, symbol("ObpTypeObjectType"));
    p64(kdbg::kMmPfnDatabase, symbol("MmPfnDatabase"));
    p64(kdbg::kNtBuildLab, symbol("NtBuildLab"));
    p64(kdbg::kKiProcessorBlock, symbol("KiProcessorBlock"));
    p64(kdbg::kMmUnloadedDrivers, symbol("MmUnloadedDrivers"));
    p64(kdbg::kMmLastUnloadedDriver, symbol("MmLastUnloadedDriver"));
    p16(kdbg::kOffsetKThreadNextProcessor, L.offsetOf("_KTHREAD", "NextProcessor"));
    p16(kdbg::kOffsetKThreadTeb, L.offsetOf("_KTHREAD", "Teb"));
    p16(kdbg::kOffsetKThreadKernelStack, L.offsetOf("_KTHREAD", "KernelStack"));
    p16(kdbg::kOffsetKThreadInitialStack, L.offsetOf("_KTHREAD", "InitialStack"));
    p16(kdbg::kOffsetKThreadApcProcess, L.offsetOf("_KTHREAD", "ApcState.Process"));
    p16(kdbg::kOffsetKThreadState, L.offsetOf("_KTHREAD", "State"));
    p16(kdbg::kSizeEProcess, L.sizeOf("_EPROCESS"));
    p16(kdbg::kOffsetEprocessPeb, L.offsetOf("_EPROCESS", "Peb"));
    p16(kdbg::kOffsetEprocessParentCID, L.offsetOf("_EPROCESS", "InheritedFromUniqueProcessId"));
    p16(kdbg::kOffsetEprocessDirectoryTableBase, L.offsetOf("_EPROCESS", "Pcb.DirectoryTableBase"));
    p16(kdbg::kSizePrcb, L.sizeOf("_KPRCB"));
    p16(kdbg::kOffsetPrcbCurrentThread, L.offsetOf("_KPRCB", "CurrentThread"));
    p16(kdbg::kOffsetPrcbProcStateContext, L.offsetOf("_KPRCB", "ProcessorState.ContextFrame"));
    p16(kdbg::kOffsetPrcbNumber, L.offsetOf("_KPRCB", "Number"));
    p16(kdbg::kSizeEThread, L.sizeOf("_ETHREAD"));
    p16(kdbg::kOffsetPcrSelfPcr, L.offsetOf("_KPCR", "Self"));
    p16(kdbg::kOffsetPcrCurrentPrcb, L.offsetOf("_KPCR", "CurrentPrcb"));
    p16(kdbg::kOffsetPcrContainedPrcb, L.offsetOf("_KPCR", "Prcb"));
    p16(kdbg::kOffsetPrcbProcStateSpecialReg, L.offsetOf("_KPRCB", "ProcessorState.SpecialRegisters"));
    p16(kdbg::kGdtR0Code, 0x10);
    p16(kdbg::kGdtR0Data, 0x18);
    p16(kdbg::kGdtR3Code, 0x30);
    p16(kdbg::kGdtR3Data, 0x28);
    p16(kdbg::kGdtR3Teb, 0x50);
    p16(kdbg::kGdtTss, 0x40);
    kdbgClear_ = b;
    if (opt_.encodeKdbg) {
        // Inverse of the decoding debuggers apply (Volatility 2's decode_kdbg):
        //   w = bswap(rol(e ^ KiWaitNever, KiWaitNever & 0xff) ^ &KdpDataBlockEncoded) ^ KiWaitAlways
        const uint64_t never = opt_.kiWaitNever, always = opt_.kiWaitAlways;
        const uint64_t salt = symbol("KdpDataBlockEncoded") | 0xffff000000000000ull;
        const unsigned rot = static_cast<unsigned>(never & 0xff) % 64;
        for (size_t off = 0; off + 8 <= b.size(); off += 8) {
            uint64_t w;
            std::memcpy(&w, b.data() + off, 8);
            uint64_t e = __builtin_bswap64(w ^ always) ^ salt;
            e = rot ? (e >> rot) | (e << (64 - rot)) : e;
            e ^= never;
            std::memcpy(b.data() + off, &e, 8);
        }
        kernel_->ensureMapped(symbol("KiWaitNever"), 8);
        kernel_->ensureMapped(symbol("KiWaitAlways"), 8);
        kernel_->writeU64(symbol("KiWaitNever"), never);
        kernel_->writeU64(symbol("KiWaitAlways"), always);
        kernel_->ensureMapped(symbol("KdpDataBlockEncoded"), 1);
        kernel_->write(symbol("KdpDataBlockEncoded"), std::vector<uint8_t>{1});
    }
    kernel_->write(va, b);
}

HeaderInfo NtWorldBuilder::header() const {
    HeaderInfo h;
    h.is64 = true;
    h.machineImageType = 0x8664;
    h.majorVersion = 0xf;
    h.minorVersion = opt_.buildNumber;
    h.directoryTableBase = kernel_->dtb();
    h.pfnDataBase = kernel_->readU64(symbol("MmPfnDatabase"));
    h.psLoadedModuleList = symbol("PsLoadedModuleList");
    h.psActiveProcessHead = symbol("PsActiveProcessHead");
    h.kdDebuggerDataBlock = symbol("KdDebuggerDataBlock");
    h.numberProcessors = opt_.processors;
    h.bugCheckCode = bugCheckCode_;
    h.bugCheckParameters = bugCheckParams_;
    h.context = contexts_.at(opt_.bugcheckProcessor).serialize();
    if (contexts_.at(opt_.bugcheckProcessor).contextFlags() == 0) {
        uint32_t full = 0x10001f;  // CONTEXT_AMD64 | CONTROL | INTEGER | SEGMENTS | FLOATING_POINT | DEBUG
        std::memcpy(h.context.data() + 0x30, &full, 4);
    }
    h.exception = exception_;
    return h;
}

TriageInfo NtWorldBuilder::triageInfo() const {
    const TypeLayout& L = *layout_;
    const std::string ldr = ldrEntryType();
    TriageInfo t;
    uint64_t thread = currentThreads_.at(opt_.bugcheckProcessor);
    uint64_t process = getField(thread, "_ETHREAD", "Tcb.ApcState.Process");
    t.prcb = readKernel(kprcb(opt_.bugcheckProcessor), L.sizeOf("_KPRCB"));
    t.process = readKernel(process, L.sizeOf("_EPROCESS"));
    t.thread = readKernel(thread, L.sizeOf("_ETHREAD"));
    uint64_t rsp = contexts_.at(opt_.bugcheckProcessor).get(Reg::Rsp);
    auto ti = threads_.find(thread);
    if (ti != threads_.end() && rsp >= ti->second.stackLimit && rsp < ti->second.stackBase) {
        t.topOfStack = rsp;
        t.callStack = readKernel(rsp, ti->second.stackBase - rsp);
    }
    // Driver list in load order, names as full paths (as the real files have).
    uint64_t head = symbol("PsLoadedModuleList");
    uint64_t linkOff = L.offsetOf(ldr, "InLoadOrderLinks");
    for (uint64_t e = kernel_->readU64(head), n = 0; e != head && n < 1000; e = kernel_->readU64(e), ++n) {
        uint64_t entry = e - linkOff;
        TriageDriver d;
        uint64_t us = entry + L.offsetOf(ldr, "FullDllName");
        uint16_t len = kernel_->readU16(us);
        auto chars = readKernel(kernel_->readU64(us + 8), len);
        for (size_t i = 0; i + 1 < chars.size(); i += 2) d.name.push_back(static_cast<char>(chars[i]));
        d.base = getField(entry, ldr, "DllBase");
        d.size = static_cast<uint32_t>(getField(entry, ldr, "SizeOfImage"));
        d.timestamp = static_cast<uint32_t>(getField(entry, ldr, "TimeDateStamp"));
        d.checksum = static_cast<uint32_t>(getField(entry, ldr, "CheckSum"));
        d.flags = static_cast<uint32_t>(getField(entry, ldr, "Flags"));
        t.drivers.push_back(d);
    }
    t.unloadedDrivers = unloaded_;
    t.debuggerData = kdbgClear_;  // small dumps hold the clear copy
    if (opt_.includeKernelHeaderInTriage) t.dataBlocks.push_back({opt_.kernBase, readKernel(opt_.kernBase, 0x1000)});
    for (auto [va, size] : extraBlocks_) t.dataBlocks.push_back({va, readKernel(va, size)});
    return t;
}

void NtWorldBuilder::syncContexts() {
    for (unsigned i = 0; i < contexts_.size(); ++i) {
        auto ctx = contexts_[i].serialize();
        if (contexts_[i].contextFlags() == 0) {
            uint32_t full = 0x10001f;
            std::memcpy(ctx.data() + 0x30, &full, 4);
        }
        kernel_->write(kprcb(i) + layout_->offsetOf("_KPRCB", "ProcessorState.ContextFrame"), ctx);
    }
}

// ---- code and stacks ---------------------------------------------------------

const X64Function& NtWorldBuilder::defineNtFunction(const std::string& name, const X64Prolog& prolog, uint32_t maxSize) {
    if (unwindWritten_) throw std::logic_error("NtWorldBuilder: functions must be defined before the first build");
    if (symbolRvas_.empty())
        isf_->forEachSymbol([&](const isf::IsfSymbol& sym) {
            symbolRvas_.push_back(sym.rva);
            return true;
        });
    const uint64_t rva = symbol(name) - opt_.kernBase;
    auto next = std::upper_bound(symbolRvas_.begin(), symbolRvas_.end(), rva);
    uint64_t size = maxSize;
    if (next != symbolRvas_.end()) size = std::min<uint64_t>(size, *next - rva);
    return ntImage().addFunction(name, static_cast<uint32_t>(rva), static_cast<uint32_t>(size), prolog);
}

X64Image& NtWorldBuilder::addDriverImage(const std::string& name, uint64_t base, uint32_t size, uint32_t timestamp,
                                         const std::string& pdbName, const std::string& guidHex, uint32_t age) {
    if (unwindWritten_) throw std::logic_error("NtWorldBuilder: drivers with code must be added before the first build");
    addDriver(name, base, size, timestamp);
    auto img = std::make_unique<X64Image>(*kernel_, base, size);
    img->writeHeader(timestamp, pdbName, guidHex, age);
    X64Image& r = *img;
    images_[base] = std::move(img);
    return r;
}

X64Image& NtWorldBuilder::addUserModule(uint64_t process, const std::string& name, uint64_t base, uint32_t size,
                                        uint32_t timestamp, const std::string& pdbName, const std::string& guidHex,
                                        uint32_t age) {
    if (unwindWritten_) throw std::logic_error("NtWorldBuilder: modules with code must be added before the first build");
    const TypeLayout& L = *layout_;
    AddressSpace& space = processSpace(process);
    uint64_t peb = getField(process, "_EPROCESS", "Peb");
    if (peb == 0) throw std::invalid_argument("addUserModule: the process has no PEB");
    space.ensureMapped(peb, L.sizeOf("_PEB"));
    // Loader data and entries live in a per-process loader heap page run.
    auto userAlloc = [&](uint64_t bytes) {
        uint64_t& next = userHeap_[process];
        if (next == 0 || (next & 0xffff) + bytes > 0x10000) {
            next = userNext_;
            userNext_ += 0x10000;
            space.mapNew(next, 0x10000);
        }
        uint64_t at = next;
        next += (bytes + 15) & ~uint64_t{15};
        return at;
    };
    uint64_t ldr = space.readU64(peb + L.offsetOf("_PEB", "Ldr"));
    if (ldr == 0) {
        ldr = userAlloc(L.sizeOf("_PEB_LDR_DATA"));
        setFieldIn(space, ldr, "_PEB_LDR_DATA", "Length", L.sizeOf("_PEB_LDR_DATA"));
        setFieldIn(space, ldr, "_PEB_LDR_DATA", "Initialized", 1);
        space.writeEmptyList(ldr + L.offsetOf("_PEB_LDR_DATA", "InLoadOrderModuleList"));
        setFieldIn(space, peb, "_PEB", "Ldr", ldr);
    }
    const std::string full = "C:\\Windows\\System32\\" + name;
    uint64_t e = userAlloc(L.sizeOf("_LDR_DATA_TABLE_ENTRY"));
    uint64_t fullBuf = userAlloc(2 * full.size() + 2), baseBuf = userAlloc(2 * name.size() + 2);
    space.writeUnicodeString(e + L.offsetOf("_LDR_DATA_TABLE_ENTRY", "FullDllName"), fullBuf, full);
    space.writeUnicodeString(e + L.offsetOf("_LDR_DATA_TABLE_ENTRY", "BaseDllName"), baseBuf, name);
    setFieldIn(space, e, "_LDR_DATA_TABLE_ENTRY", "DllBase", base);
    setFieldIn(space, e, "_LDR_DATA_TABLE_ENTRY", "SizeOfImage", size);
    setFieldIn(space, e, "_LDR_DATA_TABLE_ENTRY", "TimeDateStamp", timestamp);
    space.insertTailList(ldr + L.offsetOf("_PEB_LDR_DATA", "InLoadOrderModuleList"),
                         e + L.offsetOf("_LDR_DATA_TABLE_ENTRY", "InLoadOrderLinks"));
    auto img = std::make_unique<X64Image>(space, base, size);
    img->writeHeader(timestamp, pdbName, guidHex, age);
    X64Image& r = *img;
    // Keyed by the space too: the same DLL base in two processes is two images.
    images_[base ^ (space.dtb() << 1)] = std::move(img);
    return r;
}

uint64_t NtWorldBuilder::trapFrameOf(const X64StackLayout& l) const {
    return l.machineFrame ? l.machineFrame - layout_->offsetOf("_KTRAP_FRAME", "Rip") : 0;
}

X64StackLayout NtWorldBuilder::setWaitingStack(uint64_t thread, uint64_t kernelStack,
                                               const std::vector<X64FrameSite>& frames, const X64MachineReturn& user) {
    const ThreadInfo& info = threads_.at(thread);
    if (kernelStack < info.stackLimit || kernelStack + 0x40 > info.stackBase)
        throw std::invalid_argument("setWaitingStack: KernelStack outside the thread's stack");
    if (frames.empty()) throw std::invalid_argument("setWaitingStack: no frames");
    // _KSWITCH_FRAME {P1Home..P5Home, ApcBypass/MxCsr, Rbp, Return}: 0x40
    // bytes (ksamd64.inc); the ISF files have no type for it.
    kernel_->writeU64(kernelStack + 0x30, 0x5555555555555555ull);
    kernel_->writeU64(kernelStack + 0x38, frames.front().ip);
    X64StackLayout l = writeX64Stack(*kernel_, kernelStack + 0x40, frames, user);
    setField(thread, "_ETHREAD", "Tcb.KernelStack", kernelStack);
    threads_.at(thread).kernelStack = kernelStack;
    if (l.machineFrame) setField(thread, "_ETHREAD", "Tcb.TrapFrame", trapFrameOf(l));
    return l;
}

X64StackLayout NtWorldBuilder::setRunningStack(unsigned processor, uint64_t thread, uint64_t childSp,
                                               const std::vector<X64FrameSite>& frames, const X64MachineReturn& user) {
    if (frames.empty()) throw std::invalid_argument("setRunningStack: no frames");
    X64StackLayout l = writeX64Stack(*kernel_, childSp, frames, user);
    if (l.machineFrame) setField(thread, "_ETHREAD", "Tcb.TrapFrame", trapFrameOf(l));
    setCurrentThread(processor, thread);
    CpuContext ctx = contexts_.at(processor);
    ctx.set(Reg::Rip, frames.front().ip);
    ctx.set(Reg::Rsp, childSp);
    setContext(ctx, processor);
    return l;
}

void NtWorldBuilder::writeUnwindData() {
    if (unwindWritten_) return;
    unwindWritten_ = true;
    for (auto& [key, img] : images_) {
        if (img->unwindDataSize() == 0) continue;
        const uint64_t base = img->base();
        // The table goes into the highest free pages of the image (nt's
        // data symbols the world uses are mapped already and are skipped).
        const uint32_t need = (img->unwindDataSize() + 0xfff) & ~0xfffu;
        bool written = false;
        for (uint32_t rva = (img->sizeOfImage() - need) & ~0xfffu; rva >= 0x1000 && !written; rva -= 0x1000) {
            bool free = true;
            for (uint32_t o = 0; o < need && free; o += 0x1000) free = !img->space().isMapped(base + rva + o);
            if (free) {
                img->writeUnwindData(rva);
                written = true;
            }
        }
        if (!written) throw std::logic_error("NtWorldBuilder: no free pages for the unwind data");
    }
}

std::vector<uint8_t> NtWorldBuilder::build(uint32_t dumpType, const Corruption& damage) {
    writeUnwindData();
    syncContexts();
    DumpWriter w(phys_, header());
    if (dumpType == 4) w.setTriage(triageInfo());
    return w.write(dumpType, damage);
}

void NtWorldBuilder::buildFile(const std::string& path, uint32_t dumpType, const Corruption& damage) {
    writeUnwindData();
    syncContexts();
    DumpWriter w(phys_, header());
    if (dumpType == 4) w.setTriage(triageInfo());
    w.writeFile(path, dumpType, damage);
}

}  // namespace nt::test::kdump
