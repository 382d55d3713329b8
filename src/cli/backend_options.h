// SPDX-License-Identifier: MIT
// --backend and --gpu: one registration for every command that runs the VGG network on a chosen
// device (run, eval and video through ProblemOptions; features), so that their names, defaults
// and help text cannot drift apart. Resolution (auto, the CPU-only build's error, a missing
// device) is engine/engine.h's resolve_backend.
#pragma once
#include <string>

#include <CLI/CLI.hpp>

namespace nst::cli {

void add_backend_options(CLI::App& app, std::string& backend, int& gpu);

}  // namespace nst::cli
