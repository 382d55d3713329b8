// SPDX-License-Identifier: MIT
// The training loss of a WCT decoder (Li et al. 2017, §3.1: each decoder is trained to invert its
// encoder level): with f the frozen encoder prefix to reluL_1 and g the decoder,
//   L = mean((g(f(c)) - c)^2) + lambda * mean((f(g(f(c))) - f(c))^2)
// pixel reconstruction plus feature reconstruction, each the mean over its elements (torch's
// MSELoss; lambda 1 by default, docs/conventions.md "WCT" on what is verified). The decoder's
// output must have the content's size: the side must be a multiple of 2^(L-1).
#pragma once
#include "core/tensor.h"
#include "nn/network.h"

namespace nst {

inline constexpr double kWctFeatureWeight = 1.0;

struct WctDecoderLoss {
    double pixel = 0;    // mean squared pixel error
    double feature = 0;  // lambda * mean squared feature error
};

// content: (B, 3, S, S) RGB in [0, 1]. encoder: the level's prefix (frozen: its parameters get no
// gradient); decoder: the level's decoder. Adds (+=) the decoder's parameter gradient into grads
// (param_count values) and returns the terms. Input error when the decoded size differs.
template <typename T>
WctDecoderLoss wct_decoder_loss(cpu::Network<T>& encoder, cpu::Network<T>& decoder, ConstView<T> content,
                                double lambda, T* grads);

}  // namespace nst
