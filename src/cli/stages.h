// SPDX-License-Identifier: MIT
// Coarse-to-fine runs (`nst run --scales`, issue #11; research notes §3.2-3.4): the plan of
// stages parsed from --scales and --num-iterations, and the hand-over from one stage's result to
// the next stage's starting point. cmd_run.cpp runs each stage as a whole problem of its own,
// resolved by resolve_problem at the stage's size, so content, style targets, masks and colour
// controls are all recomputed there and the optimiser starts afresh.
#pragma once
#include <string>
#include <vector>

#include "cli/problem_options.h"
#include "core/tensor.h"

namespace nst::cli {

struct Stage {
    int size = 0;        // the content's size under --size-rule
    int iterations = 0;  // iterations of this stage
};

// The stages of a run, smallest first. `scales` is "" (one stage at `image_size`), a comma list
// of sizes "256,512,1024" (strictly increasing), or "START:FACTOR:END", the sizes
// round(END / FACTOR^i), i = 0, 1, ..., that are >= START (crowsonkb's gen_scales: END is always
// the last stage; 128:1.41421356:512 gives 128,181,256,362,512). `iterations` is one count for
// every stage or a comma list with one per stage. `image_size_given`: --image-size was on the
// command line, which conflicts with --scales. Usage errors (exit 2) for anything else.
std::vector<Stage> parse_stages(const std::string& scales, const std::string& iterations, int image_size,
                                bool image_size_given);

// The starting point of a later stage from the previous stage's result x_prev (network space,
// (1, 3, h, w)): back to RGB with `pre`, clamped to [0, 1], resized to the content's size in
// `next` (resize_image: bilinear, antialiased when shrinking; the same path as `--init PATH`)
// and into network space, then grey under --color-control luminance. Returns (1, 3, H, W).
Tensor<float> upsample_init(const Tensor<float>& x_prev, const Problem& next);

}  // namespace nst::cli
