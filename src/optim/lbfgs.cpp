// SPDX-License-Identifier: MIT
// L-BFGS as torch.optim.LBFGS.step with line_search_fn=None, tolerance_grad=-1,
// tolerance_change=-1 and max_iter=1 per call (see lbfgs.h). Order of operations per call, as
// torch does it:
//   1. (after the first call) y = g - g_prev, s = t_prev * d_prev; keep the pair if y.s > 1e-10,
//      dropping the oldest beyond M, and then H_diag = y.s / y.y
//   2. d = -H g by the two-loop recursion (first call: d = -g)
//   3. g_prev = g
//   4. t = min(1, 1/|g|_1) * lr on the first call, else lr
//   5. stop (x unchanged) if g.d > -tolerance_change = 1
//   6. x += t d
//
// Memory traffic: the vectors are large (3*H*W) and the loops memory-bound, so the passes are
// fused: the candidate pair's y.s and y.y are formed on the fly without storing (so a rejected
// pair never overwrites the oldest one, and no extra buffer is needed), and each two-loop
// update is fused with the dot product that the next step of the recursion needs. Element
// values are the same as torch's unfused sequence; only the summation order of the dot products
// differs (fixed chunks in double, see loss/fixed_order_sum.h, so runs are bit-reproducible).
#include "optim/lbfgs.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "loss/fixed_order_sum.h"

namespace nst::cpu {

template <typename T>
Lbfgs<T>::Lbfgs(std::size_t n, LbfgsOptions options) : m_n(n), m_opt(options) {
    if (options.history < 1) throw_usage("--lbfgs-history: must be at least 1");
    if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate))
        throw_usage("--learning-rate: must be a positive number");
    NST_REQUIRE(n > 0, "L-BFGS needs a non-empty variable");
    const std::size_t m = std::size_t(options.history);
    // Pair slots are allocated when first filled, so memory grows with the pairs actually kept
    // (as torch's lists do) instead of 2*M*n values up front.
    m_s.resize(m);
    m_y.resize(m);
    m_rho.assign(m, 0.0);
    m_alpha.assign(m, 0.0);
    m_d.assign(n, T(0));
    m_g_prev.assign(n, T(0));
}

template <typename T>
const T* Lbfgs<T>::s(int i) const {
    NST_REQUIRE(i >= 0 && i < m_count, "L-BFGS pair index out of range");
    return m_s[std::size_t((m_head + i) % m_opt.history)].data();
}

template <typename T>
const T* Lbfgs<T>::y(int i) const {
    NST_REQUIRE(i >= 0 && i < m_count, "L-BFGS pair index out of range");
    return m_y[std::size_t((m_head + i) % m_opt.history)].data();
}

template <typename T>
double Lbfgs<T>::rho(int i) const {
    NST_REQUIRE(i >= 0 && i < m_count, "L-BFGS pair index out of range");
    return m_rho[(m_head + i) % m_opt.history];
}

