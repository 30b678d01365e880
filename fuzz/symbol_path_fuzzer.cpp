// libFuzzer target: a symbol path (_NT_SYMBOL_PATH, .sympath) from arbitrary
// text. Parsing never throws; printing and parsing again must give the same
// text (what .sympath shows is what would be searched).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "symsrv/symbol_locator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto path = nt::symsrv::SymbolPath::parse(text);
    std::string printed = path.text();
    auto again = nt::symsrv::SymbolPath::parse(printed);
    if (again.text() != printed || again.elements.size() != path.elements.size()) std::abort();
    for (const auto& e : path.elements)
        if (e.kind == nt::symsrv::PathElement::Kind::Directory && e.directory.empty()) std::abort();
    return 0;
}
