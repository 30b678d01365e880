#include "pdb/inline_sites.h"

#include <algorithm>
#include <cctype>

#include "base/error.h"
#include "pdb/pdb_file.h"
#include "pdb/symbol_records.h"
#include "pdb/type_records.h"

namespace nt::pdb {

namespace {

constexpr uint16_t S_BLOCK32 = 0x1103;
constexpr uint16_t S_INLINESITE = 0x114D;
constexpr uint16_t S_INLINESITE2 = 0x115D;
constexpr uint32_t DEBUG_S_FILECHKSMS = 0xF4;
constexpr uint32_t DEBUG_S_INLINEELINES = 0xF6;
constexpr uint32_t DEBUG_S_CROSSSCOPEEXPORTS = 0xF8;
constexpr uint32_t DEBUG_S_CROSSSCOPEIMPORTS = 0xF7;
// Imported modules one module may list (bits 20..30 of a cross-module id).
constexpr size_t kMaxImportModules = 0x800;
constexpr uint32_t kSubsectionIgnoreBit = 0x80000000;
constexpr uint32_t kInlineeLinesEx = 1;
// Longest parent chain (procedure > blocks > sites) followed.
constexpr unsigned kMaxNesting = 256;
constexpr size_t kMaxSites = 1 << 20;

// cvinfo.h CVUncompressData: 1, 2 or 4 bytes, big-endian payload.
std::optional<uint32_t> uncompress(Bytes b, uint64_t& off) {
    auto b0 = b.get<uint8_t>(off);
    if (!b0) return std::nullopt;
    if ((*b0 & 0x80) == 0) {
        off += 1;
        return *b0;
    }
    if ((*b0 & 0xC0) == 0x80) {
        auto b1 = b.get<uint8_t>(off + 1);
        if (!b1) return std::nullopt;
        off += 2;
        return uint32_t(*b0 & 0x3F) << 8 | *b1;
    }
    if ((*b0 & 0xE0) == 0xC0) {
        if (!b.contains(off, 4)) return std::nullopt;
        const uint8_t* p = b.data() + off;
        off += 4;
        return uint32_t(p[0] & 0x1F) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
    }
    return std::nullopt;
}

int32_t decodeSigned(uint32_t v) {
    return (v & 1) ? -static_cast<int32_t>(v >> 1) : static_cast<int32_t>(v >> 1);
}

}  // namespace

std::vector<InlineRange> decodeInlineAnnotations(Bytes b) {
    std::vector<InlineRange> ranges;
    bool open = false;  // the last range's end is not known yet
    uint32_t code = 0;
    int32_t line = 0;
    uint32_t file = InlineRange::kNoFile;
    auto begin = [&](uint32_t start) {
        if (open) ranges.back().end = std::max(start, ranges.back().start);
        if (ranges.size() >= kMaxAnnotationRanges) return false;
        ranges.push_back({start, start, line, file});
        open = true;
        return true;
    };
    uint64_t off = 0;
    while (off < b.size()) {
        auto op = uncompress(b, off);
        if (!op || *op == uint32_t(AnnotationOp::Invalid)) break;
        auto a = uncompress(b, off);
        if (!a) break;
        bool ok = true;
        switch (static_cast<AnnotationOp>(*op)) {
        case AnnotationOp::CodeOffset:
        case AnnotationOp::ChangeCodeOffset:
            code += *a;
            ok = begin(code);
            break;
        case AnnotationOp::ChangeCodeOffsetBase:
            code += *a;
            break;
        case AnnotationOp::ChangeCodeLength:
            if (!open) ok = begin(code);
            if (ok) ranges.back().end = ranges.back().start + *a, open = false;
            break;
        case AnnotationOp::ChangeFile:
            file = *a;
            break;
        case AnnotationOp::ChangeLineOffset:
            line += decodeSigned(*a);
            break;
        case AnnotationOp::ChangeCodeOffsetAndLineOffset:
            code += *a & 0xF;
            line += decodeSigned(*a >> 4);
            ok = begin(code);
            break;
        case AnnotationOp::ChangeCodeLengthAndCodeOffset: {
            auto delta = uncompress(b, off);
            if (!delta) return ranges;
            code += *delta;
            ok = begin(code);
            if (ok) ranges.back().end = code + *a, open = false;
            break;
        }
        case AnnotationOp::ChangeLineEndDelta:
        case AnnotationOp::ChangeRangeKind:
        case AnnotationOp::ChangeColumnStart:
        case AnnotationOp::ChangeColumnEndDelta:
        case AnnotationOp::ChangeColumnEnd:
            break;  // columns and range kinds: not needed for frames
        default:
            return ranges;  // unknown opcode: its operand count is unknown
        }
        if (!ok) break;
    }
    // A range still open has no known end: drop it rather than guess.
    if (open) ranges.pop_back();
    std::erase_if(ranges, [](const InlineRange& r) { return r.end <= r.start; });
    return ranges;
}

ModuleInlines ModuleInlines::parse(const StreamReader& stream, const ModuleInfo& info) {
    ModuleInlines m;
    Bytes s = stream.all(m.scratch_);
    Bytes syms = s.subClamped(0, info.symByteSize);
    // Record offset -> (parent, procedure): procedures are their own procedure.
    struct Scope {
        uint32_t procedure = 0;
        unsigned depth = 0;  // inline depth
        size_t site = SIZE_MAX;
    };
    std::unordered_map<uint32_t, Scope> scopes;
    for (uint64_t pos = 4; pos < syms.size();) {
        auto r = recordAt(syms, pos);
        if (!r) break;
        uint32_t here = static_cast<uint32_t>(pos);
        if (isProcedure(r->kind)) {
            scopes[here] = {here, 0, SIZE_MAX};
        } else if (r->kind == S_BLOCK32 || r->kind == S_INLINESITE || r->kind == S_INLINESITE2) {
            auto parent = r->data.get<uint32_t>(0);
            auto it = parent ? scopes.find(*parent) : scopes.end();
            if (it != scopes.end() && it->second.depth < kMaxNesting) {
                Scope sc = it->second;
                if (r->kind == S_BLOCK32) {
                    scopes[here] = sc;
                } else if (auto inlinee = r->data.get<uint32_t>(8); inlinee && m.sites_.size() < kMaxSites) {
                    uint64_t annAt = r->kind == S_INLINESITE2 ? 16 : 12;
                    InlineSite site;
                    site.recordOffset = here;
                    site.parent = *parent;
                    site.procedure = sc.procedure;
                    site.inlinee = *inlinee;
                    site.depth = sc.depth + 1;
                    site.ranges = decodeInlineAnnotations(r->data.subClamped(annAt, r->data.size()));
                    m.byProcedure_.emplace(site.procedure, m.sites_.size());
                    scopes[here] = {sc.procedure, site.depth, m.sites_.size()};
                    m.sites_.push_back(std::move(site));
                }
            }
        }
        pos += r->totalSize;
    }

    uint64_t c13At = uint64_t(info.symByteSize) + info.c11ByteSize;
    Bytes c13 = s.subClamped(c13At, info.c13ByteSize);
    for (uint64_t pos = 0; pos + 8 <= c13.size();) {
        uint32_t kind = *c13.get<uint32_t>(pos) & ~kSubsectionIgnoreBit;
        uint32_t len = *c13.get<uint32_t>(pos + 4);
        auto body = c13.sub(pos + 8, len);
        if (!body) break;
        if (kind == DEBUG_S_FILECHKSMS) {
            m.checksums_ = *body;
        } else if (kind == DEBUG_S_CROSSSCOPEIMPORTS) {
            for (uint64_t e = 0; e + 8 <= body->size() && m.imports_.size() < kMaxImportModules;) {
                uint32_t name = *body->get<uint32_t>(e);
                uint32_t count = *body->get<uint32_t>(e + 4);
                auto ids = body->sub(e + 8, uint64_t(count) * 4);
                if (!ids) break;
                m.imports_.push_back({name, *ids});
                e += 8 + uint64_t(count) * 4;
            }
        } else if (kind == DEBUG_S_CROSSSCOPEEXPORTS) {
            for (uint64_t e = 0; e + 8 <= body->size(); e += 8)
                m.exports_.try_emplace(*body->get<uint32_t>(e), *body->get<uint32_t>(e + 4));
        } else if (kind == DEBUG_S_INLINEELINES && body->size() >= 4) {
            uint32_t sig = *body->get<uint32_t>(0);
            for (uint64_t e = 4; e + 12 <= body->size();) {
                uint32_t id = *body->get<uint32_t>(e);
                m.inlinees_.try_emplace(id, InlineeSource{*body->get<uint32_t>(e + 4), *body->get<uint32_t>(e + 8)});
                e += 12;
                if (sig == kInlineeLinesEx) {
                    auto extra = body->get<uint32_t>(e);
                    if (!extra || *extra > body->size() / 4) break;
                    e += 4 + uint64_t(*extra) * 4;
                }
            }
        }
        pos += 8 + ((uint64_t(len) + 3) & ~uint64_t(3));
    }
    return m;
}

std::vector<const InlineSite*> ModuleInlines::sitesAt(uint32_t procRecord, uint32_t offset) const {
    std::vector<const InlineSite*> out;
    auto [lo, hi] = byProcedure_.equal_range(procRecord);
    for (auto it = lo; it != hi; ++it) {
        const InlineSite& s = sites_[it->second];
        for (const auto& r : s.ranges)
            if (offset >= r.start && offset < r.end) {
                out.push_back(&s);
                break;
            }
    }
    std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->depth > b->depth; });
    return out;
}

