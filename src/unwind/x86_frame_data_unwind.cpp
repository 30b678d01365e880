// x86 frame data unwinding: FrameData / STACK WIN 4 program strings, FPO
// records (STACK WIN 0) through the programs Breakpad synthesizes for them,
// and non-FPO records (type 3) by the EBP chain.
//
// Program strings are evaluated as Breakpad's StackwalkerX86 and DIA do:
// the callee's registers are the inputs ($eip is not: a program must assign
// it), .cbLocals / .cbSavedRegs / .cbParams come from the record,
// .cbCalleeParams from the callee frame's record (its arguments are still on
// this frame's stack: every frame's esp is the value just before the call),
// and .raSearch / .raSearchStart name the stack slot holding the return
// address: esp + callee params + locals + saved registers, or ebp + 4 when
// the program aligns the stack ('@': esp then says nothing about the frame),
// moved up by at most kRaSearchSlackWords to the first word that looks like
// a return address (Breakpad scans three words there for a realigned stack).
//
// MSVC writes callee-saved registers in FrameData programs by CodeView
// register number ("$20 $T0 16 - ^ =" restores ebx; cvinfo.h: CV_REG_EAX 17,
// ECX 18, EDX 19, EBX 20, ESP 21, EBP 22, ESI 23, EDI 24; crash.pdb and
// crash.sym both have them). Breakpad assigns them as unused variables; we
// restore the registers they name.
#include "unwind/x86_frame_data_unwind.h"

#include <algorithm>
#include <array>

#include "breakpad/program_string.h"

