// SPDX-License-Identifier: MIT
#include "cli/in_process.h"

#include "cli/app.h"
#include "core/error.h"

namespace nst::cli {

namespace {
// Per thread, so that two threads of a host process (Python) can each run a command.
thread_local RunHooks* t_hooks = nullptr;
}  // namespace

RunHooks* active_run_hooks() { return t_hooks; }

ScopedRunHooks::ScopedRunHooks(RunHooks& hooks) : m_previous(t_hooks) { t_hooks = &hooks; }
ScopedRunHooks::~ScopedRunHooks() { t_hooks = m_previous; }

void run_in_process(const std::vector<std::string>& args) {
    // A fresh app per command: CLI11 keeps parse state in the app and in the options' targets.
    CliApp cli;
    std::vector<const char*> argv{"nst"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    try {
        cli.parse(int(argv.size()), argv.data());
    } catch (const CLI::Success&) {
        // --help / --version print and end the process in the CLI; here there is nothing to run.
        throw_usage("--help and --version are not available in-process (run 'nst --help')");
    } catch (const CLI::ParseError& e) {
        throw_usage(cli.parse_error_message(e));
    }
    cli.run_parsed();
}

}  // namespace nst::cli
