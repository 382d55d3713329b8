// SPDX-License-Identifier: MIT
// The training step of AdaIN's decoder on the CPU (`nst train --method adain`; research/
// feedforward.md §5.1-§5.3), behind engine/train_step.h. With f the frozen encoder (nn/adain_net.h,
// taps relu1_1 .. relu4_1) and g the decoder:
//
//   t   = AdaIN(f(c), f(s))                      (cpu::adain_forward; a constant: no gradient)
//   out = g(t)
//   L   = content_weight * mean (f(out) - t)^2  +  style_weight * sum_{relu1_1..relu4_1} style(f_l(out), f_l(s))
//
// style() is loss/adain_loss.h's mean/std loss. The port's conventions (adain statistics Port,
// style loss means over N C, weight 10) by default, the official code's by
// AdainLossConvention::Official (AdaIN statistics Official, sums over C / N, weight 1e-2).
// Gradients flow through the encoder to out and then into the decoder's parameters only.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/train.h"
#include "engine/train_step.h"
#include "nn/net_model.h"

namespace nst {

// `--encoder random[:SEED]`: random_frozen_encoder (engine/frozen_encoder.h) of adain_encoder_desc().
NetModel random_adain_encoder(std::uint64_t seed);

// Usage error (exit 2) for a crop size the encoder-decoder does not reproduce (a multiple of 8,
// at least 16: relu4_1 needs two positions for the unbiased variance).
void check_adain_train_config(const TrainConfig& config);

// The decoder (config.desc, adain_decoder_desc()) starts from init_params(desc, sample.seed).
// `encoder` is an adain-encoder model (copied).
std::unique_ptr<TrainStep> make_adain_train_step(const TrainConfig& config, const NetModel& encoder);

}  // namespace nst
