// lm family: lm, lmv, lm m <pattern>, lmvm <pattern>, lmo (loaded only; all are loaded in a dump).
#include <cctype>
#include <ctime>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"

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

void cmdLm(Engine& e, std::string_view args, Output& out) {
    bool verbose = false;
    std::string pattern;
    std::string a(args);
    size_t i = 0;
    // Flags: v (verbose), m <pattern>, o (loaded), l (with symbols), f (paths); combinable: lmvm, lmf.
    while (i < a.size() && a[i] != ' ') {
        char c = a[i];
        if (c == 'v') verbose = true;
        else if (c == 'm') {
            pattern = a.substr(i + 1);
            while (!pattern.empty() && pattern.front() == ' ') pattern.erase(0, 1);
            i = a.size();
            break;
        } else if (c == 'o' || c == 'l' || c == 'f' || c == 'n' || c == 't' || c == 'a') {
            // accepted; the dump holds loaded modules only
        } else {
            throw UsageError("Syntax error in 'lm" + a + "'");
        }
        ++i;
    }
    if (i < a.size()) {
        std::string rest = a.substr(i);
        while (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
        if (rest.rfind("m ", 0) == 0 || rest == "m") {
            pattern = rest.size() > 2 ? rest.substr(2) : "";
        } else if (!rest.empty()) {
            throw UsageError("Syntax error in 'lm" + a + "'");
        }
    }
    while (!pattern.empty() && pattern.back() == ' ') pattern.pop_back();

    // Module addresses are the process's: a WoW64 process keeps 64-bit modules
    // above 4 GiB even in the x86 view, so the width follows the dump.
    bool w = is64(e.target().machine);
    out.line(w ? "start             end                 module name" : "start    end        module name");
    nlohmann::json mods = nlohmann::json::array();
    for (const Module& m : e.target().modules) {
        if (!pattern.empty() && !wildcardMatch(pattern, m.name)) continue;
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
    if (pattern.empty() && !e.target().unloadedModules.empty()) {
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
    e.registerCommand({"lm", "list modules: lm, lmv, lm m <pattern>, lmvm <pattern>", cmdLm});
}

}  // namespace nt
