// dt: display a type, or a type laid over target memory (FACTS.md §2.7,
// MSDOCS "dt (Display Type)"). Works over every type source the engine has
// (PDB TPI, Volatility ISF) through types::TypeProvider.
//
//   dt nt!_EPROCESS                      type only
//   dt _EPROCESS                         every source; prints "nt!_EPROCESS" first
//   dt nt!_KTHREAD ffffe86d`079b8000     values
//   dt nt!_EPROCESS Pcb UniqueProcessId  selected fields
//   dt nt!_PEB Ldr Ldr. <addr>           a field and its subfields (through the pointer)
//   dt -r2 nt!_KTHREAD <addr>            sub-structures two levels deep
//   dt nt!_KT*                           matching type names
#include <algorithm>
#include <set>

#include "base/format.h"
#include "commands/engine.h"
#include "commands/expression.h"
#include "types/dt_render.h"

namespace nt {
namespace {

// -r without a depth: WinDbg's documented maximum depth.
constexpr unsigned kMaxRecursion = 9;

std::vector<std::string> splitWords(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

nlohmann::json nodesJson(const std::vector<types::DtNode>& nodes) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& n : nodes) {
        nlohmann::json j = {{"offset", n.offset}, {"name", n.name}, {"type", n.typeText}};
        if (n.bitLength) {
            j["bitPosition"] = n.bitPosition;
            j["bitLength"] = n.bitLength;
        }
        if (n.address) j["address"] = *n.address;
        if (n.value) j["value"] = *n.value;
        if (n.raw) j["raw"] = *n.raw;
        if (!n.children.empty()) j["fields"] = nodesJson(n.children);
        arr.push_back(std::move(j));
    }
    return arr;
}

struct Found {
    std::string module;
    const types::TypeProvider* provider = nullptr;
    types::TypeId id = types::kNoType;
};

void listTypes(Engine& e, std::string_view module, std::string_view pattern, const std::string& spec, Output& out) {
    std::set<std::string> names;
    for (const auto& src : e.typeSources(module)) {
        src.provider->forEachTypeName([&](std::string_view n) {
            if (types::dtWildcardMatch(pattern, n)) names.insert(src.module + "!" + std::string(n));
            return names.size() < 100000;
        });
    }
    if (names.empty()) throw UsageError("Symbol " + spec + " not found.");
    out.json["types"] = nlohmann::json::array();
    for (const auto& n : names) {
        out.line("          " + n);
        out.json["types"].push_back(n);
    }
}

void runDt(Engine& e, std::string_view args, Output& out) {
    unsigned recurse = 0;
    std::vector<std::string> words;
    std::vector<bool> forcedName;  // after -n: a name even if it looks like a number
    bool nextIsName = false;
    std::string typeSpec;
    for (auto& w : splitWords(args)) {
        if (w.size() >= 2 && w[0] == '-' && !nextIsName) {
            if (w[1] == 'r') {
                if (w.size() == 2) recurse = kMaxRecursion;
                else if (w.size() == 3 && w[2] >= '0' && w[2] <= '9') recurse = static_cast<unsigned>(w[2] - '0');
                else throw UsageError("Invalid recursion depth '" + w + "'");
                continue;
            }
            if (w == "-n") {
                nextIsName = true;
                continue;
            }
            // -v, -b, -o, -i, -a, -l...: not implemented; say so rather than print something else.
            throw UsageError("dt: option '" + w + "' is not supported (supported: -r[N], -n)");
        }
        forcedName.push_back(nextIsName);
        nextIsName = false;
        words.push_back(w);
    }
    if (words.empty()) throw UsageError("Usage: dt [-r[N]] [module!]Type [Field...] [Address]");

    auto env = makeEngineExprEnv(e);
    // `dt @$pcr nt!_KPCR`: an address may come before the type.
    std::optional<uint64_t> address;
    size_t typeIndex = 0;
    if (words.size() >= 2 && !forcedName[0] && words[0].find('!') == std::string::npos && words[0][0] != '_' &&
        words[1].find('!') != std::string::npos) {
        try {
            address = evaluate(words[0], *env);
            typeIndex = 1;
        } catch (const ExprError&) {
        }
    }
    typeSpec = words[typeIndex];
    std::string module, name = typeSpec;
    if (auto bang = typeSpec.find('!'); bang != std::string::npos) {
        module = typeSpec.substr(0, bang);
        name = typeSpec.substr(bang + 1);
    }
    if (name.find_first_of("*?") != std::string::npos) {
        listTypes(e, module, name, typeSpec, out);
        return;
    }

    Found found;
    for (const auto& src : e.typeSources(module)) {
        if (auto id = src.provider->findType(name)) {
            found = {src.module, src.provider, *id};
            break;
        }
    }
    if (!found.provider) throw UsageError("Symbol " + typeSpec + " not found.");
    const types::Type* t = found.provider->type(found.id);
    if (!t) throw UsageError("Symbol " + typeSpec + " not found.");

    // Remaining words: field selectors, and the address (a word that is not a
    // field of the type and evaluates as an expression).
    std::vector<std::string> fields;
    auto isTopField = [&](const std::string& w) {
        const std::string first = w.substr(0, w.find('.'));
        for (const auto& f : t->fields)
            if (types::dtWildcardMatch(first, f.name)) return true;
        return false;
    };
    for (size_t i = typeIndex + 1; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (!address && !forcedName[i] && !isTopField(w)) {
            try {
                address = evaluate(w, *env);
                continue;
            } catch (const ExprError&) {
            }
        }
        fields.push_back(w);
    }

    const std::string qualified = found.module + "!" + t->name;
    out.json["type"] = qualified;
    out.json["module"] = found.module;
    out.json["name"] = t->name;
    out.json["size"] = t->size;
    if (address) out.json["address"] = *address;
    // Without a module WinDbg says which module's type it used.
    if (module.empty()) out.line(qualified);

    if (t->kind == types::TypeKind::Enum) {
        nlohmann::json en = nlohmann::json::array();
        for (const auto& ev : t->enumerators) en.push_back({{"name", ev.name}, {"value", ev.value}});
        out.json["enumerators"] = std::move(en);
        for (const auto& l : types::dtEnumText(*t)) out.line(l);
        return;
    }

    const Memory& mem = e.target().memory();
    if (address) {
        uint8_t probe;
        if (mem.read(*address, std::span<uint8_t>(&probe, 1)) != 1) {
            out.json["error"] = "Memory read error";
            out.error = true;
            out.line("Memory read error " + addrTick(*address, found.provider->pointerSize() == 8));
            return;
        }
    }
    types::DtRequest req;
    req.types = found.provider;
    req.type = found.id;
    req.memory = address ? &mem : nullptr;
    req.address = address;
    req.fields = fields;
    req.recurse = recurse;
    auto nodes = types::dtLayout(req);
    if (!nodes) {
        out.json["error"] = "Cannot find specified field members.";
        out.error = true;
        out.line("Cannot find specified field members.");
        return;
    }
    out.json["fields"] = nodesJson(*nodes);
    for (const auto& l : types::dtText(*nodes)) out.line(l);
}

}  // namespace

void registerTypeCommands(Engine& engine) {
    engine.registerCommand({"dt", "display type", runDt, false});
}

}  // namespace nt
