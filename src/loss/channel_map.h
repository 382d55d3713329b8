// SPDX-License-Identifier: MIT
// A per-channel affine map of 3-channel images, out_c = a_c * in[src_c] + b_c, and its transpose;
// and a per-channel box that clamps them.
// The perceptual loss maps a transformer's io space into the loss network's input with it
// (loss/perceptual.h); an engine whose iterate is the RGB image maps x into the network's input
// with it (engine/iterate_space.h). kernels/channel_map.h is the CUDA twin: both compute in fp32
// with the coefficients rounded to float, a * v then + b, each operation rounded. kernels/box.h is
// the box clamp's twin (--clamp-iterate).
#pragma once
#include "core/tensor.h"

namespace nst {

struct ChannelMap {
    int src[3] = {0, 1, 2};  // a permutation of the input channels
    double a[3] = {1, 1, 1}, b[3] = {0, 0, 0};
};

// out_c = float(a_c) * in[src_c] + float(b_c). out and in: (n, 3, H, W), host; must not alias.
void apply_channel_map(const ChannelMap& m, TensorView<float> out, ConstView<float> in);
// The transpose (the gradient's way back): din[src_c] = float(a_c) * g_c. din, g: (n, 3, H, W).
void apply_channel_map_transpose(const ChannelMap& m, TensorView<float> din, ConstView<float> g);

// Per-channel bounds [lo_c, hi_c] of 3-channel images.
struct ChannelBox {
    float lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
};

// x <- min(max(x, lo_c), hi_c) per channel, in place; NaN stays NaN (as torch.clamp_).
void clamp_to_box(const ChannelBox& box, TensorView<float> x);  // (n, 3, H, W), host

}  // namespace nst
