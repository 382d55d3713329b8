// SPDX-License-Identifier: MIT
// nst: the command-line entry point. Only here are errors turned into one stderr line and an
// exit code (spec §7); everything below throws nst::Error.
#include <csignal>
#include <cstdio>
#include <exception>
#include <map>
#include <new>
#include <string>

#include "cli/commands.h"
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
    CLI::App app{"nst: neural style transfer (Gatys, Ecker & Bethge) on CPU and CUDA", "nst"};
    app.set_version_flag("--version", std::string("nst ") + NST_VERSION);
    app.require_subcommand(1);
    // GNU style: a repeated scalar option takes its last value (--style accumulates instead).
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    std::map<const CLI::App*, nst::cli::Command> commands;
    for (auto add : {nst::cli::add_run_command, nst::cli::add_eval_command, nst::cli::add_features_command,
                     nst::cli::add_weights_command, nst::cli::add_match_color_command,
                     nst::cli::add_train_command, nst::cli::add_stylize_command, nst::cli::add_video_command,
                     nst::cli::add_video_metrics_command}) {
        const std::size_t before = app.get_subcommands({}).size();
        nst::cli::Command cmd = add(app);
        commands[app.get_subcommands({})[before]] = std::move(cmd);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string msg = e.what();
        for (auto& c : msg)
            if (c == '\n') c = ' ';
        std::fprintf(stderr, "nst: error: %s (see 'nst %s--help')\n", msg.c_str(),
                     app.get_subcommands().empty() ? "" : (app.get_subcommands()[0]->get_name() + " ").c_str());
        return int(nst::ExitCode::Usage);
    }
    try {
        for (auto* sub : app.get_subcommands()) commands.at(sub)();
    } catch (const nst::Error& e) {
        std::fprintf(stderr, "nst: error: %s\n", e.what());
        return int(e.code());
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "nst: error: out of host memory; use a smaller --image-size\n");
        return int(nst::ExitCode::Runtime);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nst: error: %s\n", e.what());
        return int(nst::ExitCode::Runtime);
    }
    return 0;
}
