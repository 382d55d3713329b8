// SPDX-License-Identifier: MIT
// Total variation in the L1 form of neural-style-pt and TensorFlow (--tv-form l1):
//   value = scale * [ sum_{i<H-1, j} |x_{i+1,j} - x_{i,j}| + sum_{i, j<W-1} |x_{i,j+1} - x_{i,j}| ]
// Unlike the squared form (tv_loss.cpp), every difference counts, the last row's and column's
// included, as in neural-style-pt's TVLoss. The gradient is autograd's for |.|: sign(0) = 0, so a
// flat region gets no push. Each element gathers the signs of the differences it takes part in,
// so rows run in parallel without races (as tv_loss).
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "loss/fixed_order_sum.h"
#include "loss/losses.h"

namespace nst::cpu {

namespace {

double sign_of(double d) { return d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0); }

}  // namespace

template <typename T>
double tv_l1_loss(ConstView<T> x, double scale, TensorView<T> dx) {
    NST_REQUIRE(x.device == Device::Host, "tv_l1_loss: host tensors only");
    const int h = x.shape.h, w = x.shape.w;
    const bool grad = !dx.empty();
    if (grad) NST_REQUIRE(dx.shape == x.shape, "tv_l1_loss: gradient " + dx.shape.str() + " vs image " + x.shape.str());
    const std::size_t rows = std::size_t(x.shape.n) * x.shape.c * h;
    const T* xd = x.data;
    T* dd = dx.data;
    const std::size_t rows_per_chunk = std::max<std::size_t>(1, detail::kMinSumChunk / std::size_t(std::max(w, 1)));
    const double sum = detail::fixed_order_sum(rows, [&](std::size_t r) {
        const int i = int(r % std::size_t(h));
        const T* row = xd + r * std::size_t(w);
        double acc = 0;
        for (int j = 0; j < w; ++j) {
            if (j + 1 < w) acc += std::abs(double(row[j + 1]) - double(row[j]));
            if (i + 1 < h) acc += std::abs(double(row[j + w]) - double(row[j]));
        }
        if (grad) {
            T* drow = dd + r * std::size_t(w);
            for (int j = 0; j < w; ++j) {
                // d|x_{j+1} - x_j|/dx_j = -sign(x_{j+1} - x_j); d|x_j - x_{j-1}|/dx_j = +sign(x_j - x_{j-1}).
                double g = 0;
                if (j + 1 < w) g -= sign_of(double(row[j + 1]) - double(row[j]));
                if (j > 0) g += sign_of(double(row[j]) - double(row[j - 1]));
                if (i + 1 < h) g -= sign_of(double(row[j + w]) - double(row[j]));
                if (i > 0) g += sign_of(double(row[j]) - double(row[j - w]));
                drow[j] += T(scale * g);
            }
        }
        return acc;
    }, rows_per_chunk);
    return scale * sum;
}

template double tv_l1_loss<float>(ConstView<float>, double, TensorView<float>);
template double tv_l1_loss<double>(ConstView<double>, double, TensorView<double>);

}  // namespace nst::cpu
