// SPDX-License-Identifier: MIT
// Style loss kernels (see style_loss.h).
//
// The gradient is one GEMM, df (C x M) += coef * D (C x C) F (C x M) with D = G - A, fp32:
// a block owns a 64 x 128 tile of df (C rows x M columns), 256 threads with 4 x 8 entries each,
// and walks k = 0..C in steps of 16 through double-buffered shared memory (one barrier per
// step; the next step's global loads are in flight during the FMAs). D is never materialised:
// G - A is formed while its tile is loaded. D is symmetric, so the tile D[c0.., k0..] is read
// as rows k of G - A, contiguous along c: both shared tiles are then [k][column], and a
// thread's float4 reads along the columns are conflict-free without any transpose.
//
// Guided (spatial control), df += coef * T o (D (F o T)): the F tile is loaded as F o T by the
// shared row load (kernels/row_load.cuh), and each output column m takes coef * T_m as its
// factor; F o T is never stored.
//
// F and df may be a column range of wider maps (rows ld floats apart, kernels/row_load.cuh): the
// positions one strip owns in tiled evaluation; the columns outside the range are not touched.
//
// Every df entry is written by exactly one thread, which sums over k in increasing order:
// the result does not depend on scheduling.
#include "kernels/style_loss.h"

#include <cstdint>

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/common.cuh"
#include "kernels/row_load.cuh"

namespace nst::kernels {

namespace {

constexpr int kRows = 64;       // df rows (channels) per block
constexpr int kCols = 128;      // df columns (positions) per block
constexpr int kStep = 16;       // k per shared-memory step
constexpr int kGemmThreads = 256;

__global__ void __launch_bounds__(kThreads)
style_value_kernel(const float* __restrict__ g, const float* __restrict__ a, long long n, double weight,
                   double* __restrict__ partials) {
    __shared__ double scratch[kThreads];
    long long begin, end;
    block_slice(n, int(blockIdx.x), int(gridDim.x), begin, end);
    double acc = 0;
    for (long long i = begin + threadIdx.x; i < end; i += kThreads) {
        const double e = double(g[i]) - double(a[i]);
        acc += e * e;
    }
    const double s = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = weight * s;  // weight 1: s exactly
}

// G - A as the CPU forms it: the difference in double, rounded once to float.
__device__ inline float diff(float g, float a) { return float(double(g) - double(a)); }

// Columns [c, c+4) of row k of G - A (= rows [c, c+4) of column k of D), zero outside C x C.
template <bool Vec>
__device__ inline float4 load_diff4(const float* __restrict__ g, const float* __restrict__ a, int channels, int k,
                                    int c) {
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (k >= channels) return v;
    const std::size_t at = std::size_t(k) * channels + c;
    if (Vec) {
        // C % 4 == 0 here, so c < C covers c + 3.
        if (c < channels) {
            const float4 gv = __ldg(reinterpret_cast<const float4*>(g + at));
            const float4 av = __ldg(reinterpret_cast<const float4*>(a + at));
            v = make_float4(diff(gv.x, av.x), diff(gv.y, av.y), diff(gv.z, av.z), diff(gv.w, av.w));
        }
    } else {
        if (c < channels) v.x = diff(__ldg(g + at), __ldg(a + at));
        if (c + 1 < channels) v.y = diff(__ldg(g + at + 1), __ldg(a + at + 1));
        if (c + 2 < channels) v.z = diff(__ldg(g + at + 2), __ldg(a + at + 2));
        if (c + 3 < channels) v.w = diff(__ldg(g + at + 3), __ldg(a + at + 3));
    }
    return v;
}

template <bool Vec>
__global__ void __launch_bounds__(kGemmThreads)
style_gradient_kernel(const float* __restrict__ g, const float* __restrict__ a, const float* __restrict__ f,
                      const float* __restrict__ guide, int channels, long long positions, long long ld, float coef,
                      float* __restrict__ df) {
    __shared__ __align__(16) float d_tile[2][kStep][kRows];
    __shared__ __align__(16) float f_tile[2][kStep][kCols];

    const int t = threadIdx.x, tx = t % 16, ty = t / 16;
    const int c0 = int(blockIdx.y) * kRows;
    const long long m0 = (long long)blockIdx.x * kCols;

    // Loader mapping. D: 16 threads per k row, a float4 of channels each (one per thread).
    // F: 32 threads per k row, a float4 of positions each (two per thread).
    const int d_k = t / 16, d_c = (t % 16) * 4;
    int f_k[2], f_m[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int idx = t + h * kGemmThreads;
        f_k[h] = idx / 32;
        f_m[h] = (idx % 32) * 4;
    }

    float4 next_d, next_f[2];
    auto fetch = [&](int k0) {
        next_d = load_diff4<Vec>(g, a, channels, k0 + d_k, c0 + d_c);
#pragma unroll
        for (int h = 0; h < 2; ++h)
            next_f[h] = load_row4<Vec>(f, guide, channels, ld, k0 + f_k[h], m0 + f_m[h], positions);
    };
    auto stash = [&](int buf) {
        *reinterpret_cast<float4*>(&d_tile[buf][d_k][d_c]) = next_d;
#pragma unroll
        for (int h = 0; h < 2; ++h) *reinterpret_cast<float4*>(&f_tile[buf][f_k[h]][f_m[h]]) = next_f[h];
    };

    float acc[4][8];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < 8; ++c) acc[r][c] = 0.f;

