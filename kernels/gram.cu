// SPDX-License-Identifier: MIT
// Gram matrix G = scale * F F^T, F (C, M) row-major, in two kernels (with a guide T, F o T in
// place of F, formed by the row loads: kernels/row_load.cuh):
//
//   1. gram_partial_kernel: grid (upper-triangle 64x64 tile pairs, splits). Block (p, s) computes
//      the 64x64 tile (ti, tj), ti <= tj, of F[:, chunk s] F[:, chunk s]^T in fp32 and writes it
//      to partials[s]. Each thread owns a 4x4 register block; the K loop steps 32 positions
//      through shared memory, the next step's global loads in flight during the FMAs.
//   2. gram_finalize_kernel: grid (upper-triangle 32x32 tile pairs, 4 slabs of 8 rows). Each
//      entry of an upper tile is the sum of its S partials in index order (double), times
//      scale, one entry per thread (S can reach 256 at relu1_1, so the work is spread over
//      many blocks); the slab is written as is and, through shared memory, mirrored into the
//      lower triangle.
//
// Both operand tiles are kept row-major ([row][k], rows padded to 36 floats) so that global
// loads are float4 along M and shared reads are float4 along k: the rows a thread reads are
// 16 apart (ty + 16 r, tx + 16 c), which puts 8 consecutive threads' float4s in distinct banks.
// On a diagonal tile both operands are the same rows: they are loaded once, and entry (i, j)
// and (j, i) see the same products in the same order, hence the same bits.
//
// F may be a column range of a wider map (rows ld floats apart): tiled evaluation
// (loss/tiling.h) takes the Gram of the positions a strip owns, which are the columns
// [r0 * w, r1 * w) of every channel row of its window's (C, h * w) features.
#include "kernels/gram.h"

#include <cstdint>

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/launch.h"
#include "kernels/row_load.cuh"

namespace nst::kernels {

namespace {

constexpr int kTile = 64;                 // edge of a G tile
constexpr int kStepK = 32;                // positions per shared-memory step
constexpr int kLd = kStepK + 4;           // padded row of a shared operand tile
constexpr int kGramThreads = 256;         // 16 x 16 threads, 4 x 4 entries each
constexpr int kFinalTile = 32;            // edge of a finalize tile ...
constexpr int kSlabRows = 8;              // ... of which a block sums 8 rows (one entry a thread)
constexpr int kTargetBlocks = 264;        // split-K aims at about this many blocks (2 per H100 SM)
constexpr long long kMinChunk = 512;      // fewest positions per split: amortises the tile write

__host__ __device__ inline int tiles_of(int n, int edge) { return (n + edge - 1) / edge; }

// Positions per split, a multiple of kStepK so that chunk starts keep float4 alignment.
long long chunk_length(int channels, long long positions) {
    const long long t = tiles_of(channels, kTile);
    const long long pairs = t * (t + 1) / 2;
    long long splits = (kTargetBlocks + pairs - 1) / pairs;
    const long long most = (positions + kMinChunk - 1) / kMinChunk;
    if (splits > most) splits = most;
    if (splits < 1) splits = 1;
    long long chunk = (positions + splits - 1) / splits;
    chunk = (chunk + kStepK - 1) / kStepK * kStepK;
    return chunk < kStepK ? kStepK : chunk;
}

// Pair p of the upper triangle of a tiles x tiles grid, row by row: (0,0), (0,1), .., (1,1), ..
__device__ inline void upper_pair(int p, int tiles, int& ti, int& tj) {
    ti = 0;
    while (p >= tiles - ti) {
        p -= tiles - ti;
        ++ti;
    }
    tj = ti + p;
}

template <bool Vec>
__global__ void __launch_bounds__(kGramThreads)
gram_partial_kernel(const float* __restrict__ f, const float* __restrict__ guide, int channels, long long positions,
                    long long ld, long long chunk, float* __restrict__ partials) {
    __shared__ __align__(16) float a_tile[kTile * kLd];
    __shared__ __align__(16) float b_tile[kTile * kLd];

    int ti, tj;
    upper_pair(int(blockIdx.x), tiles_of(channels, kTile), ti, tj);
    const bool diagonal = ti == tj;
    const int row0 = ti * kTile, col0 = tj * kTile;
    const long long k_begin = (long long)blockIdx.y * chunk;
    const long long k_end = min(positions, k_begin + chunk);
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;

    // Loader mapping: 8 threads per row, each a float4 along k; two rows of 32 per thread.
    int load_row[2], load_k[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int idx = t + h * kGramThreads;
        load_row[h] = idx / 8;
        load_k[h] = (idx % 8) * 4;
    }

    float acc[4][4];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[r][c] = 0.f;

    const long long steps = k_end > k_begin ? (k_end - k_begin + kStepK - 1) / kStepK : 0;
    float4 next_a[2], next_b[2];
    auto fetch = [&](long long k0) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            next_a[h] = load_row4<Vec>(f, guide, channels, ld, row0 + load_row[h], k0 + load_k[h], k_end);
            if (!diagonal)
                next_b[h] = load_row4<Vec>(f, guide, channels, ld, col0 + load_row[h], k0 + load_k[h], k_end);
        }
    };
    if (steps > 0) fetch(k_begin);

