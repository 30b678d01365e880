// SymbolPath::parse/text and the store index strings (FACTS.md §1.3).
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "symsrv/symbol_locator.h"

namespace nt::symsrv {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

// Users paste paths from Windows shells: `"C:\My Symbols"` or a whole
// quoted element. Quotes are never part of a Windows path, so stray ones at
// either end are dropped too.
std::string_view trimElement(std::string_view s) {
    // Until nothing changes: `" "x" "` and the like trim to x.
    while (!s.empty() && (isSpace(s.front()) || s.front() == '"')) s.remove_prefix(1);
    while (!s.empty() && (isSpace(s.back()) || s.back() == '"')) s.remove_suffix(1);
    return s;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

// The '*'-separated chain after `srv*`: empty interior items are dropped; an
// empty last item (`srv*C:\cache*`) stands for the default store and is kept
// as "" so that text() gives the path back unchanged.
std::vector<std::string> splitChain(std::string_view rest) {
    std::vector<std::string> items;
    if (rest.empty()) return items;
    size_t start = 0;
    while (true) {
        size_t star = rest.find('*', start);
        std::string_view item = trimElement(rest.substr(start, star == std::string_view::npos ? rest.npos : star - start));
        bool last = star == std::string_view::npos;
        if (!item.empty() || (last && !items.empty())) items.emplace_back(item);
        if (last) break;
        start = star + 1;
    }
    return items;
}

}  // namespace

SymbolPath SymbolPath::parse(std::string_view text) {
    SymbolPath path;
    size_t start = 0;
    while (start <= text.size()) {
        size_t semi = text.find(';', start);
        std::string_view raw = text.substr(start, semi == std::string_view::npos ? text.npos : semi - start);
        std::string_view e = trimElement(raw);
        if (!e.empty()) {
            PathElement el;
            if (startsWithIgnoreCase(e, "srv*")) {
                el.kind = PathElement::Kind::Server;
                el.chain = splitChain(e.substr(4));
            } else if (startsWithIgnoreCase(e, "symsrv*")) {
                // symsrv*<dll>*<chain>: the DLL is WinDbg's plug-in; we are it.
                std::string_view rest = e.substr(7);
                size_t star = rest.find('*');
                el.kind = PathElement::Kind::Server;
                el.dll = std::string(trimElement(rest.substr(0, star)));
                if (el.dll.empty()) el.dll = "symsrv.dll";
                if (star != std::string_view::npos) el.chain = splitChain(rest.substr(star + 1));
            } else if (startsWithIgnoreCase(e, "cache*")) {
                el.kind = PathElement::Kind::Cache;
                el.directory = std::string(trimElement(e.substr(6)));
            } else {
                el.kind = PathElement::Kind::Directory;
                el.directory = std::string(e);  // verbatim: `C:\Symbols` stays as typed
            }
            path.elements.push_back(std::move(el));
        }
        if (semi == std::string_view::npos) break;
        start = semi + 1;
    }
    return path;
}

std::string PathElement::text() const {
    switch (kind) {
        case Kind::Directory: return directory;
        case Kind::Cache: return "cache*" + directory;
        case Kind::Server: {
            std::string s = dll.empty() ? "srv*" : "symsrv*" + dll + "*";
            for (size_t i = 0; i < chain.size(); ++i) {
                if (i) s += '*';
                s += chain[i];
            }
            return s;
        }
    }
    return directory;
}

std::string SymbolPath::text() const {
    std::string s;
    for (size_t i = 0; i < elements.size(); ++i) {
        if (i) s += ';';
        s += elements[i].text();
    }
    return s;
}

std::string pdbIndex(const uint8_t guid[16], uint32_t age) {
    // The GUID's first three fields are little-endian integers on disk.
    uint32_t d1 = guid[0] | guid[1] << 8 | guid[2] << 16 | static_cast<uint32_t>(guid[3]) << 24;
    unsigned d2 = guid[4] | guid[5] << 8;
    unsigned d3 = guid[6] | guid[7] << 8;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%08X%04X%04X%02X%02X%02X%02X%02X%02X%02X%02X%X", d1, d2, d3, guid[8], guid[9],
                  guid[10], guid[11], guid[12], guid[13], guid[14], guid[15], age);
    return buf;
}

std::string imageIndex(uint32_t timestamp, uint32_t sizeOfImage) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08X%x", timestamp, sizeOfImage);
    return buf;
}

}  // namespace nt::symsrv
