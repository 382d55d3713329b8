// SPDX-License-Identifier: MIT
// The pieces the plain and the guided Gram and style loss share (gram.cpp, style_loss.cpp,
// guided_style_loss.cpp): the mirror that completes a syrk, and the (G - A) pass that gives the
// loss value and, for the gradient, the difference itself.
#pragma once
#include <cstddef>

#include "loss/fixed_order_sum.h"

namespace nst::detail {

// syrk writes only the upper triangle of g (c x c); the loss and the gradient gemm read all of G.
template <typename T>
void mirror_upper(T* g, int c) {
#pragma omp parallel for schedule(static) if (c >= 128)
    for (int i = 1; i < c; ++i)
        for (int j = 0; j < i; ++j) g[std::size_t(i) * c + j] = g[std::size_t(j) * c + i];
}

// sum (G - A)^2 over n elements in double (fixed_order_sum: the same for any thread count);
// diff (n elements) receives G - A unless it is null.
template <typename T>
double gram_diff_sum(const T* g, const T* a, T* diff, std::size_t n) {
    if (diff == nullptr)
        return fixed_order_sum(n, [&](std::size_t i) {
            const double e = double(g[i]) - double(a[i]);
            return e * e;
        });
    return fixed_order_sum(n, [&](std::size_t i) {
        const double e = double(g[i]) - double(a[i]);
        diff[i] = T(e);
        return e * e;
    });
}

}  // namespace nst::detail
