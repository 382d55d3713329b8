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
//
// History precision (--lbfgs-history-precision, docs/conventions.md): with Bf16 the ring of
// (s, y) pairs is stored as bfloat16 (core/bf16.h, round to nearest even), halving the history's
// memory (2 bytes per value instead of 4); d, g_prev, x, every scalar and every sum stay as with
// Fp32. The pair is rounded once, when it is formed, and everything the recursion derives from it
// uses the values AS STORED: the acceptance test y.s > 1e-10, rho = 1 / y.s and H0 = y.s / y.y
// are computed from the rounded s and y, and every dot and axpy of the two-loop recursion reads
// them converted back to T. So the recursion is exactly L-BFGS on the stored pairs (each kept pair
// satisfies y.s > 0 and rho_i s_i.y_i = 1 for what is used), rather than mixing the unrounded
// y.s with rounded vectors. The iterates differ from Fp32's (as with fewer pairs), so Bf16 is
// opt-in. Fp32 is bit-identical to the code without this option. Bf16 needs T = float.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/bf16.h"

namespace nst {

// Storage of the L-BFGS (s, y) history.
enum class HistoryPrecision { Fp32, Bf16 };
HistoryPrecision parse_history_precision(const std::string& name);  // usage error for others
const char* history_precision_name(HistoryPrecision p);
// Bytes of one stored history value of an optimiser over T.
template <typename T>
constexpr std::size_t history_value_bytes(HistoryPrecision p) {
    return p == HistoryPrecision::Bf16 ? sizeof(Bf16) : sizeof(T);
}

}  // namespace nst

namespace nst::cpu {

struct LbfgsOptions {
    double learning_rate = 1.0;
    int history = 100;
    HistoryPrecision history_precision = HistoryPrecision::Fp32;
    // torch's tolerance_grad and tolerance_change (--tol-grad, --tol-change). -1 (nst's and
    // neural-style-pt's setting) disables every test but g.d > 1; torch's defaults are 1e-7 and
    // 1e-9 (the authors' notebook and the PyTorch tutorial). step() stops, x unchanged, where
    // torch's loop breaks (see step()).
    double tol_grad = -1;
    double tol_change = -1;
};

template <typename T>
class Lbfgs {
public:
    Lbfgs(std::size_t n, LbfgsOptions options);

    // g: gradient at the current x. Updates x in place. Returns false when torch would stop
    // (g.d > 1), in which case x is unchanged; the history, g_prev and d have then been updated
    // as torch updates its state before breaking out of its loop, and the caller stops.
    bool step(T* x, const T* g);
    // As above, with the total loss at x, which the tolerances need. Before anything else it
    // applies torch's tests, in torch's order (the tests torch makes after its k-th step and the
    // evaluation at the new point are made here at the start of step k+1, with that point's g and
    // loss): max|g| <= tol_grad; then, after the first step, max|t d_prev| <= tol_change and
    // |loss - loss_prev| < tol_change, the losses compared as float32 values (torch's loss is a
    // float32 tensor). Then g.d > -tol_change as before. A NaN loss never meets the loss test.
    bool step(T* x, const T* g, double loss);

    // Bytes an L-BFGS over n values holds once it keeps `pairs` pairs (history, d and g_prev).
    // The history counts history_value_bytes per value (2 with Bf16); d and g_prev are T.
    static std::size_t planned_bytes(std::size_t n, int pairs, HistoryPrecision precision) {
        return 2 * std::size_t(pairs) * n * history_value_bytes<T>(precision) + 2 * n * sizeof(T);
    }
    static std::size_t planned_bytes(std::size_t n, int pairs) {
        return planned_bytes(n, pairs, HistoryPrecision::Fp32);
    }

    int iterations() const { return m_iter; }
    int num_pairs() const { return m_count; }
    double last_step_size() const { return m_t; }
    double h_diag() const { return m_h_diag; }
    const T* direction() const { return m_d.data(); }
    HistoryPrecision history_precision() const { return m_opt.history_precision; }
    // Pair i = 0 (oldest) .. num_pairs()-1 (newest). s() and y() need Fp32 history; the stored_
    // forms copy the values as the recursion reads them (bf16 converted to T) in either precision.
    const T* s(int i) const;
    const T* y(int i) const;
    std::vector<T> stored_s(int i) const;
    std::vector<T> stored_y(int i) const;
    double rho(int i) const;

private:
    // Ring of M pair slots of values stored as S (T or Bf16), each (n) once filled.
    template <typename S>
    struct Ring {
        std::vector<std::vector<S>> s, y;
    };
    template <typename S>
    bool step_stored(T* x, const T* g, Ring<S>& ring);
    bool tolerance_stop(const T* g, double loss) const;  // torch's breaks before this step
    template <typename S>
    static std::vector<T> values_of(const std::vector<S>& v);
    std::size_t slot_checked(int i) const;

    std::size_t m_n;
    LbfgsOptions m_opt;
    int m_iter = 0;
    int m_count = 0;  // pairs stored
    int m_head = 0;   // ring slot of the oldest pair
    double m_t = 0, m_h_diag = 1;
    double m_prev_loss = 0;  // the loss of the previous step() call (tolerance_change's test)
    Ring<T> m_full;    // the history with Fp32 precision
    Ring<Bf16> m_half; // the history with Bf16 precision (the other ring stays empty)
    std::vector<double> m_rho;        // 1 / y.s per slot
    std::vector<T> m_d, m_g_prev;     // (n)
    std::vector<double> m_alpha;      // two-loop scratch (M)
};

}  // namespace nst::cpu
