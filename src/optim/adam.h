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

private:
    std::size_t m_n;
    AdamOptions m_opt;
    int m_iter = 0;
    std::vector<T> m_m, m_v;
};

}  // namespace nst::cpu
