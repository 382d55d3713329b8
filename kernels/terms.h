// SPDX-License-Identifier: MIT
// The last step of an objective evaluation on the GPU: each loss kernel left raw double
// partial sums in its own slot of kMaxPartials; this kernel sums every slot in index order,
// applies the term's scale (weight times convention scale) and writes the weighted terms and
// their total, laid out as cuda::Objective::terms_device():
//   [content_0 .. content_{nc-1}, style_0 .. style_{ns-1}, tv, temporal, total]
// (without the temporal slot when TermSums::temporal is false: the training steps' layout).
#pragma once
#include <cuda_runtime.h>

namespace nst::kernels {

// Enough for every layer as both a content and a style layer (2 * 37), plus TV and temporal.
constexpr int kMaxTerms = 80;

// Passed by value to the kernel (a few hundred bytes of parameters), so that the counts and
// scales are part of a captured graph rather than device state.
struct TermSums {
    int num_content = 0;          // terms [0, nc): content, [nc, nc+ns): style, [nc+ns]: tv,
    int num_style = 0;            // [nc+ns+1]: temporal when `temporal`
    bool temporal = false;        // the temporal slot exists (the style-transfer objective's layout)
    int count[kMaxTerms] = {};    // partials of term j, at partials + j * kMaxPartials; 0 = term is 0
    double scale[kMaxTerms] = {}; // term j = scale[j] * sum of its partials
};

// With n = nc + ns + 1 + temporal terms: terms[j] = scale[j] * sum_i partials[j * kMaxPartials + i]
// for j < n, then terms[n] = (sum of content) + (sum of style) + tv [+ temporal], each sum in
// index order (LossTerms::content_sum() + style_sum() + tv + temporal, the CPU's association).
int finalized_terms(const TermSums& sums);    // n + 1: the doubles finalize_terms writes
void finalize_terms(const double* partials,   // n * kMaxPartials doubles, device
                    const TermSums& sums,
                    double* terms,            // n + 1 doubles, device
                    cudaStream_t stream);

}  // namespace nst::kernels
