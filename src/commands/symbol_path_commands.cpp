// Where symbols come from: .sympath[+], .symfix[+], .reload [/f] [module],
// !sym noisy|quiet. The grammar of the path is symsrv::SymbolPath's.
#include <sys/stat.h>

#include "base/error.h"
#include "commands/engine.h"
#include "commands/kernel_process_commands.h"

namespace nt {
namespace {

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool isDirectory(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// What .sympath prints after showing or changing the path: the path, its
// expansion, and WinDbg's validation summary (servers are "Deferred": they
// are contacted only when a symbol is needed).
void showPath(Engine& e, Output& out, bool validate) {
    const std::string& text = e.symbols().symbolPathText();
    auto parsed = symsrv::SymbolPath::parse(text);
    std::string expanded = parsed.elements.empty() ? std::string() : parsed.text();
    out.line("Symbol search path is: " + (text.empty() ? std::string("<empty>") : text));
    out.line("Expanded Symbol search path is: " + (expanded.empty() ? std::string("<empty>") : expanded));
    nlohmann::json elems = nlohmann::json::array();
    if (validate && !parsed.elements.empty()) {
        out.line("");
        out.line("************* Path validation summary **************");
        out.line("Response                         Time (ms)     Location");
        for (const auto& el : parsed.elements) {
            symsrv::SymbolPath one;
            one.elements.push_back(el);
            std::string where = one.text();
            std::string response = "Deferred";
            if (el.kind == symsrv::PathElement::Kind::Directory) response = isDirectory(el.directory) ? "OK" : "Error";
            std::string line = response;
            line.resize(std::max<size_t>(line.size() + 1, 47), ' ');
            out.line(line + where);
            elems.push_back({{"location", where}, {"response", response}});
        }
    }
    out.json = {{"symbol_path", text}, {"expanded", expanded}, {"elements", elems}};
}

void setPath(Engine& e, std::string path) {
    e.symbols().setSymbolPath(path);
    e.invalidateStacks();
}

void cmdSympath(Engine& e, std::string_view args, Output& out) {
    args = trimmed(args);
    if (!args.empty() && args.front() == '+') {
        std::string add(trimmed(args.substr(1)));
        std::string cur = e.symbols().symbolPathText();
        if (!add.empty()) setPath(e, cur.empty() ? add : cur + ";" + add);
        showPath(e, out, true);
        return;
    }
    if (!args.empty()) setPath(e, std::string(args));
    showPath(e, out, !args.empty());
}

// .exepath [+] [dir;dir...]: where module images (with their .pdata for
// x64 unwinding) are searched when the dump lacks them; each directory is
// searched flat and in symbol-store layout (name/TIMESTAMPSIZE/name).
void cmdExepath(Engine& e, std::string_view args, Output& out) {
    args = trimmed(args);
    auto join = [](const std::vector<std::string>& dirs) {
        std::string t;
        for (const auto& d : dirs) t += (t.empty() ? "" : ";") + d;
        return t;
    };
    if (!args.empty()) {
        bool add = args.front() == '+';
        if (add) args = trimmed(args.substr(1));
        std::vector<std::string> dirs = add ? e.images().imagePath() : std::vector<std::string>{};
        size_t at = 0;
        while (at <= args.size()) {
            size_t semi = args.find(';', at);
            if (semi == std::string_view::npos) semi = args.size();
            std::string_view d = trimmed(args.substr(at, semi - at));
            if (!d.empty()) dirs.emplace_back(d);
            at = semi + 1;
        }
        e.images().setImagePath(std::move(dirs));
        e.invalidateStacks();
    }
    std::string text = join(e.images().imagePath());
    out.line("Executable image search path is: " + text);
    out.json = {{"image_path", e.images().imagePath()}};
}

void cmdSymfix(Engine& e, std::string_view args, Output& out) {
    args = trimmed(args);
    bool append = false;
    if (!args.empty() && args.front() == '+') {
        append = true;
        args = trimmed(args.substr(1));
    }
    std::string element = args.empty() ? std::string("srv*")
                                        : "srv*" + std::string(args) + "*" + e.symbols().locatorOptions().defaultStore;
    std::string cur = e.symbols().symbolPathText();
    setPath(e, append && !cur.empty() ? cur + ";" + element : element);
    out.json = {{"symbol_path", e.symbols().symbolPathText()}};
}

void cmdReload(Engine& e, std::string_view args, Output& out) {
    args = trimmed(args);
    bool force = false, user = false;
    std::string module;
    while (!args.empty()) {
        size_t sp = args.find_first_of(" \t");
        std::string_view word = args.substr(0, sp);
        args = sp == std::string_view::npos ? std::string_view() : trimmed(args.substr(sp));
        if (word == "/f" || word == "/F") force = true;
        else if (word == "/user" && e.target().isKernel()) user = true;
        else if (word.size() > 1 && word[0] == '/') continue;  // /u /s /n ...: nothing to unload in a dump
        else module = std::string(word);
    }
    e.invalidateStacks();
    if (user) {
        // Kernel dump: the implicit process's DLLs (its PEB's loader list).
        auto p = implicitProcess(e);
        if (!p) throw UsageError("Unable to get the current process");
        reloadUserModules(e, *p, out);
        return;
    }
    nlohmann::json mods = nlohmann::json::array();
    if (!module.empty()) {
        // "ntdll.dll" or "ntdll": WinDbg accepts the image name or the module name.
        const Module* m = e.target().moduleByName(module);
        if (!m)
            for (const Module& c : e.target().modules)
                if (c.fileName().size() == module.size() && wildcardMatch(module, c.fileName())) m = &c;
        if (!m) throw UsageError("\"" + module + "\" was not found in the image list.\nDebugger will attempt to load \"" +
                                 module + "\" at given base 00000000`00000000.");
        e.symbols().reload(m, force);
        mods.push_back({{"module", m->name}, {"symbols", std::string(symbolStateText(e.symbols().state(*m)))}});
    } else {
        out.line("Reloading current modules");
        e.symbols().reload(nullptr, force);
        out.line(std::string(e.target().modules.size(), '.'));
        for (const Module& m : e.target().modules)
            mods.push_back({{"module", m.name}, {"symbols", std::string(symbolStateText(e.symbols().state(m)))}});
    }
    out.json = {{"forced", force}, {"modules", mods}};
}

void cmdSym(Engine& e, std::string_view args, Output& out) {
    args = trimmed(args);
    if (args == "noisy") {
        e.symbols().setNoisy(true);
        out.line("noisy mode - symbol prompts on");
    } else if (args == "quiet") {
        e.symbols().setNoisy(false);
        out.line("quiet mode - symbol prompts on");
    } else if (args.empty()) {
        out.line(e.symbols().noisy() ? "!sym <noisy/quiet - prompts/prompts off> - noisy mode is on"
                                     : "!sym <noisy/quiet - prompts/prompts off> - quiet mode is on");
    } else {
        throw UsageError("!sym <noisy/quiet - prompts/prompts off>");
    }
    out.json = {{"noisy", e.symbols().noisy()}};
}

}  // namespace

void registerSymbolPathCommands(Engine& e) {
    e.registerCommand({".sympath", "show or set the symbol path: .sympath [+] [path]", cmdSympath, true});
    e.registerCommand({".exepath", "show or set the executable image path: .exepath [+] [dir;...]", cmdExepath, true});
    e.registerCommand({".symfix", "set the symbol path to the Microsoft symbol server: .symfix[+] [cache]", cmdSymfix, true});
    e.registerCommand({".reload", "reload symbols: .reload [/f] [module]", cmdReload, false});
    e.registerCommand({"!sym", "symbol diagnostics: !sym noisy|quiet", cmdSym, false});
}

}  // namespace nt
