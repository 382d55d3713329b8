// SPDX-License-Identifier: MIT
// Instance normalisation (Ulyanov et al. 2016; torch's InstanceNorm2d): per sample and channel,
// y = gamma (x - mean) / sqrt(var + eps) + beta, mean and biased variance over H x W, at training
// and test time alike (no running statistics).
#pragma once
#include "core/tensor.h"

namespace nst::cpu {

// Assigns y, mean and inv_std (1 / sqrt(var + eps)), which backward reuses. gamma and beta are
// empty for a non-affine norm. y may alias x only when backward is not needed.
template <typename T>
void instance_norm_forward(TensorView<T> y,        // (N, C, H, W)
                           TensorView<T> mean,     // (N, C, 1, 1)
                           TensorView<T> inv_std,  // (N, C, 1, 1)
                           ConstView<T> x,         // (N, C, H, W)
                           ConstView<T> gamma,     // (1, C, 1, 1) or empty
                           ConstView<T> beta,      // (1, C, 1, 1) or empty
                           double eps);

// Assigns dx; adds (+=) into dgamma and dbeta (skipped when empty).
template <typename T>
void instance_norm_backward(TensorView<T> dx,        // (N, C, H, W)
                            TensorView<T> dgamma,    // (1, C, 1, 1) or empty
                            TensorView<T> dbeta,     // (1, C, 1, 1) or empty
                            ConstView<T> dy,         // (N, C, H, W)
                            ConstView<T> x,          // (N, C, H, W) forward input
                            ConstView<T> mean,       // (N, C, 1, 1) from forward
                            ConstView<T> inv_std,    // (N, C, 1, 1) from forward
                            ConstView<T> gamma);     // (1, C, 1, 1) or empty
}  // namespace nst::cpu
