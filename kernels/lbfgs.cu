// SPDX-License-Identifier: MIT
// The L-BFGS step kernels (sequence, state and partial-sum protocol in kernels/lbfgs.h). Each
// kernel mirrors one fused pass of cpu::Lbfgs<float>::step (src/optim/lbfgs.cpp); the element
// values are the CPU's, only the summation order of the dot products differs.
//
// Rounding: nvcc contracts a * b + c into one FMA by default, which would round differently from
// the CPU source's separate float multiply and add. Every float operation on vector elements is
// therefore written with the round-to-nearest intrinsics (__fmul_rn, __fadd_rn, __fsub_rn),
// which are never contracted, so an element is computed exactly as the C++ expression reads.
// (A CPU build with -march=native may itself contract; the CPU oracle is then the one that
// deviates from the source.) The dot-product terms need no such care: the product of two floats
// is exact in double, so FMA or not gives the same sum. Double scalar products that feed a
// subtraction (beta_i) use __dmul_rn for the same reason.
#include "kernels/lbfgs.h"

#include "cuda/check.h"
#include "kernels/common.cuh"
#include "kernels/step_gate.cuh"

namespace nst::kernels {

namespace {

// Partial sums of `sum` (0 or 1) in ping-pong buffer `buffer` (0 or 1): kMaxPartials doubles.
__device__ inline double* partials_of(double* base, int buffer, int sum) {
    return base + (buffer * 2 + sum) * kMaxPartials;
}

// The history as stored values S: float (fp32 history) or Bf16.
template <typename S>
__device__ inline S* history_of(const LbfgsView& v);
template <>
__device__ inline float* history_of<float>(const LbfgsView& v) {
    return v.history;
}
template <>
__device__ inline Bf16* history_of<Bf16>(const LbfgsView& v) {
    return v.history_half;
}

template <typename S>
__device__ inline S* s_slot(const LbfgsView& v, int slot) {
    return history_of<S>(v) + static_cast<std::size_t>(slot) * static_cast<std::size_t>(v.n);
}

template <typename S>
__device__ inline S* y_slot(const LbfgsView& v, int slot) {
    return history_of<S>(v) + (static_cast<std::size_t>(v.m) + slot) * static_cast<std::size_t>(v.n);
}

// A stored value as the recursion reads it, and a float as it is stored (identity for float).
__device__ inline float load(float v) { return v; }
__device__ inline float load(Bf16 v) { return bf16_to_float(v); }
template <typename S>
__device__ inline S store(float v);
template <>
__device__ inline float store<float>(float v) {
    return v;
}
template <>
__device__ inline Bf16 store<Bf16>(float v) {
    return bf16_from_float(v);
}
template <typename S>
__device__ inline float as_stored(float v) {
    return load(store<S>(v));
}

// Reduces one double per thread over the block and stores it as this block's partial.
__device__ inline void store_partial(double acc, double* partials, double* scratch) {
    const double sum = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

__device__ inline bool is_block0_thread0() { return blockIdx.x == 0 && threadIdx.x == 0; }

// One thread. Decides whether this step runs (run state, finite total) and snapshots the ring.
__global__ void __launch_bounds__(kThreads) lbfgs_tolerances_kernel(LbfgsView v, const float* g) {
    __shared__ double scratch[kThreads];
    long long begin, end;
    block_slice(v.n, blockIdx.x, gridDim.x, begin, end);
    double g_max = 0, d_max = 0;
    for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
        g_max = fmax(g_max, fabs(static_cast<double>(g[e])));
        d_max = fmax(d_max, fabs(static_cast<double>(v.d[e])));
    }
    // Block maximum through shared memory (max is order-free, so any tree gives the same value).
    for (int which = 0; which < 2; ++which) {
        scratch[threadIdx.x] = which == 0 ? g_max : d_max;
        __syncthreads();
        for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
            if (static_cast<int>(threadIdx.x) < stride)
                scratch[threadIdx.x] = fmax(scratch[threadIdx.x], scratch[threadIdx.x + stride]);
            __syncthreads();
        }
        if (threadIdx.x == 0) v.tol_partials[which * kMaxPartials + blockIdx.x] = scratch[0];
        __syncthreads();
    }
}

// cpu::Lbfgs::tolerance_stop on the device scalars (one thread).
__device__ bool tolerance_stop(const LbfgsView& v, const LbfgsScalars& sc) {
    if (v.tol_grad < 0 && v.tol_change < 0) return false;
    double g_max = 0, d_max = 0;
    for (int b = 0; b < v.blocks; ++b) {
        g_max = fmax(g_max, v.tol_partials[b]);
        d_max = fmax(d_max, v.tol_partials[kMaxPartials + b]);
    }
    if (g_max <= v.tol_grad) return true;
    if (sc.iter == 0) return false;
    // max|t d| as the CPU forms it: float(d * float(t)) is monotone in |d|.
    const double td_max = fabs(static_cast<double>(__fmul_rn(static_cast<float>(d_max), __double2float_rn(sc.t))));
    if (td_max <= v.tol_change) return true;
    const double change = fabs(static_cast<double>(__double2float_rn(*v.total)) -
                               static_cast<double>(__double2float_rn(sc.prev_loss)));
    return change < v.tol_change;
}

__global__ void lbfgs_begin_kernel(LbfgsView v) {
    LbfgsScalars& sc = *v.scalars;
    if (!step_allowed(*v.state, v.total)) {  // no history change either
        sc.skip = 1;
        return;
    }
    if (tolerance_stop(v, sc)) {  // torch broke out of its loop before this step: x unchanged
        sc.skip = 1;
        v.state->status = cuda::kStopped;
        v.state->status_iter = static_cast<int>(v.state->iter + 1);
        return;
    }
    sc.prev_loss = *v.total;
    sc.skip = 0;
    sc.iter += 1;
    sc.first = sc.iter == 1 ? 1 : 0;
    sc.count0 = sc.count;
    sc.head0 = sc.head;
}

// Candidate pair's y.s (sum 0) and y.y (sum 1) into buffer 1, y = g - g_prev and s = t_prev d
// formed on the fly (a rejected pair must not overwrite the oldest one).
template <typename S>
__global__ void __launch_bounds__(kThreads) lbfgs_pair_dots_kernel(LbfgsView v, const float* g) {
    __shared__ double scratch[kThreads];
    const LbfgsScalars& sc = *v.scalars;
    if (sc.skip || sc.first) return;
    const float t_prev = __double2float_rn(sc.t);
    const float* d = v.d;
    const float* gp = v.g_prev;
    long long begin, end;
    block_slice(v.n, blockIdx.x, gridDim.x, begin, end);
    double ys = 0, yy = 0;
    for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
        const double yi = static_cast<double>(as_stored<S>(__fsub_rn(g[e], gp[e])));
        const double si = static_cast<double>(as_stored<S>(__fmul_rn(d[e], t_prev)));
        ys += yi * si;
        yy += yi * yi;
    }
    store_partial(ys, partials_of(v.partials, 1, 0), scratch);
    store_partial(yy, partials_of(v.partials, 1, 1), scratch);
}

