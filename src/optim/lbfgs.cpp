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
//
// History precision: step() runs one body for both storages, templated on the stored type S
// (T, or Bf16). Every read of a stored value goes through load() and every write through
// store<S>(); for S = T both are the identity, so Fp32 compiles to the same arithmetic as before.
#include "optim/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "loss/fixed_order_sum.h"

namespace nst {

HistoryPrecision parse_history_precision(const std::string& name) {
    if (name == "fp32") return HistoryPrecision::Fp32;
    if (name == "bf16") return HistoryPrecision::Bf16;
    throw_usage("--lbfgs-history-precision: expected fp32 or bf16, got '" + name + "'");
}

const char* history_precision_name(HistoryPrecision p) { return p == HistoryPrecision::Bf16 ? "bf16" : "fp32"; }

}  // namespace nst

namespace nst::cpu {

namespace {

// A stored history value as the recursion reads it, and a value as it is stored.
template <typename T>
T load(T v) {
    return v;
}
inline float load(Bf16 v) { return bf16_to_float(v); }

template <typename S, typename T>
S store(T v) {
    if constexpr (std::is_same_v<S, Bf16>)
        return bf16_from_float(float(v));  // T = float (the constructor refuses Bf16 for double)
    else
        return v;
}

// v as the history would store and read it back.
template <typename S, typename T>
T as_stored(T v) {
    return T(load(store<S>(v)));
}

}  // namespace

template <typename T>
Lbfgs<T>::Lbfgs(std::size_t n, LbfgsOptions options) : m_n(n), m_opt(options) {
    if (options.history < 1) throw_usage("--lbfgs-history: must be at least 1");
    if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate))
        throw_usage("--learning-rate: must be a positive number");
    NST_REQUIRE(n > 0, "L-BFGS needs a non-empty variable");
    const bool half = options.history_precision == HistoryPrecision::Bf16;
    NST_REQUIRE((!half || std::is_same_v<T, float>), "bf16 L-BFGS history needs a float optimiser");
    const std::size_t m = std::size_t(options.history);
    // Pair slots are allocated when first filled, so memory grows with the pairs actually kept
    // (as torch's lists do) instead of 2*M*n values up front.
    if (half) {
        m_half.s.resize(m);
        m_half.y.resize(m);
    } else {
        m_full.s.resize(m);
        m_full.y.resize(m);
    }
    m_rho.assign(m, 0.0);
    m_alpha.assign(m, 0.0);
    m_d.assign(n, T(0));
    m_g_prev.assign(n, T(0));
}

template <typename T>
std::size_t Lbfgs<T>::slot_checked(int i) const {
    NST_REQUIRE(i >= 0 && i < m_count, "L-BFGS pair index out of range");
    return std::size_t((m_head + i) % m_opt.history);
}

template <typename T>
template <typename S>
std::vector<T> Lbfgs<T>::values_of(const std::vector<S>& v) {
    std::vector<T> out(v.size());
    for (std::size_t e = 0; e < v.size(); ++e) out[e] = T(load(v[e]));
    return out;
}

template <typename T>
const T* Lbfgs<T>::s(int i) const {
    NST_REQUIRE(m_opt.history_precision == HistoryPrecision::Fp32, "Lbfgs::s: the history is not stored as T");
    return m_full.s[slot_checked(i)].data();
}

template <typename T>
const T* Lbfgs<T>::y(int i) const {
    NST_REQUIRE(m_opt.history_precision == HistoryPrecision::Fp32, "Lbfgs::y: the history is not stored as T");
    return m_full.y[slot_checked(i)].data();
}

template <typename T>
std::vector<T> Lbfgs<T>::stored_s(int i) const {
    const std::size_t slot = slot_checked(i);
    return m_opt.history_precision == HistoryPrecision::Bf16 ? values_of(m_half.s[slot]) : m_full.s[slot];
}

template <typename T>
std::vector<T> Lbfgs<T>::stored_y(int i) const {
    const std::size_t slot = slot_checked(i);
    return m_opt.history_precision == HistoryPrecision::Bf16 ? values_of(m_half.y[slot]) : m_full.y[slot];
}

template <typename T>
double Lbfgs<T>::rho(int i) const {
    NST_REQUIRE(i >= 0 && i < m_count, "L-BFGS pair index out of range");
    return m_rho[(m_head + i) % m_opt.history];
}

template <typename T>
bool Lbfgs<T>::step(T* x, const T* g) {
    return step(x, g, std::numeric_limits<double>::quiet_NaN());
}

