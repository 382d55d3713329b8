// SPDX-License-Identifier: MIT
// Term finalisation (see terms.h). One block, thread j sums term j's partials one after the
// other in index order (at most kMaxPartials adds, a few microseconds): the order depends on
// nothing but the counts, so the terms are bit-reproducible.
#include "kernels/terms.h"

#include <cstddef>

#include "core/error.h"
#include "cuda/check.h"
#include "kernels/launch.h"

namespace nst::kernels {

namespace {

static_assert(kMaxTerms <= kThreads, "one thread per term");

__global__ void __launch_bounds__(kThreads)
finalize_terms_kernel(const double* __restrict__ partials, TermSums sums, double* __restrict__ terms) {
    __shared__ double values[kMaxTerms];
    const int n = sums.num_content + sums.num_style + 1 + (sums.temporal ? 1 : 0);
    const int j = threadIdx.x;
    if (j < n) {
        const double* p = partials + std::size_t(j) * kMaxPartials;
        const int count = sums.count[j];
        double v = 0;
#pragma unroll 8
        for (int i = 0; i < count; ++i) v += p[i];  // index order
        const double term = count > 0 ? sums.scale[j] * v : 0.0;  // a skipped term is exactly 0
        values[j] = term;
        terms[j] = term;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        double content = 0, style = 0;
        for (int i = 0; i < sums.num_content; ++i) content += values[i];
        for (int i = 0; i < sums.num_style; ++i) style += values[sums.num_content + i];
        const int tv = sums.num_content + sums.num_style;
        double total = content + style + values[tv];
        if (sums.temporal) total += values[tv + 1];  // added last, as on the CPU
        terms[n] = total;
    }
}

}  // namespace

int finalized_terms(const TermSums& sums) { return sums.num_content + sums.num_style + 2 + (sums.temporal ? 1 : 0); }

void finalize_terms(const double* partials, const TermSums& sums, double* terms, cudaStream_t stream) {
    const int n = finalized_terms(sums) - 1;
    NST_REQUIRE(sums.num_content >= 0 && sums.num_style >= 0 && n <= kMaxTerms, "finalize_terms: too many terms");
    for (int j = 0; j < n; ++j)
        NST_REQUIRE(sums.count[j] >= 0 && sums.count[j] <= kMaxPartials, "finalize_terms: bad partial count");
    finalize_terms_kernel<<<1, kThreads, 0, stream>>>(partials, sums, terms);
    NST_CUDA_CHECK(cudaGetLastError());
}

}  // namespace nst::kernels
