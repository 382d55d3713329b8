// SPDX-License-Identifier: MIT
// Johnson et al.'s perceptual loss for a batch of transformer outputs (issue #12, `nst train`;
// docs/research/feedforward.md §1.2, §2.3, §3.3):
//
//   content = w_c * sum_l mean_{B C H W} (phi_l(y) - phi_l(x))^2       x: the content batch itself
//   style   = w_s * sum_l mean_{B C C} (G_l(y) - G_l(s))^2,  G = F F^T / (C H W), s: the style image
//   tv      = w_tv * sum_b 1/2 sum [(y_{i,j} - y_{i,j+1})^2 + (y_{i,j} - y_{i+1,j})^2]  (top-left
//             (H-1) x (W-1), jcjohnson's TotalVariation module: summed, not averaged, over the batch)
//
// The loss network is a cpu::Vgg19Net, run one sample at a time (its buffers are per image), so
// its memory does not grow with the batch. Layers are given as indices of that network's table, so
// the caller decides which network (VGG19 or VGG16) they name.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "loss/channel_map.h"
#include "loss/objective.h"
#include "nn/vgg19.h"
#include "nn/weights.h"

namespace nst {

// The presets of `nst train --loss-preset`, as data.
struct PerceptualPreset {
    const char* name;
    const char* content_layers;  // comma lists of layer names
    const char* style_layers;
    double content_weight;
    double style_weight;
    double tv_weight;
    PreprocessKind preprocess;   // the loss weights the preset was made with (what to expect)
};

// pytorch-examples (default): relu2_2 / relu1_2,relu2_2,relu3_3,relu4_3, 1e5 / 1e10, no TV,
// torchvision VGG16. jcjohnson: relu3_3 / the same four, 1 / 5, TV 1e-6, caffe VGG16.
const std::vector<PerceptualPreset>& perceptual_presets();
// Usage error (exit 2) naming the presets for an unknown name.
const PerceptualPreset& perceptual_preset(const std::string& name);

// The space the transformer's input and output live in (model metadata nst.io).
enum class ModelIo {
    Rgb255,    // RGB in [0, 255] (pytorch/examples)
    CaffeBgr,  // BGR minus the caffe mean, in 0..255 units (jcjohnson)
};
ModelIo parse_model_io(const std::string& name, const std::string& where);  // input error (exit 3)
const char* model_io_name(ModelIo io);

// Converts RGB in [0, 255] (N, 3, H, W) into the model's io space, and back, in place.
template <typename T>
void rgb255_to_model_io(ModelIo io, TensorView<T> x);
template <typename T>
void model_io_to_rgb255(ModelIo io, TensorView<T> x);

// The map from the transformer's io space to the loss network's input space: what the loss
// applies to each sample before the loss network (and, transposed, to its gradient). Public so
// that the CUDA trainer (cuda/train_step_cuda.h) applies the same coefficients.
ChannelMap loss_input_map(ModelIo io, PreprocessKind preprocess);

struct PerceptualOptions {
    std::vector<int> content_layers;  // indices in the loss network's layer table
    std::vector<int> style_layers;
    double content_weight = 1e5;
    double style_weight = 1e10;
    double tv_weight = 0;
    PreprocessKind preprocess = PreprocessKind::Torchvision;  // the loss network's input space
    ModelIo io = ModelIo::Rgb255;                             // the transformer's
};

template <typename T>
class PerceptualLoss {
public:
    // `net` is borrowed and must outlive the loss; its taps are set here.
    PerceptualLoss(cpu::VggNet<T>& net, PerceptualOptions options);

    // style: (1, 3, h, w) RGB in [0, 1], at the size the style targets are taken at. Computes
    // and keeps the style Grams.
    void set_style(ConstView<float> style_rgb);

    // y: (B, 3, H, W) the transformer's output; x: (B, 3, H, W) its input (the content images),
    // both in the model's io space. Returns the weighted terms (content and style one per layer)
    // and assigns dy, the gradient of the total w.r.t. y, unless dy is empty.
    LossTerms evaluate(ConstView<T> y, ConstView<T> x, TensorView<T> dy);

    const PerceptualOptions& options() const { return m_opt; }

private:
    // Sample b of t (io space) into the loss network's input space m_in (1, 3, H, W).
    void to_net(ConstView<T> t, int b);

    cpu::VggNet<T>& m_net;
    PerceptualOptions m_opt;
    std::vector<int> m_taps;
    // Network input = a_c * t[src_c] + b_c for the three channels.
    int m_src[3] = {0, 1, 2};
    double m_a[3] = {1, 1, 1}, m_b[3] = {0, 0, 0};
    Tensor<T> m_in, m_dx;
    std::vector<Tensor<T>> m_content_target;  // per content layer, (1, C, h, w)
    std::vector<Tensor<T>> m_style_gram;      // per style layer, (1, 1, C, C)
    std::vector<Tensor<T>> m_gram, m_diff;    // scratch per style layer
};

}  // namespace nst
