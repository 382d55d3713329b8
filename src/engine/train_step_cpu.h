// SPDX-License-Identifier: MIT
// The training step on the CPU (engine/train_step.h): cpu::Network forward and backward, the
// perceptual loss on a cpu::VggNet (loss/perceptual.h), cpu::Adam.
#pragma once
#include <memory>

#include "engine/train.h"
#include "engine/train_step.h"

namespace nst {

// The network starts from init_params(config.desc, config.sample.seed). `loss_net` is borrowed;
// the style targets are taken from style_rgb (1, 3, h, w) in [0, 1].
std::unique_ptr<TrainStep> make_cpu_train_step(const TrainConfig& config, cpu::VggNet<float>& loss_net,
                                               ConstView<float> style_rgb);

}  // namespace nst
