// db dw dd dq dp dds dps dqs da du: memory display in WinDbg's layouts
// (FACTS.md §2.8; MSDOCS "d, da, db, dc, dd ..." for default counts:
// 128 bytes, da/du 48 characters per line).
#include <map>

#include "base/format.h"
#include "commands/command_views.h"
#include "commands/engine.h"
#include "commands/expression.h"

namespace nt {

namespace {

// Reads [addr, addr+out.size()) marking which bytes exist; holes are skipped
// with nextPresent so that a mostly-missing range costs a few lookups.
void readWithHoles(const Memory& mem, uint64_t addr, std::span<uint8_t> out, std::vector<bool>& present) {
    present.assign(out.size(), false);
    std::fill(out.begin(), out.end(), 0);
    size_t pos = 0;
    while (pos < out.size()) {
        uint64_t got = mem.read(addr + pos, out.subspan(pos));
        for (uint64_t i = 0; i < got; ++i) present[pos + i] = true;
        pos += static_cast<size_t>(got);
        if (pos >= out.size()) break;
        auto nxt = mem.nextPresent(addr + pos);
        if (!nxt || *nxt <= addr + pos || *nxt - addr >= out.size()) break;
        pos = static_cast<size_t>(*nxt - addr);
    }
}

bool printable(uint32_t c) { return c >= 0x20 && c < 0x7f; }

// Longest count that does not run past the top of the address space.
uint64_t clampCount(uint64_t start, uint64_t count, unsigned elem) {
    uint64_t room = (UINT64_MAX - start) / elem + 1;
    return count < room ? count : room;
}

std::string valueText(uint64_t v, unsigned size, bool present) {
    if (size == 8) return present ? addrTick(v, true) : "????????`????????";
    if (!present) return std::string(size * 2, '?');
    return hexPad(v, static_cast<int>(size * 2));
}

Rendered dumpString(const Memory& mem, uint64_t start, uint64_t count, bool wide, bool is64) {
    Rendered r;
    const unsigned unit = wide ? 2 : 1;
    constexpr uint64_t kPerLine = 48;
    std::string all;
    uint64_t addr = start;
    uint64_t left = clampCount(start, count, unit);
    bool first = true;
    bool ended = false;
    while (left > 0 && !ended) {
        uint64_t n = std::min(left, kPerLine);
        std::vector<uint8_t> buf(static_cast<size_t>(n * unit));
        uint64_t got = mem.read(addr, buf) / unit;
        if (got == 0) {
            // WinDbg shows unreadable memory as question marks.
            if (first) r.lines.push_back(addrTick(addr, is64) + "  ????????");
            break;
        }
        std::string text;
        uint64_t used = 0;
        for (; used < got; ++used) {
            uint32_t c = wide ? static_cast<uint32_t>(buf[used * 2] | (buf[used * 2 + 1] << 8)) : buf[used];
            if (c == 0) {
                ended = true;
                break;
            }
            if (wide && c >= 0x80) {
                text += utf16ToUtf8(&buf[used * 2], 1);
                all += utf16ToUtf8(&buf[used * 2], 1);
            } else {
                text += printable(c) ? static_cast<char>(c) : '.';
                all += static_cast<char>(c);
            }
        }
        r.lines.push_back(addrTick(addr, is64) + "  \"" + text + "\"");
        first = false;
        if (used < n && !ended) break;  // the string runs into missing memory
        addr += used * unit + (ended ? unit : 0);
        left -= std::min(left, used);
    }
    r.next = addr;
    r.json = {{"address", start}, {"string", all}, {"encoding", wide ? "utf-16" : "ascii"}};
    return r;
}

}  // namespace

unsigned elementSize(MemStyle s) {
    switch (s) {
        case MemStyle::Bytes: return 1;
        case MemStyle::Words: return 2;
        case MemStyle::Dwords: return 4;
        case MemStyle::Qwords: return 8;
        case MemStyle::DwordSym: return 4;
        case MemStyle::QwordSym: return 8;
        case MemStyle::Ascii: return 1;
        case MemStyle::Unicode: return 2;
    }
    return 1;
}

Rendered dumpMemory(const Memory& mem, uint64_t start, uint64_t count, MemStyle style, bool is64, const SymbolizeFn& sym) {
    if (style == MemStyle::Ascii || style == MemStyle::Unicode) return dumpString(mem, start, count, style == MemStyle::Unicode, is64);
    Rendered r;
    const unsigned size = elementSize(style);
    const bool withSym = style == MemStyle::DwordSym || style == MemStyle::QwordSym;
    const unsigned perLine = withSym ? 1 : 16 / size;
    count = clampCount(start, count, size);
    nlohmann::json values = nlohmann::json::array();
    nlohmann::json symbols = nlohmann::json::array();
    std::vector<uint8_t> buf;
    std::vector<bool> present;
    uint64_t addr = start;
    for (uint64_t done = 0; done < count;) {
        uint64_t n = std::min<uint64_t>(perLine, count - done);
        buf.resize(static_cast<size_t>(n * size));
        readWithHoles(mem, addr, buf, present);
        std::string line = addrTick(addr, is64) + "  ";
        if (style == MemStyle::Bytes) {
            std::string ascii;
            for (unsigned i = 0; i < 16; ++i) {
                if (i < n) {
                    line += present[i] ? hexPad(buf[i], 2) : "??";
                    ascii += present[i] ? (printable(buf[i]) ? static_cast<char>(buf[i]) : '.') : '?';
                    values.push_back(present[i] ? nlohmann::json(buf[i]) : nlohmann::json());
                } else {
                    line += "  ";
                }
                line += (i == 7 && i + 1 < n) ? '-' : ' ';
            }
            line += " " + ascii;
        } else {
            for (unsigned i = 0; i < n; ++i) {
                bool ok = true;
                uint64_t v = 0;
                for (unsigned b = 0; b < size; ++b) {
                    ok = ok && present[i * size + b];
                    v |= uint64_t{buf[i * size + b]} << (8 * b);
                }
                if (i) line += ' ';
                line += valueText(v, size, ok);
                values.push_back(ok ? nlohmann::json(v) : nlohmann::json());
                if (withSym) {
                    std::string s = ok && sym ? sym(v) : std::string();
                    if (!s.empty()) line += " " + s;
                    symbols.push_back(s);
                }
            }
        }
        r.lines.push_back(line);
        done += n;
        addr += n * size;
    }
    r.next = addr;
    r.json = {{"address", start}, {"element_size", size}, {"count", count}, {"values", values}};
    if (withSym) r.json["symbols"] = symbols;
    return r;
}

namespace {

struct DisplayState {
    MemStyle style = MemStyle::Bytes;
    std::optional<uint64_t> next;
};
// Per-engine continuation for `db` (etc.) repeated without arguments.
DisplayState& displayState(Engine& e) { return e.commandState<DisplayState>("d.display"); }

SymbolizeFn engineSymbolizer(Engine& e) {
    return [&e](uint64_t a) { return e.formatAddress(a); };
}

void runDisplay(Engine& e, std::string_view args, Output& out, MemStyle style, std::string_view name) {
    bool is64 = e.is64();
    unsigned size = elementSize(style);
    uint64_t defCount;
    switch (style) {
        case MemStyle::Ascii:
        case MemStyle::Unicode: defCount = 0x100; break;  // characters; WinDbg's default is unverified
        default: defCount = 0x80 / size; break;
    }
    auto env = makeEngineExprEnv(e);
    DisplayState& st = displayState(e);
    AddressRange range;
    if (args.empty()) {
        if (st.next) {
            range.start = *st.next;
        } else if (auto ctx = e.currentContext()) {
            range.start = ctx->ip();
        }
        range.count = defCount;
    } else {
        range = parseRange(args, *env, size, defCount);
    }
    if (!is64) range.start &= 0xffffffffu;
    Rendered r = dumpMemory(e.target().memory(), range.start, range.count, style, is64, engineSymbolizer(e));
    for (const auto& l : r.lines) out.line(l);
    st.style = style;
    st.next = r.next;
    out.json = r.json;
    out.json["command"] = std::string(name);
}

}  // namespace

void registerMemoryCommands(Engine& engine) {
    struct Spec {
        const char* name;
        const char* summary;
        int style;  // MemStyle, or -1 for pointer-sized dp, -2 for dps
    };
    static const Spec specs[] = {
        {"db", "display bytes and ASCII", static_cast<int>(MemStyle::Bytes)},
        {"dw", "display words", static_cast<int>(MemStyle::Words)},
        {"dd", "display dwords", static_cast<int>(MemStyle::Dwords)},
        {"dq", "display qwords", static_cast<int>(MemStyle::Qwords)},
        {"dds", "display dwords and symbols", static_cast<int>(MemStyle::DwordSym)},
        {"dqs", "display qwords and symbols", static_cast<int>(MemStyle::QwordSym)},
        {"da", "display an ASCII string", static_cast<int>(MemStyle::Ascii)},
        {"du", "display a UTF-16 string", static_cast<int>(MemStyle::Unicode)},
        {"dp", "display pointer-sized values", -1},
        {"dps", "display pointers and symbols", -2},
    };
    for (const auto& s : specs) {
        std::string name = s.name;
        int style = s.style;
        engine.registerCommand({name, s.summary, [name, style](Engine& e, std::string_view args, Output& out) {
                                    MemStyle st;
                                    if (style == -1) st = e.is64() ? MemStyle::Qwords : MemStyle::Dwords;
                                    else if (style == -2) st = e.is64() ? MemStyle::QwordSym : MemStyle::DwordSym;
                                    else st = static_cast<MemStyle>(style);
                                    runDisplay(e, args, out, st, name);
                                }});
    }
}

}  // namespace nt
