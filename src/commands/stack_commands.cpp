// The k family: k, kb, kv, kn, kc, kp, kd with a frame count ("k 3", "kL 5").
#include <cctype>
#include <cstdio>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"
#include "commands/kernel_process_commands.h"
#include "unwind/frame_annotation.h"

namespace nt {

namespace {

struct KOptions {
    bool args = false;      // kb / kv
    bool callSiteOnly = false;  // kc
    bool rawStack = false;  // kd
    bool params = false;    // kp (types need private symbols; same as k without them)
    bool noLines = false;   // kL: no source lines
    bool fpo = false;       // kv: frame-data annotations
    unsigned count = 0;     // 0 = default
};

KOptions parseK(std::string_view args) {
    KOptions o;
    size_t i = 0;
    // Option letters come right after "k": b v n c p d L f P
    while (i < args.size() && std::isalpha(static_cast<unsigned char>(args[i]))) {
        char c = args[i];
        if (c == 'b') o.args = true;
        else if (c == 'v') o.args = o.fpo = true;
        else if (c == 'c') o.callSiteOnly = true;
        else if (c == 'd') o.rawStack = true;
        else if (c == 'p' || c == 'P') o.params = true;
        else if (c == 'n' || c == 'L' || c == 'f' || c == 'M') {
            // n: frame numbers (always shown by modern WinDbg); L: no source
            // lines; f: frame sizes (not yet); M: DML. "kL 5"/"k L5" is a count.
            if (c == 'L' && i + 1 < args.size() && std::isxdigit(static_cast<unsigned char>(args[i + 1]))) break;
            if (c == 'L') o.noLines = true;
        } else {
            throw UsageError("Syntax error in 'k" + std::string(args) + "'");
        }
        ++i;
    }
    std::string rest(args.substr(i));
    size_t p = 0;
    while (p < rest.size() && rest[p] == ' ') ++p;
    if (p < rest.size() && (rest[p] == 'L' || rest[p] == 'l')) ++p;  // "L 5" / "L5"
    while (p < rest.size() && rest[p] == ' ') ++p;
    if (p < rest.size()) {
        std::string num = rest.substr(p);
        int base = 16;
        if (num.rfind("0n", 0) == 0) { base = 10; num = num.substr(2); }
        else if (num.rfind("0x", 0) == 0) num = num.substr(2);
        char* end = nullptr;
        unsigned long v = std::strtoul(num.c_str(), &end, base);
        if (end == num.c_str() || *end != '\0') throw UsageError("Syntax error in 'k" + std::string(args) + "'");
        o.count = static_cast<unsigned>(std::min<unsigned long>(v, 0xffff));
    }
    return o;
}

std::string frameNumber(size_t i) { return hexPad(i, 2); }

void cmdK(Engine& e, std::string_view args, Output& out) {
    KOptions o = parseK(args);
    auto ctx = e.currentContext();
    if (!ctx) {
        out.line("Unable to get current thread context");
        out.error = true;
        out.json = {{"error", "no register context for this thread"}};
        return;
    }
    const StackWalk& sw = e.currentStack();
    if (o.rawStack) {
        Output d = e.execute("dps " + hex(ctx->sp()));
        out.text += d.text;
        out.json = d.json;
        return;
    }
    bool w = e.is64();
    size_t n = sw.frames.size();
    if (o.count) n = std::min<size_t>(n, o.count);
    if (e.hasScopeContext()) out.line("  *** Stack trace for last set context - .thread/.cxr resets it");
    if (!sw.warning.empty()) out.line("WARNING: " + sw.warning);

    if (o.callSiteOnly) out.line(" # Call Site");
    else if (w && o.args)
        out.line(" # Child-SP          RetAddr               : Args to Child                                                           : Call Site");
    else if (w)
        out.line(" # Child-SP          RetAddr               Call Site");
    else if (o.args)
        out.line(" # ChildEBP RetAddr      Args to Child              ");
    else
        out.line(" # ChildEBP RetAddr      ");

    nlohmann::json frames = nlohmann::json::array();
    size_t number = 0;  // inline frames take numbers too
    for (size_t i = 0; i < n; ++i) {
        const StackFrame& f = sw.frames[i];
        uint64_t ret = f.returnAddress;
        if (i + 1 < sw.frames.size()) ret = sw.frames[i + 1].ip;
        // A caller's ip is a return address: its source line and inline
        // context are those of the call, one byte before.
        bool fromReturn = i > 0 && f.trust != FrameTrust::Context && !sw.frames[i - 1].isMachineFrame;
        uint64_t lookupAt = fromReturn ? f.ip - 1 : f.ip;
        // Inline frames (innermost first) come before the physical frame. Each
        // row's source line is where that function is at this address: the
        // innermost one's own line, then each caller's line of the inlined call.
        auto inlines = e.symbols().inlinesAt(lookupAt);
        std::optional<Symbolizer::Line> physicalLine;
        if (!inlines.empty()) physicalLine = Symbolizer::Line{inlines.back().callFile, inlines.back().callLine, 0};
        for (size_t k = 0; k < inlines.size(); ++k) {
            const ProviderInline& inl = inlines[k];
            const Module* mod = e.target().moduleAt(f.ip);
            std::string site = mod ? mod->name + "!" + inl.name : inl.name;
            std::string row = frameNumber(number++) + " ";
            if (o.callSiteOnly) row += site;
            else if (w) row += std::string("(Inline Function) --------`--------     ") + (o.args ? ": (Inline Function) : " : "") + site;
            else row += std::string("(Inline) --------     ") + (o.args ? "-------- -------- -------- " : "") + site;
            std::string file = inl.file;
            uint32_t lineNo = inl.line;
            if (k > 0) file = inlines[k - 1].callFile, lineNo = inlines[k - 1].callLine;
            else if (lineNo == 0)
                if (auto l = e.symbols().lineAt(lookupAt)) file = l->file, lineNo = l->line;
            if (!o.noLines && !o.callSiteOnly && lineNo) row += " [" + file + " @ " + std::to_string(lineNo) + "]";
            out.line(row);
            frames.push_back({{"index", number - 1}, {"inline", true}, {"call_site", site}, {"instruction_pointer", f.ip}});
        }
        std::string site = e.symbols().formatOrAddress(f.ip);
        std::optional<Symbolizer::Line> src;
        if (!o.noLines && !o.callSiteOnly) src = physicalLine && physicalLine->line ? physicalLine : e.symbols().lineAt(lookupAt);
        std::string line = frameNumber(number++) + " ";
        if (o.callSiteOnly) {
            // kc drops the offset when a function name is known.
            std::string s = site;
            auto bang = s.find('!');
            auto plus = s.rfind("+0x");
            if (bang != std::string::npos && plus != std::string::npos && plus > bang) s = s.substr(0, plus);
            line += s;
        } else if (w) {
            line += addrTick(f.sp, true) + " " + addrTick(ret, true) + "     ";
            if (o.args) {
                line += ": ";
                for (unsigned a = 0; a < 4; ++a)
                    line += ((f.argsPresent >> a) & 1 ? addrTick(f.args[a], true) : std::string("????????`????????")) + " ";
                line += ": ";
            }
            line += site;
        } else {
            line += hexPad(f.fp & 0xffffffff, 8) + " " + hexPad(ret & 0xffffffff, 8) + "     ";
            if (o.args) {
                // x86 kb shows the first three of the dwords above the return address.
                for (unsigned a = 0; a < 3; ++a)
                    line += ((f.argsPresent >> a) & 1 ? hexPad(f.args[a] & 0xffffffff, 8) : std::string("????????")) + " ";
            }
            line += site;
        }
        // kv on x86: how the frame was unwound, "(FPO: [Non-Fpo])", before the
        // source; on x64 kernel stacks the trap frame a machine frame sat in.
        std::string fpo = o.fpo && !w ? fpoAnnotation(f) : std::string();
        if (o.fpo && w && f.isMachineFrame && e.target().isKernel())
            fpo = x64TrapFrameAnnotation(f, kernelObjects(e, "kv").trapFrameRipOffset());
        if (!fpo.empty()) line += " " + fpo;
        if (src) line += " [" + src->file + " @ " + std::to_string(src->line) + "]";
        out.line(line);
        frames.push_back({{"index", number - 1},
                          {"instruction_pointer", f.ip},
                          {"stack_pointer", f.sp},
                          {"frame_pointer", f.fp},
                          {"return_address", ret},
                          {"call_site", site},
                          {"trust", std::string(frameTrustName(f.trust))}});
        if (src) frames.back()["source"] = {{"file", src->file}, {"line", src->line}};
        if (!fpo.empty()) frames.back()["fpo"] = fpo;
    }
    out.json = {{"thread", e.currentThread()}, {"frames", frames}, {"warning", sw.warning},
                {"scope_context", e.hasScopeContext()}};
}

}  // namespace

void registerStackCommands(Engine& e) {
    e.registerCommand({"k", "stack backtrace: k kb kv kn kc kp kd [count]", cmdK});
}

}  // namespace nt