template <typename T>
bool Lbfgs<T>::step(T* x, const T* g) {
    const std::size_t n = m_n;
    T* d = m_d.data();
    T* gp = m_g_prev.data();
    ++m_iter;
    double gtd = 0;

    if (m_iter == 1) {
        // d = -g, g_prev = g, |g|_1 and g.d in one pass.
        const auto sums = detail::fixed_order_sums<2>(n, [&](std::size_t i, double* acc) {
            const T gi = g[i];
            d[i] = -gi;
            gp[i] = gi;
            acc[0] += std::fabs(double(gi));
            acc[1] += double(gi) * double(-gi);
        });
        m_h_diag = 1;
        m_t = std::min(1.0, 1.0 / sums[0]) * m_opt.learning_rate;
        gtd = sums[1];
    } else {
        // 1. Candidate pair: y = g - g_prev, s = t * d, formed on the fly.
        const T t_prev = T(m_t);
        const auto ys_yy = detail::fixed_order_sums<2>(n, [&](std::size_t i, double* acc) {
            const double yi = double(T(g[i] - gp[i]));
            const double si = double(T(d[i] * t_prev));
            acc[0] += yi * si;
            acc[1] += yi * yi;
        });
        const double ys = ys_yy[0];
        if (ys > 1e-10) {
            const int hist = m_opt.history;
            int slot;
            if (m_count < hist) {
                slot = (m_head + m_count) % hist;
                ++m_count;
            } else {  // full: the new pair replaces the oldest
                slot = m_head;
                m_head = (m_head + 1) % hist;
            }
            if (m_s[slot].empty()) {
                m_s[slot].resize(n);
                m_y[slot].resize(n);
            }
            T* ys_slot = m_s[slot].data();
            T* yy_slot = m_y[slot].data();
#pragma omp parallel for schedule(static) if (n >= detail::kMinSumChunk)
            for (std::size_t i = 0; i < n; ++i) {
                yy_slot[i] = T(g[i] - gp[i]);
                ys_slot[i] = T(d[i] * t_prev);
            }
            m_rho[slot] = 1.0 / ys;
            m_h_diag = ys / ys_yy[1];
        }

        // 2. Two-loop recursion, q and then r held in d (the old d is no longer needed).
        // 3. g_prev = g is fused into the first pass (the pair above has consumed g_prev).
        const int k = m_count;
        auto slot_of = [&](int i) { return std::size_t((m_head + i) % m_opt.history); };
        const T* s_new = k > 0 ? m_s[slot_of(k - 1)].data() : nullptr;
        double dot = detail::fixed_order_sum(n, [&](std::size_t i) {
            const T gi = g[i];
            d[i] = -gi;
            gp[i] = gi;
            return s_new ? double(s_new[i]) * double(d[i]) : 0.0;
        });
        const T h = T(m_h_diag);
        for (int i = k - 1; i >= 0; --i) {
            // al_i = rho_i s_i.q; q -= al_i y_i; then the next dot: s_{i-1}.q, or after the last
            // update r = H_diag q and y_0.r (the first dot of the second loop).
            const double al = dot * m_rho[slot_of(i)];
            m_alpha[i] = al;
            const T a = T(al);
            const T* yi = m_y[slot_of(i)].data();
            if (i > 0) {
                const T* s_next = m_s[slot_of(i - 1)].data();
                dot = detail::fixed_order_sum(n, [&](std::size_t e) {
                    d[e] = d[e] - a * yi[e];
                    return double(s_next[e]) * double(d[e]);
                });
            } else {
                const T* y0 = m_y[slot_of(0)].data();
                dot = detail::fixed_order_sum(n, [&](std::size_t e) {
                    d[e] = (d[e] - a * yi[e]) * h;
                    return double(y0[e]) * double(d[e]);
                });
            }
        }
        if (k == 0) {
#pragma omp parallel for schedule(static) if (n >= detail::kMinSumChunk)
            for (std::size_t e = 0; e < n; ++e) d[e] = d[e] * h;
        }
        for (int i = 0; i < k; ++i) {
            // be_i = rho_i y_i.r; r += (al_i - be_i) s_i; then y_{i+1}.r, or after the last
            // update g.d for the stop test.
            const double be = dot * m_rho[slot_of(i)];
            const T c = T(m_alpha[i] - be);
            const T* si = m_s[slot_of(i)].data();
            const T* next = i + 1 < k ? m_y[slot_of(i + 1)].data() : g;
            dot = detail::fixed_order_sum(n, [&](std::size_t e) {
                d[e] = d[e] + c * si[e];
                return double(next[e]) * double(d[e]);
            });
        }
        // 4. Fixed step after the first iteration.
        m_t = m_opt.learning_rate;
        gtd = k > 0 ? dot : detail::fixed_order_sum(n, [&](std::size_t e) { return double(g[e]) * double(d[e]); });
    }

    // 5. torch's `gtd > -tolerance_change` with tolerance_change = -1.
    if (gtd > 1.0) return false;

    // 6. x += t d.
    const T t = T(m_t);
#pragma omp parallel for schedule(static) if (n >= detail::kMinSumChunk)
    for (std::size_t e = 0; e < n; ++e) x[e] = x[e] + t * d[e];
    return true;
}

template class Lbfgs<float>;
template class Lbfgs<double>;

}  // namespace nst::cpu
