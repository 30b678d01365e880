// x64 code with unwind data in a synthetic module, and call stacks laid out
// to match it. The stack walker under test finds each function's
// RUNTIME_FUNCTION in the module's .pdata (read from dump memory, as it does
// for kernel images), undoes the prolog that the UNWIND_INFO describes and
// pops the return address; so a stack written here is walked back exactly
// when the unwinder implements the ABI, and not otherwise.
//
// A function here is: pushes of non-volatile registers, then `sub rsp, n`
// (or, for a trap or system-call entry, a machine frame pushed by the
// processor before either). Its body is nops; each return site gets a real
// `call rel32` to the callee in front of it, so `ub` and call-site checks
// see what they would in a real image.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "support/kdump_builder/address_space.h"

namespace nt::test::kdump {

// The prolog as its unwind codes describe it.
struct X64Prolog {
    std::vector<uint8_t> pushes;  // unwind register numbers in push order (3 rbx, 5 rbp, 6 rsi, 7 rdi, 12..15 r12..r15)
    uint32_t alloc = 0x28;        // `sub rsp, alloc` (a multiple of 8)
    // The function is entered by the processor (interrupt/syscall stub):
    // [rip, cs, eflags, rsp, ss] are on the stack before the first push,
    // described by UWOP_PUSH_MACHFRAME.
    bool machineFrame = false;
    bool errorCode = false;  // ...with an error code below it (page fault, GP fault)
    // A leaf: no prolog, no unwind data (not in .pdata; a system-call stub,
    // memmove); its return address is at its Child-SP.
    bool leaf = false;
    // Bytes from the function's Child-SP to its return address (or to the
    // machine frame's rip slot).
    uint32_t frameBytes() const { return leaf ? 0 : alloc + 8 * static_cast<uint32_t>(pushes.size()); }
};

// `push` each of pushes, then `sub rsp, alloc`.
inline X64Prolog framedProlog(std::vector<uint8_t> pushes, uint32_t alloc) {
    X64Prolog p;
    p.pushes = std::move(pushes);
    p.alloc = alloc;
    return p;
}

struct X64Function {
    std::string name;     // for messages only (symbols come from the ISF / symbol files)
    uint64_t start = 0;   // virtual address
    uint32_t size = 0;
    X64Prolog prolog;
};

// The code of one module mapped in an address space.
class X64Image {
public:
    X64Image(AddressSpace& space, uint64_t base, uint32_t sizeOfImage);

    uint64_t base() const { return base_; }
    AddressSpace& space() const { return space_; }
    uint32_t sizeOfImage() const { return size_; }

    // A minimal PE32+ header at base (one executable section over the whole
    // image, a CodeView RSDS record naming pdbName with guid/age) for a
    // module that has none yet. guidHex: 32 hex digits as WinDbg prints them.
    void writeHeader(uint32_t timestamp, const std::string& pdbName, const std::string& guidHex, uint32_t age,
                     uint32_t checksum = 0);

    // Defines [start, start+size) as a function (prolog bytes, nop body).
    const X64Function& addFunction(const std::string& name, uint32_t rva, uint32_t size, const X64Prolog& prolog);
    // A deque: the references addFunction returns stay valid.
    const std::deque<X64Function>& functions() const { return functions_; }

    // Writes the RUNTIME_FUNCTION table and the UNWIND_INFO records at rva
    // (fresh pages, which must not be mapped yet) and points the header's
    // exception directory at the table. Call once, after the last addFunction.
    void writeUnwindData(uint32_t rva);
    // Bytes writeUnwindData needs for the functions defined so far.
    uint32_t unwindDataSize() const;

    // The image as a file (file offset = RVA, the header's layout): the
    // pages of the image that are mapped, zeros elsewhere. For tests that
    // put the image on the image path, as WinDbg finds ntoskrnl.exe in a
    // symbol store when a small dump lacks its pages.
    std::vector<uint8_t> fileBytes() const;

private:
    AddressSpace& space_;
    uint64_t base_;
    uint32_t size_;
    std::deque<X64Function> functions_;
};

// One frame of a stack to lay out: the frame executes at ip, inside fn.
// A frame at fn's first byte has run none of its prolog: its return
// address is at its Child-SP.
struct X64FrameSite {
    const X64Function* fn = nullptr;
    uint64_t ip = 0;
    // The frame's Child-SP when it follows a machine frame (the interrupted
    // code's rsp, anywhere); 0 = right above the previous frame.
    uint64_t childSp = 0;
};

// Where a machine frame returns to (the interrupted context).
struct X64MachineReturn {
    uint64_t rip = 0, rsp = 0;
    uint16_t cs = 0x33, ss = 0x2b;  // user mode
    uint32_t eflags = 0x246;
};

struct X64StackLayout {
    std::vector<uint64_t> childSp;     // per frame
    std::vector<uint64_t> machineFrames;  // address of each machine frame's rip slot, innermost first
    uint64_t machineFrame = 0;         // the last (outermost) one, 0: none
};

// Writes the frames upward from childSp: frame i's return address (the ip
// of frame i+1) where its prolog puts it, a `call` to frame i's function in
// front of each return site. A function with a machine frame instead gets
// [rip, cs, eflags, rsp, ss] of the next frame (kernel mode; frames[i+1]
// must say its childSp), or of `ret` when it is the last frame. Non-volatile
// registers the prologs push are stored as 0x1111111111111111 * reg.
X64StackLayout writeX64Stack(AddressSpace& space, uint64_t childSp, const std::vector<X64FrameSite>& frames,
                             const X64MachineReturn& ret = {});

}  // namespace nt::test::kdump
