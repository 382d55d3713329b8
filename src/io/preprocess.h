// SPDX-License-Identifier: MIT
// The map between RGB images in [0, 1] and the network's input space (spec §4).
//   caffe:       x_c = S * rgb_{2-c} - mean_c,  mean = (103.939, 116.779, 123.68) (B, G, R)
//   torchvision: x_c = (rgb_c - mean_c) / std_c, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)
#pragma once
#include "core/tensor.h"
#include "nn/weights.h"

namespace nst {

struct Preprocessor {
    PreprocessKind kind = PreprocessKind::Caffe;
    float caffe_scale = 255.f;  // S: 255, or 256 in the jcjohnson preset
    // --iterate-space image (engine/iterate_space.h): the optimiser's x is the RGB image itself,
    // so to_network and to_image are identities (copies) and the engine applies the map of
    // affine() inside the objective. The CUDA preprocessing kernels refuse it.
    bool image_space = false;

    // Into the iterate's space: the network's input, or the image itself in image space.
    void to_network(TensorView<float> x, ConstView<float> rgb) const;   // (1, 3, H, W) each; may alias
    void to_image(TensorView<float> rgb, ConstView<float> x) const;     // inverse; no clamping
    // The map RGB -> network input of kind and caffe_scale (image_space aside) as
    // x_c = a_c * rgb[src_c] + b_c.
    void affine(int src[3], double a[3], double b[3]) const;
};

}  // namespace nst
