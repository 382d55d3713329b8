// SPDX-License-Identifier: MIT
// Max and average pooling of any square window (nn/pooling.h), torch's floor and ceil modes.
// OpenMP over the (n, c) planes.
#include "nn/pooling.h"

#include <algorithm>

namespace nst::cpu {

int pooled_size(int in, int kernel, int stride, bool ceil_mode) {
    if (in < kernel) return 0;
    int out = ceil_mode ? (in - kernel + stride - 1) / stride + 1 : (in - kernel) / stride + 1;
    // torch: in ceil mode the last window must start inside the input.
    if (ceil_mode && (out - 1) * stride >= in) --out;
    return out;
}

namespace {

void check_pool(const Shape& y, const Shape& x, int kernel, int stride, bool ceil_mode, const char* what) {
    NST_REQUIRE(kernel > 0 && stride > 0, std::string(what) + ": bad window");
    NST_REQUIRE(y.n == x.n && y.c == x.c && y.h == pooled_size(x.h, kernel, stride, ceil_mode) &&
                    y.w == pooled_size(x.w, kernel, stride, ceil_mode) && y.h > 0 && y.w > 0,
                std::string(what) + ": y " + y.str() + " is not the pooled size of x " + x.str());
}

}  // namespace

template <typename T>
void pool2d_forward(TensorView<T> y, ConstView<T> x, int kernel, int stride, bool ceil_mode, Pooling kind) {
    check_pool(y.shape, x.shape, kernel, stride, ceil_mode, "pool2d_forward");
    const int planes = x.shape.n * x.shape.c, h = x.shape.h, w = x.shape.w, ho = y.shape.h, wo = y.shape.w;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        const T* xp = x.data + std::size_t(p) * h * w;
        T* yp = y.data + std::size_t(p) * ho * wo;
        for (int oy = 0; oy < ho; ++oy) {
            const int y0 = oy * stride, y1 = std::min(h, y0 + kernel);
            for (int ox = 0; ox < wo; ++ox) {
                const int x0 = ox * stride, x1 = std::min(w, x0 + kernel);
                T acc = kind == Pooling::Max ? xp[std::size_t(y0) * w + x0] : T(0);
                for (int r = y0; r < y1; ++r)
                    for (int c = x0; c < x1; ++c) {
                        const T v = xp[std::size_t(r) * w + c];
                        if (kind == Pooling::Max) {
                            if (v > acc) acc = v;
                        } else {
                            acc += v;
                        }
                    }
                // Average: divided by the part of the window inside the input.
                yp[std::size_t(oy) * wo + ox] = kind == Pooling::Max ? acc : acc / T((y1 - y0) * (x1 - x0));
            }
        }
    }
}

template <typename T>
void pool2d_backward(TensorView<T> dx, ConstView<T> dy, ConstView<T> x, int kernel, int stride, bool ceil_mode,
                     Pooling kind) {
    check_pool(dy.shape, dx.shape, kernel, stride, ceil_mode, "pool2d_backward");
    NST_REQUIRE(x.shape == dx.shape, "pool2d_backward: x and dx shapes differ");
    const int planes = dx.shape.n * dx.shape.c, h = dx.shape.h, w = dx.shape.w, ho = dy.shape.h, wo = dy.shape.w;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; ++p) {
        const T* xp = x.data + std::size_t(p) * h * w;
        const T* gp = dy.data + std::size_t(p) * ho * wo;
        T* dp = dx.data + std::size_t(p) * h * w;
        std::fill(dp, dp + std::size_t(h) * w, T(0));
        for (int oy = 0; oy < ho; ++oy) {
            const int y0 = oy * stride, y1 = std::min(h, y0 + kernel);
            for (int ox = 0; ox < wo; ++ox) {
                const int x0 = ox * stride, x1 = std::min(w, x0 + kernel);
                const T g = gp[std::size_t(oy) * wo + ox];
                if (kind == Pooling::Max) {
                    std::size_t best = std::size_t(y0) * w + x0;
                    for (int r = y0; r < y1; ++r)
                        for (int c = x0; c < x1; ++c) {
                            const std::size_t at = std::size_t(r) * w + c;
                            if (xp[at] > xp[best]) best = at;
                        }
                    dp[best] += g;
                } else {
                    const T share = g / T((y1 - y0) * (x1 - x0));
                    for (int r = y0; r < y1; ++r)
                        for (int c = x0; c < x1; ++c) dp[std::size_t(r) * w + c] += share;
                }
            }
        }
    }
}

template void pool2d_forward<float>(TensorView<float>, ConstView<float>, int, int, bool, Pooling);
template void pool2d_forward<double>(TensorView<double>, ConstView<double>, int, int, bool, Pooling);
template void pool2d_backward<float>(TensorView<float>, ConstView<float>, ConstView<float>, int, int, bool, Pooling);
template void pool2d_backward<double>(TensorView<double>, ConstView<double>, ConstView<double>, int, int, bool,
                                      Pooling);

}  // namespace nst::cpu
