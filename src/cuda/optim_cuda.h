// SPDX-License-Identifier: MIT
// Device-resident optimisers, twins of cpu::Lbfgs (optim/lbfgs.h) and cpu::Adam (optim/adam.h).
//
// All state lives on the device: the (s, y) history in one buffer of 2 * M * n floats (or bf16
// values with options.history_precision = Bf16, rounded as cpu::Lbfgs rounds them), the
// ring bookkeeping, rho, alpha, t and H_diag as device scalars. step() queues a fixed sequence
// of kernels (the two-loop recursion walks all M slots; slots beyond the pairs kept return at
// once), reads nothing back, and can therefore be captured into a CUDA graph. Dot products are
// summed in double in a fixed order (kernels/common.cuh), like the CPU twin.
//
// Both read the iteration's total loss (a device double) and the run state: they step only
// while state->status == kRunning; a non-finite total sets kNonFinite and leaves x unchanged;
// L-BFGS sets kStopped where torch would stop (g.d > 1), after updating its history as torch
// does.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "cuda/context.h"
#include "cuda/run_state.h"
#include "optim/adam.h"
#include "optim/lbfgs.h"

namespace nst::cuda {

class Lbfgs {
public:
    // state and total are device pointers that outlive the optimiser.
    Lbfgs(Context& ctx, std::size_t n, cpu::LbfgsOptions options, RunState* state, const double* total);
    ~Lbfgs();
    Lbfgs(const Lbfgs&) = delete;
    Lbfgs& operator=(const Lbfgs&) = delete;

    void step(float* x, const float* g);  // device vectors of n floats; x updated in place

    // Inspection for tests (each synchronises and copies to the host).
    int iterations() const;
    int num_pairs() const;
    double last_step_size() const;
    double h_diag() const;
    std::vector<float> direction() const;
    std::vector<float> s(int i) const;    // pair i = 0 (oldest) .. num_pairs()-1, as stored (bf16 -> float)
    std::vector<float> y(int i) const;
    std::size_t device_bytes() const;     // history + scratch

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

class Adam {
public:
    Adam(Context& ctx, std::size_t n, cpu::AdamOptions options, RunState* state, const double* total);
    ~Adam();
    Adam(const Adam&) = delete;
    Adam& operator=(const Adam&) = delete;

    void step(float* x, const float* g);
    int iterations() const;  // synchronises
    // The rate of the next steps (cpu::Adam::set_learning_rate); passed to the kernels by value.
    void set_learning_rate(double learning_rate);

    // The state as cpu::Adam exports it, for training checkpoints (engine/train_checkpoint.h,
    // one format on both backends): the moments copied to the host (synchronises), and
    // set_state from host arrays of n floats each (the next step continues from them).
    std::vector<float> first_moment() const;
    std::vector<float> second_moment() const;
    void set_state(int iterations, const float* m, const float* v);

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace nst::cuda
