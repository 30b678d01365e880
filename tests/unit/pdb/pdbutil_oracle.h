// llvm-pdbutil-16 as the independent oracle for the PDB tests: runs it and
// parses the parts of its text output the tests compare against.
#pragma once

#include "support/test_support.h"
#include <cstdint>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace nt::pdbtest {

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

}  // namespace nt::pdbtest
