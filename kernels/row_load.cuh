// SPDX-License-Identifier: MIT
// The operand load the Gram and the style-gradient GEMM share: four consecutive positions of
// one channel row of a feature map F (C rows of M positions, row-major, rows `ld` floats apart:
// ld == M for a whole map, ld > M for a column range of a wider one, e.g. the rows a strip
// owns in tiled evaluation, loss/tiling.h), optionally times a
// per-position guide T (spatial control: the rows of F o T are formed here, in registers, so
// that a guided Gram or gradient reads F once and never stores F o T).
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// Guide values [k, k+4) of T (length M), zero beyond `end`; same Vec rule as load_row4.
template <bool Vec>
__device__ inline float4 load_guide4(const float* __restrict__ guide, long long k, long long end) {
    float4 t = make_float4(0.f, 0.f, 0.f, 0.f);
    const float* p = guide + k;
    if (Vec) {
        if (k < end) t = __ldg(reinterpret_cast<const float4*>(p));
    } else {
        if (k < end) t.x = __ldg(p);
        if (k + 1 < end) t.y = __ldg(p + 1);
        if (k + 2 < end) t.z = __ldg(p + 2);
        if (k + 3 < end) t.w = __ldg(p + 3);
    }
    return t;
}

// Positions [k, k+4) of row `row` of F (rows ld floats apart), or of F o T when `guide` (T, M
// floats) is not null, each product one float rounding (the host's float(f * t)); zero beyond
// `end` (the end of the row or of a split-K chunk) or below the last row. Vec: aligned float4
// loads, valid when M, ld and `end` are multiples of 4 (so k < end covers k+3) and f and guide
// are 16-byte aligned.
template <bool Vec>
__device__ inline float4 load_row4(const float* __restrict__ f, const float* __restrict__ guide, int channels,
                                   long long ld, int row, long long k, long long end) {
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (row >= channels) return v;
    const float* p = f + std::size_t(row) * std::size_t(ld) + k;
    if (Vec) {
        if (k < end) v = __ldg(reinterpret_cast<const float4*>(p));
    } else {
        if (k < end) v.x = __ldg(p);
        if (k + 1 < end) v.y = __ldg(p + 1);
        if (k + 2 < end) v.z = __ldg(p + 2);
        if (k + 3 < end) v.w = __ldg(p + 3);
    }
    if (guide) {  // uniform over the launch: no divergence
        const float4 t = load_guide4<Vec>(guide, k, end);
        // __fmul_rn: a plain product nvcc could contract into a later FMA of the caller.
        v = make_float4(__fmul_rn(v.x, t.x), __fmul_rn(v.y, t.y), __fmul_rn(v.z, t.z), __fmul_rn(v.w, t.w));
    }
    return v;
}

}  // namespace nst::kernels
