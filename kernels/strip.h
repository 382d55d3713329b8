// SPDX-License-Identifier: MIT
// Bands of whole rows between (C, h, w) maps of different heights: the window copies of tiled
// evaluation (loss/tiling.h, cuda/objective_cuda.cpp). A strip's window of the image is copied
// out before its forward pass, the owned rows of a content layer are copied into the whole
// image's target, and the window's gradient is added back into the image's (windows overlap,
// so contributions add). Per channel a band is one contiguous run of rows * w floats.
//
// CPU twin: plain loops (the host's std::copy / +=, written out in tests/emu/test_emu_strip.cpp);
// every element is one float copy or one float add by exactly one thread, so the results are
// the host's bit for bit and do not depend on scheduling.
#pragma once
#include <cuda_runtime.h>

namespace nst::kernels {

// dst[c][dst_row + r][x] = src[c][src_row + r][x] for c < C, r < rows, x < w.
void copy_rows(float* dst,         // (C, dst_h, w), device
               int dst_h, int dst_row,
               const float* src,   // (C, src_h, w), device; must not overlap dst
               int src_h, int src_row, int channels, int rows, int w, cudaStream_t stream);

// dst[c][dst_row + r][x] += src[c][src_row + r][x] (float adds).
void add_rows(float* dst,          // (C, dst_h, w), device
              int dst_h, int dst_row,
              const float* src,    // (C, src_h, w), device; must not overlap dst
              int src_h, int src_row, int channels, int rows, int w, cudaStream_t stream);

}  // namespace nst::kernels
