// Dispatcher objects (events, mutants, semaphores, timers, queues, threads,
// processes) named the way !thread lists a thread's wait objects.
#include "base/format.h"
#include "nt/objects.h"

namespace nt {

std::string_view dispatcherTypeName(uint8_t type) {
    // _KOBJECTS values; names as !thread prints them.
    switch (type) {
        case 0: return "NotificationEvent";
        case 1: return "SynchronizationEvent";
        case 2: return "Mutant";
        case 3: return "Process";
        case 4: return "QueueObject";
        case 5: return "Semaphore";
        case 6: return "Thread";
        case 7: return "Gate";
        case 8: return "NotificationTimer";
        case 9: return "SynchronizationTimer";
        case 24: return "NotificationTimer2";
        case 25: return "SynchronizationTimer2";
        default: return {};
    }
}

DispatcherObject Kernel::dispatcherObject(uint64_t address) const {
    DispatcherObject d;
    d.address = address;
    StructView h = view("_DISPATCHER_HEADER", address);
    if (auto t = h.u("Type")) d.type = static_cast<uint8_t>(*t);
    d.signalState = h.s("SignalState");
    if (!d.type) {
        d.name = "<unreadable object>";
        return d;
    }
    std::string_view kind = dispatcherTypeName(*d.type);
    switch (*d.type) {
        case 2: {
            d.ownerThread = view("_KMUTANT", address).ptr("OwnerThread");
            d.name = "Mutant - owning thread " + (d.ownerThread ? addrPlain(*d.ownerThread, is64()) : std::string("?"));
            break;
        }
        case 5: {
            d.limit = view("_KSEMAPHORE", address).s("Limit");
            d.name = "Semaphore Limit " + (d.limit ? hex0x(static_cast<uint32_t>(*d.limit)) : std::string("?"));
            break;
        }
        default:
            d.name = kind.empty() ? "Unknown object type " + std::to_string(*d.type) : std::string(kind);
    }
    return d;
}

std::vector<DispatcherObject> Kernel::waitObjects(const ThreadInfo& t) const {
    std::vector<DispatcherObject> out;
    for (const WaitBlockInfo& w : waitBlocks(t)) {
        if (!w.object || !*w.object) continue;
        out.push_back(dispatcherObject(*w.object));
    }
    return out;
}

}  // namespace nt
