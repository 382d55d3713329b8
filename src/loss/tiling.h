// SPDX-License-Identifier: MIT
// Exact tiled evaluation (issue #11, docs/large_images.md): the image is cut into strips of
// whole rows; each strip owns a band of rows and reads a window of it plus a halo above and
// below, wide enough that every feature at an owned position, at every layer up to the deepest
// one used, is computed from real pixels exactly as in the untiled pass. Every loss sum is a sum
// over positions, so the losses add over the strips' owned positions, and the gradient is the
// sum of each strip's backward pass from its owned positions: the result is the untiled one up
// to float rounding. The plan is shared by the CPU and CUDA objectives.
//
// Geometry: a 3x3 convolution at a layer of scale s (s = 2^pools below it) reads s image rows
// beyond its own on each side; 2x2 pooling reads nothing beyond its block. The halo is the sum
// of the scales of the convolutions up to the deepest layer, rounded up to the alignment
// 2^pools: strip boundaries and windows on that grid pool exactly as the whole image does.
#pragma once
#include <vector>

namespace nst {

struct Strip {
    int own_begin = 0, own_end = 0;  // image rows whose positions this strip counts
    int win_begin = 0, win_end = 0;  // image rows its forward pass reads (own + halo, clipped)
    int win_rows() const { return win_end - win_begin; }
};

// Rows of one layer's output, [begin, end).
struct RowRange {
    int begin = 0, end = 0;
    int rows() const { return end - begin; }
};

// 2^(pools at or before `layer`): the image rows one output row of that layer stands for.
int layer_scale(int layer);
// 2^(pools before or at `deepest`): strip boundaries are multiples of it.
int tile_alignment(int deepest);
// The halo in image rows for features up to layer `deepest` (a multiple of tile_alignment).
int tile_halo_rows(int deepest);

// Strips of an image `height` rows tall owning at most `rows` rows each (rounded down to the
// alignment, at least one alignment unit). rows <= 0, or a plan that would need one strip: one
// strip covering the whole image without halo (the untiled evaluation).
std::vector<Strip> plan_strips(int height, int rows, int deepest);

// The rows of `layer`'s output that strip `s` owns, in the coordinates of its window's output at
// that layer (the window's forward pass starts at image row s.win_begin). image_height is the
// whole image's, which decides where the last strip ends at layers that drop rows when pooling.
RowRange owned_layer_rows(const Strip& s, int layer, int image_height);

}  // namespace nst
