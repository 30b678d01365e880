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
    volatile size_t keep = sink;
    (void)keep;
    return 0;
}
