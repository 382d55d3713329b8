// SPDX-License-Identifier: MIT
// Columns: a block of positions of a feature map, the unit the losses work on. A map (1, C, h, w)
// is the C x M matrix F (M = h*w, row stride M); the positions a strip of a tiled evaluation owns
// at a layer are whole rows of the map, i.e. the contiguous columns [r0*w, r1*w) of every channel
// row with the same row stride (loss/tiling.h). The whole map is one block with m == ld.
#pragma once
#include <cstddef>

#include "core/tensor.h"
#include "loss/tiling.h"

namespace nst::cpu {

template <typename T>
struct Columns {
    T* data = nullptr;   // channel 0's first column
    int c = 0;           // channels (matrix rows)
    std::size_t m = 0;   // positions (columns)
    std::size_t ld = 0;  // elements between channel rows (the map's h*w)
    T* row(int ch) const { return data + std::size_t(ch) * ld; }
};

// Every position of f (1, C, h, w).
template <typename T>
Columns<T> all_columns(TensorView<T> f) {
    return {f.data, f.shape.c, f.shape.plane(), f.shape.plane()};
}
template <typename T>
Columns<const T> all_columns(ConstView<T> f) {
    return {f.data, f.shape.c, f.shape.plane(), f.shape.plane()};
}

// Rows [r.begin, r.end) of f (1, C, h, w).
template <typename T>
Columns<T> row_columns(TensorView<T> f, RowRange r) {
    const std::size_t w = std::size_t(f.shape.w);
    return {f.data + std::size_t(r.begin) * w, f.shape.c, std::size_t(r.rows()) * w, f.shape.plane()};
}
template <typename T>
Columns<const T> row_columns(ConstView<T> f, RowRange r) {
    const std::size_t w = std::size_t(f.shape.w);
    return {f.data + std::size_t(r.begin) * w, f.shape.c, std::size_t(r.rows()) * w, f.shape.plane()};
}

}  // namespace nst::cpu
