#include "pdb/pdb_file.h"

#include "base/error.h"
#include "pdb/symbol_records.h"

namespace nt::pdb {

std::unique_ptr<PdbFile> PdbFile::open(const std::string& path) {
    std::unique_ptr<PdbFile> p(new PdbFile());
    p->file_ = MappedFile::open(path);
    try {
        p->init(p->file_.bytes());
    } catch (const FormatError& e) {
        throw FormatError(path + ": " + e.what());
    }
    return p;
}

std::unique_ptr<PdbFile> PdbFile::openBytes(Bytes bytes) {
    std::unique_ptr<PdbFile> p(new PdbFile());
    p->init(bytes);
    return p;
}

void PdbFile::init(Bytes bytes) {
    msf_ = Msf::open(bytes);
    info_ = PdbInfo::parse(msf_);
}

const Dbi* PdbFile::dbi() const {
    if (!dbiTried_) {
        dbiTried_ = true;
        try {
            dbi_ = Dbi::parse(msf_);
        } catch (const FormatError&) {
            // A damaged DBI leaves the file without symbols, not unusable:
            // the GUID and age still identify it.
        }
    }
    return dbi_ ? &*dbi_ : nullptr;
}

uint32_t PdbFile::matchAge() const {
    const Dbi* d = dbi();
    return d ? d->age : info_.age;
}

uint16_t PdbFile::machine() const {
    const Dbi* d = dbi();
    return d ? d->machine : 0;
}

const Publics* PdbFile::publics() const {
    if (!publicsTried_) {
        publicsTried_ = true;
        if (const Dbi* d = dbi(); d && msf_.hasStream(d->publicsStream) && msf_.hasStream(d->symRecordStream))
            publics_ = Publics::parse(msf_.stream(d->publicsStream), msf_.stream(d->symRecordStream), *d);
    }
    return publics_ ? &*publics_ : nullptr;
}

const StringTable& PdbFile::names() const {
    if (!names_) {
        auto idx = info_.namedStream("/names");
        names_ = idx ? StringTable(msf_.stream(*idx)) : StringTable();
    }
    return *names_;
}

const ModuleSymbols* PdbFile::moduleSymbols(uint16_t module) const {
    const Dbi* d = dbi();
    if (!d || module >= d->modules().size()) return nullptr;
    const ModuleInfo& mi = d->modules()[module];
    if (!msf_.hasStream(mi.symStream)) return nullptr;
    auto it = modules_.find(module);
    if (it == modules_.end()) it = modules_.emplace(module, ModuleSymbols::parse(msf_.stream(mi.symStream), mi)).first;
    return &it->second;
}

std::optional<Symbol> PdbFile::symbolAt(uint32_t rva) const {
    const Dbi* d = dbi();
    if (!d) return std::nullopt;
    // Outside every section (headers, past the image) nothing is named.
    auto so = d->sectionOffsetOf(rva);
    if (!so) return std::nullopt;
    if (auto m = d->moduleAt(so->first, so->second)) {
        if (const ModuleSymbols* ms = moduleSymbols(*m)) {
            if (const Procedure* p = ms->procedureAt(so->first, so->second))
                return Symbol{p->name, *d->rvaOf(p->segment, p->offset), p->codeSize, true};
        }
    }
    // The nearest public, if it is in the same section: a public of an
    // earlier section says nothing about this address.
    if (const Publics* pub = publics()) {
        if (auto p = pub->nearestAtOrBelow(rva); p && p->rva && p->pub.segment == so->first)
            return Symbol{p->pub.name, *p->rva, 0, false};
    }
    return std::nullopt;
}

std::optional<uint32_t> PdbFile::rvaOf(std::string_view name) const {
    if (const Publics* pub = publics()) {
        if (auto p = pub->find(name); p && p->rva) return p->rva;
    }
    // Private procedure names live in the globals hash as S_PROCREF /
    // S_LPROCREF records pointing into a module's symbol stream.
    const Dbi* d = dbi();
    if (!d) return std::nullopt;
    if (!globalsTried_) {
        globalsTried_ = true;
        if (msf_.hasStream(d->globalsStream)) {
            StreamReader g = msf_.stream(d->globalsStream);
            globals_ = GsiHash::parse(g, 0, g.size());
        }
    }
    if (!globals_ || !msf_.hasStream(d->symRecordStream)) return std::nullopt;
    StreamReader records = msf_.stream(d->symRecordStream);
    std::vector<uint8_t> scratch;
    for (uint32_t off : globals_->candidates(name)) {
        auto r = recordAt(records, off, scratch);
        if (!r) continue;
        auto ref = parseProcRef(*r);
        if (!ref || ref->name != name || ref->module == 0) continue;
        const ModuleSymbols* ms = moduleSymbols(static_cast<uint16_t>(ref->module - 1));
        if (!ms) continue;
        if (const Procedure* p = ms->procedureAtRecord(ref->symOffset)) {
            if (auto rva = d->rvaOf(p->segment, p->offset)) return rva;
        }
    }
    return std::nullopt;
}

std::optional<PdbFile::CodeAt> PdbFile::codeAt(uint32_t rva) const {
    const Dbi* d = dbi();
    if (!d) return std::nullopt;
    auto so = d->sectionOffsetOf(rva);
    if (!so) return std::nullopt;
    auto m = d->moduleAt(so->first, so->second);
    if (!m) return std::nullopt;
    const ModuleSymbols* ms = moduleSymbols(*m);
    if (!ms) return std::nullopt;
    return CodeAt{d, ms, so->first, so->second};
}

std::optional<ProcedureFrame> PdbFile::procedureFrameAt(uint32_t rva) const {
    auto at = codeAt(rva);
    if (!at) return std::nullopt;
    const Dbi* d = at->dbi;
    const Procedure* p = at->module->procedureAt(at->segment, at->offset);
    if (!p || !p->frame) return std::nullopt;
    auto start = d->rvaOf(p->segment, p->offset);
    if (!start) return std::nullopt;
    ProcedureFrame f;
    f.start = *start;
    f.codeSize = p->codeSize;
    f.prologSize = p->debugStart;
    f.epilogStart = p->debugEnd;
    f.frameSize = p->frame->frameSize;
    f.savedRegsSize = p->frame->savedRegsSize;
    f.stackPointerBased = ((p->frame->flags >> 14) & 3) == 1;
    return f;
}

std::optional<SourceLine> PdbFile::lineAt(uint32_t rva) const {
    auto at = codeAt(rva);
    if (!at) return std::nullopt;
    auto hit = at->module->lineAt(at->segment, at->offset);
    if (!hit) return std::nullopt;
    auto lineRva = at->dbi->rvaOf(hit->segment, hit->offset);
    return SourceLine{names().at(hit->fileNameOffset), hit->line, lineRva.value_or(rva)};
}

}  // namespace nt::pdb
