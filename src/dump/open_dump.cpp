#include "dump/open_dump.h"

#include <fmt/format.h>

#include "base/error.h"
#include "base/mapped_file.h"
#include "dump/dump_target.h"
#include "dump/kernel/kernel_target.h"
#include "dump/minidump/minidump_reader.h"
#include "dump/userdump/userdump_reader.h"

namespace nt {

namespace {

void readAny(Bytes b, DumpTarget& t) {
    std::string_view magic = b.subClamped(0, 8).asString();
    if (magic.size() >= 4 && magic.substr(0, 4) == "MDMP") return readMinidump(b, t);
    if (magic == "USERDUMP" || magic == "USERDU64") return readUserDump(b, t);
    if (b.size() < 8)
        throw FormatError(fmt::format("truncated: file is {} bytes, too short for any dump header", b.size()));
    throw FormatError(fmt::format("not a dump file: unknown signature 0x{:08x} (expected MDMP, USERDUMP, USERDU64, "
                                  "PAGEDUMP or PAGEDU64)",
                                  b.getOr<uint32_t>(0, 0)));
}

bool isKernelDump(Bytes b) {
    std::string_view magic = b.subClamped(0, 8).asString();
    return magic == "PAGEDUMP" || magic == "PAGEDU64";
}

std::unique_ptr<Target> openKernel(Bytes b, const std::string& name, MappedFile file) {
    auto t = std::make_unique<KernelDumpTarget>();
    t->file = std::move(file);
    t->dumpPath = name;
    try {
        readKernelDump(b, *t);
    } catch (const FormatError& e) {
        if (name.empty()) throw;
        throw FormatError(name + ": " + e.what());
    }
    return t;
}

std::unique_ptr<Target> open(Bytes b, const std::string& name, MappedFile file) {
    if (isKernelDump(b)) return openKernel(b, name, std::move(file));
    auto t = std::make_unique<DumpTarget>();
    t->file = std::move(file);  // the mapping keeps its address: b stays valid
    t->dumpPath = name;
    try {
        readAny(b, *t);
    } catch (const FormatError& e) {
        if (name.empty()) throw;
        throw FormatError(name + ": " + e.what());
    }
    return t;
}

}  // namespace

std::unique_ptr<Target> openDump(const std::string& path) {
    MappedFile f = MappedFile::open(path);
    Bytes b = f.bytes();
    return open(b, path, std::move(f));
}

std::unique_ptr<Target> openDumpBytes(Bytes bytes, const std::string& name) { return open(bytes, name, {}); }

}  // namespace nt
