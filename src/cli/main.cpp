// SPDX-License-Identifier: MIT
// nst: the command-line entry point. Only here are errors turned into one stderr line and an
// exit code (spec §7); everything below throws nst::Error.
#include <csignal>
#include <cstdio>

#include "cli/app.h"
#include "core/error.h"
#include "core/interrupt.h"

namespace {

// The first SIGINT or SIGTERM asks the run to stop after the current iteration (core/interrupt.h);
// SA_RESETHAND restores the default action, so a second one ends the process at once.
void install_interrupt_handlers() {
    struct sigaction sa {};
    sa.sa_handler = [](int sig) { nst::request_interrupt(sig); };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    for (int sig : {SIGINT, SIGTERM}) {
        // A signal the parent set to be ignored stays ignored (nohup, background jobs of a shell).
        struct sigaction old {};
        if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sig, &sa, nullptr);
    }
}

}  // namespace

int main(int argc, char** argv) {
    install_interrupt_handlers();
    nst::cli::CliApp cli;
    try {
        cli.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return cli.app().exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return cli.app().exit(e);
    } catch (const CLI::CallForVersion& e) {
        return cli.app().exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "nst: error: %s\n", cli.parse_error_message(e).c_str());
        return int(nst::ExitCode::Usage);
    }
    try {
        cli.run_parsed();
    } catch (const nst::Error& e) {
        std::fprintf(stderr, "nst: error: %s\n", e.what());
        return int(e.code());
    }
    return 0;
}
