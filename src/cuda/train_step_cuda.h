// SPDX-License-Identifier: MIT
// The training step on the GPU (`nst train --backend cuda`), the twin of the CPU's
// (engine/train_step_cpu.h) behind engine/train_step.h: the batch is uploaded, cuda::Network
// runs forward and backward, the perceptual loss (loss/perceptual.h) runs per sample on a
// cuda::VggNet with its terms' gradients added at the taps on the way down (TapGrad), and
// cuda::Adam steps the flat device parameters. The loss kernels are the optimisation engine's
// (kernels/content_loss, gram, style_loss, tv_loss, terms); kernels/channel_map maps a sample
// into the loss network's input space and its gradient back.
//
// The terms are read back once per iteration (the trainer reports and checks them), summed
// over the batch on the host in the CPU loss's order. Parameters and Adam's moments cross to
// the host only for checkpoints and the final model, in the CPU step's format.
#pragma once
#include <memory>

#include "engine/train.h"
#include "engine/train_step.h"
#include "nn/weights.h"

namespace nst::cuda {

// The network starts from init_params(config.desc, config.sample.seed), as on the CPU. The loss
// network is built on device `gpu` from `weights` (max pooling, fp32 convolutions); the style
// targets come from style_rgb (1, 3, h, w) host, in [0, 1]. Runtime error (exit 4) when the
// device is unusable.
std::unique_ptr<TrainStep> make_cuda_train_step(const TrainConfig& config, const VggWeights& weights,
                                                ConstView<float> style_rgb, int gpu);

}  // namespace nst::cuda
