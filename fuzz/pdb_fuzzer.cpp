// libFuzzer target: a PDB from arbitrary bytes. Opening may fail with a
// FormatError; anything else than a clean return (crash, hang, sanitizer
// report, another exception) is a bug. Every lazily parsed part is touched.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "pdb/pdb_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::unique_ptr<nt::pdb::PdbFile> pdb;
    try {
        pdb = nt::pdb::PdbFile::openBytes(nt::Bytes(data, size));
    } catch (const nt::FormatError&) {
        return 0;
    }
    size_t sink = pdb->guid().toString().size() + pdb->age() + pdb->machine();
    for (uint32_t rva : {0x0u, 0x1000u, 0x10d9u, 0x1234u, 0x11000u, 0x7fffffffu, 0xffffffffu}) {
        if (auto s = pdb->symbolAt(rva)) sink += s->name.size() + s->rva;
        if (auto l = pdb->lineAt(rva)) sink += l->file.size() + l->line;
        for (const auto& f : pdb->inlineFramesAt(rva)) sink += f.name.size() + f.line + f.callLine;
        if (auto f = pdb->frameDataAt(rva)) sink += f->program.size() + f->codeSize;
    }
    for (const char* name : {"main", "crash", "RtlUserThreadStart", ""})
        sink += pdb->rvaOf(name).value_or(0);
    if (const auto* pub = pdb->publics()) {
        for (uint32_t i = 0; i < pub->count() && i < 64; ++i)
            if (auto p = pub->at(i)) sink += p->pub.name.size();
    }
    if (const auto* dbi = pdb->dbi()) {
        for (uint16_t m = 0; m < dbi->modules().size() && m < 16; ++m)
            if (const auto* ms = pdb->moduleSymbols(m)) sink += ms->procedures().size();
    }
    if (const auto* types = pdb->types()) {
        // Bounded walk: a few names, the first ids of TPI and their fields one
        // level down (ids also come from the fuzzed bytes).
        for (const char* name : {"_PEB", "_LIST_ENTRY", "_UNICODE_STRING", "<unnamed-tag>", ""})
            if (auto id = types->findType(name))
                if (const auto* t = types->type(*id)) sink += t->size + t->fields.size();
        unsigned listed = 0;
        types->forEachTypeName([&](std::string_view n) { sink += n.size(); return ++listed < 64; });
        auto walk = [&](nt::types::TypeId id) {
            const auto* t = types->type(id);
            if (!t) return;
            sink += t->size + t->count + t->enumerators.size();
            for (size_t i = 0; i < t->fields.size() && i < 32; ++i)
                if (const auto* ft = types->type(t->fields[i].type)) sink += ft->size + ft->fields.size();
            if (t->target != nt::types::kNoType)
                if (const auto* tt = types->type(t->target)) sink += tt->size;
        };
        for (nt::types::TypeId id = 0; id < 0x100; ++id) walk(id);           // simple types
        for (nt::types::TypeId id = 0x1000; id < 0x1200; ++id) walk(id);     // the first records
    }
    volatile size_t keep = sink;
    (void)keep;
    return 0;
}
