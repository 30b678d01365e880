// ln (nearest symbols) and x (symbols matching a pattern). With export-only
// symbols WinDbg has no parameter information, hence "(<no parameter info>)".
#include <algorithm>

#include "base/format.h"
#include "commands/command_views.h"
#include "commands/engine.h"
#include "commands/expression.h"

namespace nt {

std::string lnLine(uint64_t addr, const std::optional<NearSymbol>& prev, const std::optional<NearSymbol>& next, bool is64) {
    std::string s;
    if (prev) {
        uint64_t disp = addr - prev->address;
        s = "(" + addrTick(prev->address, is64) + ")   " + prev->name + (disp ? "+" + hex0x(disp) : "");
    }
    if (next) {
        if (!s.empty()) s += "   |  ";
        s += "(" + addrTick(next->address, is64) + ")   " + next->name;
    }
    return s;
}

std::string xLine(uint64_t addr, const std::string& qualifiedName, bool is64) {
    return addrTick(addr, is64) + " " + qualifiedName + " (<no parameter info>)";
}

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

void runLn(Engine& e, std::string_view args, Output& out) {
    uint64_t addr;
    if (trim(args).empty()) {
        auto ctx = e.currentContext();
        if (!ctx) throw UsageError("Unable to get thread context");
        addr = ctx->ip();
    } else {
        auto env = makeEngineExprEnv(e);
        addr = evaluate(args, *env);
    }
    bool is64 = e.is64();
    std::optional<NearSymbol> prev, next;
    const Module* mod = e.target().moduleAt(addr);
    if (auto hit = e.symbols().lookup(addr); hit && hit->module) {
        mod = hit->module;
        if (!hit->function.empty()) prev = NearSymbol{hit->module->name + "!" + hit->function, hit->functionStart};
        else prev = NearSymbol{hit->module->name, hit->module->base};
    }
    if (mod) {
        // The next symbol above addr in the same module.
        for (const auto& n : e.symbols().match(mod->name, "*")) {
            if (n.address > addr && mod->contains(n.address) && (!next || n.address < next->address))
                next = NearSymbol{n.module + "!" + n.name, n.address};
        }
    }
    nlohmann::json j = {{"address", addr}};
    if (!prev && !next) {
        out.json = j;
        return;
    }
    // With line information WinDbg puts the source position first:
    // "[c:\temp\sigsegv.cpp @ 38] (00007ff7`a1311040)   sigsegv!main+0x1d   |  ..."
    std::string prefix;
    if (auto src = e.symbols().lineAt(addr)) {
        prefix = "[" + src->file + " @ " + std::to_string(src->line) + "] ";
        j["source"] = {{"file", src->file}, {"line", src->line}};
    }
    out.line(prefix + lnLine(addr, prev, next, is64));
    if (prev) j["previous"] = {{"name", prev->name}, {"address", prev->address}, {"displacement", addr - prev->address}};
    if (next) j["next"] = {{"name", next->name}, {"address", next->address}};
    if (prev && prev->address == addr && prev->name.find('!') != std::string::npos) {
        out.line("Exact matches:");
        out.line("    " + prev->name + " (<no parameter info>)");
        j["exact"] = true;
    }
    out.json = j;
}

void runX(Engine& e, std::string_view args, Output& out) {
    std::string_view pat = trim(args);
    // Options such as /v /t are not supported yet; skip them.
    while (!pat.empty() && pat[0] == '/') {
        size_t sp = pat.find_first_of(" \t");
        pat = sp == std::string_view::npos ? std::string_view() : trim(pat.substr(sp));
    }
    if (pat.empty()) throw UsageError("Syntax error in 'x'");
    std::string modPat = "*", namePat;
    if (auto bang = pat.find('!'); bang != std::string_view::npos) {
        modPat = std::string(pat.substr(0, bang));
        namePat = std::string(pat.substr(bang + 1));
    } else {
        namePat = std::string(pat);
    }
    if (namePat.empty()) namePat = "*";
    auto found = e.symbols().match(modPat, namePat);
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return a.address != b.address ? a.address < b.address : a.name < b.name;
    });
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& n : found) {
        std::string q = n.module + "!" + n.name;
        out.line(xLine(n.address, q, e.is64()));
        arr.push_back({{"address", n.address}, {"module", n.module}, {"name", n.name}});
    }
    out.json = {{"pattern", std::string(pat)}, {"symbols", arr}};
}

}  // namespace

void registerSymbolCommands(Engine& engine) {
    engine.registerCommand({"ln", "list nearest symbols", runLn, false});
    engine.registerCommand({"x", "examine symbols", runX, false});
}

}  // namespace nt
