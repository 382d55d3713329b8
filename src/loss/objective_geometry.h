// SPDX-License-Identifier: MIT
// Layer geometry shared by the CPU objective's target code (objective.cpp) and its evaluation
// (objective_eval.cpp): shapes at the whole image's size and the strips' row bookkeeping.
#pragma once
#include "core/tensor.h"
#include "loss/tiling.h"
#include "nn/vgg19_layers.h"

namespace nst::cpu::geometry {

inline int layer_channels(int layer) { return vgg19_layers()[layer].channels; }

// The output shape of layer l for the whole h x w image.
inline Shape full_layer_shape(int l, int h, int w) {
    int lh = 0, lw = 0;
    layer_output_size(l, h, w, lh, lw);
    return Shape{1, layer_channels(l), lh, lw};
}

// Owned rows r of layer l in strip s's window, as rows of the whole image's map at that layer.
inline RowRange image_rows(const Strip& s, int l, RowRange r) {
    const int origin = s.win_begin / layer_scale(l);
    return RowRange{r.begin + origin, r.end + origin};
}

}  // namespace nst::cpu::geometry
