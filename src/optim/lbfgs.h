// SPDX-License-Identifier: MIT
// L-BFGS exactly as torch.optim.LBFGS with line_search_fn=None, tolerance_grad=-1,
// tolerance_change=-1 (spec §6), one objective evaluation per iteration:
//   iteration 1: d = -g, t = min(1, 1/|g|_1) * lr
//   later:       y = g - g_prev, s = t_prev * d_prev; the pair is kept only if y.s > 1e-10
//                (oldest dropped beyond M pairs); H0 = y.s / y.y of the newest kept pair;
//                d = -H g by the two-loop recursion; t = lr
//   x += t * d
// torch also stops when g.d > -tolerance_change (= 1): d is never an ascent direction because
// every kept pair has y.s > 0, so this is reachable only through rounding; we keep the check and
// report it through step()'s return value so that the iterates stay identical to torch's.
// Dot products accumulate in double; vectors are stored in T.
#pragma once
#include <cstddef>
#include <vector>

namespace nst::cpu {

struct LbfgsOptions {
    double learning_rate = 1.0;
    int history = 100;
};

template <typename T>
class Lbfgs {
public:
    Lbfgs(std::size_t n, LbfgsOptions options);

    // g: gradient at the current x. Updates x in place. Returns false when torch would stop
    // (g.d > 1), in which case x is unchanged; the history, g_prev and d have then been updated
    // as torch updates its state before breaking out of its loop, and the caller stops.
    bool step(T* x, const T* g);

    // Bytes an L-BFGS over n values holds once it keeps `pairs` pairs (history, d and g_prev).
    static std::size_t planned_bytes(std::size_t n, int pairs) {
        return (2 * std::size_t(pairs) + 2) * n * sizeof(T);
    }

    int iterations() const { return m_iter; }
    int num_pairs() const { return m_count; }
    double last_step_size() const { return m_t; }
    double h_diag() const { return m_h_diag; }
    const T* direction() const { return m_d.data(); }
    // Pair i = 0 (oldest) .. num_pairs()-1 (newest).
    const T* s(int i) const;
    const T* y(int i) const;
    double rho(int i) const;

private:
    std::size_t m_n;
    LbfgsOptions m_opt;
    int m_iter = 0;
    int m_count = 0;  // pairs stored
    int m_head = 0;   // ring slot of the oldest pair
    double m_t = 0, m_h_diag = 1;
    std::vector<std::vector<T>> m_s, m_y;  // ring of M pair slots, each (n) once filled
    std::vector<double> m_rho;        // 1 / y.s per slot
    std::vector<T> m_d, m_g_prev;     // (n)
    std::vector<double> m_alpha;      // two-loop scratch (M)
};

}  // namespace nst::cpu