// Iteration 1: d = -g, g_prev = g; g.d (sum 0) and |g|_1 (sum 1) into buffer 0.
// Later: keeps the candidate pair if y.s > 1e-10 (storing it, with rho and H_diag), then the
// recursion's first pass d = -g (times H_diag when no pair is kept), g_prev = g, and into
// buffer 0 sum 0 the dot the next kernel needs: s_{k-1}.d, or g.d when k = 0 (no loop runs).
template <typename S>
__global__ void __launch_bounds__(kThreads) lbfgs_first_pass_kernel(LbfgsView v, const float* g) {
    __shared__ double scratch[kThreads];
    LbfgsScalars& sc = *v.scalars;
    if (sc.skip) return;
    float* d = v.d;
    float* gp = v.g_prev;
    long long begin, end;
    block_slice(v.n, blockIdx.x, gridDim.x, begin, end);

    if (sc.first) {
        double gd = 0, l1 = 0;
        for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
            const float gi = g[e];
            d[e] = -gi;
            gp[e] = gi;
            l1 += fabs(static_cast<double>(gi));
            gd += static_cast<double>(gi) * static_cast<double>(-gi);
        }
        store_partial(gd, partials_of(v.partials, 0, 0), scratch);
        store_partial(l1, partials_of(v.partials, 0, 1), scratch);
        if (is_block0_thread0()) sc.h_diag = 1.0;
        return;
    }

    // Every block derives the same decision from the same partials and the step-start snapshot
    // (count0, head0); only block 0 writes count, head, rho and H_diag, which no block reads here.
    const int blocks = static_cast<int>(gridDim.x);
    const double ys = sum_partials(partials_of(v.partials, 1, 0), blocks, scratch);
    const double yy = sum_partials(partials_of(v.partials, 1, 1), blocks, scratch);
    const bool accepted = ys > 1e-10;
    const int m = v.m;
    const int count0 = sc.count0;
    const int head0 = sc.head0;
    const bool full = count0 >= m;
    const int slot = full ? head0 : (head0 + count0) % m;  // where an accepted pair goes
    const int k = accepted ? (full ? m : count0 + 1) : count0;
    // H_diag only matters when no pair is kept (then block 0 leaves it unchanged).
    const float h = k == 0 ? __double2float_rn(sc.h_diag) : 1.0f;
    const float t_prev = __double2float_rn(sc.t);
    S* s_out = accepted ? s_slot<S>(v, slot) : nullptr;
    S* y_out = accepted ? y_slot<S>(v, slot) : nullptr;
    const S* s_newest = (!accepted && k > 0) ? s_slot<S>(v, (head0 + count0 - 1) % m) : nullptr;

    double acc = 0;
    for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
        const float gi = g[e];
        float s_new = 0.0f;
        if (accepted) {
            const S s_stored = store<S>(__fmul_rn(d[e], t_prev));
            y_out[e] = store<S>(__fsub_rn(gi, gp[e]));
            s_out[e] = s_stored;
            s_new = load(s_stored);  // the recursion reads the pair as stored
        } else if (k > 0) {
            s_new = load(s_newest[e]);
        }
        float de = -gi;
        if (k == 0) de = __fmul_rn(de, h);  // the CPU's separate d *= H_diag pass
        d[e] = de;
        gp[e] = gi;
        const float other = k > 0 ? s_new : gi;
        acc += static_cast<double>(other) * static_cast<double>(de);
    }
    store_partial(acc, partials_of(v.partials, 0, 0), scratch);

    if (is_block0_thread0()) {
        sc.ys = ys;
        sc.yy = yy;
        sc.accepted = accepted ? 1 : 0;
        if (accepted) {
            sc.count = k;
            sc.head = full ? (head0 + 1) % m : head0;
            v.rho[slot] = 1.0 / ys;
            sc.h_diag = ys / yy;
        }
    }
}

