// SPDX-License-Identifier: MIT
#include "cli/backend_options.h"

namespace nst::cli {

void add_backend_options(CLI::App& app, std::string& backend, int& gpu) {
    app.add_option("--backend", backend, "auto, cpu or cuda")->capture_default_str();
    app.add_option("--gpu", gpu, "CUDA device index")->capture_default_str();
}

}  // namespace nst::cli
