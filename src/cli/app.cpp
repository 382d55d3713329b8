// SPDX-License-Identifier: MIT
#include "cli/app.h"

#include <new>

#include "core/error.h"

namespace nst::cli {

CliApp::CliApp() : m_app{"nst: neural style transfer (Gatys, Ecker & Bethge) on CPU and CUDA", "nst"} {
    m_app.set_version_flag("--version", std::string("nst ") + NST_VERSION);
    m_app.require_subcommand(1);
    // GNU style: a repeated scalar option takes its last value (--style accumulates instead).
    m_app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    for (auto add : {add_run_command, add_eval_command, add_features_command, add_weights_command,
                     add_match_color_command, add_train_command, add_stylize_command, add_video_command,
                     add_video_metrics_command, add_batch_command}) {
        const std::size_t before = m_app.get_subcommands({}).size();
        Command cmd = add(m_app);
        m_commands[m_app.get_subcommands({})[before]] = std::move(cmd);
    }
}

void CliApp::parse(int argc, const char* const* argv) { m_app.parse(argc, argv); }

std::string CliApp::parse_error_message(const CLI::ParseError& e) const {
    std::string msg = e.what();
    for (auto& c : msg)
        if (c == '\n') c = ' ';
    const auto subs = m_app.get_subcommands();
    return msg + " (see 'nst " + (subs.empty() ? "" : subs[0]->get_name() + " ") + "--help')";
}

void CliApp::run_parsed() {
    try {
        for (auto* sub : m_app.get_subcommands()) m_commands.at(sub)();
    } catch (const Error&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw_runtime("out of host memory; use a smaller --image-size");
    } catch (const std::exception& e) {
        throw_runtime(e.what());
    }
}

}  // namespace nst::cli
