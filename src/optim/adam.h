// SPDX-License-Identifier: MIT
// Adam as torch.optim.Adam (bias-corrected moments): x -= lr * m_hat / (sqrt(v_hat) + eps).
#pragma once
#include <cstddef>
#include <vector>

namespace nst::cpu {

struct AdamOptions {
    double learning_rate = 10.0;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

template <typename T>
class Adam {
public:
    Adam(std::size_t n, AdamOptions options);
    void step(T* x, const T* g);
    int iterations() const { return m_iter; }
    // The rate of the next steps (a schedule's, e.g. `nst train --lr-decay`); positive, finite.
    void set_learning_rate(double learning_rate);

    // The optimiser's state, for training checkpoints (engine/train_checkpoint.h): the first and
    // second moments (n values each) and the step count that the bias corrections use. Restoring
    // what was exported makes the next step() bit-identical to the uninterrupted run's.
    const std::vector<T>& first_moment() const { return m_m; }
    const std::vector<T>& second_moment() const { return m_v; }
    void set_state(int iterations, const T* m, const T* v);

private:
    std::size_t m_n;
    AdamOptions m_opt;
    int m_iter = 0;
    std::vector<T> m_m, m_v;
};

}  // namespace nst::cpu
