#include "pdb/string_table.h"

namespace nt::pdb {

StringTable::StringTable(const StreamReader& s) {
    if (s.get<uint32_t>(0).value_or(0) != 0xEFFEEFFE) return;
    auto size = s.get<uint32_t>(8);
    if (!size) return;
    auto b = s.read(12, *size, scratch_);
    if (b) strings_ = *b;
}

std::string StringTable::at(uint32_t off) const {
    if (off >= strings_.size()) return {};
    return std::string(strings_.cstring(off, strings_.size() - off));
}

}  // namespace nt::pdb
