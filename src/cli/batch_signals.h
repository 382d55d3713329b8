// SPDX-License-Identifier: MIT
// SIGINT/SIGTERM during `nst batch`: the first lets the job in flight finish (its output is then
// complete) and stops the batch before the next; a second also stops that job at its next
// iteration (core/interrupt.h: it writes nothing); a third ends the process.
#pragma once
#include <csignal>

namespace nst::cli {

class BatchSignalGuard {
public:
    BatchSignalGuard();   // installs the handlers (a signal the parent ignores stays ignored)
    ~BatchSignalGuard();  // restores the previous ones
    BatchSignalGuard(const BatchSignalGuard&) = delete;
    BatchSignalGuard& operator=(const BatchSignalGuard&) = delete;

    // The first signal received since construction, 0 when none.
    static int stop_signal() noexcept;

private:
    struct sigaction m_old[2];
    bool m_installed[2] = {false, false};
};

}  // namespace nst::cli
