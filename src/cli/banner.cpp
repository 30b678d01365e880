#include "cli/banner.h"

#include "base/format.h"
#include "commands/exception_text.h"
#include "commands/kernel_views.h"

namespace nt {

std::string openingBanner(Engine& engine, const std::string& path) {
    const Target& t = engine.target();
    std::string s = "Loading Dump File [" + path + "]\n";
    if (t.isKernel()) {
        const KernelInfo& k = *t.kernel;
        s += k.dumpTypeText + "\n\n";
        s += engine.execute("vertarget").text;
        for (const auto& note : k.notes) s += "*** " + note + "\n";
        if (auto w = kernelDirBaseWarning(engine)) s += *w + "\n";
        s += "\n" + bugcheckLine(t) + "\n";
        return s;
    }
    if (t.dumpKind == "minidump with full memory") s += "User Mini Dump File with Full Memory: Only application data is available\n";
    else if (t.dumpKind.rfind("minidump", 0) == 0) s += "User Mini Dump File: Only registers, stack and portions of memory are available\n";
    else s += "User Dump File: Only application data is available\n";
    s += "\n";
    Output v = engine.execute("vertarget");
    s += v.text;
    if (t.exception) {
        const auto& x = *t.exception;
        s += "\nThis dump file has an exception of interest stored in it.\n";
        s += "The stored exception information can be accessed via .ecxr.\n";
        s += "(" + hex(t.misc.processId.value_or(0)) + "." + hex(x.threadId) + "): " + exceptionName(x.code) + " - code " +
             hexPad(x.code, 8) + " (first/second chance not available)\n";
    }
    if (engine.isWow64()) s += "WoW64 process: .effmach x86 (or !wow64exts.sw) shows the 32-bit view.\n";
    return s;
}

}  // namespace nt
