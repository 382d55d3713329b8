// SPDX-License-Identifier: MIT
// The loss terms of style transfer on the CPU. Each returns its value and accumulates its
// gradient in one pass (value and gradient always agree). Values are returned in double;
// the sums are accumulated in double whatever T is.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nst::cpu {

// value = scale * sum (f - p)^2;  df += 2 * scale * (f - p).  df may be empty (no gradient).
template <typename T>
double content_loss(ConstView<T> f,   // (1, C, H, W)
                    ConstView<T> p,   // (1, C, H, W) target
                    double scale, TensorView<T> df);

// g = scale * F F^T with F = f viewed as (C, H*W). Assigns g.
template <typename T>
void gram_matrix(TensorView<T> g,   // (1, 1, C, C)
                 ConstView<T> f,    // (1, C, H, W)
                 double scale);

// G = gram_scale * F F^T; value = loss_scale * sum (G - A)^2;
// df += 4 * loss_scale * gram_scale * (G - A) F   (G and A symmetric). df may be empty.
// g is caller-provided scratch of shape (1, 1, C, C) that receives G.
template <typename T>
double style_loss(ConstView<T> f,      // (1, C, H, W)
                  ConstView<T> a,      // (1, 1, C, C) target Gram
                  double gram_scale, double loss_scale,
                  TensorView<T> g,     // (1, 1, C, C) scratch
                  TensorView<T> df);   // (1, C, H, W) or empty

// As above, with the scratch for G - A supplied by the caller (1, 1, C, C), so that repeated
// evaluations allocate nothing; the overload without it allocates that scratch when df is given.
template <typename T>
double style_loss(ConstView<T> f,      // (1, C, H, W)
                  ConstView<T> a,      // (1, 1, C, C) target Gram
                  double gram_scale, double loss_scale,
                  TensorView<T> g,     // (1, 1, C, C) scratch, receives G
                  TensorView<T> diff,  // (1, 1, C, C) scratch, receives G - A when df is given
                  TensorView<T> df);   // (1, C, H, W) or empty

// Guided Gram (Gatys et al., CVPR 2017, §4): g = scale * (F o T)(F o T)^T, the guide t broadcast
// over the channels. ft is caller-provided scratch that receives F o T. Assigns g.
template <typename T>
void guided_gram(TensorView<T> g,   // (1, 1, C, C)
                 ConstView<T> f,    // (1, C, H, W)
                 ConstView<T> t,    // (1, 1, H, W) guide
                 double scale,
                 TensorView<T> ft); // (1, C, H, W) scratch

// The style loss of F o T: G = gram_scale (F o T)(F o T)^T, value = loss_scale * sum (G - A)^2,
//   df += T o d value / d(F o T) = 4 loss_scale gram_scale (G - A) (F o T o T).
// The masking is fused into the two passes the plain loss needs anyway: ft receives F o T for the
// Gram and is then multiplied by T once more in place, so the gradient is one gemm straight into
// df (no separate d(F o T) buffer). df may be empty; with T all ones this is style_loss exactly.
//
// support: empty, or the positions where t is non-zero, ascending (guide_support). With a support
// the columns of F o T outside it, which are zero, are left out: ft holds the compacted C x |S|
// matrix, the syrk and the gradient gemm run over |S| columns, and the gemm's result (times T) is
// added to df's columns in blocks. Regions that split an image then cost about one plain Gram in all.
template <typename T>
double guided_style_loss(ConstView<T> f,      // (1, C, H, W)
                         ConstView<T> t,      // (1, 1, H, W) guide
                         ConstView<T> a,      // (1, 1, C, C) target Gram
                         double gram_scale, double loss_scale,
                         TensorView<T> ft,    // (1, C, H, W) scratch (overwritten)
                         TensorView<T> g,     // (1, 1, C, C) scratch, receives G
                         TensorView<T> diff,  // (1, 1, C, C) scratch, receives G - A when df is given
                         TensorView<T> df,    // (1, C, H, W) or empty
                         const std::vector<std::int32_t>& support = {});

// The positions where t (1, 1, H, W) is non-zero, ascending, when they are few enough for the
// compacted path of guided_style_loss to pay (under 3/4 of all); otherwise empty (dense path).
template <typename T>
std::vector<std::int32_t> guide_support(ConstView<T> t);

// value = scale * 1/2 * sum_{c, i<H-1, j<W-1} [(x_{i,j} - x_{i,j+1})^2 + (x_{i,j} - x_{i+1,j})^2]
// (jcjohnson's total variation, spec §5); dx += its gradient. dx may be empty.
template <typename T>
double tv_loss(ConstView<T> x,     // (1, C, H, W)
               double scale, TensorView<T> dx);

// value = scale * sum over every neighbour pair of |difference| (rows and columns, the last ones
// included): neural-style-pt's and TensorFlow's L1 total variation (--tv-form l1). dx += its
// gradient, scale * sign(.) per difference with sign(0) = 0 (autograd's). dx may be empty.
template <typename T>
double tv_l1_loss(ConstView<T> x,  // (1, C, H, W)
                  double scale, TensorView<T> dx);

}  // namespace nst::cpu
