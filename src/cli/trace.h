// SPDX-License-Identifier: MIT
// --trace: JSON Lines, one object per iteration with its stage (1-based; 1 without --scales), the
// iteration within that stage, the weighted terms and the wall seconds since the run began.
// Kept in memory and written atomically at the end, so a failed run leaves no partial trace.
#pragma once
#include <string>

#include "loss/objective.h"

namespace nst::cli {

class Trace {
public:
    void add(int stage, int iter, const LossTerms& terms, double seconds);
    void write(const std::string& path) const;

private:
    std::string m_text;
};

// A double as JSON: shortest round-trip form; non-finite values become null.
std::string json_number(double v);

}  // namespace nst::cli
