// vertarget, !peb, !teb, !handle, q, .help
#include <algorithm>
#include <ctime>
#include <map>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"
#include "commands/expression.h"

namespace nt {

namespace {

std::string productName(const SystemInfo& s) {
    if (s.majorVersion == 10) return "Windows 10";
    if (s.majorVersion == 6 && s.minorVersion == 3) return "Windows 8.1";
    if (s.majorVersion == 6 && s.minorVersion == 2) return "Windows 8";
    if (s.majorVersion == 6 && s.minorVersion == 1) return "Windows 7";
    if (s.majorVersion == 6 && s.minorVersion == 0) return "Windows Vista";
    if (s.majorVersion == 5 && s.minorVersion == 1) return "Windows XP";
    if (s.majorVersion == 5 && s.minorVersion == 2) return "Windows Server 2003";
    return "Windows";
}

std::string utcTime(uint32_t t) {
    std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S.000 %Y (UTC + 0:00)", &tm);
    return buf;
}

void cmdVertarget(Engine& e, std::string_view, Output& out) {
    const Target& t = e.target();
    const SystemInfo& s = t.system;
    std::string line = productName(s) + " Version " + std::to_string(s.buildNumber);
    if (!s.csdVersion.empty()) line += " (" + s.csdVersion + ")";
    // Legacy user dumps carry no processor count: say nothing rather than "0 procs".
    if (s.numberOfProcessors) {
        line += s.numberOfProcessors > 1 ? " MP" : " UP";
        line += " (" + std::to_string(s.numberOfProcessors) + " procs)";
    }
    line += " Free ";
    Machine dm = s.machine != Machine::Unknown ? s.machine : t.machine;
    line += dm == Machine::X86 ? "x86 compatible" : dm == Machine::Amd64 ? "x64" : std::string(machineName(dm));
    out.line(line);
    std::string product = s.productType == 1 ? "WinNt" : s.productType == 2 ? "LanManNt" : s.productType == 3 ? "ServerNt" : "WinNt";
    out.line("Product: " + product + ", suite: " + std::string((s.suiteMask & 0x100) ? "SingleUserTS" : "TerminalServer SingleUserTS"));
    if (!t.misc.buildString.empty()) out.line("Edition build lab: " + t.misc.buildString);
    out.line("Debug session time: " + (t.dumpTimestamp ? utcTime(t.dumpTimestamp) : std::string("not available")));
    out.line("System Uptime: not available");
    if (t.misc.processCreateTime && t.dumpTimestamp >= *t.misc.processCreateTime) {
        uint32_t up = t.dumpTimestamp - *t.misc.processCreateTime;
        char buf[64];
        std::snprintf(buf, sizeof buf, "Process Uptime: %u days %u:%02u:%02u.000", up / 86400, (up / 3600) % 24, (up / 60) % 60, up % 60);
        out.line(buf);
    } else {
        out.line("Process Uptime: not available");
    }
    out.json = {{"product", productName(s)}, {"major", s.majorVersion}, {"minor", s.minorVersion},
                {"build", s.buildNumber}, {"csd_version", s.csdVersion}, {"processors", s.numberOfProcessors},
                {"machine", std::string(machineName(dm))}, {"build_lab", t.misc.buildString},
                {"dump_time", t.dumpTimestamp}, {"dump_kind", t.dumpKind}};
}

uint64_t rdPtr(const Memory& m, uint64_t a, bool w, bool& ok) {
    auto v = m.readPointer(a, w ? 8 : 4);
    if (!v) ok = false;
    return v.value_or(0);
}

void cmdTeb(Engine& e, std::string_view args, Output& out) {
    bool w = e.is64();
    uint64_t teb = e.tebFor(e.currentThread());
    if (!args.empty()) teb = evaluate(args, *makeEngineExprEnv(e));
    const Memory& m = e.target().memory();
    out.line(std::string(e.effectiveMachine() != e.target().machine ? "Wow64 TEB32" : "TEB") + " at " + addrPlain(teb, w));
    bool ok = true;
    unsigned p = w ? 8 : 4;
    uint64_t f[8];
    for (int i = 0; i < 8; ++i) f[i] = rdPtr(m, teb + i * p, w, ok);
    if (!ok) {
        out.line("error InitTypeRead( TEB )...");
        out.json = {{"teb", teb}, {"error", "TEB memory not in dump"}};
        return;
    }
    uint64_t pid = rdPtr(m, teb + 8 * p, w, ok), tid = rdPtr(m, teb + 9 * p, w, ok);
    uint64_t rpc = rdPtr(m, teb + 10 * p, w, ok), tls = rdPtr(m, teb + 11 * p, w, ok), peb = rdPtr(m, teb + 12 * p, w, ok);
    auto lastErr = m.readValue<uint32_t>(teb + (w ? 0x68 : 0x34));
    auto lastStatus = m.readValue<uint32_t>(teb + (w ? 0x1250 : 0xbf4));
    auto owned = m.readValue<uint32_t>(teb + (w ? 0x6c : 0x38));
    auto hardErr = m.readValue<uint32_t>(teb + (w ? 0x16b0 : 0xf28));
    auto P = [&](uint64_t v) { return addrPlain(v, w); };
    out.line("    ExceptionList:        " + P(f[0]));
    out.line("    StackBase:            " + P(f[1]));
    out.line("    StackLimit:           " + P(f[2]));
    out.line("    SubSystemTib:         " + P(f[3]));
    out.line("    FiberData:            " + P(f[4]));
    out.line("    ArbitraryUserPointer: " + P(f[5]));
    out.line("    Self:                 " + P(f[6]));
    out.line("    EnvironmentPointer:   " + P(f[7]));
    out.line("    ClientId:             " + P(pid) + " . " + P(tid));
    out.line("    RpcHandle:            " + P(rpc));
    out.line("    Tls Storage:          " + P(tls));
    out.line("    PEB Address:          " + P(peb));
    out.line("    LastErrorValue:       " + (lastErr ? std::to_string(*lastErr) : std::string("?")));
    out.line("    LastStatusValue:      " + (lastStatus ? hex(*lastStatus) : std::string("?")));
    out.line("    Count Owned Locks:    " + (owned ? std::to_string(*owned) : std::string("?")));
    out.line("    HardErrorMode:        " + (hardErr ? std::to_string(*hardErr) : std::string("?")));
    out.json = {{"teb", teb}, {"exception_list", f[0]}, {"stack_base", f[1]}, {"stack_limit", f[2]},
                {"self", f[6]}, {"client_id", {{"process", pid}, {"thread", tid}}}, {"peb", peb},
                {"last_error", lastErr ? nlohmann::json(*lastErr) : nlohmann::json(nullptr)}};
}

std::string readUnicodeString(const Memory& m, uint64_t at, bool w, bool& ok) {
    auto len = m.readValue<uint16_t>(at);
    auto buf = m.readPointer(at + (w ? 8 : 4), w ? 8 : 4);
    if (!len || !buf) {
        ok = false;
        return "< Name not readable >";
    }
    auto s = m.readWString(*buf, std::min<uint32_t>(*len / 2, 0x8000));
    if (!s) {
        ok = false;
        return "< Name not readable >";
    }
    return *s;
}

void cmdPeb(Engine& e, std::string_view args, Output& out) {
    bool w = e.is64();
    std::optional<uint64_t> pebAddr = e.peb();
    if (!args.empty()) pebAddr = evaluate(args, *makeEngineExprEnv(e));
    if (!pebAddr) {
        out.line("PEB NULL...");
        out.error = true;
        out.json = {{"error", "PEB address not available (TEB not in dump)"}};
        return;
    }
    uint64_t peb = *pebAddr;
    const Memory& m = e.target().memory();
    out.line(std::string(e.effectiveMachine() != e.target().machine ? "Wow64 PEB32" : "PEB") + " at " + addrPlain(peb, w));
    auto b0 = m.readValue<uint8_t>(peb), b1 = m.readValue<uint8_t>(peb + 1), b2 = m.readValue<uint8_t>(peb + 2);
    if (!b0 || !b1 || !b2) {
        out.line("error 1 InitTypeRead( nt!_PEB at " + addrPlain(peb, w) + ")");
        out.json = {{"peb", peb}, {"error", "PEB memory not in dump"}};
        return;
    }
    bool ok = true;
    auto yn = [](uint8_t v) { return std::string(v ? "Yes" : "No"); };
    uint64_t imageBase = rdPtr(m, peb + (w ? 0x10 : 0x8), w, ok);
    uint64_t ldr = rdPtr(m, peb + (w ? 0x18 : 0xc), w, ok);
    uint64_t params = rdPtr(m, peb + (w ? 0x20 : 0x10), w, ok);
    uint64_t subsys = rdPtr(m, peb + (w ? 0x28 : 0x14), w, ok);
    uint64_t heap = rdPtr(m, peb + (w ? 0x30 : 0x18), w, ok);
    auto gflag = m.readValue<uint32_t>(peb + (w ? 0xbc : 0x68));
    auto P = [&](uint64_t v) { return addrPlain(v, w); };
    out.line("    InheritedAddressSpace:    " + yn(*b0));
    out.line("    ReadImageFileExecOptions: " + yn(*b1));
    out.line("    BeingDebugged:            " + yn(*b2));
    out.line("    ImageBaseAddress:         " + P(imageBase));
    out.line("    NtGlobalFlag:             " + (gflag ? hex(*gflag) : std::string("?")));
    out.line("    Ldr                       " + P(ldr));
    nlohmann::json j = {{"peb", peb}, {"being_debugged", *b2 != 0}, {"image_base", imageBase}, {"ldr", ldr},
                        {"process_parameters", params}, {"process_heap", heap}};
    if (auto init = m.readValue<uint8_t>(ldr + 4)) {
        uint64_t lo = ldr + (w ? 0x10 : 0xc), mo = ldr + (w ? 0x20 : 0x14), io = ldr + (w ? 0x30 : 0x1c);
        bool lok = true;
        out.line("    Ldr.Initialized:          " + yn(*init));
        out.line("    Ldr.InInitializationOrderModuleList: " + P(rdPtr(m, io, w, lok)) + " . " + P(rdPtr(m, io + (w ? 8 : 4), w, lok)));
        out.line("    Ldr.InLoadOrderModuleList:           " + P(rdPtr(m, lo, w, lok)) + " . " + P(rdPtr(m, lo + (w ? 8 : 4), w, lok)));
        out.line("    Ldr.InMemoryOrderModuleList:         " + P(rdPtr(m, mo, w, lok)) + " . " + P(rdPtr(m, mo + (w ? 8 : 4), w, lok)));
    } else {
        out.line("    *** unable to read Ldr table at " + P(ldr));
    }
    out.line("    SubSystemData:     " + P(subsys));
    out.line("    ProcessHeap:       " + P(heap));
    out.line("    ProcessParameters: " + P(params));
    if (params) {
        bool pok = true;
        std::string cur = readUnicodeString(m, params + (w ? 0x38 : 0x24), w, pok);
        std::string title = readUnicodeString(m, params + (w ? 0xb0 : 0x70), w, pok);
        std::string image = readUnicodeString(m, params + (w ? 0x60 : 0x38), w, pok);
        std::string cmdline = readUnicodeString(m, params + (w ? 0x70 : 0x40), w, pok);
        std::string dllpath = readUnicodeString(m, params + (w ? 0x50 : 0x30), w, pok);
        out.line("    CurrentDirectory:  '" + cur + "'");
        out.line("    WindowTitle:  '" + title + "'");
        out.line("    ImageFile:    '" + image + "'");
        out.line("    CommandLine:  '" + cmdline + "'");
        out.line("    DllPath:      '" + dllpath + "'");
        j["current_directory"] = cur;
        j["image_file"] = image;
        j["command_line"] = cmdline;
    }
    out.json = j;
}

void cmdHandle(Engine& e, std::string_view args, Output& out) {
    const auto& hs = e.target().handles;
    if (hs.empty()) {
        out.line("Unable to read handle information");
        out.error = true;
        out.json = {{"error", "the dump has no handle data stream"}};
        return;
    }
    std::optional<uint64_t> only;
    if (!args.empty()) {
        std::string a(args);
        a = a.substr(0, a.find(' '));
        only = evaluate(a, *makeEngineExprEnv(e));
    }
    std::map<std::string, unsigned> byType;
    nlohmann::json arr = nlohmann::json::array();
    unsigned shown = 0;
    for (const auto& h : hs) {
        if (only && h.handle != *only) continue;
        ++shown;
        std::string type = h.typeName.empty() ? "None" : h.typeName;
        byType[type]++;
        out.line("Handle " + hex(h.handle));
        out.line("  Type         \t" + (h.typeName.empty() ? std::string("<none>") : h.typeName));
        if (only) {
            out.line("  Attributes   \t" + hex(h.attributes));
            out.line("  GrantedAccess\t0x" + hex(h.grantedAccess));
            out.line("  HandleCount  \t" + std::to_string(h.handleCount));
            out.line("  PointerCount \t" + std::to_string(h.pointerCount));
            if (!h.objectName.empty()) out.line("  Name         \t" + h.objectName);
        }
        arr.push_back({{"handle", h.handle}, {"type", h.typeName}, {"name", h.objectName},
                       {"granted_access", h.grantedAccess}, {"handle_count", h.handleCount},
                       {"pointer_count", h.pointerCount}});
    }
    if (!only) {
        out.line(std::to_string(shown) + " Handles");
        out.line("Type           \tCount");
        for (auto& [t, c] : byType) {
            std::string name = t;
            if (name.size() < 15) name.append(15 - name.size(), ' ');
            out.line(name + "\t" + std::to_string(c));
        }
    }
    if (only && shown == 0) {
        out.line("Handle " + hex(*only) + " not found");
        out.error = true;
    }
    out.json = {{"handles", arr}};
}

void cmdQuit(Engine&, std::string_view, Output& out) {
    out.quit = true;
    out.json = {{"quit", true}};
}

void cmdHelp(Engine& e, std::string_view, Output& out) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& [name, info] : e.commands()) {
        std::string n = name;
        if (n.size() < 16) n.append(16 - n.size(), ' ');
        out.line(n + info.summary);
        arr.push_back({{"command", name}, {"summary", info.summary}});
    }
    out.json = {{"commands", arr}};
}

}  // namespace

void registerInfoCommands(Engine& e) {
    e.registerCommand({"vertarget", "show the target's OS version and times", cmdVertarget, false});
    e.registerCommand({"!teb", "display the thread environment block", cmdTeb, false});
    e.registerCommand({"!peb", "display the process environment block", cmdPeb, false});
    e.registerCommand({"!handle", "list handles from the dump's handle data", cmdHandle, false});
    e.registerCommand({"q", "quit", cmdQuit, false});
    e.registerCommand({"qq", "quit", cmdQuit, false});
    e.registerCommand({".help", "list commands", cmdHelp, false});
}

}  // namespace nt
