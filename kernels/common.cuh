// SPDX-License-Identifier: MIT
// Device-side helpers shared by the kernels: grid-stride loops, a fixed-order block sum in
// double, and the launch sizes that make every reduction deterministic.
//
// Determinism rule (issue #3): no float atomics anywhere. A reduction over n elements runs on a
// grid whose size depends only on n (reduce_blocks), each block sums a fixed, contiguous slice
// in a fixed order and writes one double partial; a later kernel sums the partials in index
// order. Same n, same GPU -> same bits.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/launch.h"

namespace nst::kernels {

// Element i of a contiguous (planes, h, w) array: its plane, row and column, for the grid-stride
// loops over NCHW tensors (`const auto [p, y, x] = plane_pos(i, h, w);`).
struct PlanePos {
    std::size_t plane;
    int y, x;
};
__device__ inline PlanePos plane_pos(std::size_t i, int h, int w) {
    const std::size_t row = i / std::size_t(w);
    return {row / std::size_t(h), int(row % std::size_t(h)), int(i % std::size_t(w))};
}

// Sum of v over the block, valid in thread 0. Tree order is fixed by threadIdx, so the result is
// reproducible. blockDim.x must be kThreads. `scratch` holds kThreads doubles.
__device__ inline double block_sum(double v, double* scratch) {
    const int t = threadIdx.x;
    scratch[t] = v;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
        if (t < stride) scratch[t] += scratch[t + stride];
        __syncthreads();
    }
    const double r = scratch[0];
    __syncthreads();  // scratch may be reused right after
    return r;
}

// The slice [begin, end) of n elements that block b of `blocks` sums (contiguous, fixed).
__device__ inline void block_slice(long long n, int b, int blocks, long long& begin, long long& end) {
    const long long per = (n + blocks - 1) / blocks;
    begin = min(n, per * b);
    end = min(n, begin + per);
}

// Sums `count` partials in index order (one block; call from every thread, result in all).
__device__ inline double sum_partials(const double* partials, int count, double* scratch) {
    double v = 0;
    for (int i = threadIdx.x; i < count; i += kThreads) v += partials[i];
    const double r = block_sum(v, scratch);
    return r;
}

}  // namespace nst::kernels
