// libFuzzer target for the legacy USERDUMP/USERDU64 reader.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "dump/dump_target.h"
#include "dump/userdump/userdump_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nt::DumpTarget t;
    try {
        nt::readUserDump(nt::Bytes(data, size), t);
    } catch (const nt::FormatError&) {
        return 0;
    }
    uint8_t buf[64];
    for (const auto& th : t.threads)
        if (th.context) t.memory().read(th.context->sp(), buf);
    if (t.exception) t.memory().read(t.exception->address, buf);
    return 0;
}
