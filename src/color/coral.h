// SPDX-License-Identifier: MIT
// AdaIN's colour preservation (Huang & Belongie 2017 §7.3): coral() of the official
// lib/utils.lua and of pytorch-AdaIN's function.py (research/feedforward.md §5.2-§5.3), which
// recolours the *source* toward the *target* (AdaIN calls it with the style as source and the
// content as target, so the style image takes the content's colours before it is encoded):
//
//   per channel c: x̂_c = (x_c - mean_c) / std_c     (std unbiased, ÷(n-1), as torch's .std())
//   S = X̂ X̂ᵀ + I                                      (3x3, NOT divided by n)
//   out = sqrt(S_target) sqrt(S_source)^-1 x̂_source, then × std_target + mean_target per channel
//
// Matrix square roots of the symmetric positive-definite S (the +I makes them so) via the
// symmetric eigen-decomposition, which is the SVD both implementations use for such a matrix;
// everything in double. The result is not clamped (neither implementation clamps before
// encoding). A source or target channel with zero variance is an input error: its std divides.
#pragma once
#include <string>

#include "color/mat3.h"
#include "core/tensor.h"

namespace nst::color {

// The affine map of coral: out = a x + b per pixel (x the source's RGB), a = diag(std_t)
// sqrt(S_t) sqrt(S_s)^-1 diag(1/std_s), b = mean_t - a mean_s.
struct CoralMap {
    Mat3 a;
    Vec3 b;
};

// what_source / what_target name the images in error messages.
CoralMap coral_map(ConstView<float> source,  // (1, 3, H, W)
                   ConstView<float> target,  // (1, 3, H', W')
                   const std::string& what_source, const std::string& what_target);

// The source recoloured toward the target (1, 3, H, W), unclamped.
Tensor<float> coral(ConstView<float> source, ConstView<float> target, const std::string& what_source,
                    const std::string& what_target);

}  // namespace nst::color
