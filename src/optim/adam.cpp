// SPDX-License-Identifier: MIT
// Adam as torch.optim.Adam's single-tensor path (amsgrad off, no weight decay):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   x -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// i.e. x -= lr * m_hat / (sqrt(v_hat) + eps), written in torch's arrangement so that the
// rounding matches it as closely as the element type allows.
#include "optim/adam.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace nst::cpu {

template <typename T>
Adam<T>::Adam(std::size_t n, AdamOptions options) : m_n(n), m_opt(options), m_m(n, T(0)), m_v(n, T(0)) {
    if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate))
        throw_usage("--learning-rate: must be a positive number");
    NST_REQUIRE(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1,
                "Adam betas must lie in [0, 1)");
}

template <typename T>
void Adam<T>::step(T* x, const T* g) {
    ++m_iter;
    const double bc1 = 1 - std::pow(m_opt.beta1, m_iter);
    const double bc2 = 1 - std::pow(m_opt.beta2, m_iter);
    const T step_size = T(m_opt.learning_rate / bc1);
    const T bc2_sqrt = T(std::sqrt(bc2));
    const T b1 = T(m_opt.beta1), b2 = T(m_opt.beta2), one_b1 = T(1 - m_opt.beta1), one_b2 = T(1 - m_opt.beta2);
    const T eps = T(m_opt.eps);
    T* m = m_m.data();
    T* v = m_v.data();
    const std::size_t n = m_n;
#pragma omp parallel for schedule(static) if (n >= 4096)
    for (std::size_t i = 0; i < n; ++i) {
        const T gi = g[i];
        m[i] = m[i] * b1 + one_b1 * gi;
        v[i] = v[i] * b2 + one_b2 * gi * gi;
        const T denom = std::sqrt(v[i]) / bc2_sqrt + eps;
        x[i] = x[i] - step_size * (m[i] / denom);
    }
}

template <typename T>
void Adam<T>::set_learning_rate(double learning_rate) {
    NST_REQUIRE(learning_rate > 0 && std::isfinite(learning_rate), "Adam: the learning rate must be positive");
    m_opt.learning_rate = learning_rate;
}

template <typename T>
void Adam<T>::set_state(int iterations, const T* m, const T* v) {
    NST_REQUIRE(iterations >= 0, "Adam step count must be >= 0");
    m_iter = iterations;
    std::copy(m, m + m_n, m_m.begin());
    std::copy(v, v + m_n, m_v.begin());
}

template class Adam<float>;
template class Adam<double>;

}  // namespace nst::cpu
