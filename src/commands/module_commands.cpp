// lm family: lm, lmv, lm m <pattern>, lmvm <pattern>, lm a <address>, lmo (loaded only; all are loaded in a dump).
#include <cctype>
#include <ctime>
#include <optional>
#include <vector>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"
#include "commands/expression.h"

namespace nt {

namespace {

std::string padRight(std::string s, size_t w) {
    if (s.size() < w) s.append(w - s.size(), ' ');
    return s;
}

// "Tue Apr 18 14:38:42 2017" in UTC, as lmv prints timestamps.
std::string ctimeUtc(uint32_t t) {
    std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
    return buf;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string version4(uint32_t ms, uint32_t ls) {
    return std::to_string(ms >> 16) + "." + std::to_string(ms & 0xffff) + "." + std::to_string(ls >> 16) + "." +
           std::to_string(ls & 0xffff);
}

struct LmOptions {
    bool verbose = false;
    std::string pattern;              // m <pattern>
    std::optional<uint64_t> address;  // a <address>: the module holding it
};

// lm's options as WinDbg reads them: letters that may be run together ("lmvm"), where
// m takes a module pattern and a takes an address expression, each either glued to the
// letter or in the next word. o, l, f, n, t, e, k, u, s, 1 are accepted and change nothing:
// a dump holds loaded modules only.
LmOptions parseLmOptions(Engine& e, std::string_view args) {
    LmOptions o;
    std::vector<std::string> words;
    std::string cur;
    for (char c : args) {
        if (c == ' ' || c == '\t') {
            if (!cur.empty()) words.push_back(std::move(cur)), cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) words.push_back(std::move(cur));
    auto syntaxError = [&] { return UsageError("Syntax error in 'lm" + std::string(args) + "'"); };
    for (size_t w = 0; w < words.size(); ++w) {
        const std::string& word = words[w];
        for (size_t i = 0; i < word.size(); ++i) {
            char c = word[i];
            if (c == 'v') {
                o.verbose = true;
            } else if (c == 'm' || c == 'a') {
                std::string value = word.substr(i + 1);
                if (value.empty()) {
                    if (w + 1 >= words.size()) throw syntaxError();
                    value = words[++w];
                }
                if (c == 'm') {
                    o.pattern = value;
                } else {
                    auto env = makeEngineExprEnv(e);
                    o.address = evaluate(value, *env);
                }
                break;
            } else if (std::string_view("olfntekus1").find(c) == std::string_view::npos) {
                throw syntaxError();
            }
        }
    }
    return o;
}

void cmdLm(Engine& e, std::string_view args, Output& out) {
    LmOptions opt = parseLmOptions(e, args);
    bool verbose = opt.verbose;
    const std::string& pattern = opt.pattern;

    // Module addresses are the process's: a WoW64 process keeps 64-bit modules
    // above 4 GiB even in the x86 view, so the width follows the dump.
    bool w = is64(e.target().machine);
    out.line(w ? "start             end                 module name" : "start    end        module name");
    nlohmann::json mods = nlohmann::json::array();
    for (const Module& m : e.target().modules) {
        if (!pattern.empty() && !wildcardMatch(pattern, m.name)) continue;
        if (opt.address && !(*opt.address >= m.base && *opt.address < m.end())) continue;
        SymbolState st = e.symbols().state(m);
        std::string stateText(symbolStateText(st));
        std::string line = addrTick(m.base, w) + " " + addrTick(m.end(), w) + "   " + padRight(m.name, 10) + " " +
                           padRight(stateText, 22);
        std::string symFile;
        if (st == SymbolState::PdbSymbols || st == SymbolState::PrivatePdbSymbols) symFile = e.symbols().symbolFile(m);
        if (st == SymbolState::ExportSymbols) line += " " + m.fileName();
        else if (!symFile.empty()) line += " " + symFile;
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out.line(line);
        nlohmann::json j = {{"name", m.name}, {"base", m.base}, {"end", m.end()}, {"size", m.size},
                            {"path", m.path}, {"timestamp", m.timestamp}, {"checksum", m.checksum},
                            {"symbols", stateText}};
        if (!symFile.empty()) j["symbol_file"] = symFile;
        if (m.codeView) j["pdb"] = {{"name", m.codeView->pdbName}, {"guid", m.codeView->guidString()}, {"age", m.codeView->age}};
        if (verbose) {
            out.line("    Image path: " + m.path);
            out.line("    Image name: " + m.fileName());
            out.line("    Timestamp:        " + ctimeUtc(m.timestamp) + " (" + upper(hexPad(m.timestamp, 8)) + ")");
            out.line("    CheckSum:         " + upper(hexPad(m.checksum, 8)));
            out.line("    ImageSize:        " + upper(hexPad(m.size, 8)));
            if (m.version.present) {
                out.line("    File version:     " + version4(m.version.fileVersionMS, m.version.fileVersionLS));
                out.line("    Product version:  " + version4(m.version.productVersionMS, m.version.productVersionLS));
                j["file_version"] = version4(m.version.fileVersionMS, m.version.fileVersionLS);
            }
        }
        mods.push_back(j);
    }
    nlohmann::json unl = nlohmann::json::array();
    if (pattern.empty() && !opt.address && !e.target().unloadedModules.empty()) {
        out.line("");
        out.line("Unloaded modules:");
        for (const auto& u : e.target().unloadedModules) {
            out.line(addrTick(u.base, w) + " " + addrTick(u.base + u.size, w) + "   " + u.name);  // as lm prints them
            unl.push_back({{"name", u.name}, {"base", u.base}, {"size", u.size}, {"timestamp", u.timestamp}});
        }
    }
    out.json = {{"modules", mods}, {"unloaded_modules", unl}};
}

}  // namespace

void registerModuleCommands(Engine& e) {
    e.registerCommand({"lm", "list modules: lm, lmv, lm m <pattern>, lmvm <pattern>, lm a <address>", cmdLm});
}

}  // namespace nt
