// Exports-based symbolizer: each module's export table, sorted by address,
// answers "which function is this address in" the way WinDbg does with
// export symbols only: the nearest export at or below the address, however
// far (WinDbg prints huge offsets too), or module+offset when none is below.
#include "symbols/symbolizer.h"

#include <strings.h>

#include <algorithm>
#include <cctype>

#include "base/format.h"

namespace nt {

std::string_view symbolStateText(SymbolState s) {
    switch (s) {
        case SymbolState::Deferred: return "(deferred)";
        case SymbolState::NoSymbols: return "(no symbols)";
        case SymbolState::ExportSymbols: return "(export symbols)";
        case SymbolState::PdbSymbols: return "(pdb symbols)";
        case SymbolState::PrivatePdbSymbols: return "(private pdb symbols)";
    }
    return "";
}

bool wildcardMatch(std::string_view pattern, std::string_view text) {
    // Iterative glob with single backtracking point: linear in practice, no
    // recursion depth driven by the pattern.
    size_t p = 0, t = 0, starP = std::string_view::npos, starT = 0;
    auto eq = [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    };
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], text[t])))) {
            ++p, ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            starP = p++;
            starT = t;
        } else if (starP != std::string_view::npos) {
            p = starP + 1;
            t = ++starT;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

Symbolizer::ModSyms& Symbolizer::symsFor(const Module& m) {
    for (auto& [base, s] : mods_)
        if (base == m.base) return s;
    mods_.emplace_back(m.base, ModSyms{});
    ModSyms& s = mods_.back().second;
    s.loaded = true;
    s.state = SymbolState::NoSymbols;
    if (const PeImage* img = images_.image(m)) {
        for (const auto& e : img->exports()) {
            // Forwarders have no code in this module; rva 0 is an unused slot.
            if (!e.forwarder.empty() || e.rva == 0 || e.rva >= m.size) continue;
            s.byAddr.emplace_back(m.base + e.rva, e.name.empty() ? "Ordinal" + std::to_string(e.ordinal) : e.name);
        }
        // Several names can share an address (ntdll's NtXxx/ZwXxx pairs).
        // The first of a group is the one printed: prefer the Nt spelling,
        // as WinDbg shows with ntdll's public symbols; otherwise ordinal order.
        auto zw = [](const std::string& n) { return n.size() > 2 && n[0] == 'Z' && n[1] == 'w'; };
        std::stable_sort(s.byAddr.begin(), s.byAddr.end(), [&](const auto& a, const auto& b) {
            if (a.first != b.first) return a.first < b.first;
            return !zw(a.second) && zw(b.second);
        });
        if (!s.byAddr.empty()) s.state = SymbolState::ExportSymbols;
    }
    return s;
}

SymbolState Symbolizer::state(const Module& m) {
    for (auto& [base, s] : mods_)
        if (base == m.base) return s.state;
    return SymbolState::Deferred;
}

std::optional<SymbolHit> Symbolizer::lookup(uint64_t addr) {
    const Module* m = target_.moduleAt(addr);
    if (!m) return std::nullopt;
    SymbolHit h;
    h.module = m;
    const ModSyms& s = symsFor(*m);
    auto it = std::upper_bound(s.byAddr.begin(), s.byAddr.end(), addr,
                               [](uint64_t a, const auto& e) { return a < e.first; });
    if (it == s.byAddr.begin()) {
        h.functionStart = m->base;
        h.displacement = addr - m->base;
        return h;
    }
    --it;
    while (it != s.byAddr.begin() && std::prev(it)->first == it->first) --it;
    h.function = it->second;
    h.functionStart = it->first;
    h.displacement = addr - it->first;
    return h;
}

std::string Symbolizer::format(uint64_t addr) {
    auto h = lookup(addr);
    if (!h) return {};
    std::string s = h->module->name;
    if (!h->function.empty()) s += "!" + h->function;
    if (h->displacement) s += "+" + hex0x(h->displacement);
    return s;
}

std::string Symbolizer::formatOrAddress(uint64_t addr) {
    std::string s = format(addr);
    if (!s.empty()) return s;
    return "0x" + addrTick(addr, is64(target_.machine));
}

std::optional<uint64_t> Symbolizer::resolve(std::string_view qualifiedName) {
    size_t bang = qualifiedName.find('!');
    auto findIn = [&](const Module& m, std::string_view name) -> std::optional<uint64_t> {
        std::string n(name);
        for (const auto& [a, sym] : symsFor(m).byAddr)
            if (strcasecmp(sym.c_str(), n.c_str()) == 0) return a;
        return std::nullopt;
    };
    if (bang != std::string_view::npos) {
        const Module* m = target_.moduleByName(qualifiedName.substr(0, bang));
        if (!m) return std::nullopt;
        return findIn(*m, qualifiedName.substr(bang + 1));
    }
    // A bare module name evaluates to its base, as in WinDbg expressions.
    if (const Module* m = target_.moduleByName(qualifiedName)) return m->base;
    for (const auto& m : target_.modules)
        if (auto a = findIn(m, qualifiedName)) return a;
    return std::nullopt;
}

std::vector<Symbolizer::Named> Symbolizer::match(std::string_view modulePattern, std::string_view namePattern) {
    std::vector<Named> out;
    for (const auto& m : target_.modules) {
        if (!wildcardMatch(modulePattern, m.name)) continue;
        for (const auto& [a, sym] : symsFor(m).byAddr)
            if (wildcardMatch(namePattern, sym)) out.push_back({a, m.name, sym});
    }
    return out;
}

}  // namespace nt