    const float* b_read = diagonal ? a_tile : b_tile;
    for (long long s = 0; s < steps; ++s) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            *reinterpret_cast<float4*>(&a_tile[load_row[h] * kLd + load_k[h]]) = next_a[h];
            if (!diagonal) *reinterpret_cast<float4*>(&b_tile[load_row[h] * kLd + load_k[h]]) = next_b[h];
        }
        __syncthreads();
        if (s + 1 < steps) fetch(k_begin + (s + 1) * kStepK);  // in flight during the FMAs

#pragma unroll
        for (int kk = 0; kk < kStepK; kk += 4) {
            float4 a[4], b[4];
#pragma unroll
            for (int r = 0; r < 4; ++r) a[r] = *reinterpret_cast<const float4*>(&a_tile[(ty + 16 * r) * kLd + kk]);
#pragma unroll
            for (int c = 0; c < 4; ++c) b[c] = *reinterpret_cast<const float4*>(&b_read[(tx + 16 * c) * kLd + kk]);
            // k order x, y, z, w for every entry: (i, j) and (j, i) of a diagonal tile agree.
#pragma unroll
            for (int r = 0; r < 4; ++r)
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    acc[r][c] = fmaf(a[r].x, b[c].x, acc[r][c]);
                    acc[r][c] = fmaf(a[r].y, b[c].y, acc[r][c]);
                    acc[r][c] = fmaf(a[r].z, b[c].z, acc[r][c]);
                    acc[r][c] = fmaf(a[r].w, b[c].w, acc[r][c]);
                }
        }
        __syncthreads();  // the tiles are overwritten by the next step
    }

    float* out = partials + std::size_t(blockIdx.y) * std::size_t(channels) * std::size_t(channels);
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int i = row0 + ty + 16 * r;
        if (i >= channels) continue;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int j = col0 + tx + 16 * c;
            if (j < channels) out[std::size_t(i) * channels + j] = acc[r][c];
        }
    }
}

