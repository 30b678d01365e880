#include "breakpad/x86_frame_data.h"

namespace nt::breakpad {

X86FrameData toX86FrameData(const StackWinRecord& r) {
    X86FrameData d;
    // StackWinType has the same values as X86FrameData::Type (0..4); the
    // parser accepts no other.
    d.type = static_cast<X86FrameData::Type>(r.type);
    d.rva = static_cast<uint32_t>(r.rva);
    d.codeSize = r.codeSize;
    d.prologSize = r.prologSize;
    d.epilogSize = r.epilogSize;
    d.paramsSize = r.paramSize;
    d.savedRegsSize = r.savedRegisterSize;
    d.localsSize = r.localSize;
    d.maxStackSize = r.maxStackSize;
    if (r.hasProgramString) d.program = std::string(r.programString);
    else d.allocatesBasePointer = r.allocatesBasePointer;
    return d;
}

std::optional<X86FrameData> x86FrameDataAt(const SymFile& sym, uint64_t rva) {
    if (const StackWinRecord* r = sym.stackWinAt(rva)) return toX86FrameData(*r);
    return std::nullopt;
}

}  // namespace nt::breakpad
