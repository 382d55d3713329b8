// SPDX-License-Identifier: MIT
// Training checkpoints: one safetensors file holding everything a run needs to continue, so that
// a single atomic rename makes it current (a crash or signal mid-write leaves the previous one):
//   - every parameter tensor under its model name (param_layout order and shapes),
//   - "adam.m" and "adam.v": Adam's moments, flat (param_count values each),
//   - metadata: nst.kind = "train-checkpoint", nst.arch, nst.width, nst.io, nst.train.* (the
//     settings, train_metadata), nst.train.iteration and nst.train.adam_step.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "nn/net_model.h"

namespace nst {

struct TrainCheckpoint {
    NetModel model;                 // desc, params, metadata (nst.* as above)
    std::vector<float> adam_m, adam_v;
    int adam_step = 0;
    long long iteration = 0;
};

// Written atomically (io/atomic_file.h via save_safetensors).
void save_train_checkpoint(const std::string& path, const TrainCheckpoint& checkpoint);

// Input error (exit 3) naming the file when it is missing, not a checkpoint (a model file given
// instead says so), or its tensors do not match the architecture its metadata names.
TrainCheckpoint load_train_checkpoint(const std::string& path);

}  // namespace nst
