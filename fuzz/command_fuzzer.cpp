// Fuzzes the command language: any line typed at the prompt must produce
// output or a clean error, never a crash or hang. The target is a small
// hand-built x64 process with some memory, one module and one thread.
#include <cstddef>
#include <cstdint>
#include <string>

#include "commands/engine.h"
#include "memory/range_memory.h"

namespace {

class FuzzTarget : public nt::Target {
public:
    FuzzTarget() {
        machine = nt::Machine::Amd64;
        for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i * 7);
        mem.add(0x10000, nt::Bytes(page.data(), page.size()));
        mem.finalize();
        nt::Thread t;
        t.id = 0x100;
        t.teb = 0x10000;
        nt::CpuContext c(nt::Machine::Amd64);
        c.set(nt::Reg::Rip, 0x10010);
        c.set(nt::Reg::Rsp, 0x10800);
        c.set(nt::Reg::Rbp, 0x10900);
        t.context = c;
        threads.push_back(t);
        nt::Module m;
        m.base = 0x10000;
        m.size = 0x1000;
        m.name = "fuzz";
        m.path = "C:\\fuzz.exe";
        modules.push_back(m);
        finalize();
    }
    const nt::Memory& memory() const override { return mem; }

private:
    std::array<uint8_t, 4096> page{};
    nt::RangeMemory mem;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 512) return 0;  // command lines are short; keep executions fast
    static nt::Engine* engine = [] {
        auto* e = new nt::Engine(std::make_unique<FuzzTarget>());
        e->rangeLimit = 64 << 10;  // a 256 MiB `db` is legal but makes a useless fuzz input
        // `.symfix` or `.sympath srv*...` in one input would make every later
        // symbol lookup wait on a connection: the campaign of session 4 spent
        // 83% of its time blocked (69 s CPU in 400 s). Never connect.
        auto options = e->symbols().locatorOptions();
        options.offline = true;
        e->symbols().setLocatorOptions(options);
        return e;
    }();
    std::string line(reinterpret_cast<const char*>(data), size);
    // Render JSON as the CLI does: strings from memory may be any bytes.
    for (auto& out : engine->runLine(line))
        (void)out.json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    engine->setCurrentThread(0);
    engine->setEffectiveMachine(nt::Machine::Amd64);
    return 0;
}
