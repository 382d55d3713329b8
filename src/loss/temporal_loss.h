// SPDX-License-Identifier: MIT
// Temporal consistency loss for video (Ruder, Dosovitskiy & Brox, GCPR 2016 / IJCV 2018; issue
// #14; research notes: shared/docs/research/video.md §1.1, §1.3, §1.6).
//
// For frame i and previous frames i - j (j in J), with w_j the stylised frame i - j warped into
// frame i along the flow and c_j its consistency weight map in [0, 1]:
//
//   L = sum_j  gamma * (1/D) * sum_k c_{j,k} * (u_k * (x_k - w_{j,k}))^2,   D = C * H * W
//
// in the image space the objective optimises (spec §4: the preprocessed network input). u_k is
// the unit factor of k's channel that turns a difference of nst's x into one in the reference
// code's units (Caffe preprocessing with the jcjohnson scale: RGB in [0, 1] times 256; the
// mean pixel cancels in a difference, the BGR order does not matter as c is the same on every
// channel):
//
//   preprocess    x difference                 u_c              gamma_nst for the papers' gamma
//   caffe, S=256  256 * d(rgb)                 1                the same (jcjohnson preset)
//   caffe, S=255  255 * d(rgb)                 256/255          the same; u carries (256/255)^2
//   torchvision   d(rgb) / std_c               256 * std_c      the same; u_c^2 = (256 std_c)^2
//
// so the user's temporal weight keeps the papers' meaning (code default 1e3 with content 5 and
// style 1e2 at 350 x 450, the jcjohnson preset's content and style defaults; multi-pass 5e2) on
// every preset: temporal_channel_scales() folds gamma, u_c^2 and 1/D into one factor per channel.
// The weight map is one plane broadcast over the channels, as the reference code loads its
// certainty PGM.
#pragma once
#include <vector>

#include "core/tensor.h"
#include "nn/weights.h"

namespace nst {

// One previous frame's constraint on the current frame.
template <typename T>
struct TemporalTarget {
    ConstView<T> warped;  // (1, C, H, W) previous stylised frame warped into this one (x's space)
    ConstView<T> weight;  // (1, 1, H, W) consistency weight c in [0, 1]
};

// s_c = gamma * u_c^2 / (C * H * W) for c = 0..channels-1 (table above); channels is 3 for the
// preprocessed images (torchvision's std is per channel), any count for caffe.
std::vector<double> temporal_channel_scales(PreprocessKind kind, double caffe_scale, double gamma, int channels,
                                            int h, int w);

namespace cpu {

// value = sum_j sum_k s_{c(k)} * c_{j,k} * (x_k - w_{j,k})^2, summed in double;
// dx_k += T(2 * s_{c(k)} * sum_j c_{j,k} * (x_k - w_{j,k}))   (one rounding per element, the
// inner sum in double in target order; dx may be empty: value only).
// channel_scale: one per channel of x (temporal_channel_scales). No targets: value 0.
template <typename T>
double temporal_loss(ConstView<T> x,  // (1, C, H, W)
                     const std::vector<TemporalTarget<T>>& targets, const std::vector<double>& channel_scale,
                     TensorView<T> dx);  // (1, C, H, W) or empty

// Long-term weights (video.md §1.3): with the maps c_j ordered nearest previous frame first
// (J ascending, e.g. j = 1, 2, 4), a pixel is constrained only by the closest frame that sees it:
//   c_long_j = max(c_j - sum_{k nearer than j} c_k, 0)
// with the ORIGINAL nearer maps (the papers' formula; the reference code subtracts the maps it
// has already reduced, which agrees for binary maps only). c_long_0 = c_0. Assigns out[j].
template <typename T>
void long_term_weights(const std::vector<ConstView<T>>& maps,  // each (1, 1, H, W), nearest first
                       const std::vector<TensorView<T>>& out);  // as many, same shape; out[j] may be
                                                                 // maps[j] (farthest is done first)
}  // namespace cpu

}  // namespace nst
