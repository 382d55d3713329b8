// SPDX-License-Identifier: MIT
// resize_image: stb_image_resize with its default filters (Catmull-Rom up, Mitchell down).
// Downscaling widens the filter by the scale factor, so a 4x reduction averages over ~4 input
// pixels per output pixel instead of sampling (aliasing). Data are treated as linear values (no
// sRGB conversion), matching what PyTorch/torchvision resizes do with float tensors, and edges
// are clamped. The filters can overshoot slightly at sharp edges; values are not clamped here
// because the same function resizes preprocessed tensors, and save_image clamps on output.
#include <stb_image_resize.h>

#include <algorithm>

#include "core/error.h"
#include "io/image.h"

namespace nst {

Tensor<float> resize_image(ConstView<float> rgb, int out_h, int out_w) {
    NST_REQUIRE(rgb.device == Device::Host, "resize_image needs a host tensor");
    NST_REQUIRE(!rgb.empty(), "resize_image needs a non-empty image");
    NST_REQUIRE(out_h > 0 && out_w > 0, "resize_image needs a positive output size");
    const Shape in = rgb.shape;
    // stb takes row strides in bytes as int.
    NST_REQUIRE(in.w < (1 << 28) && out_w < (1 << 28), "resize_image: row too wide");
    Tensor<float> out(Shape{in.n, in.c, out_h, out_w});
    if (in.h == out_h && in.w == out_w) {
        std::copy(rgb.begin(), rgb.end(), out.begin());
        return out;
    }
    // Channels are independent (no alpha), so each plane is resized as a one-channel image;
    // this avoids interleaving the planar NCHW data.
    const std::size_t planes = std::size_t(in.n) * std::size_t(in.c);
    for (std::size_t p = 0; p < planes; ++p) {
        const float* src = rgb.data + p * in.plane();
        float* dst = out.data() + p * out.shape().plane();
        const int ok = stbir_resize_float_generic(src, in.w, in.h, int(in.w * sizeof(float)), dst, out_w, out_h,
                                                  int(out_w * sizeof(float)), 1, STBIR_ALPHA_CHANNEL_NONE, 0,
                                                  STBIR_EDGE_CLAMP, STBIR_FILTER_DEFAULT, STBIR_COLORSPACE_LINEAR,
                                                  nullptr);
        if (!ok) throw_runtime("out of memory resizing an image to " + std::to_string(out_w) + "x" +
                               std::to_string(out_h));
    }
    return out;
}

}  // namespace nst
