// libFuzzer target: a Breakpad .sym file from arbitrary bytes. Parses it,
// runs every kind of lookup around the records it found, and evaluates
// program strings: the first STACK WIN programs of the file, every CFI rule
// found, and the input's last line as a program on its own (so the evaluator
// is exercised even when the input is not a symbol file). The fake memory
// answers from the input bytes. Anything but a clean return is a bug.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/error.h"
#include "breakpad/program_string.h"
#include "breakpad/sym_file.h"
#include "breakpad/x86_frame_data.h"

namespace {

using namespace nt::breakpad;

size_t sink = 0;

void lookups(const SymFile& s, uint64_t rva) {
    for (uint64_t a : {rva, rva - 1, rva + 1}) {
        if (auto f = s.functionAt(a)) sink += f->name.size() + f->address;
        if (auto l = s.lineAt(a)) sink += l->line + l->file.size();
        for (const auto& fr : s.inlineFramesAt(a)) sink += fr.name.size() + fr.callSiteLine;
        if (const auto* w = s.stackWinAt(a)) sink += w->programString.size() + w->codeSize;
        if (auto x = x86FrameDataAt(s, a)) sink += x->program.size() + x->localsSize;
        for (const auto& r : s.cfiAt(a)) sink += r.reg.size() + r.expression.size();
    }
}

ProgramVariables registers() {
    ProgramVariables v;
    for (const char* r : {"$eip", "$esp", "$ebp", "$ebx", "$esi", "$edi", "$rsp", "$rip", ".cfa"})
        v.set(r, 0x1000);
    for (const char* c : {".cbSavedRegs", ".cbParams", ".cbLocals", ".raSearchStart", ".raSearch",
                          ".cbCalleeParams"})
        v.set(c, 8);
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ProgramMemoryRead read = [data, size](uint64_t addr, unsigned width) -> std::optional<uint64_t> {
        uint64_t off = addr & 0xffff;
        if (width > 8 || off > size || size - off < width) return std::nullopt;
        uint64_t v = 0;
        std::memcpy(&v, data + off, width);
        return v;
    };

    try {
        SymFile s = SymFile::parse(nt::Bytes(data, size));
        const auto& funcs = s.functions();
        for (size_t i = 0; i < funcs.size() && i < 32; ++i) {
            lookups(s, funcs[i].address);
            lookups(s, funcs[i].address + funcs[i].size);
        }
        const auto& pubs = s.publics();
        for (size_t i = 0; i < pubs.size() && i < 32; ++i) lookups(s, pubs[i].address);
        const auto& cfi = s.cfiInits();
        for (size_t i = 0; i < cfi.size() && i < 16; ++i) {
            lookups(s, cfi[i].address);
            for (const auto& r : s.cfiAt(cfi[i].address)) {
                auto res = evaluateExpression(r.expression, registers(), read, ProgramWidth::k64);
                sink += res.value.value_or(0);
            }
        }
        lookups(s, 0);
        lookups(s, UINT64_MAX);
        for (size_t i = 0; i < funcs.size() && i < 8; ++i) {
            const StackWinRecord* w = s.stackWinAt(funcs[i].address);
            if (!w || !w->hasProgramString) continue;
            ProgramVariables v = registers();
            if (auto err = evaluateProgram(w->programString, v, read)) sink += err->message.size();
            sink += v.size();
        }
        sink += s.stats().skipped + s.fileName(1).size() + s.inlineOriginName(0).size();
    } catch (const nt::FormatError&) {
        // Not a symbol file: a clean, expected outcome.
    }

    std::string_view text(reinterpret_cast<const char*>(data), size);
    size_t nl = text.rfind('\n', text.empty() ? 0 : text.size() - 1);
    std::string_view last = nl == std::string_view::npos ? text : text.substr(nl + 1);
    ProgramVariables v = registers();
    if (auto err = evaluateProgram(last, v, read)) sink += err->message.size() + err->tokenIndex;
    auto expr = evaluateExpression(last, registers(), read, ProgramWidth::k64);
    sink += expr.value.value_or(0);

    volatile size_t keep = sink;
    (void)keep;
    return 0;
}
