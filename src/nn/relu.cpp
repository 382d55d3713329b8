// SPDX-License-Identifier: MIT
#include "nn/relu.h"

namespace nst::cpu {

template <typename T>
void relu_forward(TensorView<T> y, ConstView<T> x) {
    NST_REQUIRE(x.shape == y.shape, "relu_forward: x " + x.shape.str() + " vs y " + y.shape.str());
    const std::ptrdiff_t n = std::ptrdiff_t(x.numel());
    const T* xs = x.data;
    T* ys = y.data;
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) ys[i] = xs[i] > T(0) ? xs[i] : T(0);
}

template <typename T>
void relu_backward(TensorView<T> dx, ConstView<T> dy, ConstView<T> y) {
    NST_REQUIRE(dx.shape == dy.shape && dy.shape == y.shape,
                "relu_backward: shapes " + dx.shape.str() + ", " + dy.shape.str() + ", " + y.shape.str());
    const std::ptrdiff_t n = std::ptrdiff_t(y.numel());
    const T* g = dy.data;
    const T* ys = y.data;
    T* d = dx.data;
#pragma omp parallel for simd schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) d[i] = ys[i] > T(0) ? g[i] : T(0);
}

template void relu_forward<float>(TensorView<float>, ConstView<float>);
template void relu_forward<double>(TensorView<double>, ConstView<double>);
template void relu_backward<float>(TensorView<float>, ConstView<float>, ConstView<float>);
template void relu_backward<double>(TensorView<double>, ConstView<double>, ConstView<double>);

}  // namespace nst::cpu
