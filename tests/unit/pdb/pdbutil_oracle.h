// llvm-pdbutil-16 as the independent oracle for the PDB tests: runs it and
// parses the parts of its text output the tests compare against.
#pragma once

#include "support/test_support.h"
#include <cstdint>
#include <array>
#include <filesystem>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace nt::pdbtest {

// Every PDB of the corpus (the CAB-compressed copy of crash.pdb excluded)
// plus the Wine fixtures' PDBs: those that exist, sorted.
inline std::vector<std::string> allPdbs() {
    static const char* const kCorpusPdbs[] = {
        "lldb/sigsegv.pdb",
        "symbolic/CrashWithException.pdb",
        "symbolicator/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B6936ffffffff/crash.pdb",
        "kdlibcpp/targetapp_stacktest_wow64/targetapp.pdb",
        "kdlibcpp/targetapp_stacktest_wow64_release/targetapp.pdb",
        "kdlibcpp/targetapp_stacktest_x64_release/targetapp.pdb",
        "kdlibcpp/targetapp_test_cv_allreg_amd64/targetapp.pdb",
        "kdlibcpp/targetapp_test_cv_allreg_i386/targetapp.pdb",
        "processmarauder/x64/ntdll.pdb",
        "processmarauder/x86/wntdll.pdb",
    };
    std::vector<std::string> v;
    for (const char* rel : kCorpusPdbs)
        if (auto p = nt::test::corpusFile(rel); !p.empty()) v.push_back(p);
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(nt::test::fixtureFile("wine/out"), ec))
        if (e.path().extension() == ".pdb") v.push_back(e.path().string());
    std::sort(v.begin(), v.end());
    return v;
}

// True when llvm-pdbutil-16 can be run.
bool havePdbutil();
// stdout of `llvm-pdbutil-16 dump <args> <path>`.
std::string pdbutil(const std::string& args, const std::string& path);

struct Summary {
    std::string guid;  // "{...}"
    uint32_t age = 0;
    uint32_t signature = 0;
};
Summary parseSummary(const std::string& out);

struct Public {
    std::string name;
    uint16_t segment = 0;
    uint32_t offset = 0;
};
std::vector<Public> parsePublics(const std::string& out);

struct Proc {
    std::string kind;  // "S_GPROC32", ...
    std::string name;
    uint16_t segment = 0;
    uint32_t offset = 0;
    uint32_t codeSize = 0;
};
// S_[GL]PROC32[_ID] records of `dump -symbols`.
std::vector<Proc> parseProcs(const std::string& out);

struct ModuleLine {
    std::string name;     // module name
    std::string obj;      // object file name
    uint32_t stream = 0;  // debug stream (65535 for none)
};
std::vector<ModuleLine> parseModules(const std::string& out);

struct LineEntry {
    std::string file;
    uint16_t segment = 0;
    uint32_t blockStart = 0, blockEnd = 0;
    uint32_t offset = 0;
    uint32_t line = 0;
};
// Every line/address entry of `dump -l`.
std::vector<LineEntry> parseLines(const std::string& out);

// Section virtual addresses from `dump -section-headers` (index 0 = section 1).
std::vector<uint32_t> parseSectionVAs(const std::string& out);

// One record of `dump -types` (only the parts the type tests compare).
struct TypeMember {
    std::string name;      // LF_MEMBER name; "__BaseClass" for LF_BCLASS
    uint32_t type = 0;
    uint64_t offset = 0;
};
struct TypeRec {
    uint32_t index = 0;
    std::string kind;           // "LF_STRUCTURE", ...
    std::string name, unique;   // UDTs and enums
    bool forward = false;
    bool scoped = false;        // options "scoped": a local type, hashed by unique name
    uint32_t forwardTo = 0;     // "forward ref (-> 0x...)"
    uint32_t fieldList = 0;
    uint64_t size = 0;          // UDT "sizeof N", LF_ARRAY "size: N"
    uint32_t element = 0;       // LF_ARRAY element type
    std::vector<TypeMember> members;                              // LF_FIELDLIST: LF_MEMBER / LF_BCLASS
    std::vector<std::pair<std::string, std::string>> enumerators; // LF_FIELDLIST: name, value as printed
    uint32_t continuation = 0;  // LF_FIELDLIST: LF_INDEX
    uint32_t bitType = 0;       // LF_BITFIELD
    int bitOffset = -1, bits = -1;
    std::string pointerKind;    // LF_POINTER "kind = ptr64"
};
// Every record of `dump -types` (or `-ids`), by type index.
std::map<uint32_t, TypeRec> parseTypes(const std::string& out);

// --- implementation (header-only: the test glob compiles only *_test.cpp) ---

