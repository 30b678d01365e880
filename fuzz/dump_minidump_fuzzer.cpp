// libFuzzer target for the minidump reader: any bytes must either open or
// raise FormatError, never crash, hang or read outside the input.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "dump/dump_target.h"
#include "dump/minidump/minidump_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nt::DumpTarget t;
    try {
        nt::readMinidump(nt::Bytes(data, size), t);
    } catch (const nt::FormatError&) {
        return 0;
    }
    // Touch what later layers will touch: memory at every thread's stack
    // pointer and every module base (exercises the range index).
    uint8_t buf[64];
    for (const auto& th : t.threads)
        if (th.context) t.memory().read(th.context->sp(), buf);
    for (const auto& m : t.modules) t.memory().read(m.base, buf);
    return 0;
}
