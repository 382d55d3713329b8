// SPDX-License-Identifier: MIT
// Total variation as jcjohnson/neural-style's TVLoss: both differences are taken only at
// positions (i, j) with i < H-1 AND j < W-1, so the last row's horizontal differences and the
// last column's vertical ones are not counted (spec §5).
#include <algorithm>

#include "core/error.h"
#include "loss/fixed_order_sum.h"
#include "loss/losses.h"

namespace nst::cpu {

template <typename T>
double tv_loss(ConstView<T> x,  // (1, C, H, W)
               double scale, TensorView<T> dx) {
    NST_REQUIRE(x.device == Device::Host, "tv_loss: host tensors only");
    const int h = x.shape.h, w = x.shape.w;
    const bool grad = !dx.empty();
    if (grad) NST_REQUIRE(dx.shape == x.shape, "tv_loss: gradient " + dx.shape.str() + " vs image " + x.shape.str());
    if (h < 2 || w < 2) return 0.0;  // no position has both neighbours
    const std::size_t rows = std::size_t(x.shape.n) * x.shape.c * h;
    const T* xd = x.data;
    T* dd = dx.data;
    // One term per image row (plane p, row i). The gradient is written in gather form, each
    // element collecting the differences it takes part in, so rows run in parallel without races:
    //   dL/dx_{i,j} = scale * [a_{i,j} + b_{i,j} - a_{i,j-1} - b_{i-1,j}]
    // with a = x_{i,j} - x_{i,j+1}, b = x_{i,j} - x_{i+1,j}, each term present where defined.
    // A term is a row of w elements: chunks of about kMinSumChunk elements, as for the other sums.
    const std::size_t rows_per_chunk = std::max<std::size_t>(1, detail::kMinSumChunk / std::size_t(w));
    const double sum = detail::fixed_order_sum(rows, [&](std::size_t r) {
        const std::size_t i = r % h;
        const T* row = xd + r * w;
        double acc = 0;
        if (i + 1 < std::size_t(h)) {
            for (int j = 0; j + 1 < w; ++j) {
                const double a = double(row[j]) - double(row[j + 1]);
                const double b = double(row[j]) - double(row[j + w]);
                acc += a * a + b * b;
            }
        }
        if (grad) {
            T* drow = dd + r * w;
            for (int j = 0; j < w; ++j) {
                double gsum = 0;
                if (i + 1 < std::size_t(h) && j + 1 < w)
                    gsum += (double(row[j]) - double(row[j + 1])) + (double(row[j]) - double(row[j + w]));
                if (i + 1 < std::size_t(h) && j > 0) gsum -= double(row[j - 1]) - double(row[j]);
                if (i > 0 && j + 1 < w) gsum -= double(row[j - w]) - double(row[j]);
                drow[j] += T(scale * gsum);
            }
        }
        return acc;
    }, rows_per_chunk);
    return scale * 0.5 * sum;
}

template double tv_loss<float>(ConstView<float>, double, TensorView<float>);
template double tv_loss<double>(ConstView<double>, double, TensorView<double>);

}  // namespace nst::cpu
