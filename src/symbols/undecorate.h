// Small name helpers shared by the providers.
#pragma once

#include <string>
#include <string_view>

namespace nt {

bool equalsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace nt
