// MSVC name undecoration, names only (no types): what WinDbg prints for a
// public symbol. dbghelp undecorates publics the same way by default
// (SYMOPT_UNDNAME), so "_Sleep@4" reads "Sleep" in a stack.
#include "symbols/undecorate.h"

#include <cctype>
#include <vector>

#include "symbols/symbol_provider.h"

namespace nt {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

namespace {

// "?0".."?_X" special names after the leading '?' of a C++ name.
std::string specialName(std::string_view code, const std::string& cls) {
    if (code == "0") return cls;
    if (code == "1") return "~" + cls;
    static const struct { const char* code; const char* name; } ops[] = {
        {"2", "operator new"}, {"3", "operator delete"}, {"4", "operator="}, {"5", "operator>>"},
        {"6", "operator<<"}, {"7", "operator!"}, {"8", "operator=="}, {"9", "operator!="},
        {"A", "operator[]"}, {"B", "operator "}, {"C", "operator->"}, {"D", "operator*"},
        {"E", "operator++"}, {"F", "operator--"}, {"G", "operator-"}, {"H", "operator+"},
        {"I", "operator&"}, {"J", "operator->*"}, {"K", "operator/"}, {"L", "operator%"},
        {"M", "operator<"}, {"N", "operator<="}, {"O", "operator>"}, {"P", "operator>="},
        {"Q", "operator,"}, {"R", "operator()"}, {"S", "operator~"}, {"T", "operator^"},
        {"U", "operator|"}, {"V", "operator&&"}, {"W", "operator||"}, {"X", "operator*="},
        {"Y", "operator+="}, {"Z", "operator-="}, {"_0", "operator/="}, {"_1", "operator%="},
        {"_2", "operator>>="}, {"_3", "operator<<="}, {"_4", "operator&="}, {"_5", "operator|="},
        {"_6", "operator^="}, {"_7", "`vftable'"}, {"_8", "`vbtable'"}, {"_E", "`vector deleting destructor'"},
        {"_G", "`scalar deleting destructor'"}, {"_U", "operator new[]"}, {"_V", "operator delete[]"},
    };
    for (const auto& o : ops)
        if (code == o.code) return o.name;
    return {};
}

std::string undecorateCpp(std::string_view s) {
    // s starts after the first '?'.
    std::string special;
    size_t i = 0;
    bool isSpecial = false;
    if (i < s.size() && s[i] == '?') {
        isSpecial = true;
        ++i;
        if (i < s.size() && s[i] == '_') {
            if (i + 1 >= s.size()) return {};
            special = std::string(s.substr(i, 2));
            i += 2;
        } else if (i < s.size()) {
            special = std::string(1, s[i]);
            ++i;
        }
    }
    std::vector<std::string> parts;  // innermost first, as encoded
    std::vector<std::string> backrefs;
    while (i < s.size() && s[i] != '@') {
        if (std::isdigit(static_cast<unsigned char>(s[i]))) {
            size_t n = static_cast<size_t>(s[i] - '0');
            if (n >= backrefs.size()) return {};
            parts.push_back(backrefs[n]);
            ++i;
            continue;
        }
        if (s[i] == '?') return {};  // templates and nested special names: not handled
        size_t at = s.find('@', i);
        if (at == std::string_view::npos) return {};
        std::string frag(s.substr(i, at - i));
        if (frag.empty()) return {};
        if (backrefs.size() < 10) backrefs.push_back(frag);
        parts.push_back(std::move(frag));
        i = at + 1;
        if (parts.size() > 64) return {};
    }
    if (i >= s.size()) return {};  // the name list must end with '@'
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (!out.empty()) out += "::";
        out += *it;
    }
    if (isSpecial) {
        std::string cls = parts.empty() ? std::string() : parts.front();
        std::string sp = specialName(special, cls);
        if (sp.empty()) return {};
        out += out.empty() ? sp : "::" + sp;
    }
    return out;
}

}  // namespace

std::string undecorateName(std::string_view d, bool x86) {
    if (d.size() > 1 && d[0] == '?') {
        std::string u = undecorateCpp(d.substr(1));
        return u.empty() ? std::string(d) : u;
    }
    if (!x86) return std::string(d);
    // x86 C names: _cdecl, _stdcall@N, @fastcall@N.
    auto stripArgBytes = [](std::string_view n) {
        size_t at = n.rfind('@');
        if (at != std::string_view::npos && at + 1 < n.size()) {
            bool digits = true;
            for (size_t k = at + 1; k < n.size(); ++k) digits = digits && std::isdigit(static_cast<unsigned char>(n[k]));
            if (digits) n = n.substr(0, at);
        }
        return n;
    };
    if (d.size() > 1 && (d[0] == '_' || d[0] == '@') && d.rfind("__imp_", 0) != 0) {
        std::string_view n = stripArgBytes(d.substr(1));
        if (!n.empty()) return std::string(n);
    }
    return std::string(d);
}

}  // namespace nt