std::optional<InlineeSource> ModuleInlines::inlinee(uint32_t id) const {
    auto it = inlinees_.find(id);
    if (it == inlinees_.end()) return std::nullopt;
    return it->second;
}

std::optional<uint32_t> ModuleInlines::fileNameOffset(uint32_t fileId) const {
    return checksums_.get<uint32_t>(fileId);
}

std::optional<std::pair<uint32_t, uint32_t>> ModuleInlines::importOf(uint32_t crossId) const {
    uint32_t module = (crossId >> 20) & 0x7FF;
    uint32_t index = crossId & 0xFFFFF;
    if (!isCrossModule(crossId) || module >= imports_.size()) return std::nullopt;
    auto local = imports_[module].ids.get<uint32_t>(uint64_t(index) * 4);
    if (!local) return std::nullopt;
    return std::make_pair(imports_[module].moduleName, *local);
}

std::optional<uint32_t> ModuleInlines::exportOf(uint32_t localId) const {
    auto it = exports_.find(localId);
    if (it == exports_.end()) return std::nullopt;
    return it->second;
}

InlineTable::InlineTable(const Msf& msf) {
    try {
        ipi_.emplace(TypeStream::parse(msf, 4));
    } catch (const FormatError&) {
    }
    try {
        tpi_.emplace(TypeStream::parse(msf, 2));
    } catch (const FormatError&) {
    }
}