namespace nt::unwind {

namespace {

constexpr unsigned kRaSearchSlackWords = 3;
constexpr unsigned kMaxPrologSearchWords = 1024;

struct ProgramRegister {
    const char* name;
    const char* codeViewName;
    Reg reg;
    bool calleeSaved;
};
constexpr std::array<ProgramRegister, 8> kRegisters{{
    {"$eax", "$17", Reg::Rax, false},
    {"$ecx", "$18", Reg::Rcx, false},
    {"$edx", "$19", Reg::Rdx, false},
    {"$ebx", "$20", Reg::Rbx, true},
    {"$esp", "$21", Reg::Rsp, false},
    {"$ebp", "$22", Reg::Rbp, true},
    {"$esi", "$23", Reg::Rsi, true},
    {"$edi", "$24", Reg::Rdi, true},
}};

bool inStack(const WalkOptions& o, uint64_t a) {
    if (o.stackBase == 0) return true;
    return a >= o.stackLimit && a <= o.stackBase;
}

// In a module's code, and right after a call when the code bytes are known.
bool plausibleReturn(WalkEnv& env, uint64_t ret) {
    if (!inModuleCode(env, ret)) return false;
    uint8_t b[8];
    if (ret >= 8 && readCode(env, ret - 8, b) == sizeof b) return precededByCall(env, Machine::X86, ret);
    return true;
}

// The first of `words` stack slots from `start` holding a plausible return
// address; `start` itself when none does (the program's result is then
// validated like any other). A context frame stopped in an FPO system-call
// stub right after its callee returned still has that callee's return
// address (= eip) on top: skipped, as Breakpad does.
uint64_t searchReturnAddress(WalkEnv& env, uint64_t start, unsigned words, uint64_t eip, bool firstFrame) {
    const Memory& mem = env.target.memory();
    for (unsigned k = 0; k <= words; ++k) {
        uint64_t a = (start + 4ull * k) & 0xffffffff;
        if (!inStack(env.opts, a)) break;
        auto v = mem.readValue<uint32_t>(a);
        if (!v) break;
        if (firstFrame && k == 0 && *v == eip) continue;
        if (plausibleReturn(env, *v)) return a;
    }
    return start;
}

std::optional<Step> standardFrame(WalkEnv& env, const CpuContext& ctx, const X86FrameData& data) {
    const Memory& mem = env.target.memory();
    uint64_t esp = ctx.sp() & 0xffffffff, ebp = ctx.fp() & 0xffffffff;
    if (ebp < esp || !inStack(env.opts, ebp)) return std::nullopt;
    auto saved = mem.readValue<uint32_t>(ebp);
    auto ret = mem.readValue<uint32_t>(ebp + 4);
    if (!saved || !ret || (*ret != 0 && !plausibleReturn(env, *ret))) return std::nullopt;
    Step s;
    s.caller = ctx;
    // The caller may itself be an FPO function using ebp as a general
    // register, so the restored value is not required to grow.
    s.caller.set(Reg::Rbp, *saved);
    s.caller.setIp(*ret);
    s.caller.setSp(ebp + 8);
    s.trust = FrameTrust::FramePointer;
    s.frameData = data;
    return s;
}

}  // namespace

std::string fpoProgram(const X86FrameData& data) {
    std::string p = "$eip .raSearchStart ^ = ";
    // Breakpad reads the caller's ebp 8 bytes below the top of the saved
    // register area ("$ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ =");
    // with a single saved register it can only be that one.
    if (data.allocatesBasePointer && data.savedRegsSize >= 8)
        p += "$ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = ";
    else if (data.allocatesBasePointer && data.savedRegsSize == 4)
        p += "$ebp $esp .cbCalleeParams + ^ = ";
    p += "$esp .raSearchStart 4 + =";
    return p;
}

std::optional<Step> stepX86FrameData(WalkEnv& env, const CpuContext& ctx, bool firstFrame, const X86FrameData& data,
                                     uint64_t moduleBase) {
    using Type = X86FrameData::Type;
    const uint64_t eip = ctx.ip() & 0xffffffff, esp = ctx.sp() & 0xffffffff, ebp = ctx.fp() & 0xffffffff;
    const uint64_t start = (moduleBase + data.rva) & 0xffffffff;
    const bool inProlog = eip >= start && eip - start < data.prologSize;

    if (data.program.empty()) {
        if (data.type == Type::Trap || data.type == Type::Tss) return std::nullopt;  // needs the trap frame / TSS
        if (data.type == Type::Standard) {
            // Before `push ebp; mov ebp, esp` ebp is still the caller's: the
            // frame-0 prolog heuristics know better.
            if (firstFrame && inProlog) return std::nullopt;
            return standardFrame(env, ctx, data);
        }
    }

    // FPO records carry no program; neither does a FrameData record whose
    // string the /names table did not have: both get Breakpad's FPO program.
    const std::string program = data.program.empty() ? fpoProgram(data) : data.program;
    const bool usesRaSearch = program.find(".raSearch") != std::string::npos;
    // An ebp-based program ("$T0 $ebp = ...") in frame 0 before the prolog
    // has set up ebp would read the caller's frame: leave it to the prolog
    // heuristics.
    if (firstFrame && inProlog && !usesRaSearch) return std::nullopt;

    breakpad::ProgramVariables vars;
    for (const ProgramRegister& r : kRegisters) vars.set(r.name, ctx.get(r.reg) & 0xffffffff);
    vars.set(".cbCalleeParams", env.x86CalleeParamsSize);
    vars.set(".cbSavedRegs", data.savedRegsSize);
    vars.set(".cbLocals", data.localsSize);
    vars.set(".cbParams", data.paramsSize);

    if (usesRaSearch) {
        uint64_t raStart = (esp + env.x86CalleeParamsSize + uint64_t(data.localsSize) + data.savedRegsSize) & 0xffffffff;
        unsigned words = kRaSearchSlackWords;
        if (program.find('@') != std::string::npos) {
            raStart = (ebp + 4) & 0xffffffff;
        } else if (firstFrame && inProlog && data.program.empty()) {
            // An FPO function's prolog has not yet allocated all of its
            // locals and saved registers: search the whole area from esp.
            raStart = esp;
            uint64_t area = (uint64_t(data.localsSize) + data.savedRegsSize) / 4;
            words = static_cast<unsigned>(std::min<uint64_t>(area + kRaSearchSlackWords, kMaxPrologSearchWords));
        }
        uint64_t ra = searchReturnAddress(env, raStart, words, eip, firstFrame);
        vars.set(".raSearchStart", ra);
        vars.set(".raSearch", ra);
    }

    const Memory& mem = env.target.memory();
    breakpad::ProgramMemoryRead read = [&mem](uint64_t addr, unsigned size) -> std::optional<uint64_t> {
        if (size != 4) return std::nullopt;
        auto v = mem.readValue<uint32_t>(addr & 0xffffffff);
        if (!v) return std::nullopt;
        return *v;
    };
    if (breakpad::evaluateProgram(program, vars, read, breakpad::ProgramWidth::k32)) return std::nullopt;

    auto newEip = vars.get("$eip");
    auto newEsp = vars.get("$esp");
    if (!newEip || !newEsp) return std::nullopt;
    Step s;
    s.caller = ctx;
    for (const ProgramRegister& r : kRegisters) {
        if (!r.calleeSaved) continue;
        if (auto v = vars.get(r.codeViewName)) s.caller.set(r.reg, *v);
        else if (auto w = vars.get(r.name)) s.caller.set(r.reg, *w);
    }
    s.caller.setIp(*newEip);
    s.caller.setSp(*newEsp);

    // Validation: the caller's frame is above this one, inside the stack, and
    // its eip is a return address (or 0 with ebp 0: the end of the stack).
    if (*newEsp <= esp || !inStack(env.opts, *newEsp)) return std::nullopt;
    if (*newEip == 0) {
        if ((s.caller.fp() & 0xffffffff) != 0) return std::nullopt;
    } else if (!plausibleReturn(env, *newEip)) {
        return std::nullopt;
    }
    s.trust = FrameTrust::UnwindInfo;
    s.frameData = data;
    return s;
}

}  // namespace nt::unwind