inline bool havePdbutil() {
    static int have = -1;
    if (have < 0) have = std::system("llvm-pdbutil-16 --version >/dev/null 2>&1") == 0;
    return have == 1;
}

inline std::string pdbutil(const std::string& args, const std::string& path) {
    std::string cmd = "llvm-pdbutil-16 dump " + args + " '" + path + "' 2>/dev/null";
    return ::nt::test::captureOutput(cmd);
}

inline Summary parseSummary(const std::string& out) {
    Summary s;
    std::smatch m;
    if (std::regex_search(out, m, std::regex(R"(GUID: (\{[0-9A-F-]+\}))"))) s.guid = m[1];
    if (std::regex_search(out, m, std::regex(R"(Age: (\d+))"))) s.age = std::stoul(m[1]);
    if (std::regex_search(out, m, std::regex(R"(Signature: (\d+))"))) s.signature = std::stoul(m[1]);
    return s;
}

inline std::vector<Public> parsePublics(const std::string& out) {
    std::vector<Public> v;
    std::istringstream in(out);
    std::string line;
    static const std::regex head(R"(S_PUB32 \[size = \d+\] `(.*)`$)");
    static const std::regex addr(R"(addr = (\d+):(\d+))");
    std::smatch m;
    while (std::getline(in, line)) {
        if (!std::regex_search(line, m, head)) continue;
        Public p;
        p.name = m[1];
        if (std::getline(in, line) && std::regex_search(line, m, addr)) {
            p.segment = static_cast<uint16_t>(std::stoul(m[1]));
            p.offset = std::stoul(m[2]);
            v.push_back(p);
        }
    }
    return v;
}

inline std::vector<Proc> parseProcs(const std::string& out) {
    std::vector<Proc> v;
    std::istringstream in(out);
    std::string line;
    static const std::regex head(R"((S_[GL]PROC32(?:_ID)?) \[size = \d+\] `(.*)`$)");
    static const std::regex addr(R"(addr = (\d+):(\d+), code size = (\d+))");
    std::smatch m;
    while (std::getline(in, line)) {
        if (!std::regex_search(line, m, head)) continue;
        Proc p;
        p.kind = m[1];
        p.name = m[2];
        if (std::getline(in, line) && std::regex_search(line, m, addr)) {
            p.segment = static_cast<uint16_t>(std::stoul(m[1]));
            p.offset = std::stoul(m[2]);
            p.codeSize = std::stoul(m[3]);
            v.push_back(p);
        }
    }
    return v;
}

inline std::vector<ModuleLine> parseModules(const std::string& out) {
    std::vector<ModuleLine> v;
    std::istringstream in(out);
    std::string line;
    static const std::regex mod(R"(Mod \d+ \| `(.*)`:)");
    static const std::regex obj(R"(Obj: `(.*)`:)");
    static const std::regex stream(R"(debug stream: (\d+))");
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_search(line, m, mod)) v.push_back({m[1], "", 0});
        else if (!v.empty() && std::regex_search(line, m, obj)) v.back().obj = m[1];
        else if (!v.empty() && std::regex_search(line, m, stream)) v.back().stream = std::stoul(m[1]);
    }
    return v;
}

inline std::vector<LineEntry> parseLines(const std::string& out) {
    std::vector<LineEntry> v;
    std::istringstream in(out);
    std::string line, file;
    static const std::regex mod(R"(^\s*Mod \d+ \|)");
    static const std::regex fileRe(R"(^(\S.*) \((?:MD5|SHA1|SHA256|None).*\)$)");
    static const std::regex block(R"(^\s*([0-9A-F]{4}):([0-9A-F]{8})-([0-9A-F]{8}), line/addr entries = \d+)");
    static const std::regex entry(R"((\d+)(?:!)? ([0-9A-F]{8}))");
    std::smatch m;
    uint16_t seg = 0;
    uint32_t bs = 0, be = 0;
    bool inBlock = false;
    while (std::getline(in, line)) {
        if (std::regex_search(line, m, mod)) { inBlock = false; continue; }
        if (std::regex_search(line, m, block)) {
            seg = static_cast<uint16_t>(std::stoul(m[1], nullptr, 16));
            bs = std::stoul(m[2], nullptr, 16);
            be = std::stoul(m[3], nullptr, 16);
            inBlock = true;
            continue;
        }
        if (std::regex_search(line, m, fileRe)) { file = m[1]; inBlock = false; continue; }
        if (!inBlock) continue;
        for (auto it = std::sregex_iterator(line.begin(), line.end(), entry); it != std::sregex_iterator(); ++it)
            v.push_back({file, seg, bs, be, static_cast<uint32_t>(std::stoul((*it)[2], nullptr, 16)),
                         static_cast<uint32_t>(std::stoul((*it)[1]))});
    }
    return v;
}

