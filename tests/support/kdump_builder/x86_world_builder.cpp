#include "support/kdump_builder/x86_world_builder.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "support/kdump_builder/kdbg_block.h"

namespace nt::test::kdump {

namespace {

constexpr uint64_t kObjectHeaderSize = 0x18;  // XP _OBJECT_HEADER up to Body

uint32_t hexField(const std::string& g, size_t at, size_t n) {
    return static_cast<uint32_t>(std::stoul(g.substr(at, n), nullptr, 16));
}

}  // namespace

X86WorldBuilder::X86WorldBuilder(X86WorldOptions options, X86Module kernel)
    : opt_(std::move(options)), kernelModule_(std::move(kernel)), poolNext_(opt_.poolBase) {
    types_ = opt_.types;
    if (!types_ || types_->pointerSize() != 4) throw std::invalid_argument("X86WorldBuilder: 32-bit NT types needed");
    layout_ = std::make_unique<TypeLayout>(*types_);
    if (opt_.processors == 0) opt_.processors = 1;
    // System's page directory (PDPT with PAE) where the options say (0x30000
    // in seed 002); the rest of physical memory above it.
    phys_.setNextPfn(opt_.kernelDirBasePfn);
    kernel_ = std::make_unique<AddressSpace>(phys_, opt_.pae ? PagingMode::X86Pae : PagingMode::X86);
    phys_.setNextPfn(0x100);

    // nt's globals.
    uint64_t data = kernelModule_.base + opt_.kernelDataRva;
    kernel_->ensureMapped(data, 0x1000);
    kernel_->writeEmptyList(global(kActiveProcessHead));
    kernel_->writeEmptyList(global(kLoadedModuleList));
    std::vector<uint8_t> lab(opt_.buildLab.begin(), opt_.buildLab.end());
    lab.push_back(0);
    kernel_->write(global(kBuildLab), lab);
    kernel_->writeU32(global(kPfnDatabase), 0x81000000);
    addModule(kernelModule_);

    // Object types (XP: the header's Type points at them).
    for (const char* name : {"Type", "Process", "Thread"}) {
        uint64_t t = allocObject("Type", layout_->sizeOf("_OBJECT_TYPE"), std::nullopt);
        uint64_t buf = allocPool(2 * std::strlen(name) + 2);
        kernel_->writeUnicodeString(t + layout_->offsetOf("_OBJECT_TYPE", "Name"), buf, name);
        kernel_->writeEmptyList(t + layout_->offsetOf("_OBJECT_TYPE", "TypeList"));
        typeObjects_[name] = t;
    }

    X86ProcessSpec sys{"System", opt_.systemPid, 0, std::nullopt, opt_.systemAddress, std::nullopt, 0};
    system_ = addProcess(sys);
    X86ProcessSpec idle{"Idle", 0, 0, std::nullopt, std::nullopt, std::nullopt, 0};
    idleProcess_ = addProcess(idle);
    createProcessors();
    writeKdbg();
}

X86WorldBuilder::~X86WorldBuilder() = default;

// ---- memory ---------------------------------------------------------------------

uint64_t X86WorldBuilder::allocPool(uint64_t size, uint64_t align) {
    poolNext_ = (poolNext_ + align - 1) / align * align;
    uint64_t va = poolNext_;
    poolNext_ += std::max<uint64_t>(size, 1);
    kernel_->ensureMapped(va, size);
    return va;
}

void X86WorldBuilder::write(uint64_t va, const std::vector<uint8_t>& bytes) {
    kernel_->ensureMapped(va, bytes.size());
    kernel_->write(va, bytes);
}

void X86WorldBuilder::writeU32(uint64_t va, uint32_t v) {
    kernel_->ensureMapped(va, 4);
    kernel_->writeU32(va, v);
}

void X86WorldBuilder::writeCall(uint64_t returnAddress, uint64_t target) {
    int32_t rel = static_cast<int32_t>(static_cast<uint32_t>(target - returnAddress));
    std::vector<uint8_t> b = {0xe8, 0, 0, 0, 0};
    std::memcpy(b.data() + 1, &rel, 4);
    write(returnAddress - 5, b);
}

void X86WorldBuilder::setField(uint64_t address, const std::string& type, const std::string& path, uint64_t value) {
    FieldInfo f = layout_->at(type, path);
    uint64_t size = std::min<uint64_t>(f.size ? f.size : 4, 8);
    std::vector<uint8_t> b(size);
    std::memcpy(b.data(), &value, size);
    write(address + f.offset, b);
}

uint64_t X86WorldBuilder::getField(uint64_t address, const std::string& type, const std::string& path) const {
    FieldInfo f = layout_->at(type, path);
    uint64_t size = std::min<uint64_t>(f.size ? f.size : 4, 8);
    auto b = kernel_->read(address + f.offset, size);
    uint64_t v = 0;
    std::memcpy(&v, b.data(), size);
    return v;
}

uint64_t X86WorldBuilder::allocObject(const std::string& typeName, uint64_t bodySize, std::optional<uint64_t> at) {
    uint64_t body = at ? *at : allocPool(kObjectHeaderSize + bodySize, 8) + kObjectHeaderSize;
    uint64_t header = body - kObjectHeaderSize;
    kernel_->ensureMapped(header, kObjectHeaderSize + bodySize);
    setField(header, "_OBJECT_HEADER", "PointerCount", 1);
    setField(header, "_OBJECT_HEADER", "HandleCount", 1);
    if (auto t = typeObjects_.find(typeName); t != typeObjects_.end()) setField(header, "_OBJECT_HEADER", "Type", t->second);
    return body;
}

// ---- modules ----------------------------------------------------------------------------

void X86WorldBuilder::writePeHeader(const X86Module& m) {
    std::vector<uint8_t> h(0x1000, 0);
    auto p16 = [&](size_t o, uint16_t v) { std::memcpy(h.data() + o, &v, 2); };
    auto p32 = [&](size_t o, uint32_t v) { std::memcpy(h.data() + o, &v, 4); };
    h[0] = 'M', h[1] = 'Z';
    const uint32_t pe = 0xe0;
    p32(0x3C, pe);
    std::memcpy(h.data() + pe, "PE\0\0", 4);
    const uint32_t coff = pe + 4;
    p16(coff + 0, 0x14c);  // i386
    p16(coff + 2, 1);
    p32(coff + 4, m.timestamp);
    p16(coff + 16, 0xE0);  // SizeOfOptionalHeader (PE32)
    p16(coff + 18, 0x102);  // EXECUTABLE_IMAGE | 32BIT_MACHINE
    const uint32_t opt = coff + 20;
    p16(opt + 0, 0x10B);
    p32(opt + 16, 0x1000);                          // AddressOfEntryPoint
    p32(opt + 28, static_cast<uint32_t>(m.base));  // ImageBase
    p32(opt + 32, 0x1000);
    p32(opt + 36, 0x200);
    p16(opt + 40, 5), p16(opt + 42, 1);
    p16(opt + 48, 5), p16(opt + 50, 1);
    p32(opt + 56, m.size);
    p32(opt + 60, 0x1000);
    p32(opt + 64, m.checksum);
    p16(opt + 68, 1);  // native
    p32(opt + 92, 16);
    const uint32_t dirs = opt + 96;
    const uint32_t sect = opt + 0xE0;
    std::memcpy(h.data() + sect, ".text\0\0\0", 8);
    p32(sect + 8, m.size - 0x1000);
    p32(sect + 12, 0x1000);
    p32(sect + 16, m.size - 0x1000);
    p32(sect + 20, 0x1000);
    p32(sect + 36, 0x60000020);  // code, execute, read
    if (!m.pdb.empty() && m.guid.size() == 32) {
        const uint32_t debugDir = 0x300, rsds = 0x340;
        p32(dirs + 8 * 6, debugDir);
        p32(dirs + 8 * 6 + 4, 0x1C);
        p32(debugDir + 4, m.timestamp);
        p32(debugDir + 12, 2);  // CODEVIEW
        p32(debugDir + 16, static_cast<uint32_t>(24 + m.pdb.size() + 1));
        p32(debugDir + 20, rsds);
        p32(debugDir + 24, rsds);
        std::memcpy(h.data() + rsds, "RSDS", 4);
        p32(rsds + 4, hexField(m.guid, 0, 8));
        p16(rsds + 8, static_cast<uint16_t>(hexField(m.guid, 8, 4)));
        p16(rsds + 10, static_cast<uint16_t>(hexField(m.guid, 12, 4)));
        for (int i = 0; i < 8; ++i) h[rsds + 12 + i] = static_cast<uint8_t>(hexField(m.guid, 16 + 2 * i, 2));
        p32(rsds + 20, m.age);
        std::memcpy(h.data() + rsds + 24, m.pdb.c_str(), m.pdb.size() + 1);
    }
    write(m.base, h);
}

uint64_t X86WorldBuilder::addModule(const X86Module& m) {
    writePeHeader(m);
    const TypeLayout& L = *layout_;
    uint64_t e = allocPool(L.sizeOf("_LDR_DATA_TABLE_ENTRY"));
    bool core = m.file == kernelModule_.file || m.file.rfind("hal", 0) == 0;
    std::string full = std::string("\\SystemRoot\\system32\\") + (core ? "" : "drivers\\") + m.file;
    uint64_t fullBuf = allocPool(2 * full.size() + 2), baseBuf = allocPool(2 * m.file.size() + 2);
    kernel_->writeUnicodeString(e + L.offsetOf("_LDR_DATA_TABLE_ENTRY", "FullDllName"), fullBuf, full);
    kernel_->writeUnicodeString(e + L.offsetOf("_LDR_DATA_TABLE_ENTRY", "BaseDllName"), baseBuf, m.file);
    setField(e, "_LDR_DATA_TABLE_ENTRY", "DllBase", m.base);
    setField(e, "_LDR_DATA_TABLE_ENTRY", "EntryPoint", m.base + 0x1000);
    setField(e, "_LDR_DATA_TABLE_ENTRY", "SizeOfImage", m.size);
    setField(e, "_LDR_DATA_TABLE_ENTRY", "CheckSum", m.checksum);
    setField(e, "_LDR_DATA_TABLE_ENTRY", "TimeDateStamp", m.timestamp);
    setField(e, "_LDR_DATA_TABLE_ENTRY", "LoadCount", 1);
    kernel_->insertTailList(global(kLoadedModuleList), e + L.offsetOf("_LDR_DATA_TABLE_ENTRY", "InLoadOrderLinks"));
    modules_.push_back(m);
    return m.base;
}

void X86WorldBuilder::writeSymbols(const std::string& dir) const {
    namespace fs = std::filesystem;
    for (const auto& m : modules_) {
        if (!m.writeSym || m.pdb.empty() || m.guid.size() != 32) continue;
        std::string id = m.guid + fmt::format("{:X}", m.age);
        std::string stem = m.pdb.substr(0, m.pdb.rfind('.'));
        fs::path p = fs::path(dir) / m.pdb / id;
        fs::create_directories(p);
        std::ofstream out(p / (stem + ".sym"), std::ios::binary);
        out << "MODULE windows x86 " << id << " " << m.pdb << "\n";
        out << fmt::format("INFO CODE_ID {:08X}{:x} {}\n", m.timestamp, m.size, m.file);
        auto funcs = m.funcs;
        std::sort(funcs.begin(), funcs.end(), [](const auto& a, const auto& b) { return a.rva < b.rva; });
        for (const auto& f : funcs) out << fmt::format("FUNC {:x} {:x} {:x} {}\n", f.rva, f.size, f.paramSize, f.name);
        auto pubs = m.publics;
        std::sort(pubs.begin(), pubs.end(), [](const auto& a, const auto& b) { return a.rva < b.rva; });
        for (const auto& p2 : pubs) out << fmt::format("PUBLIC {:x} {:x} {}\n", p2.rva, p2.paramSize, p2.name);
        for (const auto& s : m.stackWin) {
            out << fmt::format("STACK WIN {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} ", s.type, s.rva, s.codeSize,
                               s.prologSize, s.epilogSize, s.paramSize, s.savedRegsSize, s.localsSize, s.maxStackSize);
            if (!s.program.empty()) out << "1 " << s.program << "\n";
            else out << "0 " << (s.allocatesBasePointer ? 1 : 0) << "\n";
        }
    }
}

// ---- processes and threads ---------------------------------------------------------------------

uint64_t X86WorldBuilder::addProcess(const X86ProcessSpec& spec) {
    const TypeLayout& L = *layout_;
    uint64_t ep = allocObject("Process", L.sizeOf("_EPROCESS"), spec.address);
    AddressSpace* space = kernel_.get();
    if (spec.pid > 8) {
        uint64_t saved = phys_.nextPfn();
        if (spec.dirBasePfn) phys_.setNextPfn(*spec.dirBasePfn);
        spaces_.push_back(kernel_->newProcessSpace());
        if (spec.dirBasePfn) phys_.setNextPfn(saved);
        space = &spaces_.back();
    }
    spaceOf_[ep] = space;
    setField(ep, "_EPROCESS", "Pcb.Header.Type", 3);
    setField(ep, "_EPROCESS", "Pcb.Header.Size", L.sizeOf("_KPROCESS") / 4);
    kernel_->writeEmptyList(ep + L.offsetOf("_EPROCESS", "Pcb.Header.WaitListHead"));
    setField(ep, "_EPROCESS", "Pcb.DirectoryTableBase[0]", space->dtb());
    kernel_->writeEmptyList(ep + L.offsetOf("_EPROCESS", "Pcb.ThreadListHead"));
    kernel_->writeEmptyList(ep + L.offsetOf("_EPROCESS", "ThreadListHead"));
    setField(ep, "_EPROCESS", "UniqueProcessId", spec.pid);
    setField(ep, "_EPROCESS", "InheritedFromUniqueProcessId", spec.parentPid);
    if (spec.pid > 8 && spec.peb) {
        space->ensureMapped(spec.peb, 0x1000);
        setField(ep, "_EPROCESS", "Peb", spec.peb);
        userPfns_.push_back(*space->translate(spec.peb) >> 12);
    }
    if (spec.pid != 0) {
        uint64_t table = allocPool(L.sizeOf("_HANDLE_TABLE"));
        setField(table, "_HANDLE_TABLE", "UniqueProcessId", spec.pid);
        setField(table, "_HANDLE_TABLE", "HandleCount", spec.pid == 4 ? 0x37 : 0x19);
        setField(ep, "_EPROCESS", "ObjectTable", table);
    }
    std::vector<uint8_t> name(16, 0);
    std::memcpy(name.data(), spec.name.data(), std::min<size_t>(spec.name.size(), 15));
    write(ep + L.offsetOf("_EPROCESS", "ImageFileName"), name);
    if (spec.sessionId) {
        uint64_t session = allocPool(0x1000, 0x1000);
        setField(session, "_MM_SESSION_SPACE", "SessionId", *spec.sessionId);
        setField(ep, "_EPROCESS", "Session", session);
    }
    if (spec.pid != 0) kernel_->insertTailList(global(kActiveProcessHead), ep + L.offsetOf("_EPROCESS", "ActiveProcessLinks"));
    return ep;
}

uint64_t X86WorldBuilder::addThread(uint64_t process, const X86ThreadSpec& specIn) {
    const TypeLayout& L = *layout_;
    X86ThreadSpec spec = specIn;
    uint64_t et = allocObject("Thread", L.sizeOf("_ETHREAD"), spec.address);
    if (spec.stackBase == 0) {
        stackNext_ += 0x1000 + spec.stackSize;  // a guard gap below each stack
        spec.stackBase = stackNext_;
    }
    uint64_t limit = spec.stackBase - spec.stackSize;
    kernel_->ensureMapped(limit, spec.stackSize);
    uint64_t initial = spec.stackBase - 0x210;  // below the NPX save area
    auto set = [&](const char* path, uint64_t v) { setField(et, "_ETHREAD", path, v); };
    set("Tcb.Header.Type", 6);
    set("Tcb.Header.Size", L.sizeOf("_KTHREAD") / 4);
    kernel_->writeEmptyList(et + L.offsetOf("_ETHREAD", "Tcb.Header.WaitListHead"));
    kernel_->writeEmptyList(et + L.offsetOf("_ETHREAD", "Tcb.MutantListHead"));
    set("Tcb.InitialStack", initial);
    set("Tcb.StackLimit", limit);
    set("Tcb.StackBase", spec.stackBase);
    set("Tcb.KernelStack", initial - 0x40);
    set("Tcb.Teb", spec.teb);
    set("Tcb.State", spec.state);
    set("Tcb.WaitReason", spec.waitReason);
    set("Tcb.WaitMode", spec.waitMode);
    set("Tcb.Priority", static_cast<uint8_t>(spec.priority));
    set("Tcb.BasePriority", static_cast<uint8_t>(spec.basePriority));
    set("Tcb.ApcState.Process", process);
    for (const char* list : {"Tcb.ApcState.ApcListHead[0]", "Tcb.ApcState.ApcListHead[1]",
                             "Tcb.SavedApcState.ApcListHead[0]", "Tcb.SavedApcState.ApcListHead[1]"})
        kernel_->writeEmptyList(et + L.offsetOf("_ETHREAD", list));
    set("Tcb.ApcStatePointer[0]", et + L.offsetOf("_ETHREAD", "Tcb.ApcState"));
    set("Tcb.ApcStatePointer[1]", et + L.offsetOf("_ETHREAD", "Tcb.SavedApcState"));
    set("Tcb.ApcQueueable", 1);
    set("Tcb.Affinity", 1);
    set("Cid.UniqueProcess", getField(process, "_EPROCESS", "UniqueProcessId"));
    set("Cid.UniqueThread", spec.tid);
    set("ThreadsProcess", process);
    set("StartAddress", spec.startAddress);
    set("Win32StartAddress", spec.win32StartAddress);
    kernel_->insertTailList(process + L.offsetOf("_EPROCESS", "ThreadListHead"), et + L.offsetOf("_ETHREAD", "ThreadListEntry"));
    kernel_->insertTailList(process + L.offsetOf("_EPROCESS", "Pcb.ThreadListHead"),
                            et + L.offsetOf("_ETHREAD", "Tcb.ThreadListEntry"));
    setField(process, "_EPROCESS", "ActiveThreads", getField(process, "_EPROCESS", "ActiveThreads") + 1);
    threads_[et] = spec;
    return et;
}

// ---- dispatcher objects and waits ---------------------------------------------------------

uint64_t X86WorldBuilder::objectType(const std::string& name) {
    if (auto t = typeObjects_.find(name); t != typeObjects_.end()) return t->second;
    uint64_t t = allocObject("Type", layout_->sizeOf("_OBJECT_TYPE"), std::nullopt);
    uint64_t buf = allocPool(2 * name.size() + 2);
    kernel_->writeUnicodeString(t + layout_->offsetOf("_OBJECT_TYPE", "Name"), buf, name);
    kernel_->writeEmptyList(t + layout_->offsetOf("_OBJECT_TYPE", "TypeList"));
    typeObjects_[name] = t;
    return t;
}

uint64_t X86WorldBuilder::addEvent(bool synchronization, bool signaled) {
    objectType("Event");
    uint64_t ev = allocObject("Event", layout_->sizeOf("_KEVENT"), std::nullopt);
    setField(ev, "_KEVENT", "Header.Type", synchronization ? 1 : 0);
    setField(ev, "_KEVENT", "Header.Size", layout_->sizeOf("_KEVENT") / 4);
    setField(ev, "_KEVENT", "Header.SignalState", signaled ? 1 : 0);
    kernel_->writeEmptyList(ev + layout_->offsetOf("_KEVENT", "Header.WaitListHead"));
    return ev;
}

uint64_t X86WorldBuilder::addMutant(uint64_t ownerThread) {
    objectType("Mutant");
    const TypeLayout& L = *layout_;
    uint64_t m = allocObject("Mutant", L.sizeOf("_KMUTANT"), std::nullopt);
    setField(m, "_KMUTANT", "Header.Type", 2);
    setField(m, "_KMUTANT", "Header.Size", L.sizeOf("_KMUTANT") / 4);
    setField(m, "_KMUTANT", "Header.SignalState", ownerThread ? 0 : 1);
    kernel_->writeEmptyList(m + L.offsetOf("_KMUTANT", "Header.WaitListHead"));
    kernel_->writeEmptyList(m + L.offsetOf("_KMUTANT", "MutantListEntry"));
    setField(m, "_KMUTANT", "OwnerThread", ownerThread);
    if (ownerThread)  // an owned mutant sits on its owner's MutantListHead
        kernel_->insertTailList(ownerThread + L.offsetOf("_KTHREAD", "MutantListHead"),
                                m + L.offsetOf("_KMUTANT", "MutantListEntry"));
    return m;
}

void X86WorldBuilder::waitOn(uint64_t thread, const std::vector<uint64_t>& objects, bool waitAll) {
    const TypeLayout& L = *layout_;
    if (objects.empty() || objects.size() > 4) throw std::invalid_argument("X86WorldBuilder::waitOn: 1 to 4 objects");
    uint64_t blockSize = L.sizeOf("_KWAIT_BLOCK");
    uint64_t first = thread + L.offsetOf("_KTHREAD", "WaitBlock");
    for (size_t i = 0; i < objects.size(); ++i) {
        uint64_t wb = first + blockSize * i;
        setField(wb, "_KWAIT_BLOCK", "WaitType", waitAll ? 0 : 1);  // WaitAll / WaitAny
        setField(wb, "_KWAIT_BLOCK", "WaitKey", i);
        setField(wb, "_KWAIT_BLOCK", "Thread", thread);
        setField(wb, "_KWAIT_BLOCK", "Object", objects[i]);
        setField(wb, "_KWAIT_BLOCK", "NextWaitBlock", first + blockSize * ((i + 1) % objects.size()));
        kernel_->insertTailList(objects[i] + L.offsetOf("_DISPATCHER_HEADER", "WaitListHead"),
                                wb + L.offsetOf("_KWAIT_BLOCK", "WaitListEntry"));
    }
    setField(thread, "_KTHREAD", "WaitBlockList", first);
}

// ---- processors --------------------------------------------------------------------------

void X86WorldBuilder::writeDescriptor(unsigned processor, uint16_t selector, uint64_t base, uint32_t limit,
                                      uint8_t access, uint8_t flags) {
    uint64_t gdt = getField(kpcrs_.at(processor), "_KPCR", "GDT");
    std::vector<uint8_t> d(8);
    d[0] = limit & 0xff, d[1] = (limit >> 8) & 0xff;
    d[2] = base & 0xff, d[3] = (base >> 8) & 0xff, d[4] = (base >> 16) & 0xff;
    d[5] = access;
    d[6] = static_cast<uint8_t>((flags & 0xf0) | ((limit >> 16) & 0x0f));
    d[7] = (base >> 24) & 0xff;
    write(gdt + (selector & ~7u), d);
}

void X86WorldBuilder::createProcessors() {
    for (unsigned i = 0; i < opt_.processors; ++i) {
        uint64_t pcr = i == 0 ? opt_.kpcr : allocPool(layout_->sizeOf("_KPCR"), 0x1000);
        kernel_->ensureMapped(pcr, layout_->sizeOf("_KPCR"));
        kpcrs_.push_back(pcr);
        uint64_t prcb = pcr + layout_->offsetOf("_KPCR", "PrcbData");
        uint64_t gdt = i == 0 ? opt_.gdt : allocPool(0x400, 0x400);
        uint64_t idt = i == 0 ? opt_.idt : allocPool(0x800, 0x800);
        kernel_->ensureMapped(gdt, 0x400);
        kernel_->ensureMapped(idt, 0x800);
        setField(pcr, "_KPCR", "NtTib.ExceptionList", 0xffffffff);
        setField(pcr, "_KPCR", "SelfPcr", pcr);
        setField(pcr, "_KPCR", "Prcb", prcb);
        setField(pcr, "_KPCR", "IDR", 0xffffffff);
        setField(pcr, "_KPCR", "KdVersionBlock", kdbgAddress() - 0x28);
        setField(pcr, "_KPCR", "IDT", idt);
        setField(pcr, "_KPCR", "GDT", gdt);
        setField(pcr, "_KPCR", "MajorVersion", 1);
        setField(pcr, "_KPCR", "MinorVersion", 1);
        setField(pcr, "_KPCR", "SetMember", 1u << i);
        setField(pcr, "_KPCR", "Number", i);
        setField(prcb, "_KPRCB", "MinorVersion", 1);
        setField(prcb, "_KPRCB", "MajorVersion", 1);
        setField(prcb, "_KPRCB", "Number", i);
        setField(prcb, "_KPRCB", "SetMember", 1u << i);
        setField(prcb, "_KPRCB", "CpuType", 6);
        setField(prcb, "_KPRCB", "ProcessorState.SpecialRegisters.Cr0", 0x8001003b);
        setField(prcb, "_KPRCB", "ProcessorState.SpecialRegisters.Cr3", kernel_->dtb());
        setField(prcb, "_KPRCB", "ProcessorState.SpecialRegisters.Cr4", opt_.pae ? 0x6f9 : 0x6d9);
        setField(prcb, "_KPRCB", "ProcessorState.SpecialRegisters.Gdtr.Limit", 0x3ff);
        setField(prcb, "_KPRCB", "ProcessorState.SpecialRegisters.Gdtr.Base", gdt);
        setField(prcb, "_KPRCB", "ProcessorState.SpecialRegisters.Idtr.Limit", 0x7ff);
        setField(prcb, "_KPRCB", "ProcessorState.SpecialRegisters.Idtr.Base", idt);
        setField(prcb, "_KPRCB", "ProcessorState.SpecialRegisters.Tr", 0x28);
        writeU32(kiProcessorBlock() + 4 * i, static_cast<uint32_t>(prcb));
        // The flat segments of NT x86 (KGDT_R0_CODE 0x08 ... KGDT_R0_PCR 0x30).
        writeDescriptor(i, 0x08, 0, 0xfffff, 0x9b, 0xc0);
        writeDescriptor(i, 0x10, 0, 0xfffff, 0x93, 0xc0);
        writeDescriptor(i, 0x18, 0, 0xfffff, 0xfb, 0xc0);
        writeDescriptor(i, 0x20, 0, 0xfffff, 0xf3, 0xc0);
        writeDescriptor(i, 0x30, pcr, 1, 0x93, 0xc0);
        X86ThreadSpec idle;
        idle.state = 2;  // Running
        idle.priority = idle.basePriority = 0;
        uint64_t t = addThread(idleProcess_, idle);
        idleThreads_.push_back(t);
        setField(prcb, "_KPRCB", "IdleThread", t);
        setField(prcb, "_KPRCB", "CurrentThread", t);
        CpuContext ctx(Machine::X86);
        ctx.set(Reg::Rsp, threads_.at(t).stackBase - 0x300);
        ctx.set(Reg::Rip, kernelModule_.base + 0x1000);
        ctx.set(Reg::Cs, 0x8);
        ctx.set(Reg::Ss, 0x10);
        ctx.set(Reg::Ds, 0x23);
        ctx.set(Reg::Es, 0x23);
        ctx.set(Reg::Fs, 0x30);
        ctx.set(Reg::Eflags, 0x246);
        contexts_.push_back(ctx);
    }
    syncContexts();
}

void X86WorldBuilder::setCurrentThread(unsigned processor, uint64_t thread) {
    setField(kprcb(processor), "_KPRCB", "CurrentThread", thread);
    setField(thread, "_ETHREAD", "Tcb.NextProcessor", processor);
}

void X86WorldBuilder::setContext(const CpuContext& context, unsigned processor) {
    contexts_.at(processor) = context;
    syncContexts();
}

uint64_t X86WorldBuilder::addTss(uint16_t selector, uint64_t va, const X86TssState& s, bool busy) {
    const TypeLayout& L = *layout_;
    uint64_t size = L.sizeOf("_KTSS");
    kernel_->ensureMapped(va, size);
    auto set = [&](const char* path, uint64_t v) { setField(va, "_KTSS", path, v); };
    set("Backlink", s.backlink);
    set("Esp0", s.esp0);
    set("Ss0", s.ss0);
    set("CR3", s.cr3);
    set("Eip", s.eip);
    // EFLAGS..EDI: the hardware TSS fields NT's KTSS calls NotUsed2[0..8].
    const uint32_t regs[9] = {s.eflags, s.eax, s.ecx, s.edx, s.ebx, s.esp, s.ebp, s.esi, s.edi};
    for (unsigned k = 0; k < 9; ++k) kernel_->writeU32(va + 0x24 + 4 * k, regs[k]);
    set("Es", s.es);
    set("Cs", s.cs);
    set("Ss", s.ss);
    set("Ds", s.ds);
    set("Fs", s.fs);
    set("Gs", s.gs);
    set("LDT", s.ldt);
    set("Flags", s.flags);
    set("IoMapBase", s.ioMapBase);
    for (unsigned i = 0; i < kpcrs_.size(); ++i)
        writeDescriptor(i, selector, va, static_cast<uint32_t>(size - 1), busy ? 0x8b : 0x89, 0x00);
    return va;
}

void X86WorldBuilder::setCurrentTss(unsigned processor, uint64_t tssVa, uint16_t selector) {
    setField(kpcr(processor), "_KPCR", "TSS", tssVa);
    setField(kprcb(processor), "_KPRCB", "ProcessorState.SpecialRegisters.Tr", selector);
}

void X86WorldBuilder::setTaskGate(unsigned processor, unsigned vector, uint16_t selector) {
    uint64_t idt = getField(kpcr(processor), "_KPCR", "IDT");
    std::vector<uint8_t> e = {0, 0, static_cast<uint8_t>(selector), static_cast<uint8_t>(selector >> 8), 0, 0x85, 0, 0};
    write(idt + 8 * vector, e);
}

void X86WorldBuilder::setBugcheck(uint32_t code, std::array<uint64_t, 4> params) {
    bugCheckCode_ = code;
    bugCheckParams_ = params;
    uint64_t d = global(kBugcheckData);
    kernel_->writeU32(d, code);
    for (int i = 0; i < 4; ++i) kernel_->writeU32(d + 4 + 4 * i, static_cast<uint32_t>(params[i]));
}

void X86WorldBuilder::writeKdbg() {
    KdbgFields f;
    f.is64 = false;
    f.address = kdbgAddress();
    f.kernBase = kernelModule_.base;
    f.psLoadedModuleList = global(kLoadedModuleList);
    f.psActiveProcessHead = global(kActiveProcessHead);
    f.kiProcessorBlock = kiProcessorBlock();
    f.mmPfnDatabase = global(kPfnDatabase);
    f.ntBuildLab = global(kBuildLab);
    std::vector<uint8_t> b = makeKdbgBlock(f);
    // XP's block ends at 0x290: what lies past its Size is not the block's.
    uint32_t size = std::min<uint32_t>(opt_.kdbgSize, static_cast<uint32_t>(b.size()));
    std::memcpy(b.data() + 0x14, &size, 4);
    if (size < 0x2c0) std::fill(b.begin() + size, b.end(), 0);
    b.resize(std::max<uint32_t>(size, 0x290));
    if (size >= 0x308) {
        // The Server 2003+ offset fields, from the built-in layout.
        const TypeLayout& L = *layout_;
        auto p16 = [&](uint32_t off, uint64_t v) {
            uint16_t x = static_cast<uint16_t>(v);
            std::memcpy(b.data() + off, &x, 2);
        };
        p16(0x298, L.offsetOf("_KTHREAD", "NextProcessor"));
        p16(0x29a, L.offsetOf("_KTHREAD", "Teb"));
        p16(0x29c, L.offsetOf("_KTHREAD", "KernelStack"));
        p16(0x29e, L.offsetOf("_KTHREAD", "InitialStack"));
        p16(0x2a0, L.offsetOf("_KTHREAD", "ApcState.Process"));
        p16(0x2a2, L.offsetOf("_KTHREAD", "State"));
        p16(0x2a8, L.sizeOf("_EPROCESS"));
        p16(0x2aa, L.offsetOf("_EPROCESS", "Peb"));
        p16(0x2ac, L.offsetOf("_EPROCESS", "InheritedFromUniqueProcessId"));
        p16(0x2ae, L.offsetOf("_EPROCESS", "Pcb.DirectoryTableBase"));
        p16(0x2b0, L.sizeOf("_KPRCB"));
        p16(0x2b4, L.offsetOf("_KPRCB", "CurrentThread"));
        p16(0x2bc, L.offsetOf("_KPRCB", "ProcessorState.ContextFrame"));
        p16(0x2be, L.offsetOf("_KPRCB", "Number"));
        p16(0x2c0, L.sizeOf("_ETHREAD"));
        p16(0x2e2, L.offsetOf("_KPCR", "SelfPcr"));
        p16(0x2e4, L.offsetOf("_KPCR", "Prcb"));
        p16(0x2e6, L.offsetOf("_KPCR", "PrcbData"));
        p16(0x2f2, L.offsetOf("_KPRCB", "ProcessorState.SpecialRegisters"));
    }
    write(kdbgAddress(), b);
}

void X86WorldBuilder::syncContexts() {
    for (unsigned i = 0; i < contexts_.size(); ++i) {
        auto raw = contexts_[i].serialize();
        if (contexts_[i].contextFlags() == 0) {
            uint32_t full = 0x1001f;  // CONTEXT_i386 | CONTROL | INTEGER | SEGMENTS | FLOATING_POINT | DEBUG
            std::memcpy(raw.data(), &full, 4);
        }
        write(kprcb(i) + layout_->offsetOf("_KPRCB", "ProcessorState.ContextFrame"), raw);
    }
}

// ---- output ----------------------------------------------------------------------------------

HeaderInfo X86WorldBuilder::header() const {
    HeaderInfo h;
    h.is64 = false;
    h.paeEnabled = opt_.pae;
    h.machineImageType = 0x14c;
    h.majorVersion = 0xf;
    h.minorVersion = opt_.buildNumber;
    h.directoryTableBase = headerCr3_ ? *headerCr3_ : kernel_->dtb();
    h.pfnDataBase = 0x81000000;
    h.psLoadedModuleList = global(kLoadedModuleList);
    h.psActiveProcessHead = global(kActiveProcessHead);
    h.kdDebuggerDataBlock = kdbgAddress();
    h.numberProcessors = opt_.processors;
    h.bugCheckCode = bugCheckCode_;
    h.bugCheckParameters = bugCheckParams_;
    h.context = contexts_.at(0).serialize();
    if (contexts_.at(0).contextFlags() == 0) {
        uint32_t full = 0x1001f;
        std::memcpy(h.context.data(), &full, 4);
    }
    h.systemTime = 0x01ca0a4b0c3d8000ull;  // a FILETIME in 2009: an XP-era crash
    h.versionUser = {};
    return h;
}

TriageInfo X86WorldBuilder::triageInfo() const {
    const TypeLayout& L = *layout_;
    auto read = [&](uint64_t va, uint64_t size) { return kernel_->read(va, size); };
    TriageInfo t;
    t.servicePackBuild = 0x300;  // XP SP3 (CmNtCSDVersion)
    uint64_t prcb = kpcrs_.at(0) + L.offsetOf("_KPCR", "PrcbData");
    t.prcb = read(prcb, L.sizeOf("_KPRCB"));
    uint64_t thread = getField(prcb, "_KPRCB", "CurrentThread");
    uint64_t process = thread ? getField(thread, "_ETHREAD", "Tcb.ApcState.Process") : 0;
    if (thread) t.thread = read(thread, L.sizeOf("_ETHREAD"));
    if (process) t.process = read(process, L.sizeOf("_EPROCESS"));
    uint64_t esp = contexts_.at(0).get(Reg::Rsp);
    if (auto ti = threads_.find(thread); ti != threads_.end()) {
        uint64_t base = ti->second.stackBase, limit = base - ti->second.stackSize;
        if (esp >= limit && esp < base) {
            t.topOfStack = esp;
            t.callStack = read(esp, base - esp);
        }
    }
    for (const auto& m : modules_) {
        bool core = m.file == kernelModule_.file || m.file.rfind("hal", 0) == 0;
        TriageDriver d;
        d.name = std::string("\\SystemRoot\\system32\\") + (core ? "" : "drivers\\") + m.file;
        d.base = m.base, d.size = m.size, d.timestamp = m.timestamp, d.checksum = m.checksum;
        t.drivers.push_back(d);
    }
    uint32_t kdbgSize = static_cast<uint32_t>(std::max<uint32_t>(std::min<uint32_t>(opt_.kdbgSize, 0x340), 0x290));
    t.debuggerData = read(kdbgAddress(), kdbgSize);
    // nt's PE header, and nt's globals page (KiProcessorBlock: where the
    // PRCB copy goes; the list heads; NtBuildLab).
    t.dataBlocks.push_back({kernelModule_.base, read(kernelModule_.base, 0x1000)});
    uint64_t data = kernelModule_.base + opt_.kernelDataRva;
    t.dataBlocks.push_back({data, read(data, 0x1000)});
    for (auto [va, size] : extraBlocks_) t.dataBlocks.push_back({va, read(va, size)});
    return t;
}

std::vector<uint8_t> X86WorldBuilder::build(uint32_t dumpType) {
    syncContexts();
    DumpWriter w(phys_, header());
    if (dumpType == 4) w.setTriage(triageInfo());
    if (dumpType == 2 || dumpType == 6) {
        std::vector<uint64_t> user = userPfns_;
        w.setPageFilter([user](uint64_t pfn) { return std::find(user.begin(), user.end(), pfn) == user.end(); });
    }
    return w.write(dumpType);
}

void X86WorldBuilder::buildFile(const std::string& path, uint32_t dumpType) {
    syncContexts();
    DumpWriter w(phys_, header());
    if (dumpType == 4) w.setTriage(triageInfo());
    if (dumpType == 2 || dumpType == 6) {
        std::vector<uint64_t> user = userPfns_;
        w.setPageFilter([user](uint64_t pfn) { return std::find(user.begin(), user.end(), pfn) == user.end(); });
    }
    w.writeFile(path, dumpType);
}

}  // namespace nt::test::kdump
