// SPDX-License-Identifier: MIT
// The Gram matrix G = scale * F F^T of a feature map on the GPU, the twin of cpu::gram_matrix
// (loss/losses.h). fp32 products and sums inside a tile, split-K over the positions M with the
// split partials summed in double in index order: no atomics, so a Gram is bit-reproducible.
//
// G is symmetric: only the tiles on and above the diagonal are computed, and the second kernel
// mirrors them, so G[i][j] and G[j][i] are the same bits (the gradient kernel relies on it).
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// Number of chunks the M positions are split into (split-K); depends on the shape only.
int gram_splits(int channels, long long positions);

// Floats of the partials scratch gram() needs for a (C, M) feature map: splits * C * C.
std::size_t gram_scratch_floats(int channels, long long positions);

// g = scale * F F^T with F = f viewed as (C, M), row-major. Assigns all of g.
// Guided (spatial control): with a guide T (M floats, one per position, broadcast over the
// channels), g = scale * (F o T)(F o T)^T, the products f * t rounded to float as the host's
// float(f * t) and formed in the loads (no copy of F o T). A null guide is the plain Gram; an
// all-ones guide gives the plain Gram's bits.
void gram(const float* f,          // (1, C, H, W) with M = H*W, device
          const float* guide,      // (1, 1, H, W) device, or null
          int channels, long long positions, double scale,
          float* partials,         // gram_scratch_floats(C, M) floats of device scratch
          float* g,                // (1, 1, C, C), device
          cudaStream_t stream);

// As above for the column range F[:, 0:columns) of a row-major (C, ld) map, ld >= columns (rows
// ld floats apart; f points at the range's first column, guide at its T): the Gram of the
// positions one strip owns in tiled evaluation (loss/tiling.h). ld == columns is the call above.
// Scratch: gram_scratch_floats(C, columns).
void gram(const float* f,          // (C, ld) row-major, columns [0, columns) read, device
          const float* guide,      // (columns) device, or null
          int channels, long long columns, long long ld, double scale,
          float* partials, float* g, cudaStream_t stream);

// g[i][j] = g[j][i] for every j < i (row-major): the lower triangle made the bit mirror of the
// upper one. For the cuBLAS Gram path (cuda/gram_cublas.h): SSYRK writes one triangle only,
// and SGEMM's two triangles need not agree bit for bit, which the style gradient requires.
void gram_mirror_upper(float* g,   // (1, 1, C, C), device
                       int channels, cudaStream_t stream);

}  // namespace nst::kernels
