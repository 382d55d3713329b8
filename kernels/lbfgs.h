// SPDX-License-Identifier: MIT
// Kernels of the device-resident L-BFGS (src/cuda/optim_cuda.h), the twin of cpu::Lbfgs<float>
// (src/optim/lbfgs.cpp), and the layout of its device state.
//
// One step is a FIXED sequence of 2M + 4 launches, whatever the number of pairs kept, so that it
// can be captured into a CUDA graph once and replayed:
//   lbfgs_begin                   1 thread: run-state / total check, ++iter, snapshots the ring
//   lbfgs_pair_dots               candidate pair's y.s, y.y (y = g - g_prev, s = t d on the fly)
//   lbfgs_first_pass              keeps or drops the pair (stores it), d = -g, g_prev = g, and
//                                 the first dot of the recursion (iteration 1: |g|_1 and g.d)
//   lbfgs_loop1(p), p = 0..M-1    first loop, pair i = k-1-p: d -= alpha_i y_i (+ next dot)
//   lbfgs_loop2(p), p = 0..M-1    second loop, pair i = p:    d += (alpha_i - beta_i) s_i (+ dot)
//   lbfgs_finish                  t, stop test g.d > 1, x += t d
// A loop kernel whose position is beyond the pairs kept (k = count, read from device memory)
// returns at once; every kernel returns at once when the step is skipped (run not running, or a
// non-finite total).
//
// Dot products: every reduce kernel runs on reduce_blocks(n) blocks; block b sums its fixed
// slice (block_slice) in double and writes partial b. The next kernel that needs the scalar sums
// the partials itself (every block, redundantly, in the same fixed order, so that all blocks
// agree on it bit for bit) and its block 0 stores what it derives (alpha_i, rho, H_diag, t, ...)
// for later kernels. Partials ping-pong between two buffers (a kernel never writes the buffer it
// reads); which buffer a kernel reads follows from its position in the chain of active kernels,
// which every kernel can compute from k.
//
// History layout: one buffer of 2 * M * n floats, s slots first: s(slot) = history + slot * n,
// y(slot) = history + (M + slot) * n; pair i (0 = oldest) lives in slot (head + i) % M.
// With --lbfgs-history-precision bf16 the same layout holds bf16 values (history_half, core/bf16.h
// rounding, bit-identical to cpu::Lbfgs's): every kernel is templated on the stored type and the
// launchers pick the instance. As on the CPU, the candidate pair's y.s and y.y, rho and H_diag
// come from the rounded values, and every read of s or y converts the stored value to float.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

#include "core/bf16.h"
#include "cuda/run_state.h"
#include "kernels/launch.h"

namespace nst::kernels {

// Device scalars of one L-BFGS (one struct in device memory).
struct LbfgsScalars {
    int skip;       // 1: this step changes nothing (set by lbfgs_begin, read by every kernel)
    int first;      // 1: this step is iteration 1
    int iter;       // steps taken (cpu::Lbfgs::iterations())
    int count;      // pairs kept, after this step's pair update
    int head;       // ring slot of the oldest pair, after this step's pair update
    int count0;     // count and head at the start of the step: lbfgs_first_pass reads these
    int head0;      //   while its block 0 updates count and head
    int accepted;   // 1: this step kept its candidate pair
    double t;       // step size of the last step
    double h_diag;  // y.s / y.y of the newest kept pair (1 before any)
    double ys, yy;  // the last candidate pair's y.s and y.y
    double gtd;     // g.d of the last step (the stop test)
    double prev_loss;  // the total of the previous step (tolerance_change's loss test)
};

// Partials: 2 buffers x 2 sums x kMaxPartials doubles.
constexpr std::size_t kLbfgsPartials = std::size_t(2) * 2 * kMaxPartials;

// Device pointers and sizes of one L-BFGS; passed by value to every kernel.
struct LbfgsView {
    LbfgsScalars* scalars;
    double* rho;        // (M) 1 / y.s per ring slot
    double* alpha;      // (M) two-loop scratch, by pair index
    double* partials;   // (kLbfgsPartials)
    float* history;     // (2, M, n): s slots, then y slots (fp32 history; else null)
    Bf16* history_half; // (2, M, n) the same in bf16 (bf16 history; else null)
    float* d;           // (n) search direction
    float* g_prev;      // (n) previous gradient
    long long n;
    int m;              // history size M
    int blocks;         // reduce_blocks(n): the grid of every reduce kernel
    double learning_rate;
    double tol_grad = -1;            // torch's tolerance_grad / tolerance_change (cpu::LbfgsOptions);
    double tol_change = -1;          //   both < 0: lbfgs_tolerances queues nothing, only g.d > 1 stops
    double* tol_partials = nullptr;  // (2 * kMaxPartials): per block max|g| then max|d|, for lbfgs_begin
    cuda::RunState* state;
    const double* total;  // the iteration's total loss
};

// The launch sequence of one step, in this order (see above). Host functions; each queues one
// kernel on `stream`, never synchronises and never allocates.
// Before lbfgs_begin when a tolerance is set: per block max|g| and max|d| into tol_partials;
// lbfgs_begin then makes cpu::Lbfgs::step's tolerance tests (max|g| <= tol_grad; after the first
// step max|t d| <= tol_change and |loss - prev_loss| < tol_change in float32) and stops the run.
void lbfgs_tolerances(const LbfgsView& v, const float* g, cudaStream_t stream);
void lbfgs_begin(const LbfgsView& v, cudaStream_t stream);
void lbfgs_pair_dots(const LbfgsView& v, const float* g, cudaStream_t stream);
void lbfgs_first_pass(const LbfgsView& v, const float* g, cudaStream_t stream);
void lbfgs_loop1(const LbfgsView& v, int position, cudaStream_t stream);
void lbfgs_loop2(const LbfgsView& v, int position, const float* g, cudaStream_t stream);
void lbfgs_finish(const LbfgsView& v, float* x, cudaStream_t stream);

}  // namespace nst::kernels