// First loop at `position` (pair i = k-1-position): alpha_i = rho_i * (s_i.q) from the partials
// in buffer position % 2, q -= alpha_i y_i, then the next dot into the other buffer: s_{i-1}.q,
// or for i = 0 r = H_diag q and y_0.r (the second loop's first dot).
template <typename S>
__global__ void __launch_bounds__(kThreads) lbfgs_loop1_kernel(LbfgsView v, int position) {
    __shared__ double scratch[kThreads];
    const LbfgsScalars& sc = *v.scalars;
    if (sc.skip || sc.first) return;
    const int k = sc.count;
    if (position >= k) return;
    const int m = v.m;
    const int head = sc.head;
    const int i = k - 1 - position;
    const int slot = (head + i) % m;

    const double dot = sum_partials(partials_of(v.partials, position % 2, 0), static_cast<int>(gridDim.x), scratch);
    const double al = __dmul_rn(dot, v.rho[slot]);
    const float a = __double2float_rn(al);
    const S* yi = y_slot<S>(v, slot);
    float* d = v.d;
    long long begin, end;
    block_slice(v.n, blockIdx.x, gridDim.x, begin, end);

    double acc = 0;
    if (i > 0) {
        const S* s_next = s_slot<S>(v, (head + i - 1) % m);
        for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
            const float de = __fsub_rn(d[e], __fmul_rn(a, load(yi[e])));
            d[e] = de;
            acc += static_cast<double>(load(s_next[e])) * static_cast<double>(de);
        }
    } else {
        const float h = __double2float_rn(sc.h_diag);
        for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
            const float y = load(yi[e]);
            const float de = __fmul_rn(__fsub_rn(d[e], __fmul_rn(a, y)), h);
            d[e] = de;
            acc += static_cast<double>(y) * static_cast<double>(de);
        }
    }
    store_partial(acc, partials_of(v.partials, (position + 1) % 2, 0), scratch);
    if (is_block0_thread0()) v.alpha[i] = al;
}

// Second loop at `position` (pair i = position): beta_i = rho_i * (y_i.r) from buffer
// (k + position) % 2, r += (alpha_i - beta_i) s_i, then the next dot into the other buffer:
// y_{i+1}.r, or after the last pair g.d for the stop test (which lands in buffer 0).
template <typename S>
__global__ void __launch_bounds__(kThreads) lbfgs_loop2_kernel(LbfgsView v, int position, const float* g) {
    __shared__ double scratch[kThreads];
    const LbfgsScalars& sc = *v.scalars;
    if (sc.skip || sc.first) return;
    const int k = sc.count;
    if (position >= k) return;
    const int m = v.m;
    const int head = sc.head;
    const int i = position;
    const int slot = (head + i) % m;

    const double dot = sum_partials(partials_of(v.partials, (k + position) % 2, 0), static_cast<int>(gridDim.x), scratch);
    const double be = __dmul_rn(dot, v.rho[slot]);
    const float c = __double2float_rn(__dsub_rn(v.alpha[i], be));
    const S* si = s_slot<S>(v, slot);
    const S* next_y = i + 1 < k ? y_slot<S>(v, (head + i + 1) % m) : nullptr;  // else g
    float* d = v.d;
    long long begin, end;
    block_slice(v.n, blockIdx.x, gridDim.x, begin, end);

    double acc = 0;
    for (long long e = begin + threadIdx.x; e < end; e += kThreads) {
        const float de = __fadd_rn(d[e], __fmul_rn(c, load(si[e])));
        d[e] = de;
        const float next = next_y ? load(next_y[e]) : g[e];
        acc += static_cast<double>(next) * static_cast<double>(de);
    }
    store_partial(acc, partials_of(v.partials, (k + position + 1) % 2, 0), scratch);
}

