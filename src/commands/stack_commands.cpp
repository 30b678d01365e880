// The k family: k, kb, kv, kn, kc, kp, kd with a frame count ("k 3", "kL 5").
#include <cctype>
#include <cstdio>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"

namespace nt {

namespace {

struct KOptions {
    bool args = false;      // kb / kv
    bool callSiteOnly = false;  // kc
    bool rawStack = false;  // kd
    bool params = false;    // kp (types need private symbols; same as k without them)
    unsigned count = 0;     // 0 = default
};

KOptions parseK(std::string_view args) {
    KOptions o;
    size_t i = 0;
    // Option letters come right after "k": b v n c p d L f P
    while (i < args.size() && std::isalpha(static_cast<unsigned char>(args[i]))) {
        char c = args[i];
        if (c == 'b') o.args = true;
        else if (c == 'v') o.args = true;  // FPO/trap annotations come with PDB frame data
        else if (c == 'c') o.callSiteOnly = true;
        else if (c == 'd') o.rawStack = true;
        else if (c == 'p' || c == 'P') o.params = true;
        else if (c == 'n' || c == 'L' || c == 'f' || c == 'M') {
            // n: frame numbers (always shown by modern WinDbg); L: no source lines
            // (which issue 3 adds); f: frame sizes (not yet); M: DML.
            if (c == 'L' && i + 1 < args.size() && std::isxdigit(static_cast<unsigned char>(args[i + 1]))) break;
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
    for (size_t i = 0; i < n; ++i) {
        const StackFrame& f = sw.frames[i];
        uint64_t ret = f.returnAddress;
        if (i + 1 < sw.frames.size()) ret = sw.frames[i + 1].ip;
        std::string site = e.symbols().formatOrAddress(f.ip);
        std::string line = frameNumber(i) + " ";
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
        out.line(line);
        frames.push_back({{"index", i},
                          {"instruction_pointer", f.ip},
                          {"stack_pointer", f.sp},
                          {"frame_pointer", f.fp},
                          {"return_address", ret},
                          {"call_site", site},
                          {"trust", std::string(frameTrustName(f.trust))}});
    }
    out.json = {{"thread", e.currentThread()}, {"frames", frames}, {"warning", sw.warning},
                {"scope_context", e.hasScopeContext()}};
}

}  // namespace

void registerStackCommands(Engine& e) {
    e.registerCommand({"k", "stack backtrace: k kb kv kn kc kp kd [count]", cmdK});
}

}  // namespace nt
