// dt: display a type, or a type laid over target memory (FACTS.md §2.7).
#include "commands/engine.h"

namespace nt {

void registerTypeCommands(Engine&) {}

}  // namespace nt