// g.d from buffer 0 (every path of the chain ends there), t, torch's stop test, x += t d.
__global__ void __launch_bounds__(kThreads) lbfgs_finish_kernel(LbfgsView v, float* x) {
    __shared__ double scratch[kThreads];
    LbfgsScalars& sc = *v.scalars;
    if (sc.skip) return;
    const int blocks = static_cast<int>(gridDim.x);
    const double gtd = sum_partials(partials_of(v.partials, 0, 0), blocks, scratch);
    double t = v.learning_rate;
    if (sc.first) {
        const double inv_l1 = 1.0 / sum_partials(partials_of(v.partials, 0, 1), blocks, scratch);
        t = __dmul_rn(inv_l1 < 1.0 ? inv_l1 : 1.0, v.learning_rate);  // std::min(1.0, inv_l1) * lr
    }
    const bool stop = gtd > -v.tol_change;  // torch's test (1 with nst's tolerance_change = -1)
    if (is_block0_thread0()) {
        sc.t = t;
        sc.gtd = gtd;
        if (stop) {
            v.state->status = cuda::kStopped;
            v.state->status_iter = static_cast<int>(v.state->iter + 1);
        }
    }
    if (stop) return;  // x unchanged; history, g_prev and d were updated as torch does

    const float tf = __double2float_rn(t);
    const float* d = v.d;
    long long begin, end;
    block_slice(v.n, blockIdx.x, gridDim.x, begin, end);
    for (long long e = begin + threadIdx.x; e < end; e += kThreads) x[e] = __fadd_rn(x[e], __fmul_rn(tf, d[e]));
}

}  // namespace

void lbfgs_begin(const LbfgsView& v, cudaStream_t stream) {
    lbfgs_begin_kernel<<<1, 1, 0, stream>>>(v);
    NST_CUDA_CHECK(cudaGetLastError());
}

void lbfgs_tolerances(const LbfgsView& v, const float* g, cudaStream_t stream) {
    if (v.tol_grad < 0 && v.tol_change < 0) return;  // fixed for the run, so the sequence stays fixed
    lbfgs_tolerances_kernel<<<v.blocks, kThreads, 0, stream>>>(v, g);
    NST_CUDA_CHECK(cudaGetLastError());
}

void lbfgs_pair_dots(const LbfgsView& v, const float* g, cudaStream_t stream) {
    if (v.history_half)
        lbfgs_pair_dots_kernel<Bf16><<<v.blocks, kThreads, 0, stream>>>(v, g);
    else
        lbfgs_pair_dots_kernel<float><<<v.blocks, kThreads, 0, stream>>>(v, g);
    NST_CUDA_CHECK(cudaGetLastError());
}

void lbfgs_first_pass(const LbfgsView& v, const float* g, cudaStream_t stream) {
    if (v.history_half)
        lbfgs_first_pass_kernel<Bf16><<<v.blocks, kThreads, 0, stream>>>(v, g);
    else
        lbfgs_first_pass_kernel<float><<<v.blocks, kThreads, 0, stream>>>(v, g);
    NST_CUDA_CHECK(cudaGetLastError());
}

void lbfgs_loop1(const LbfgsView& v, int position, cudaStream_t stream) {
    if (v.history_half)
        lbfgs_loop1_kernel<Bf16><<<v.blocks, kThreads, 0, stream>>>(v, position);
    else
        lbfgs_loop1_kernel<float><<<v.blocks, kThreads, 0, stream>>>(v, position);
    NST_CUDA_CHECK(cudaGetLastError());
}

void lbfgs_loop2(const LbfgsView& v, int position, const float* g, cudaStream_t stream) {
    if (v.history_half)
        lbfgs_loop2_kernel<Bf16><<<v.blocks, kThreads, 0, stream>>>(v, position, g);
    else
        lbfgs_loop2_kernel<float><<<v.blocks, kThreads, 0, stream>>>(v, position, g);
    NST_CUDA_CHECK(cudaGetLastError());
}

void lbfgs_finish(const LbfgsView& v, float* x, cudaStream_t stream) {
    lbfgs_finish_kernel<<<v.blocks, kThreads, 0, stream>>>(v, x);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
