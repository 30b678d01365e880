// x86 frame data: how to find a function's caller without a frame chain.
// One normalized record for the three sources that carry it: a PDB's FPO
// stream (FPO_DATA), a PDB's FrameData stream (program strings), and
// Breakpad's STACK WIN lines (which are a text dump of those two).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace nt {

struct X86FrameData {
    // The STACK WIN / FrameData frame types.
    enum class Type : uint8_t { Fpo = 0, Trap = 1, Tss = 2, Standard = 3, FrameData = 4 };
    Type type = Type::Fpo;
    uint32_t rva = 0;             // start of the code range the record covers (module-relative)
    uint32_t codeSize = 0;
    uint32_t prologSize = 0;
    uint32_t epilogSize = 0;
    uint32_t paramsSize = 0;      // bytes of parameters
    uint32_t savedRegsSize = 0;   // bytes of saved registers
    uint32_t localsSize = 0;      // bytes of locals
    uint32_t maxStackSize = 0;
    bool allocatesBasePointer = false;  // FPO fUseBP (no program string)
    bool hasSeh = false;
    std::string program;          // FrameData / STACK WIN 4 program string; empty otherwise
};

// Where the x86 unwinder asks for frame data: the symbol layer implements
// this over every module's PDB or Breakpad file.
class X86FrameDataSource {
public:
    struct Hit {
        X86FrameData data;
        uint64_t moduleBase = 0;
    };
    virtual ~X86FrameDataSource() = default;
    // The record covering an absolute address, if any module's symbols have one.
    virtual std::optional<Hit> x86FrameDataAt(uint64_t address) = 0;
};

}  // namespace nt
