// SPDX-License-Identifier: MIT
// The mean/std style loss of AdaIN's decoder training for one encoder layer, value and gradient
// in one pass (research/feedforward.md §5.2-§5.3). Per (sample, channel) plane of the decoded
// image's features f, with mu the plane's mean and sigma = sqrt(sum (f - mu)^2 / D + eps):
//
//   value = scale * sum_{n, c} [(mu - mu_t)^2 + (sigma - sigma_t)^2]
//   df   += scale * [2 (mu - mu_t) / HW + 2 (sigma - sigma_t) (f - mu) / (D sigma)]
//
// with the conventions' constants (AdainLossConstants): pytorch-AdaIN's calc_mean_std and
// nn.MSELoss (D = HW - 1, eps 1e-5, scale = weight / (N C)), or the official Torch code's
// StyleINLossModule (D = HW, eps 1e-6 inside nn.Sqrt, scale = weight / N: MSECriterion with
// sizeAverage false, divided by the batch). The targets mu_t, sigma_t are the style image's
// statistics as cpu::adain_channel_stats gives them (role Style), constants of the loss.
// Sums and statistics in double.
#pragma once
#include "core/tensor.h"

namespace nst {

struct AdainLossConstants {
    bool unbiased = true;   // D = HW - 1 (true) or HW
    double eps = 1e-5;      // inside the input's sigma
    bool mean_over_channels = true;  // scale = weight / (N C) (true) or weight / N
};
// Port (true) or official (false) constants.
AdainLossConstants adain_loss_constants(bool port);

namespace cpu {

// Returns the weighted value; adds the gradient into df unless it is empty. T: float (the
// trainer) or double (tests by finite differences).
template <typename T>
double adain_style_loss(ConstView<T> f,                // (N, C, H, W)
                        ConstView<float> target_mean,  // (N, C, 1, 1)
                        ConstView<float> target_std,   // (N, C, 1, 1)
                        const AdainLossConstants& k, double weight,
                        TensorView<T> df);             // (N, C, H, W) or empty

}  // namespace cpu
}  // namespace nst
