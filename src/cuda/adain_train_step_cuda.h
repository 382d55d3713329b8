// SPDX-License-Identifier: MIT
// The training step of AdaIN's decoder on the GPU (`nst train --method adain --backend cuda`),
// the twin of engine/adain_train_step.h: the frozen encoder and the decoder as cuda::Networks
// (cuda/frozen_encoder_cuda.h), the style statistics and AdaIN by kernels/adain, the mean/std
// style loss by kernels/adain_loss and the content loss by kernels/content_loss, each adding its
// gradient at its tap on the way down. The terms are read back once per iteration and summed on
// the host in a fixed order.
#pragma once
#include <memory>

#include "engine/train.h"
#include "engine/train_step.h"
#include "nn/net_model.h"

namespace nst::cuda {

// The decoder starts from init_params(config.desc, config.sample.seed), as on the CPU. Runtime
// error (exit 4) when the device is unusable.
std::unique_ptr<TrainStep> make_cuda_adain_train_step(const TrainConfig& config, const NetModel& encoder, int gpu);

}  // namespace nst::cuda