template <typename T>
bool Lbfgs<T>::tolerance_stop(const T* g, double loss) const {
    if (m_opt.tol_grad < 0 && m_opt.tol_change < 0) return false;  // nst's default: no test can pass
    const std::size_t n = m_n;
    double g_max = 0, td_max = 0;
    const T t = T(m_t);
    for (std::size_t i = 0; i < n; ++i) {
        g_max = std::max(g_max, double(std::fabs(g[i])));
        if (m_iter > 0) td_max = std::max(td_max, double(std::fabs(T(m_d[i] * t))));
    }
    if (g_max <= m_opt.tol_grad) return true;  // opt_cond (also before the first step)
    if (m_iter == 0) return false;
    if (td_max <= m_opt.tol_change) return true;
    return std::fabs(double(float(loss)) - double(float(m_prev_loss))) < m_opt.tol_change;
}

template <typename T>
bool Lbfgs<T>::step(T* x, const T* g, double loss) {
    if (tolerance_stop(g, loss)) return false;
    m_prev_loss = loss;
    return m_opt.history_precision == HistoryPrecision::Bf16 ? step_stored(x, g, m_half) : step_stored(x, g, m_full);
}

template <typename T>
template <typename S>
bool Lbfgs<T>::step_stored(T* x, const T* g, Ring<S>& ring) {
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
        // 1. Candidate pair: y = g - g_prev, s = t * d, formed on the fly as they would be stored.
        const T t_prev = T(m_t);
        const auto ys_yy = detail::fixed_order_sums<2>(n, [&](std::size_t i, double* acc) {
            const double yi = double(as_stored<S>(T(g[i] - gp[i])));
            const double si = double(as_stored<S>(T(d[i] * t_prev)));
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
            if (ring.s[slot].empty()) {
                ring.s[slot].resize(n);
                ring.y[slot].resize(n);
            }
            S* ys_slot = ring.s[slot].data();
            S* yy_slot = ring.y[slot].data();
#pragma omp parallel for schedule(static) if (n >= detail::kMinSumChunk)
            for (std::size_t i = 0; i < n; ++i) {
                yy_slot[i] = store<S>(T(g[i] - gp[i]));
                ys_slot[i] = store<S>(T(d[i] * t_prev));
            }
            m_rho[slot] = 1.0 / ys;
            m_h_diag = ys / ys_yy[1];
        }

        // 2. Two-loop recursion, q and then r held in d (the old d is no longer needed).
        // 3. g_prev = g is fused into the first pass (the pair above has consumed g_prev).
        const int k = m_count;
        auto slot_of = [&](int i) { return std::size_t((m_head + i) % m_opt.history); };
        const S* s_new = k > 0 ? ring.s[slot_of(k - 1)].data() : nullptr;
        double dot = detail::fixed_order_sum(n, [&](std::size_t i) {
            const T gi = g[i];
            d[i] = -gi;
            gp[i] = gi;
            return s_new ? double(load(s_new[i])) * double(d[i]) : 0.0;
        });
        const T h = T(m_h_diag);
        for (int i = k - 1; i >= 0; --i) {
            // al_i = rho_i s_i.q; q -= al_i y_i; then the next dot: s_{i-1}.q, or after the last
            // update r = H_diag q and y_0.r (the first dot of the second loop).
            const double al = dot * m_rho[slot_of(i)];
            m_alpha[i] = al;
            const T a = T(al);
            const S* yi = ring.y[slot_of(i)].data();
            if (i > 0) {
                const S* s_next = ring.s[slot_of(i - 1)].data();
                dot = detail::fixed_order_sum(n, [&](std::size_t e) {
                    d[e] = d[e] - a * T(load(yi[e]));
                    return double(load(s_next[e])) * double(d[e]);
                });
            } else {
                const S* y0 = ring.y[slot_of(0)].data();
                dot = detail::fixed_order_sum(n, [&](std::size_t e) {
                    d[e] = (d[e] - a * T(load(yi[e]))) * h;
                    return double(load(y0[e])) * double(d[e]);
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
            const S* si = ring.s[slot_of(i)].data();
            if (i + 1 < k) {
                const S* next = ring.y[slot_of(i + 1)].data();
                dot = detail::fixed_order_sum(n, [&](std::size_t e) {
                    d[e] = d[e] + c * T(load(si[e]));
                    return double(load(next[e])) * double(d[e]);
                });
            } else {
                dot = detail::fixed_order_sum(n, [&](std::size_t e) {
                    d[e] = d[e] + c * T(load(si[e]));
                    return double(g[e]) * double(d[e]);
                });
            }
        }
        // 4. Fixed step after the first iteration.
        m_t = m_opt.learning_rate;
        gtd = k > 0 ? dot : detail::fixed_order_sum(n, [&](std::size_t e) { return double(g[e]) * double(d[e]); });
    }

    // 5. torch's `gtd > -tolerance_change` (1 with nst's tolerance_change = -1).
    if (gtd > -m_opt.tol_change) return false;

    // 6. x += t d.
    const T t = T(m_t);
#pragma omp parallel for schedule(static) if (n >= detail::kMinSumChunk)
    for (std::size_t e = 0; e < n; ++e) x[e] = x[e] + t * d[e];
    return true;
}

template class Lbfgs<float>;
template class Lbfgs<double>;

}  // namespace nst::cpu
