// SPDX-License-Identifier: MIT
#include "cli/batch_signals.h"

#include <atomic>

#include "core/interrupt.h"

namespace nst::cli {

namespace {

std::atomic<int> g_stop{0};
const int kSignals[2] = {SIGINT, SIGTERM};

void on_signal(int sig) {
    int none = 0;
    if (g_stop.compare_exchange_strong(none, sig)) return;  // first: finish the job in flight
    request_interrupt(sig);                                  // second: stop it too
    struct sigaction dfl {};                                 // third: the default action
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
}

}  // namespace

BatchSignalGuard::BatchSignalGuard() {
    g_stop = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 2; ++i) {
        if (sigaction(kSignals[i], nullptr, &m_old[i]) != 0 || m_old[i].sa_handler == SIG_IGN) continue;
        m_installed[i] = sigaction(kSignals[i], &sa, nullptr) == 0;
    }
}

BatchSignalGuard::~BatchSignalGuard() {
    for (int i = 0; i < 2; ++i)
        if (m_installed[i]) sigaction(kSignals[i], &m_old[i], nullptr);
}

int BatchSignalGuard::stop_signal() noexcept { return g_stop.load(); }

}  // namespace nst::cli
