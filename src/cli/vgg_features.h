// SPDX-License-Identifier: MIT
// The VGG network's outputs at chosen layers for one image, on the CPU or a GPU: what
// `nst features` writes. The CUDA path runs cuda::VggNet in fp32 (no TF32), the arithmetic that
// matches the CPU network, and brings the outputs back to the host.
#pragma once
#include <vector>

#include "core/tensor.h"
#include "engine/engine.h"
#include "nn/weights.h"

namespace nst::cli {

// x: (1, 3, H, W) network space, host. Returns one host tensor (1, C, h, w) per entry of
// `layers`, in that order. backend is a resolved one (Cpu or Cuda, never Auto); Cuda in a
// CPU-only build is a runtime error (exit 4), which resolve_backend reports first.
std::vector<Tensor<float>> vgg_features(Backend backend, int gpu, const VggWeights& weights, Pooling pooling,
                                        const std::vector<int>& layers, ConstView<float> x);

}  // namespace nst::cli