const ModuleInlines* InlineTable::module(const Msf& msf, const Dbi& dbi, uint16_t index) const {
    if (index >= dbi.modules().size()) return nullptr;
    const ModuleInfo& mi = dbi.modules()[index];
    if (!msf.hasStream(mi.symStream)) return nullptr;
    auto it = modules_.find(index);
    if (it == modules_.end()) it = modules_.emplace(index, ModuleInlines::parse(msf.stream(mi.symStream), mi)).first;
    return &it->second;
}

namespace {
std::string lowerCase(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}
}  // namespace

std::optional<uint16_t> InlineTable::moduleByName(const Dbi& dbi, std::string_view name) const {
    if (!moduleNames_) {
        moduleNames_.emplace();
        for (size_t i = 0; i < dbi.modules().size() && i <= 0xFFFF; ++i)
            moduleNames_->try_emplace(lowerCase(dbi.modules()[i].moduleName), static_cast<uint16_t>(i));
    }
    auto it = moduleNames_->find(lowerCase(name));
    if (it == moduleNames_->end()) return std::nullopt;
    return it->second;
}

std::string InlineTable::inlineeName(uint32_t id) const {
    if (!ipi_) return {};
    auto r = ipi_->record(id);
    auto f = r ? cv::parseFuncId(*r) : std::nullopt;
    if (!f) return {};
    std::string scope;
    if (r->kind == cv::LF_MFUNC_ID && tpi_) {
        if (auto cls = tpi_->record(f->scopeOrParent); cls && cv::isUdtLeaf(cls->kind))
            if (auto u = cv::parseUdt(*cls)) scope = std::string(u->name);
    } else if (r->kind == cv::LF_FUNC_ID && f->scopeOrParent) {
        // The scope is an LF_STRING_ID: u32 substring list, then the name.
        if (auto sr = ipi_->record(f->scopeOrParent); sr && sr->kind == cv::LF_STRING_ID) {
            uint64_t off = 4;
            scope = std::string(cv::readName(sr->data, off));
        }
    }
    return scope.empty() ? std::string(f->name) : scope + "::" + std::string(f->name);
}

