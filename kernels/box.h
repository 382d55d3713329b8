// SPDX-License-Identifier: MIT
// The iterate's box on the GPU (--clamp-iterate; engine/iterate_space.h): the twin of
// loss/channel_map.h clamp_to_box, x <- (x < lo_c ? lo_c : (x > hi_c ? hi_c : x)) per channel,
// in place, NaN kept.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

#include "loss/channel_map.h"

namespace nst::kernels {

// n images of 3 planes of `plane` pixels, device memory, clamped in place.
void clamp_to_box(float* x,  // (n, 3, H, W)
                  int n, std::size_t plane, const ChannelBox& box, cudaStream_t stream);

}  // namespace nst::kernels
