// SPDX-License-Identifier: MIT
// Strip plans for exact tiled evaluation (loss/tiling.h).
#include "loss/tiling.h"

#include <algorithm>

#include "core/error.h"
#include "nn/vgg19_layers.h"

namespace nst {

int layer_scale(int layer) {
    NST_REQUIRE(layer >= 0 && layer < kNumLayers, "layer_scale: layer index");
    int s = 1;
    for (int i = 0; i <= layer; ++i)
        if (vgg19_layers()[i].kind == LayerKind::Pool) s *= 2;
    return s;
}

namespace {

// The scale of a conv's input (pools strictly before layer k).
int input_scale(int k) { return k == 0 ? 1 : layer_scale(k - 1); }

}  // namespace

int tile_alignment(int deepest) {
    NST_REQUIRE(deepest >= 0 && deepest < kNumLayers, "tile_alignment: layer index");
    return layer_scale(deepest);
}

int tile_halo_rows(int deepest) {
    NST_REQUIRE(deepest >= 0 && deepest < kNumLayers, "tile_halo_rows: layer index");
    int reach = 0;
    for (int k = 0; k <= deepest; ++k)
        if (vgg19_layers()[k].kind == LayerKind::Conv) reach += input_scale(k);
    const int a = tile_alignment(deepest);
    return (reach + a - 1) / a * a;
}

std::vector<Strip> plan_strips(int height, int rows, int deepest) {
    NST_REQUIRE(height > 0, "plan_strips: height");
    const int a = tile_alignment(deepest);
    if (rows <= 0 || rows >= height) return {Strip{0, height, 0, height}};
    const int own = std::max(a, rows / a * a);
    if (own >= height) return {Strip{0, height, 0, height}};
    const int halo = tile_halo_rows(deepest);
    std::vector<Strip> strips;
    for (int b = 0; b < height; b += own) {
        Strip s;
        s.own_begin = b;
        s.own_end = std::min(height, b + own);
        // A last band shorter than the alignment joins the strip before it, so that every owned
        // band is whole at every layer.
        if (height - s.own_end < a) s.own_end = height;
        s.win_begin = std::max(0, s.own_begin - halo);
        s.win_end = std::min(height, s.own_end + halo);
        strips.push_back(s);
        if (s.own_end == height) break;
    }
    return strips;
}

RowRange owned_layer_rows(const Strip& s, int layer, int image_height) {
    const int sc = layer_scale(layer);
    int full_h = 0, full_w = 0;
    layer_output_size(layer, image_height, 1 << 10, full_h, full_w);
    const int begin = s.own_begin / sc;
    const int end = s.own_end == image_height ? full_h : s.own_end / sc;
    const int origin = s.win_begin / sc;
    return RowRange{begin - origin, end - origin};
}

}  // namespace nst
