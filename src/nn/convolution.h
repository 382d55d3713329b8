// SPDX-License-Identifier: MIT
// Convolution of any square kernel, stride and padding (zero or reflection), on a batch, with
// the three passes training needs: forward, backward to the data, backward to the parameters.
// (nn/conv2d.h is VGG's fast 3x3 stride-1 zero-pad path; it is reused here where it applies.)
// Output size: ho = (h + 2 pad - k) / stride + 1 (floor), likewise wo.
#pragma once
#include "core/tensor.h"
#include "nn/net_desc.h"

namespace nst::cpu {

struct ConvGeometry {
    int kernel = 3, stride = 1, pad = 0;
    PadMode pad_mode = PadMode::Zero;  // Reflect needs pad < h and pad < w
};

// y = conv(pad(x), w) + b. b may be empty (no bias). Assigns y.
template <typename T>
void conv2d_forward(TensorView<T> y,      // (N, O, ho, wo)
                    ConstView<T> x,       // (N, I, h, w)
                    ConstView<T> w,       // (O, I, k, k)
                    ConstView<T> b,       // (1, O, 1, 1) or empty
                    const ConvGeometry& g);

// dx = d(sum(dy * y))/dx, through the padding (reflection folds the gradient back). Assigns dx.
template <typename T>
void conv2d_backward_data(TensorView<T> dx,  // (N, I, h, w)
                          ConstView<T> dy,   // (N, O, ho, wo)
                          ConstView<T> w,    // (O, I, k, k)
                          const ConvGeometry& g);

// dw += d(sum(dy * y))/dw, db += sum of dy over (n, y, x) (skipped when db is empty).
template <typename T>
void conv2d_backward_params(TensorView<T> dw,  // (O, I, k, k)
                            TensorView<T> db,  // (1, O, 1, 1) or empty
                            ConstView<T> dy,   // (N, O, ho, wo)
                            ConstView<T> x,    // (N, I, h, w) forward input
                            const ConvGeometry& g);

// Transposed convolution (torch's ConvTranspose2d, zero padding): the data-gradient of conv2d as
// a forward. Output size: (h - 1) stride - 2 pad + k + output_padding. Assigns y.
template <typename T>
void conv_transpose2d_forward(TensorView<T> y,  // (N, O, ho, wo)
                              ConstView<T> x,   // (N, I, h, w)
                              ConstView<T> w,   // (I, O, k, k)
                              ConstView<T> b,   // (1, O, 1, 1) or empty
                              int stride, int pad);
template <typename T>
void conv_transpose2d_backward_data(TensorView<T> dx, ConstView<T> dy, ConstView<T> w, int stride, int pad);
template <typename T>
void conv_transpose2d_backward_params(TensorView<T> dw, TensorView<T> db, ConstView<T> dy, ConstView<T> x,
                                      int stride, int pad);

}  // namespace nst::cpu
