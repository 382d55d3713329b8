// SPDX-License-Identifier: MIT
// A per-channel affine map of 3-channel images on the GPU, and its transpose: the twin of the
// perceptual loss's input map (loss/perceptual.h, loss_input_map; PerceptualLoss::to_net and
// the gradient step after its backward; loss/channel_map.h apply_channel_map and its transpose),
// for the CUDA trainer (cuda/train_step_cuda.h) and an image-space iterate (cuda/cuda_engine.cpp):
//   forward    out_c = float(a_c) * in[src_c] + float(b_c)
//   backward   din[src_c] = float(a_c) * g_c           (assigned; src is a permutation)
// in fp32, each product and sum rounded on its own (no FMA), as the C++ expressions read.
#pragma once
#include <cstddef>
#include <cuda_runtime.h>

#include "loss/channel_map.h"

namespace nst::kernels {

// Passed by value to the kernels.
struct ChannelAffine {
    int src[3];
    float a[3], b[3];
};

// A host map (loss/channel_map.h) with its coefficients rounded to float, as the CPU twin
// apply_channel_map rounds them.
inline ChannelAffine to_affine(const ChannelMap& m) {
    ChannelAffine a{};
    for (int c = 0; c < 3; ++c) {
        a.src[c] = m.src[c];
        a.a[c] = float(m.a[c]);
        a.b[c] = float(m.b[c]);
    }
    return a;
}

// n images of 3 planes of `plane` pixels. out must not alias in.
void channel_affine(float* out,        // (n, 3, H, W), device
                    const float* in,   // (n, 3, H, W), device
                    int n, std::size_t plane, const ChannelAffine& map, cudaStream_t stream);
// The transpose: din must not alias g.
void channel_affine_backward(float* din,      // (n, 3, H, W), device; assigned
                             const float* g,  // (n, 3, H, W), device
                             int n, std::size_t plane, const ChannelAffine& map, cudaStream_t stream);

}  // namespace nst::kernels
