// vertarget, !peb, !teb, !handle, q, .help
#include <algorithm>
#include <ctime>
#include <map>
#include <optional>

#include "base/error.h"
#include "base/format.h"
#include "commands/engine.h"
#include "commands/kernel_views.h"
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
    if (e.target().isKernel()) return kernelVertarget(e, out);
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

// Pointer-sized fields read from target memory; a field that is not in the
// dump prints as question marks, never as a made-up 0.
struct FieldReader {
    const Memory& m;
    bool w;
    std::optional<uint64_t> at(uint64_t a) const { return m.readPointer(a, w ? 8 : 4); }
    std::string text(std::optional<uint64_t> v) const {
        return v ? addrPlain(*v, w) : std::string(w ? 16 : 8, '?');
    }
    std::string textAt(uint64_t a) const { return text(at(a)); }
};

nlohmann::json jsonOf(std::optional<uint64_t> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

template <class T>
std::string numText(std::optional<T> v, bool asHex) {
    if (!v) return "?";
    return asHex ? hex(*v) : std::to_string(*v);
}

void cmdTeb(Engine& e, std::string_view args, Output& out) {
    bool w = e.is64();
    uint64_t teb = e.tebFor(e.currentThread());
    if (!args.empty()) teb = evaluate(args, *makeEngineExprEnv(e));
    const Memory& m = e.target().memory();
    FieldReader r{m, w};
    unsigned p = w ? 8 : 4;
    out.line(std::string(e.effectiveMachine() != e.target().machine ? "Wow64 TEB32" : "TEB") + " at " + addrPlain(teb, w));
    // NT_TIB: without it the TEB is not in the dump at all (small minidumps).
    std::optional<uint64_t> tib[8];
    for (unsigned i = 0; i < 8; ++i) tib[i] = r.at(teb + i * p);
    if (!tib[0] || !tib[6]) {
        out.line("error InitTypeRead( TEB )...");
        out.json = {{"teb", teb}, {"error", "TEB memory not in dump"}};
        return;
    }
    auto pid = r.at(teb + 8 * p), tid = r.at(teb + 9 * p), peb = r.at(teb + 12 * p);
    auto lastErr = m.readValue<uint32_t>(teb + (w ? 0x68 : 0x34));
    auto lastStatus = m.readValue<uint32_t>(teb + (w ? 0x1250 : 0xbf4));
    auto owned = m.readValue<uint32_t>(teb + (w ? 0x6c : 0x38));
    auto hardErr = m.readValue<uint32_t>(teb + (w ? 0x16b0 : 0xf28));
    out.line("    ExceptionList:        " + r.text(tib[0]));
    out.line("    StackBase:            " + r.text(tib[1]));
    out.line("    StackLimit:           " + r.text(tib[2]));
    out.line("    SubSystemTib:         " + r.text(tib[3]));
    out.line("    FiberData:            " + r.text(tib[4]));
    out.line("    ArbitraryUserPointer: " + r.text(tib[5]));
    out.line("    Self:                 " + r.text(tib[6]));
    out.line("    EnvironmentPointer:   " + r.text(tib[7]));
    out.line("    ClientId:             " + r.text(pid) + " . " + r.text(tid));
    out.line("    RpcHandle:            " + r.textAt(teb + 10 * p));
    out.line("    Tls Storage:          " + r.textAt(teb + 11 * p));
    out.line("    PEB Address:          " + r.text(peb));
    out.line("    LastErrorValue:       " + numText(lastErr, false));
    out.line("    LastStatusValue:      " + numText(lastStatus, true));
    out.line("    Count Owned Locks:    " + numText(owned, false));
    out.line("    HardErrorMode:        " + numText(hardErr, false));
    out.json = {{"teb", teb}, {"exception_list", jsonOf(tib[0])}, {"stack_base", jsonOf(tib[1])},
                {"stack_limit", jsonOf(tib[2])}, {"self", jsonOf(tib[6])},
                {"client_id", {{"process", jsonOf(pid)}, {"thread", jsonOf(tid)}}}, {"peb", jsonOf(peb)},
                {"last_error", lastErr ? nlohmann::json(*lastErr) : nlohmann::json(nullptr)}};
}

// A UNICODE_STRING in target memory, as !peb prints it.
std::string readUnicodeString(const Memory& m, uint64_t at, bool w) {
    auto len = m.readValue<uint16_t>(at);
    auto buf = m.readPointer(at + (w ? 8 : 4), w ? 8 : 4);
    std::optional<std::string> s;
    if (len && buf) s = m.readWString(*buf, std::min<uint32_t>(*len / 2, 0x8000));
    return s ? *s : "< Name not readable >";
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
    FieldReader r{m, w};
    out.line(std::string(e.effectiveMachine() != e.target().machine ? "Wow64 PEB32" : "PEB") + " at " + addrPlain(peb, w));
    auto b0 = m.readValue<uint8_t>(peb), b1 = m.readValue<uint8_t>(peb + 1), b2 = m.readValue<uint8_t>(peb + 2);
    if (!b0 || !b1 || !b2) {
        out.line("error 1 InitTypeRead( nt!_PEB at " + addrPlain(peb, w) + ")");
        out.json = {{"peb", peb}, {"error", "PEB memory not in dump"}};
        return;
    }
    auto yn = [](uint8_t v) { return std::string(v ? "Yes" : "No"); };
    auto imageBase = r.at(peb + (w ? 0x10 : 0x8));
    auto ldr = r.at(peb + (w ? 0x18 : 0xc));
    auto params = r.at(peb + (w ? 0x20 : 0x10));
    auto heap = r.at(peb + (w ? 0x30 : 0x18));
    auto gflag = m.readValue<uint32_t>(peb + (w ? 0xbc : 0x68));
    out.line("    InheritedAddressSpace:    " + yn(*b0));
    out.line("    ReadImageFileExecOptions: " + yn(*b1));
    out.line("    BeingDebugged:            " + yn(*b2));
    out.line("    ImageBaseAddress:         " + r.text(imageBase));
    out.line("    NtGlobalFlag:             " + numText(gflag, true));
    out.line("    Ldr                       " + r.text(ldr));
    nlohmann::json j = {{"peb", peb}, {"being_debugged", *b2 != 0}, {"image_base", jsonOf(imageBase)},
                        {"ldr", jsonOf(ldr)}, {"process_parameters", jsonOf(params)}, {"process_heap", jsonOf(heap)}};
    std::optional<uint8_t> init;
    if (ldr) init = m.readValue<uint8_t>(*ldr + 4);
    if (init) {
        // PEB_LDR_DATA: the three LIST_ENTRY heads, Flink . Blink.
        auto list = [&](uint64_t head) { return r.textAt(head) + " . " + r.textAt(head + (w ? 8 : 4)); };
        out.line("    Ldr.Initialized:          " + yn(*init));
        out.line("    Ldr.InInitializationOrderModuleList: " + list(*ldr + (w ? 0x30 : 0x1c)));
        out.line("    Ldr.InLoadOrderModuleList:           " + list(*ldr + (w ? 0x10 : 0xc)));
        out.line("    Ldr.InMemoryOrderModuleList:         " + list(*ldr + (w ? 0x20 : 0x14)));
    } else {
        out.line("    *** unable to read Ldr table at " + r.text(ldr));
    }
    out.line("    SubSystemData:     " + r.textAt(peb + (w ? 0x28 : 0x14)));
    out.line("    ProcessHeap:       " + r.text(heap));
    out.line("    ProcessParameters: " + r.text(params));
    if (params && *params) {
        // RTL_USER_PROCESS_PARAMETERS UNICODE_STRING fields.
        uint64_t pp = *params;
        std::string cur = readUnicodeString(m, pp + (w ? 0x38 : 0x24), w);
        std::string title = readUnicodeString(m, pp + (w ? 0xb0 : 0x70), w);
        std::string image = readUnicodeString(m, pp + (w ? 0x60 : 0x38), w);
        std::string cmdline = readUnicodeString(m, pp + (w ? 0x70 : 0x40), w);
        std::string dllpath = readUnicodeString(m, pp + (w ? 0x50 : 0x30), w);
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
