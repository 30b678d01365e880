// libFuzzer target: an ISF symbol table (JSON or .json.xz) from arbitrary
// bytes. Opening may fail with a FormatError; anything else (crash, hang,
// sanitizer report, another exception) is a bug. Every lazily built part is
// touched: each type (and what its fields point to), the symbols, and the
// dt layout of every struct over memory that holds the input itself.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "isf/isf_file.h"
#include "memory/range_memory.h"
#include "types/dt_render.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::unique_ptr<nt::isf::IsfFile> isf;
    try {
        isf = nt::isf::IsfFile::fromBytes(std::span<const uint8_t>(data, size));
    } catch (const nt::FormatError&) {
        return 0;
    }
    nt::RangeMemory mem;
    mem.add(0x1000, nt::Bytes(data, size));
    mem.finalize();

    size_t sink = isf->metadata().guid.size() + isf->pointerSize() + isf->symbolCount();
    for (uint64_t rva : {0x0ull, 0x10ull, 0x1000ull, 0xffffffffull})
        if (auto s = isf->symbolAt(rva)) sink += s->name.size() + s->rva;
    sink += isf->rvaOf("x").value_or(0);

    size_t types = 0;
    isf->forEachTypeName([&](std::string_view name) {
        auto id = isf->findType(name);
        if (!id) return true;
        const nt::types::Type* t = isf->type(*id);
        if (!t) return true;
        for (const auto& f : t->fields) sink += nt::types::dtTypeText(*isf, f.type).size();
        nt::types::DtRequest req;
        req.types = isf.get();
        req.type = *id;
        req.memory = &mem;
        req.address = 0x1000;
        req.recurse = 3;
        req.maxNodes = 2000;
        if (auto nodes = nt::types::dtLayout(req)) sink += nt::types::dtText(*nodes).size();
        sink += nt::types::dtEnumText(*t).size();
        return ++types < 64;
    });
    volatile size_t keep = sink;
    (void)keep;
    return 0;
}
