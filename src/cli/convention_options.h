// SPDX-License-Identifier: MIT
// The peer conventions as options (issue #16; docs/conventions.md "Peer conventions"). Each one
// is usable alone and each preset (engine/presets.h) is a set of defaults for them; an option
// given on the command line wins over the preset's value.
//   problem (run and eval): --caffe-scale 255|256, --resize stb|pil-bilinear, --jpeg-decoder
//                           stb|libjpeg, --tv-form
//                           squared-l2|l1, --normalize-gradients none|jcjohnson|neural-style-pt,
//                           --normalize-weights, --iterate-space network|image
//   run only:               --output-iterate last|previous, --output-rounding round|truncate,
//                           --tol-grad X, --tol-change X (torch's L-BFGS tolerances; -1 = off),
//                           --clamp-iterate on|off
#pragma once
#include <string>

#include <CLI/CLI.hpp>

#include "engine/presets.h"

namespace nst::cli {

struct ConventionOptions {
    double caffe_scale = 0;  // 0: the preset's
    std::string resize, jpeg_decoder, tv_form, normalize_gradients;
    bool normalize_weights = false;
    std::string iterate_space;
    std::string output_iterate, output_rounding, clamp_iterate;
    double tol_grad = 0, tol_change = 0;
    CLI::Option* o_caffe_scale = nullptr;
    CLI::Option* o_normalize_weights = nullptr;
    CLI::Option* o_tol_grad = nullptr;
    CLI::Option* o_tol_change = nullptr;

    void add_to(CLI::App& app);           // the problem options (run and eval)
    void add_run_options(CLI::App& app);  // output and L-BFGS stopping conventions
};

// The preset's defaults with the options given applied on top (usage errors, exit 2, for values
// out of range). Run-side fields keep the preset's values unless their options were registered
// and given.
PresetDefaults resolve_conventions(const ConventionOptions& o, PresetDefaults preset);

}  // namespace nst::cli
