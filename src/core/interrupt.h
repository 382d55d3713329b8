// SPDX-License-Identifier: MIT
// A request to stop the run, set from a signal handler (cli/main.cpp installs one for SIGINT and
// SIGTERM) and polled between iterations: an interrupted run then ends with one error line and
// exit code 4, keeps the outputs of the stages it completed, and writes nothing partial (spec §7;
// issue #11). The flag is a lock-free atomic, so setting it is async-signal-safe.
#pragma once

namespace nst {

void request_interrupt(int signal) noexcept;
// The signal that asked to stop, 0 when none did.
int interrupt_signal() noexcept;

}  // namespace nst
