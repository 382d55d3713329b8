// SPDX-License-Identifier: MIT
// The memory planner's hooks into the CUDA backend (engine/engine.h): the predicted peak of
// nst's own device allocations, i.e. what CudaEngine::peak_memory_bytes() measures
// (cuda/device_memory.cpp counts every byte that goes through device_memory::allocate), and the
// device's free and total memory.
//
// The prediction adds up, buffer by buffer, what the constructors and prepare() calls of a run
// allocate, from the same shape functions they use (layer_shapes, loss_taps,
// kernels::gram_scratch_floats, cuda::Lbfgs's layout); once the run is set up nothing is
// allocated any more, so the peak is the final state, or the set-up moment with the largest
// transient (an uploaded image and its window copy) if that is larger. Approximations, each an
// upper bound: the cuDNN workspace is counted at its limit (the algorithms chosen on the device
// usually need less), and with tiling a style image's windows are taken as min(its height,
// window_h) rows and the Gram scratch as that of a whole window. Not yet compared with a GPU's
// measured peak: docs/cuda.md lists it among the numbers a lent GPU has to confirm.
#include <algorithm>
#include <cstddef>

#include "cuda/check.h"
#include "cuda/run_state.h"
#include "engine/engine.h"
#include "kernels/adam.h"
#include "kernels/gram.h"
#include "kernels/lbfgs.h"
#include "kernels/launch.h"
#include "kernels/terms.h"
#include "loss/objective.h"
#include "nn/vgg19_layers.h"

namespace nst {

namespace {

std::size_t square(int c) { return std::size_t(c) * std::size_t(c); }

// Elements of each of cuda::Vgg19Net's growing buffers (vgg19_cuda.cpp), the maximum over the
// input sizes it was prepared for. No tap gradient buffers: the objective uses the net's TapGrad
// backward, which adds the losses' gradients into the two work buffers.
struct NetRoom {
    std::vector<std::size_t> out = std::vector<std::size_t>(kNumLayers, 0);
    std::size_t work = 0, elems16 = 0;

    void add(const std::vector<bool>& tapped, int deepest, int h, int w) {
        const std::vector<Shape> s = layer_shapes(deepest, h, w);
        const auto& layers = vgg19_layers();
        for (int k = 0; k <= deepest; ++k) {
            const std::size_t n = s[std::size_t(k)].numel();
            if (layers[k].kind != LayerKind::Conv || tapped[std::size_t(k)]) out[std::size_t(k)] = std::max(out[std::size_t(k)], n);
            work = std::max(work, n);
            if (layers[k].kind == LayerKind::Conv) {
                const int c = std::max(conv_in_channels(layers[k].conv), conv_out_channels(layers[k].conv));
                elems16 = std::max(elems16, std::size_t(c) * s[std::size_t(k)].plane());
            }
        }
    }