std::vector<InlineFrame> PdbFile::inlineFramesAt(uint32_t rva) const {
    std::vector<InlineFrame> frames;
    try {
        const Dbi* d = dbi();
        if (!d) return frames;
        auto so = d->sectionOffsetOf(rva);
        if (!so) return frames;
        auto m = d->moduleAt(so->first, so->second);
        if (!m) return frames;
        const ModuleSymbols* ms = moduleSymbols(*m);
        const Procedure* p = ms ? ms->procedureAt(so->first, so->second) : nullptr;
        if (!p) return frames;
        if (!inlines_) inlines_ = std::make_shared<InlineTable>(msf_);
        const ModuleInlines* mi = inlines_->module(msf_, *d, *m);
        if (!mi) return frames;
        uint32_t rel = so->second - p->offset;
        for (const InlineSite* s : mi->sitesAt(p->recordOffset, rel)) {
            InlineFrame f;
            if (!ModuleInlines::isCrossModule(s->inlinee)) {
                f.name = inlines_->inlineeName(s->inlinee);
            } else if (auto imp = mi->importOf(s->inlinee)) {
                // Inlined from another module: its exports give the IPI index.
                if (auto em = inlines_->moduleByName(*d, names().at(imp->first)))
                    if (const ModuleInlines* emi = inlines_->module(msf_, *d, *em))
                        if (auto global = emi->exportOf(imp->second)) f.name = inlines_->inlineeName(*global);
            }
            auto src = mi->inlinee(s->inlinee);
            for (const auto& r : s->ranges) {
                if (rel < r.start || rel >= r.end) continue;
                uint32_t fileId = r.file != InlineRange::kNoFile ? r.file : (src ? src->file : InlineRange::kNoFile);
                if (auto n = mi->fileNameOffset(fileId)) f.file = names().at(*n);
                if (src) f.line = static_cast<uint32_t>(int64_t(src->line) + r.lineOffset);
                break;
            }
            frames.push_back(std::move(f));
        }
        // Each frame was called from where its caller is: the next outer
        // inline frame, or the procedure's own line for the outermost.
        for (size_t i = 0; i + 1 < frames.size(); ++i) {
            frames[i].callFile = frames[i + 1].file;
            frames[i].callLine = frames[i + 1].line;
        }
        if (!frames.empty()) {
            if (auto l = lineAt(rva)) {
                frames.back().callFile = l->file;
                frames.back().callLine = l->line;
            }
        }
    } catch (const std::exception&) {
        frames.clear();  // a damaged stream gives no inline frames, not an error
    }
    return frames;
}

}  // namespace nt::pdb
