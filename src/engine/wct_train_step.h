// SPDX-License-Identifier: MIT
// The training step of a WCT decoder on the CPU (`nst train --method wct-decoder --level N`;
// Li et al. 2017 §3.1), behind engine/train_step.h: the frozen encoder prefix to reluN_1
// (nn/wct_net.h) and the level's decoder, trained to reconstruct the content batch with
// engine/wct_decoder_loss.h's pixel + lambda feature loss. No style images.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/train.h"
#include "engine/train_step.h"
#include "nn/net_model.h"

namespace nst {

// `--encoder random[:SEED]` for WCT: random_frozen_encoder (engine/frozen_encoder.h) of
// vgg_normalised_desc(), to relu5_1.
NetModel random_vgg_normalised(std::uint64_t seed);

// Usage errors (exit 2): a level outside 1..5, a crop size the level's decoder does not give back
// (a multiple of 2^(level-1), at least 2^level), a network other than the level's wct-decoder.
void check_wct_train_config(const TrainConfig& config);

// The decoder (config.desc = wct_decoder_desc(config.wct.level)) starts from
// init_params(desc, sample.seed). `encoder`: an adain-encoder (levels 1-4) or vgg-normalised
// model (input error otherwise, or when it does not reach the level).
std::unique_ptr<TrainStep> make_wct_train_step(const TrainConfig& config, const NetModel& encoder);

}  // namespace nst
