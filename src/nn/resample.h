// SPDX-License-Identifier: MIT
// Shape-changing layers without parameters: nearest upsampling, padding, the centre-cropped
// residual addition (jcjohnson's ShaveImage shortcut; a plain add when sizes agree), tanh.
#pragma once
#include "core/tensor.h"
#include "nn/net_desc.h"

namespace nst::cpu {

// y[n][c][y][x] = x[n][c][y / f][x / f] (torch's nearest, integer factor). Assigns.
template <typename T>
void upsample_nearest_forward(TensorView<T> y, ConstView<T> x, int factor);  // (N,C,fH,fW) <- (N,C,H,W)
// dx = sum of dy over each f x f block. Assigns.
template <typename T>
void upsample_nearest_backward(TensorView<T> dx, ConstView<T> dy, int factor);

// y = pad(x) by `pad` on every side; Reflect mirrors without repeating the edge (torch's
// ReflectionPad2d; needs pad < H and pad < W). Assigns.
template <typename T>
void pad_forward(TensorView<T> y, ConstView<T> x, int pad, PadMode mode);  // (N,C,H+2p,W+2p) <- (N,C,H,W)
// dx = the gradient folded back through the padding. Assigns.
template <typename T>
void pad_backward(TensorView<T> dx, ConstView<T> dy, int pad, PadMode mode);

// y = x + centre crop of s to x's size ((S - H) / 2 rows off the top, likewise columns; S - H
// must be even). y may alias x.
template <typename T>
void add_cropped_forward(TensorView<T> y, ConstView<T> x, ConstView<T> s);
// ds += dy placed at the crop's position (the rest of ds unchanged).
template <typename T>
void add_cropped_backward_source(TensorView<T> ds, ConstView<T> dy);

// y = scale * tanh(x); backward from the output: dx = dy * (scale - y^2 / scale). dx may alias dy.
template <typename T>
void tanh_forward(TensorView<T> y, ConstView<T> x, double scale);
template <typename T>
void tanh_backward(TensorView<T> dx, ConstView<T> dy, ConstView<T> y, double scale);

}  // namespace nst::cpu
