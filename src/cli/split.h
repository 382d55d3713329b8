// SPDX-License-Identifier: MIT
// The list splitting of the CLI's comma/semicolon/colon options, in one place.
#pragma once
#include <string>
#include <vector>

namespace nst::cli {

// Splits at `sep`, keeping empty items (the caller decides whether they are errors).
inline std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = s.find(sep, start);
        out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) return out;
        start = end + 1;
    }
}

}  // namespace nst::cli