inline std::vector<uint32_t> parseSectionVAs(const std::string& out) {
    std::vector<uint32_t> v;
    std::istringstream in(out);
    std::string line;
    static const std::regex va(R"(^\s*([0-9A-F]+) virtual address)");
    std::smatch m;
    while (std::getline(in, line))
        if (std::regex_search(line, m, va)) v.push_back(std::stoul(m[1], nullptr, 16));
    return v;
}

namespace detail {
inline uint32_t hexAfter(const std::string& line, const std::string& key) {
    auto p = line.find(key);
    if (p == std::string::npos) return 0;
    p += key.size();
    if (line.compare(p, 2, "0x") != 0) return 0;
    return static_cast<uint32_t>(std::stoul(line.substr(p + 2), nullptr, 16));
}
inline bool decAfter(const std::string& line, const std::string& key, uint64_t& out) {
    auto p = line.find(key);
    if (p == std::string::npos) return false;
    out = std::stoull(line.substr(p + key.size()));
    return true;
}
}  // namespace detail

inline std::map<uint32_t, TypeRec> parseTypes(const std::string& out) {
    std::map<uint32_t, TypeRec> recs;
    std::istringstream in(out);
    std::string line;
    TypeRec* cur = nullptr;
    bool pendingBase = false;
    while (std::getline(in, line)) {
        size_t b = line.find_first_not_of(' ');
        if (b == std::string::npos) continue;
        std::string t = line.substr(b);
        if (t.rfind("0x", 0) == 0 && t.find(" | LF_") != std::string::npos) {
            TypeRec r;
            r.index = static_cast<uint32_t>(std::stoul(t.substr(2), nullptr, 16));
            size_t k = t.find("| ") + 2;
            r.kind = t.substr(k, t.find(' ', k) - k);
            size_t q1 = t.find('`'), q2 = t.rfind('`');
            if (q1 != std::string::npos && q2 > q1) r.name = t.substr(q1 + 1, q2 - q1 - 1);
            cur = &(recs[r.index] = r);
            pendingBase = false;
            continue;
        }
        if (!cur) continue;
        uint64_t v = 0;
        if (t.rfind("unique name: `", 0) == 0) {
            cur->unique = t.substr(14, t.rfind('`') - 14);
        } else if (t.rfind("- LF_MEMBER [name = `", 0) == 0) {
            TypeMember m;
            size_t e = t.rfind("`, Type = ");
            m.name = t.substr(21, e - 21);
            m.type = detail::hexAfter(t.substr(e), "Type = ");
            detail::decAfter(t.substr(e), "offset = ", m.offset);
            cur->members.push_back(m);
        } else if (t == "- LF_BCLASS") {
            pendingBase = true;
        } else if (pendingBase && t.rfind("type = ", 0) == 0) {
            TypeMember m{"__BaseClass", detail::hexAfter(t, "type = "), 0};
            detail::decAfter(t, "offset = ", m.offset);
            cur->members.push_back(m);
            pendingBase = false;
        } else if (t.rfind("- LF_ENUMERATE [", 0) == 0) {
            std::string body = t.substr(16, t.rfind(']') - 16);
            size_t eq = body.rfind(" = ");
            cur->enumerators.emplace_back(body.substr(0, eq), body.substr(eq + 3));
        } else if (t.rfind("- LF_INDEX continuation = ", 0) == 0) {
            cur->continuation = detail::hexAfter(t, "continuation = ");
        } else if (t.rfind("- ", 0) == 0) {
            pendingBase = false;
        } else {
            if (t.find("field list: ") != std::string::npos) cur->fieldList = detail::hexAfter(t, "field list: ");
            if (t.rfind("options: ", 0) == 0) {
                cur->forward = t.find("forward ref") != std::string::npos;
                cur->scoped = t.find("| scoped") != std::string::npos || t.find("options: scoped") == 0;
                cur->forwardTo = detail::hexAfter(t, "(-> ");
                if (detail::decAfter(t, ", sizeof ", v)) cur->size = v;
            }
            if (cur->kind == "LF_ARRAY" && t.rfind("size: ", 0) == 0) {
                detail::decAfter(t, "size: ", cur->size);
                cur->element = detail::hexAfter(t, "element type: ");
            }
            if (cur->kind == "LF_BITFIELD" && detail::decAfter(t, "bit offset = ", v)) {
                cur->bitOffset = static_cast<int>(v);
                cur->bitType = detail::hexAfter(t, "type = ");
                if (detail::decAfter(t, "# bits = ", v)) cur->bits = static_cast<int>(v);
            }
            if (cur->kind == "LF_POINTER" && t.find("kind = ") != std::string::npos)
                cur->pointerKind = t.substr(t.find("kind = ") + 7);
        }
    }
    return recs;
}

}  // namespace nt::pdbtest