    const int steps = (channels + kStep - 1) / kStep;
    fetch(0);
    stash(0);
    __syncthreads();
    for (int s = 0; s < steps; ++s) {
        const int buf = s & 1;
        if (s + 1 < steps) fetch((s + 1) * kStep);
#pragma unroll
        for (int kk = 0; kk < kStep; ++kk) {
            const float4 dv = *reinterpret_cast<const float4*>(&d_tile[buf][kk][ty * 4]);
            const float4 f0 = *reinterpret_cast<const float4*>(&f_tile[buf][kk][tx * 4]);
            const float4 f1 = *reinterpret_cast<const float4*>(&f_tile[buf][kk][64 + tx * 4]);
            const float dr[4] = {dv.x, dv.y, dv.z, dv.w};
            const float fr[8] = {f0.x, f0.y, f0.z, f0.w, f1.x, f1.y, f1.z, f1.w};
#pragma unroll
            for (int r = 0; r < 4; ++r)
#pragma unroll
                for (int c = 0; c < 8; ++c) acc[r][c] = fmaf(dr[r], fr[c], acc[r][c]);
        }
        // The other buffer was last read in step s - 1, which every thread has finished
        // (barrier at its end), so it can be filled now; one barrier per step suffices.
        if (s + 1 < steps) stash(buf ^ 1);
        __syncthreads();
    }

    // The factor of each of the thread's 8 columns: coef, or coef * T_m rounded to float (an
    // all-ones guide leaves coef's bits).
    float cf[8];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const long long col = m0 + 64 * h + tx * 4;
        float4 t = make_float4(1.f, 1.f, 1.f, 1.f);
        if (guide) t = load_guide4<Vec>(guide, col, positions);
        cf[4 * h + 0] = __fmul_rn(coef, t.x);
        cf[4 * h + 1] = __fmul_rn(coef, t.y);
        cf[4 * h + 2] = __fmul_rn(coef, t.z);
        cf[4 * h + 3] = __fmul_rn(coef, t.w);
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int row = c0 + ty * 4 + r;
        if (row >= channels) continue;
        float* out = df + std::size_t(row) * std::size_t(ld);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const long long col = m0 + 64 * h + tx * 4;
            const float* v = &acc[r][4 * h];
            const float* k = &cf[4 * h];
            if (Vec) {
                if (col < positions) {
                    float4 o = *reinterpret_cast<float4*>(out + col);
                    o.x = fmaf(k[0], v[0], o.x);
                    o.y = fmaf(k[1], v[1], o.y);
                    o.z = fmaf(k[2], v[2], o.z);
                    o.w = fmaf(k[3], v[3], o.w);
                    *reinterpret_cast<float4*>(out + col) = o;
                }
            } else {
#pragma unroll
                for (int e = 0; e < 4; ++e)
                    if (col + e < positions) out[col + e] = fmaf(k[e], v[e], out[col + e]);
            }
        }
    }
}

__global__ void style_target_accumulate_kernel(double* __restrict__ norm, const float* __restrict__ g,
                                               long long n, double weight) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        // _rn: nvcc would contract this into one DFMA; the CPU (objective.cpp) rounds the product.
        norm[i] = __dadd_rn(norm[i], __dmul_rn(weight, double(g[i])));
}

__global__ void style_target_scale_kernel(float* __restrict__ target, const double* __restrict__ norm, long long n,
                                          double factor) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        target[i] = float(factor * norm[i]);
}

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

std::size_t square(int channels) { return std::size_t(channels) * std::size_t(channels); }

}  // namespace

int style_value_partials(int channels) { return reduce_blocks(square(channels)); }

void style_value(const float* g, const float* a, int channels, double* partials, cudaStream_t stream) {
    style_value_weighted(g, a, channels, 1.0, partials, stream);
}

void style_value_weighted(const float* g, const float* a, int channels, double weight, double* partials,
                          cudaStream_t stream) {
    const std::size_t n = square(channels);
    style_value_kernel<<<reduce_blocks(n), kThreads, 0, stream>>>(g, a, (long long)n, weight, partials);
    NST_CUDA_CHECK(cudaGetLastError());
}

void style_gradient(const float* g, const float* a, const float* f, const float* guide, int channels,
                    long long positions, double coef, float* df, cudaStream_t stream) {
    style_gradient(g, a, f, guide, channels, positions, positions, coef, df, stream);
}

void style_gradient(const float* g, const float* a, const float* f, const float* guide, int channels,
                    long long columns, long long ld, double coef, float* df, cudaStream_t stream) {
    if (channels <= 0 || columns <= 0) return;
    NST_REQUIRE(ld >= columns, "style_gradient: row stride shorter than the columns");
    const long long col_blocks = (columns + kCols - 1) / kCols;
    NST_REQUIRE(col_blocks <= 0x7fffffffLL, "style_gradient: too many positions");
    const dim3 grid(unsigned(col_blocks), unsigned((channels + kRows - 1) / kRows));
    const bool vec = channels % 4 == 0 && columns % 4 == 0 && ld % 4 == 0 && aligned16(g) && aligned16(a) &&
                     aligned16(f) && aligned16(df) && (!guide || aligned16(guide));
    if (vec)
        style_gradient_kernel<true>
            <<<grid, kGemmThreads, 0, stream>>>(g, a, f, guide, channels, columns, ld, float(coef), df);
    else
        style_gradient_kernel<false>
            <<<grid, kGemmThreads, 0, stream>>>(g, a, f, guide, channels, columns, ld, float(coef), df);
    NST_CUDA_CHECK(cudaGetLastError());
}

void style_target_accumulate(double* norm, const float* g, int channels, double weight, cudaStream_t stream) {
    const std::size_t n = square(channels);
    style_target_accumulate_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(norm, g, (long long)n, weight);
    NST_CUDA_CHECK(cudaGetLastError());
}

void style_target_scale(float* target, const double* norm, int channels, double factor, cudaStream_t stream) {
    const std::size_t n = square(channels);
    style_target_scale_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(target, norm, (long long)n, factor);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
