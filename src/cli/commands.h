// SPDX-License-Identifier: MIT
// The subcommands. Each registers its options on a CLI11 subcommand and returns the function
// that runs it after parsing; errors are thrown as nst::Error and reported by main().
#pragma once
#include <functional>

#include <CLI/CLI.hpp>

namespace nst::cli {

using Command = std::function<void()>;

Command add_run_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_features_command(CLI::App& app);
Command add_weights_command(CLI::App& app);
Command add_match_color_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_stylize_command(CLI::App& app);
Command add_video_command(CLI::App& app);
Command add_video_metrics_command(CLI::App& app);
Command add_batch_command(CLI::App& app);

// Notice printed whenever random weights are in use (spec §3).
void warn_random_weights(const std::string& spec_or_source);

}  // namespace nst::cli
