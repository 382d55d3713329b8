// SPDX-License-Identifier: MIT
// The per-iteration compute of `nst train` behind one small interface, so that the trainer's
// loop (dataset, checkpoints, trace, resume, interrupts; engine/train.h) is written once and
// each backend supplies only the step: the CPU's (engine/train_step_cpu.h) and the GPU's
// (cuda/train_step_cuda.h).
//
// A step is evaluate() then update(): the trainer checks the loss for finiteness in between, so
// that a non-finite loss stops the run before Adam moves the parameters.
#pragma once
#include <cstddef>
#include <vector>

#include "core/tensor.h"
#include "loss/objective.h"

namespace nst {

// Adam's state as a checkpoint stores it (engine/train_checkpoint.h): the same on every backend.
struct TrainAdamState {
    int step = 0;
    std::vector<float> m, v;  // first and second moments, param_count(desc) each
};

class TrainStep {
public:
    virtual ~TrainStep() = default;

    // x: (B, 3, S, S) host, the batch in the model's io space (also the content targets). Runs
    // the network forward, the perceptual loss and the backward pass, keeping the parameters'
    // gradient for update(). Returns the weighted terms, summed over the batch as the CPU loss
    // sums them.
    virtual LossTerms evaluate(ConstView<float> x) = 0;
    // One Adam step with the gradient of the last evaluate().
    virtual void update() = 0;

    // The parameters (param_layout order) and Adam's state, copied to the host; restore() sets
    // both (resuming from a checkpoint, possibly written by the other backend).
    virtual std::vector<float> params() const = 0;
    virtual TrainAdamState adam_state() const = 0;
    virtual void restore(const std::vector<float>& params, const TrainAdamState& adam) = 0;

    // Host bytes the step holds at once (engine/train.h's step_bytes adds the loop's own).
    virtual std::size_t host_bytes(int threads) const = 0;
};

}  // namespace nst