    std::size_t bytes(const CudaOptions& cuda) const {
        std::size_t n = 2 * work;  // the two backward work buffers
        for (int k = 0; k < kNumLayers; ++k) n += out[std::size_t(k)];
        std::size_t b = n * sizeof(float) + cuda.workspace_limit;
        if (cuda.precision == Precision::Bf16) b += 2 * elems16 * 2;  // two bf16 staging buffers
        return b;
    }
};

// The weights as cuda::Vgg19Net keeps them: every convolution, float or bf16, and its float bias.
std::size_t weight_bytes(Precision precision) {
    std::size_t b = 0;
    for (int c = 0; c < kNumConvs; ++c) {
        const std::size_t o = std::size_t(conv_out_channels(c)), i = std::size_t(conv_in_channels(c));
        b += o * i * 9 * (precision == Precision::Bf16 ? 2 : sizeof(float)) + o * sizeof(float);
    }
    return b;
}

}  // namespace

std::size_t cuda_planned_bytes(const LossSpec& loss, int window_h, int w, int image_h,
                               const std::vector<Shape>& style_shapes, int lbfgs_pairs,
                               HistoryPrecision lbfgs_history_precision, const CudaOptions& cuda) {
    NST_REQUIRE(window_h > 0 && w > 0 && image_h >= window_h, "cuda_planned_bytes: sizes");
    const LossSpec spec = checked_loss_spec(loss);
    const std::size_t image = std::size_t(3) * std::size_t(image_h) * std::size_t(w);  // floats
    const bool tiled = window_h < image_h;
    const std::vector<int> taps = loss_taps(spec);
    const int nc = int(spec.content_layers.size()), ns = int(spec.style_layers.size());

    // The net: buffers grown to the largest of the content's, the styles' and x's windows.
    NetRoom room;
    if (!taps.empty()) {
        std::vector<bool> tapped(kNumLayers, false);
        for (int k : taps) tapped[std::size_t(k)] = true;
        const int deepest = taps.back();
        room.add(tapped, deepest, window_h, w);
        for (const Shape& s : style_shapes) room.add(tapped, deepest, tiled ? std::min(s.h, window_h) : s.h, s.w);
    }
    const std::size_t net = weight_bytes(cuda.precision) + (taps.empty() ? 0 : room.bytes(cuda));

    // The objective (objective_cuda.cpp): targets, per-layer C x C matrices, Gram scratch,
    // partial sums, and with tiling the window copies and the Grams' double sums.
    std::size_t obj = 0;
    for (int l : spec.content_layers) {
        int lh = 0, lw = 0;
        layer_output_size(l, image_h, w, lh, lw);
        obj += std::size_t(vgg19_layers()[l].channels) * std::size_t(lh) * std::size_t(lw) * sizeof(float);
    }
    std::size_t scratch = 0;  // floats, the largest any Gram needs (kernels::gram's split-K)
    const std::size_t k_styles = std::max<std::size_t>(1, style_shapes.size());
    for (int l : spec.style_layers) {
        const int c = vgg19_layers()[l].channels;
        obj += square(c) * (sizeof(double) + 2 * sizeof(float));              // N_l, A_l, G
        obj += k_styles * square(c) * (sizeof(double) + sizeof(float));       // N^l_k, A^l_k
        if (tiled) obj += square(c) * sizeof(double);                         // the strips' sum
        if (cuda.gram_impl != GramImpl::Own) continue;
        int lh = 0, lw = 0;
        layer_output_size(l, window_h, w, lh, lw);
        scratch = std::max(scratch, kernels::gram_scratch_floats(c, (long long)lh * lw));
        for (const Shape& s : style_shapes) {
            layer_output_size(l, tiled ? std::min(s.h, window_h) : s.h, s.w, lh, lw);
            scratch = std::max(scratch, kernels::gram_scratch_floats(c, (long long)lh * lw));
        }
    }
    obj += scratch * sizeof(float);
    // Partial slots and terms with TV and temporal. The temporal targets themselves (video: per
    // previous frame 4 floats a pixel, warped frame and weight map) are not counted: the plan
    // does not know how many there are (docs/conventions.md, "Temporal loss").
    obj += std::size_t(nc + ns + 2) * kernels::kMaxPartials * sizeof(double) + std::size_t(nc + ns + 3) * sizeof(double);
    const std::size_t window = std::size_t(3) * std::size_t(window_h) * std::size_t(w) * sizeof(float);
    if (tiled) obj += 2 * window;  // x and dx of one window

    // The engine: x, its gradient, the run state and the ring of terms; the optimiser's state
    // (cuda::Lbfgs: 2 M n history values of 4 or, with bf16, 2 bytes; d, g_prev, its scalars).
    std::size_t engine = 2 * image * sizeof(float) + sizeof(cuda::RunState) +
                         256 * std::size_t(nc + ns + 4) * sizeof(double);  // CudaEngine's kRingCapacity rows
    if (lbfgs_pairs > 0) {
        const std::size_t m = std::size_t(lbfgs_pairs);
        engine += 2 * m * image * history_value_bytes<float>(lbfgs_history_precision) + 2 * image * sizeof(float) +
                  2 * m * sizeof(double) +
                  (kernels::kLbfgsPartials + 2 * kernels::kMaxPartials) * sizeof(double) +
                  sizeof(kernels::LbfgsScalars);  // + lbfgs_tolerances' block maxima
    } else {
        engine += 2 * image * sizeof(float) + sizeof(kernels::AdamScalars);  // Adam: m, v, scalars
    }

    // Set-up transients: an image uploaded to the device and, with tiling, its window copy
    // (set_content / set_styles), while the optimiser does not exist yet.
    std::size_t largest_image = image;
    for (const Shape& s : style_shapes) largest_image = std::max(largest_image, s.numel());
    const std::size_t transient = largest_image * sizeof(float) + (tiled ? window : 0);
    return net + obj + std::max(engine, transient);
}

bool cuda_device_memory(int gpu, std::size_t& free, std::size_t& total) {
    free = total = 0;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || gpu < 0 || gpu >= count) {
        cudaGetLastError();
        return false;
    }
    int current = 0;
    if (cudaGetDevice(&current) != cudaSuccess || cudaSetDevice(gpu) != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    const bool ok = cudaMemGetInfo(&free, &total) == cudaSuccess;
    cudaSetDevice(current);
    if (!ok) {
        cudaGetLastError();
        free = total = 0;
    }
    return ok;
}

}  // namespace nst
