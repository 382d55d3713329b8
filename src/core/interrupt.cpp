// SPDX-License-Identifier: MIT
#include "core/interrupt.h"

#include <atomic>

namespace nst {

namespace {
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the interrupt flag is set from a signal handler");
}  // namespace

void request_interrupt(int signal) noexcept { g_signal.store(signal, std::memory_order_relaxed); }

int interrupt_signal() noexcept { return g_signal.load(std::memory_order_relaxed); }

}  // namespace nst
