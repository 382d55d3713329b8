// SPDX-License-Identifier: MIT
// RGB [0, 1] <-> network input space on the device, the twins of Preprocessor::to_network and
// Preprocessor::to_image (io/preprocess.h, spec §4): the same formulas in double, each pixel's
// three channels read before any is written, so that input and output may be the same buffer.
// to_image can also clamp to [0, 1] (with NaN -> 0), as the image encoders do on output.
// All pointers are device memory; launchers follow kernels/launch.h.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

#include "io/preprocess.h"

namespace nst::kernels {

// n images of 3 planes of `plane` pixels each. x may alias rgb.
void to_network(float* x,            // (n, 3, H, W)
                const float* rgb,    // (n, 3, H, W)
                int n, std::size_t plane, const Preprocessor& pre, cudaStream_t stream);

// The inverse; clamp01 clamps the result to [0, 1]. rgb may alias x.
void to_image(float* rgb,            // (n, 3, H, W)
              const float* x,        // (n, 3, H, W)
              int n, std::size_t plane, const Preprocessor& pre, bool clamp01, cudaStream_t stream);

}  // namespace nst::kernels
