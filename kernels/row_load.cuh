// SPDX-License-Identifier: MIT
// The operand load the Gram and the style-gradient GEMM share: four consecutive positions of
// one channel row of a feature map F (C rows of M positions, row-major).
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// Positions [k, k+4) of row `row` of F, zero beyond `end` (the end of the row or of a split-K
// chunk) or below the last row. Vec: one aligned float4 load, valid when M and `end` are
// multiples of 4 (so k < end covers k+3).
template <bool Vec>
__device__ inline float4 load_row4(const float* __restrict__ f, int channels, long long positions, int row,
                                   long long k, long long end) {
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (row >= channels) return v;
    const float* p = f + std::size_t(row) * std::size_t(positions) + k;
    if (Vec) {
        if (k < end) v = __ldg(reinterpret_cast<const float4*>(p));
    } else {
        if (k < end) v.x = __ldg(p);
        if (k + 1 < end) v.y = __ldg(p + 1);
        if (k + 2 < end) v.z = __ldg(p + 2);
        if (k + 3 < end) v.w = __ldg(p + 3);
    }
    return v;
}

}  // namespace nst::kernels
