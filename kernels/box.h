// SPDX-License-Identifier: MIT
// The iterate's box on the GPU (--clamp-iterate; engine/iterate_space.h): the twin of
// clamp_to_box, x <- (x < lo_c ? lo_c : (x > hi_c ? hi_c : x)) per channel, in place, NaN kept.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace nst::kernels {

// Passed by value to the kernel.
struct Box3 {
    float lo[3], hi[3];
};

// n images of 3 planes of `plane` pixels, device memory, clamped in place.
void clamp_to_box(float* x,  // (n, 3, H, W)
                  int n, std::size_t plane, const Box3& box, cudaStream_t stream);

}  // namespace nst::kernels
