// SPDX-License-Identifier: MIT
// Small path helpers shared by the writers and the CLI.
#pragma once
#include <string>

namespace nst {

// Lower-case extension including the dot ("" when the file name has none): "a/b.PNG" -> ".png".
std::string lower_extension(const std::string& path);

}  // namespace nst
