// The symbolizer: per-module providers found lazily on the symbol path,
// and the lookups every command uses.
#include "symbols/symbolizer.h"

#include <algorithm>
#include <filesystem>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <unistd.h>

#include "base/error.h"
#include "base/format.h"
#include "isf/isf_cache.h"
#include "symbols/providers.h"
#include "symbols/undecorate.h"

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

namespace {

std::string defaultCacheDir() {
    if (const char* c = std::getenv("NTRIAGE_SYMBOL_CACHE"); c && *c) return c;
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/ntriage/symbols";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/ntriage/symbols";
    return "/tmp/ntriage-symbols";
}

bool isUrl(std::string_view s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

// Where decoded ISF tables are kept between runs (isf/isf_cache.h): beside
// the downloads, in the symbol path's own downstream store when it names
// one (srv*CACHE*..., cache*DIR), else $NTRIAGE_CACHE, else the symbol
// download cache when $NTRIAGE_SYMBOL_CACHE names one (the test suite
// points it into the build tree), else $XDG_CACHE_HOME/ntriage or
// ~/.cache/ntriage. The cache is local: --offline uses it too.
std::string isfCacheDir(const symsrv::SymbolPath& path, const symsrv::LocatorOptions& options) {
    for (const auto& el : path.elements) {
        if (el.kind == symsrv::PathElement::Kind::Cache)
            return (el.directory.empty() ? options.defaultCache : el.directory) + "/ntriage-isf";
        // srv*CACHE*STORE: every location before the last is a downstream store.
        if (el.kind == symsrv::PathElement::Kind::Server && el.chain.size() >= 2 && !el.chain.front().empty() &&
            !isUrl(el.chain.front()))
            return el.chain.front() + "/ntriage-isf";
    }
    if (const char* c = std::getenv("NTRIAGE_CACHE"); c && *c) return std::string(c) + "/isf";
    if (const char* c = std::getenv("NTRIAGE_SYMBOL_CACHE"); c && *c) return std::string(c) + "/ntriage-isf";
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/ntriage/isf";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/ntriage/isf";
    return {};  // nowhere sensible: decode every time
}

// "c:\\temp\\sigsegv.pdb" -> "sigsegv.pdb" (PDB paths in CodeView records are the build machine's).
std::string baseName(std::string_view path) {
    size_t cut = path.find_last_of("\\/");
    return std::string(cut == std::string_view::npos ? path : path.substr(cut + 1));
}

bool looksLikeBreakpad(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    char head[7] = {};
    size_t n = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
    return n == sizeof head && std::string_view(head, sizeof head) == "MODULE ";
}

std::string upperHex(uint64_t v) {
    std::string s = hex(v);
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

Symbolizer::Symbolizer(const Target& target, ModuleImages& images) : target_(target), images_(images) {
    options_.defaultCache = defaultCacheDir();
}

Symbolizer::~Symbolizer() = default;

void Symbolizer::setSymbolPath(std::string_view path) {
    pathText_ = std::string(path);
    auto parsed = symsrv::SymbolPath::parse(path);
    isfCacheDir_ = isfCacheDir(parsed, options_);
    locator_ = parsed.elements.empty() ? nullptr : std::make_unique<symsrv::SymbolLocator>(parsed, options_);
    mods_.clear();
    // Images found through the old path may differ: search again.
    images_.setFinder([this](const Module& m) { return findImageFile(m); });
}

void Symbolizer::setLocatorOptions(symsrv::LocatorOptions options) {
    options_ = std::move(options);
    setSymbolPath(std::string(pathText_));
}

void Symbolizer::reload(const Module* module, bool force) {
    if (!module) {
        mods_.clear();
        if (force)
            for (const auto& m : target_.modules) symsFor(m);
        return;
    }
    std::erase_if(mods_, [&](const auto& e) { return e.first == module->base; });
    if (force) symsFor(*module);
}

Symbolizer::ModSyms& Symbolizer::symsFor(const Module& m) {
    for (auto& [base, s] : mods_)
        if (base == m.base) return s;
    mods_.emplace_back(m.base, ModSyms{});
    ModSyms& s = mods_.back().second;
    load(m, s);
    return s;
}

void Symbolizer::load(const Module& m, ModSyms& s) {
    s.loaded = true;
    s.state = SymbolState::NoSymbols;
    const PeImage* img = images_.image(m);
    std::optional<CodeViewInfo> cv = m.codeView;
    if (!cv && img) cv = img->codeView();

    std::vector<symsrv::Probe> probes;
    if (locator_ && cv && !cv->pdbName.empty()) {
        std::string pdbName = baseName(cv->pdbName);
        std::string index = cv->isPdb70 ? cv->guidString() + upperHex(cv->age)
                                        : upperHex(static_cast<uint64_t>(cv->guid[0]) | cv->guid[1] << 8 |
                                                   cv->guid[2] << 16 | static_cast<uint64_t>(cv->guid[3]) << 24) +
                                              upperHex(cv->age);
        // A PDB matches when its GUID and age are the CodeView record's (the
        // age as the linker wrote it into DBI, or the info stream's).
        std::unique_ptr<pdb::PdbFile> pdb;
        // A store may hold a Breakpad .sym under the PDB's name (symbolicator's
        // CAB-compressed crash.pdb expands to one): take it if its MODULE id matches.
        std::unique_ptr<breakpad::SymFile> symUnderPdbName;
        auto acceptPdb = [&](const std::string& path) {
            try {
                if (looksLikeBreakpad(path)) {
                    auto f = std::make_unique<breakpad::SymFile>(breakpad::SymFile::open(path));
                    if (!equalsIgnoreCase(f->module().id, index)) return false;
                    symUnderPdbName = std::move(f);
                    return true;
                }
                auto p = pdb::PdbFile::open(path);
                if (cv->isPdb70 && p->guid().toStoreString() != cv->guidString()) return false;
                if (!cv->isPdb70 && p->signature() != (static_cast<uint32_t>(cv->guid[0]) | cv->guid[1] << 8 |
                                                      cv->guid[2] << 16 | static_cast<uint32_t>(cv->guid[3]) << 24))
                    return false;
                if (p->matchAge() != cv->age && p->age() != cv->age) return false;
                pdb = std::move(p);
                return true;
            } catch (const std::exception&) {
                return false;
            }
        };
        if (auto path = locator_->find({pdbName, index, pdbName}, acceptPdb, &probes)) {
            if (!pdb && !symUnderPdbName) acceptPdb(*path);
            if (pdb) s.provider = makePdbProvider(std::move(pdb), *path);
            else if (symUnderPdbName) s.provider = makeBreakpadProvider(std::move(symUnderPdbName), *path);
        }
        // Breakpad keeps its .sym files in the same store layout, named after the PDB.
        if (!s.provider) {
            std::string stem = pdbName;
            if (size_t dot = stem.rfind('.'); dot != std::string::npos) stem.resize(dot);
            std::unique_ptr<breakpad::SymFile> sym;
            auto acceptSym = [&](const std::string& path) {
                try {
                    auto f = std::make_unique<breakpad::SymFile>(breakpad::SymFile::open(path));
                    if (!equalsIgnoreCase(f->module().id, index)) return false;
                    sym = std::move(f);
                    return true;
                } catch (const std::exception&) {
                    return false;
                }
            };
            if (auto path = locator_->find({pdbName, index, stem + ".sym"}, acceptSym, &probes)) {
                if (!sym) acceptSym(*path);
                if (sym) s.provider = makeBreakpadProvider(std::move(sym), *path);
            }
        }
        // Volatility ISF tables: <dir>/<name.pdb>/<GUID>-<AGE>.json[.xz] (JPCERT's
        // layout) or under <dir>/windows/ (Volatility's symbols folder).
        if (!s.provider && cv->isPdb70) {
            std::string file = cv->guidString() + "-" + std::to_string(cv->age) + ".json";
            for (const auto& el : symsrv::SymbolPath::parse(pathText_).elements) {
                if (el.kind != symsrv::PathElement::Kind::Directory || s.provider) continue;
                for (const char* sub : {"/", "/windows/"})
                    for (const char* ext : {".xz", ""}) {
                        if (s.provider) break;
                        std::string path = el.directory + sub + pdbName + "/" + file + ext;
                        if (::access(path.c_str(), R_OK) != 0) {
                            probes.push_back({path, "not found", ""});
                            continue;
                        }
                        try {
                            s.provider = makeIsfProvider(isf::openIsfCached(path, isfCacheDir_), path);
                            probes.push_back({path, "found", ""});
                        } catch (const std::exception& ex) {
                            probes.push_back({path, std::string("rejected: ") + ex.what(), ""});
                        }
                    }
            }
        }
    }
    // A kernel whose image is not in the dump (small dumps) has no CodeView
    // record to name its PDB. Its debugger data block names its own address
    // and PsLoadedModuleList's: an ISF table of nt on the symbol path whose
    // symbols sit at the same RVAs is this kernel's (the way MANIFEST.md
    // matched triage_x64.dmp to 5278AFF8...-1; 10 RVAs, no false match).
    if (!s.provider && !cv && target_.isKernel() && m.name == "nt") s.provider = findKernelIsfByRva(m, probes);
    if (noisy_)
        for (const auto& p : probes)
            logLine("SYMSRV:  " + p.where + " - " + p.result + (p.destination.empty() ? "" : " (cache: " + p.destination + ")"));
    if (!s.provider && img) s.provider = makeExportProvider(*img, m.size);
    if (s.provider) s.state = s.provider->state();

    if (noisy_) {
        switch (s.state) {
            case SymbolState::PrivatePdbSymbols: logLine("DBGHELP: " + m.name + " - private symbols & lines"); break;
            case SymbolState::PdbSymbols: logLine("DBGHELP: " + m.name + " - public symbols"); break;
            case SymbolState::ExportSymbols: logLine("DBGHELP: " + m.name + " - export symbols"); break;
            default: logLine("DBGHELP: " + m.name + " - no symbols loaded"); break;
        }
        if (s.provider && !s.provider->file().empty()) logLine("        " + s.provider->file());
    } else if (locator_ && s.state != SymbolState::PrivatePdbSymbols && s.state != SymbolState::PdbSymbols) {
        // Offline-first: say, once per module, exactly what could be fetched
        // by hand (the first URL tried: the PDB itself) and where it goes.
        for (const auto& p : probes) {
            if (p.where.rfind("http", 0) != 0 || p.result.rfind("HTTP 404", 0) == 0 || p.result == "not found") continue;
            logLine("*** " + m.name + ": symbols not loaded (" + p.result + "); download " + p.where +
                    (p.destination.empty() ? std::string() : " to " + p.destination));
            break;
        }
    }
}

std::unique_ptr<SymbolProvider> Symbolizer::findKernelIsfByRva(const Module& m, std::vector<symsrv::Probe>& probes) {
    const KdDebuggerData& kd = target_.kernel->kdbg;
    if (!kd.present || !kd.kernBase || kd.kernBase != m.base || kd.address < m.base || kd.psLoadedModuleList < m.base)
        return nullptr;
    const uint64_t wantKdbg = kd.address - m.base, wantList = kd.psLoadedModuleList - m.base;
    namespace fs = std::filesystem;
    size_t tried = 0;
    for (const auto& el : symsrv::SymbolPath::parse(pathText_).elements) {
        if (el.kind != symsrv::PathElement::Kind::Directory) continue;
        for (const char* sub : {"/", "/windows/"})
            for (const char* pdb : {"ntkrnlmp.pdb", "ntoskrnl.pdb", "ntkrpamp.pdb", "ntkrnlpa.pdb", "ntkrla57.pdb"}) {
                std::error_code ec;
                fs::path dir = fs::path(el.directory + sub) / pdb;
                if (!fs::is_directory(dir, ec)) continue;
                std::vector<fs::path> files;
                for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
                    std::string f = it->path().filename().string();
                    if (f.ends_with(".json") || f.ends_with(".json.xz")) files.push_back(it->path());
                }
                std::sort(files.begin(), files.end());
                for (const auto& f : files) {
                    if (++tried > 512) return nullptr;  // a huge folder must not stall the session
                    try {
                        // Through the cache, a table that is not this kernel's costs
                        // two hash lookups in its mapped entry, not an xz decode.
                        auto isf = isf::openIsfCached(f.string(), isfCacheDir_);
                        if (isf->rvaOf("KdDebuggerDataBlock") == wantKdbg && isf->rvaOf("PsLoadedModuleList") == wantList) {
                            probes.push_back({f.string(), "found (KdDebuggerDataBlock and PsLoadedModuleList RVAs match)", ""});
                            return makeIsfProvider(std::move(isf), f.string());
                        }
                        probes.push_back({f.string(), "rejected: symbol RVAs differ", ""});
                    } catch (const std::exception& ex) {
                        probes.push_back({f.string(), std::string("rejected: ") + ex.what(), ""});
                    }
                }
            }
    }
    return nullptr;
}

std::optional<std::string> Symbolizer::findImageFile(const Module& m) {
    std::string file = m.fileName();
    if (!locator_ || file.empty()) return std::nullopt;
    std::vector<symsrv::Probe> probes;
    auto found = locator_->find({file, symsrv::imageIndex(m.timestamp, static_cast<uint32_t>(m.size)), file},
                                [&](const std::string& path) {
                                    auto img = PeImage::load(fileImageSource(path));
                                    return img && img->timestamp() == m.timestamp && img->sizeOfImage() == m.size;
                                },
                                &probes);
    if (noisy_)
        for (const auto& p : probes) logLine("SYMSRV:  " + p.where + " - " + p.result);
    return found;
}

SymbolProvider* Symbolizer::provider(const Module& m) { return symsFor(m).provider.get(); }

SymbolState Symbolizer::state(const Module& m) {
    for (auto& [base, s] : mods_)
        if (base == m.base) return s.state;
    return SymbolState::Deferred;
}

std::string Symbolizer::symbolFile(const Module& m) {
    SymbolProvider* p = provider(m);
    return p ? p->file() : std::string();
}

std::optional<SymbolHit> Symbolizer::lookup(uint64_t addr) {
    const Module* m = target_.moduleAt(addr);
    if (!m) return std::nullopt;
    SymbolHit h;
    h.module = m;
    h.functionStart = m->base;
    h.displacement = addr - m->base;
    SymbolProvider* p = provider(*m);
    if (!p || addr - m->base > 0xFFFFFFFFu) return h;
    auto sym = p->symbolAt(static_cast<uint32_t>(addr - m->base));
    if (!sym) return h;
    h.function = sym->name;
    h.functionStart = m->base + sym->rva;
    h.displacement = addr - h.functionStart;
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

std::optional<Symbolizer::Line> Symbolizer::lineAt(uint64_t addr) {
    const Module* m = target_.moduleAt(addr);
    if (!m || addr - m->base > 0xFFFFFFFFu) return std::nullopt;
    SymbolProvider* p = provider(*m);
    if (!p) return std::nullopt;
    auto l = p->lineAt(static_cast<uint32_t>(addr - m->base));
    if (!l) return std::nullopt;
    return Line{l->file, l->line, m->base + l->rva};
}

std::vector<ProviderInline> Symbolizer::inlinesAt(uint64_t addr) {
    const Module* m = target_.moduleAt(addr);
    if (!m || addr - m->base > 0xFFFFFFFFu) return {};
    SymbolProvider* p = provider(*m);
    if (!p) return {};
    return p->inlinesAt(static_cast<uint32_t>(addr - m->base));
}

std::optional<X86FrameDataSource::Hit> Symbolizer::x86FrameDataAt(uint64_t address) {
    const Module* m = target_.moduleAt(address);
    if (!m || address - m->base > 0xFFFFFFFFu) return std::nullopt;
    SymbolProvider* p = provider(*m);
    if (!p) return std::nullopt;
    auto d = p->frameDataAt(static_cast<uint32_t>(address - m->base));
    if (!d) return std::nullopt;
    return Hit{std::move(*d), m->base};
}

std::optional<ProcedureFrame> Symbolizer::procedureFrameAt(uint64_t address) {
    const Module* m = target_.moduleAt(address);
    if (!m || address - m->base > 0xFFFFFFFFu) return std::nullopt;
    SymbolProvider* p = provider(*m);
    if (!p) return std::nullopt;
    auto f = p->procedureFrameAt(static_cast<uint32_t>(address - m->base));
    if (!f) return std::nullopt;
    f->start += m->base;
    return f;
}

std::optional<uint64_t> Symbolizer::resolve(std::string_view qualifiedName) {
    size_t bang = qualifiedName.find('!');
    auto findIn = [&](const Module& m, std::string_view name) -> std::optional<uint64_t> {
        SymbolProvider* p = provider(m);
        if (!p) return std::nullopt;
        if (auto r = p->rvaOf(name)) return m.base + *r;
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
        SymbolProvider* p = provider(m);
        if (!p) continue;
        p->forEachSymbol([&](const ProviderSymbol& sym) {
            if (wildcardMatch(namePattern, sym.name)) out.push_back({m.base + sym.rva, m.name, sym.name, sym.size});
            return out.size() < 1000000;
        });
    }
    std::sort(out.begin(), out.end(), [](const Named& a, const Named& b) {
        return a.address != b.address ? a.address < b.address : a.name < b.name;
    });
    return out;
}

std::string defaultIsfCacheDirectory() { return isfCacheDir(symsrv::SymbolPath{}, symsrv::LocatorOptions{}); }

}  // namespace nt