__global__ void __launch_bounds__(kThreads)
gram_finalize_kernel(const float* __restrict__ partials, int channels, int splits, double scale,
                     float* __restrict__ g) {
    __shared__ float slab[kSlabRows][kFinalTile + 1];
    int a, b;
    upper_pair(int(blockIdx.x), tiles_of(channels, kFinalTile), a, b);
    const int r0 = a * kFinalTile + int(blockIdx.y) * kSlabRows, c0 = b * kFinalTile;
    const int tx = threadIdx.x % kFinalTile, ty = threadIdx.x / kFinalTile;  // 32 x 8
    const std::size_t cc = std::size_t(channels) * std::size_t(channels);

    // A 32-tile on or above the diagonal lies in a 64-tile on or above it, so every entry read
    // here (the lower half of a diagonal 32-tile included) was written by the partial kernel.
    const int i = r0 + ty, j = c0 + tx;
    float v = 0.f;
    if (i < channels && j < channels) {
        const float* p = partials + std::size_t(i) * channels + j;
        double sum = 0;
#pragma unroll 8
        for (int s = 0; s < splits; ++s) sum += double(p[std::size_t(s) * cc]);  // index order
        v = float(scale * sum);
        g[std::size_t(i) * channels + j] = v;
    }
    if (a == b) return;  // a diagonal 32-tile holds its own mirror image
    slab[ty][tx] = v;
    __syncthreads();
    // G[c0 + jj][r0 + ii] = G[r0 + ii][c0 + jj]: 8 consecutive floats per row of the mirror.
    const int jj = threadIdx.x / kSlabRows, ii = threadIdx.x % kSlabRows;
    if (c0 + jj < channels && r0 + ii < channels)
        g[std::size_t(c0 + jj) * channels + (r0 + ii)] = slab[ii][jj];
}

// Lower triangle from the upper one, row-major: g[i][j] = g[j][i] for j < i. Reads and writes
// are disjoint (upper vs strictly lower), so one pass over C * C needs no ordering.
__global__ void gram_mirror_upper_kernel(float* __restrict__ g, int channels, long long n) {
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < n;
         idx += (long long)gridDim.x * blockDim.x) {
        const long long i = idx / channels, j = idx % channels;
        if (j < i) g[idx] = g[j * channels + i];
    }
}

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

}  // namespace

int gram_splits(int channels, long long positions) {
    const long long chunk = chunk_length(channels, positions);
    const long long splits = (positions + chunk - 1) / chunk;
    return splits < 1 ? 1 : int(splits);
}

std::size_t gram_scratch_floats(int channels, long long positions) {
    return std::size_t(gram_splits(channels, positions)) * std::size_t(channels) * std::size_t(channels);
}

void gram(const float* f, const float* guide, int channels, long long positions, double scale, float* partials,
          float* g, cudaStream_t stream) {
    gram(f, guide, channels, positions, positions, scale, partials, g, stream);
}

void gram(const float* f, const float* guide, int channels, long long columns, long long ld, double scale,
          float* partials, float* g, cudaStream_t stream) {
    NST_REQUIRE(channels > 0 && columns >= 0, "gram: empty channel count");
    NST_REQUIRE(ld >= columns, "gram: row stride shorter than the columns");
    const long long chunk = chunk_length(channels, columns);
    const int splits = gram_splits(channels, columns);
    NST_REQUIRE(splits <= 65535, "gram: too many splits");
    const long long t = tiles_of(channels, kTile);
    const dim3 grid(unsigned(t * (t + 1) / 2), unsigned(splits));
    const bool vec = columns % 4 == 0 && ld % 4 == 0 && aligned16(f) && (!guide || aligned16(guide));
    if (vec)
        gram_partial_kernel<true>
            <<<grid, kGramThreads, 0, stream>>>(f, guide, channels, columns, ld, chunk, partials);
    else
        gram_partial_kernel<false>
            <<<grid, kGramThreads, 0, stream>>>(f, guide, channels, columns, ld, chunk, partials);
    NST_CUDA_CHECK(cudaGetLastError());

    const long long t32 = tiles_of(channels, kFinalTile);
    const dim3 final_grid(unsigned(t32 * (t32 + 1) / 2), unsigned(kFinalTile / kSlabRows));
    gram_finalize_kernel<<<final_grid, kThreads, 0, stream>>>(partials, channels, splits, scale, g);
    NST_CUDA_CHECK(cudaGetLastError());
}

void gram_mirror_upper(float* g, int channels, cudaStream_t stream) {
    const long long n = (long long)channels * channels;
    if (n <= 0) return;
    gram_mirror_upper_kernel<<<elementwise_blocks(std::size_t(n)), kThreads, 0, stream>>>(g, channels, n);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
