// SPDX-License-Identifier: MIT
// The `nst` command-line application: every subcommand registered on one CLI11 app, with the
// CLI's parsing policy. main() and run_in_process() (in_process.h) both build it here, so that a
// command line parses the same way whether it comes from a shell or from a long-lived process.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace nst::cli {

class CliApp {
public:
    CliApp();
    CliApp(const CliApp&) = delete;
    CliApp& operator=(const CliApp&) = delete;

    CLI::App& app() { return m_app; }

    // Parses argv (argv[0] is the program name). CLI11's exceptions pass through: help and
    // version requests (CLI::Success) for main to print, parse errors (CLI::ParseError).
    void parse(int argc, const char* const* argv);

    // The one-line text of a parse error, as `nst: error: ` is followed by on stderr: newlines
    // folded, and a pointer to the subcommand's --help.
    std::string parse_error_message(const CLI::ParseError& e) const;

    // Runs the parsed subcommand. Every failure leaves as nst::Error: out of host memory and
    // other std::exceptions become runtime errors (exit 4) with the message main prints.
    void run_parsed();

private:
    CLI::App m_app;
    std::map<const CLI::App*, Command> m_commands;
};

}  // namespace nst::cli
