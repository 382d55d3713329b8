// SPDX-License-Identifier: MIT
// Internals of nn/convolution.h shared with cpu::Network: the forms of a convolution's weights
// that the fast paths want, made once per forward (or backward) of a network rather than per
// image, and the entry points that take them.
#pragma once
#include <cstddef>
#include <type_traits>

#include "nn/conv2d_impl.h"
#include "nn/convolution.h"

namespace nst::cpu::detail {

// Winograd F(2x2, 3x3) serves 3x3 stride-1 convolutions in float (padding 0, zero padding 1, or
// any padding made explicit first); double keeps the exact im2col path, the finite-difference
// reference.
template <typename T>
bool winograd_applies(int kernel, int stride) {
    return std::is_same_v<T, float> && kernel == 3 && stride == 1;
}

// The direct kernel (convolution_direct.cpp) serves stride-1 convolutions with large kernels in
// float, where the column matrix of im2col would be k^2 times the input.
template <typename T>
bool direct_applies(int kernel, int stride) {
    return std::is_same_v<T, float> && kernel >= 5 && stride == 1;
}
// y (1, O, hp - k + 1, wp - k + 1) = the unpadded convolution of xp (1, I, hp, wp) (+ b, relu).
void direct_conv_valid(float* y, const float* xp, const float* w, const float* b, int in, int out, int k, int hp,
                       int wp, bool relu);
// dw (O, I, k, k) += the weight gradient of that convolution for a batch: dy (N, O, ho, wo),
// xp (N, I, hp, wp) the padded inputs.
void direct_weight_grad(float* dw, const float* dy, const float* xp, int batch, int in, int out, int k, int hp, int wp);

// A convolution's weights prepared for both directions. Empty filters when Winograd does not
// apply. Rebuilt whenever the weights change (cheap: 16 values per (o, i)).
template <typename T>
struct ConvFilters {
    WinogradFilter<T> forward, backward;  // backward: of the flipped weights (I, O, 3, 3)
};
template <typename T>
ConvFilters<T> make_conv_filters(ConstView<T> w, const ConvGeometry& g, bool for_backward);

// conv2d_forward with prepared filters (`f` may be null: made here when needed) and the ReLU
// fused when `relu`.
template <typename T>
void conv2d_forward_with(TensorView<T> y, ConstView<T> x, ConstView<T> w, ConstView<T> b, const ConvGeometry& g,
                         const ConvFilters<T>* f, bool relu = false);
template <typename T>
void conv2d_backward_data_with(TensorView<T> dx, ConstView<T> dy, ConstView<T> w, const ConvGeometry& g,
                               const ConvFilters<T>* f);

// Per-thread growable scratch for the convolutions (slots distinct from conv2d's).
enum class ConvScratch { Col, Padded, PaddedGrad, PaddedDy, Count };
template <typename T>
T* scratch(ConvScratch slot, std::size_t n) {
    thread_local Buffer bufs[int(ConvScratch::Count)];
    Buffer& b = bufs[int(slot)];
    if (b.bytes() < n * sizeof(T)) b = Buffer(n * sizeof(T), Device::Host);
    return static_cast<T*>(b.data());
}

}  // namespace nst::cpu::detail
