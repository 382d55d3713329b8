// SPDX-License-Identifier: MIT
// Progress lines on stderr: iteration, weighted terms, iterations/second and ETA.
#pragma once
#include <chrono>
#include <string>

#include "loss/objective.h"

namespace nst::cli {

std::string format_duration(double seconds);  // "1m05s", "42.0s", "1h02m"

class Progress {
public:
    Progress(int total_iterations, int print_every, bool quiet);
    // Called after iteration `iter` (1-based) with its terms and the wall seconds since the start.
    void update(int iter, const LossTerms& terms, double seconds);
    void finish(int iterations, double seconds);

private:
    int m_total, m_every;
    bool m_quiet;
};

}  // namespace nst::cli
