// SPDX-License-Identifier: MIT
// The per-iteration compute of `nst train` behind one small interface, so that the trainer's
// loop (datasets, checkpoints, trace, resume, interrupts, the learning-rate schedule;
// engine/train.h) is written once and each method and backend supplies only the step: the
// perceptual loss's on the CPU (engine/train_step_cpu.h) and the GPU (cuda/train_step_cuda.h),
// AdaIN's decoder on both (engine/adain_train_step.h, cuda/adain_train_step_cuda.h).
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

// One iteration's images, host memory. The content batch always; the style batch for the
// methods that draw style images from a dataset of their own (TrainConfig::method).
struct TrainBatch {
    ConstView<float> content;  // (B, 3, S, S), in the space of the method (engine/train.h)
    ConstView<float> style;    // (B, 3, S, S) likewise, or empty
};

class TrainStep {
public:
    virtual ~TrainStep() = default;

    // Runs the trained network forward, the method's loss and the backward pass, keeping the
    // parameters' gradient for update(). Returns the weighted terms, summed over the batch as
    // the CPU loss sums them.
    virtual LossTerms evaluate(const TrainBatch& batch) = 0;
    // One Adam step with the gradient of the last evaluate(), at this learning rate (the
    // trainer's schedule decides it per iteration).
    virtual void update(double learning_rate) = 0;

    // The parameters (param_layout order) and Adam's state, copied to the host; restore() sets
    // both (resuming from a checkpoint, possibly written by the other backend).
    virtual std::vector<float> params() const = 0;
    // The parameters' gradient of the last evaluate() (param_layout order), copied to the host:
    // what the reference tests compare with PyTorch's.
    virtual std::vector<float> gradient() const = 0;
    virtual TrainAdamState adam_state() const = 0;
    virtual void restore(const std::vector<float>& params, const TrainAdamState& adam) = 0;

    // Host bytes the step holds at once (engine/train.h's step_bytes adds the loop's own).
    virtual std::size_t host_bytes(int threads) const = 0;
};

// The TrainStep calls that only forward to a trained decoder (engine/frozen_encoder.h's
// TrainedDecoder, cuda/frozen_encoder_cuda.h's): the decoder-training steps (AdaIN, WCT; CPU and
// CUDA) derive from this and write only the loss (evaluate) and the memory bound.
template <class Decoder>
class DecoderTrainStep : public TrainStep {
public:
    void update(double learning_rate) override { decoder().update(learning_rate); }
    std::vector<float> params() const override { return decoder().params(); }
    std::vector<float> gradient() const override { return decoder().gradient(); }
    TrainAdamState adam_state() const override { return decoder().adam_state(); }
    void restore(const std::vector<float>& params, const TrainAdamState& adam) override {
        decoder().restore(params, adam);
    }

protected:
    virtual Decoder& decoder() = 0;
    const Decoder& decoder() const { return const_cast<DecoderTrainStep*>(this)->decoder(); }
};

}  // namespace nst
