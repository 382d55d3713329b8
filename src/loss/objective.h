// SPDX-License-Identifier: MIT
// The style-transfer objective on the CPU: content, style and TV terms over a Vgg19Net,
// evaluated together with the gradient w.r.t. the image.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "loss/conventions.h"
#include "loss/guides.h"
#include "loss/columns.h"
#include "loss/temporal_loss.h"
#include "loss/tiling.h"
#include "nn/vgg19.h"

namespace nst {

struct LossSpec {
    Preset preset = Preset::JcJohnson;
    std::vector<int> content_layers;           // layer indices (nn/vgg19_layers.h)
    std::vector<int> style_layers;
    std::vector<double> style_layer_weights;   // user weights, one per style layer (empty = all 1;
                                               // another length is a usage error)
    double content_weight = 5;
    double style_weight = 100;
    double tv_weight = 1e-3;
    // Scale control (CVPR 2017 §5): per style image, the style layers it gives targets for (each
    // one of style_layers). Empty = every style image at every style layer.
    std::vector<std::vector<int>> style_layer_sets;
    // Spatial control (CVPR 2017 §4): how pixel masks become layer guides.
    GuideOptions guides;
    // Temporal consistency (video, issue #14; loss/temporal_loss.h): the papers' gamma, converted
    // to the preset's pixel units by temporal_channel_scales; read only when the problem has
    // temporal targets (ProblemSpec::temporal), so `nst run` never sees it.
    double temporal_weight = 1e3;
    // Peer conventions (issue #16, docs/conventions.md "Peer conventions"): the TV term's form and
    // the per-term gradient normalisation of the backward pass (loss/conventions.h).
    TvForm tv_form = TvForm::SquaredL2;
    GradNorm grad_norm = GradNorm::None;
};

// Weighted terms as they enter the total (what `nst eval` prints and --trace records).
// total = content_sum() + style_sum() + tv + temporal, in that order on both backends.
struct LossTerms {
    std::vector<double> content;   // one per content layer, in LossSpec order
    std::vector<double> style;     // one per style layer
    double tv = 0;
    double temporal = 0;           // video only: the temporal term summed over its targets
    double total = 0;
    double content_sum() const;
    double style_sum() const;
};

// Validation shared by the CPU and CUDA objectives, so that both give the same usage errors.
// Checks the layer indices and the style layer weights (one per style layer, finite); empty
// weights become all 1.
LossSpec checked_loss_spec(const LossSpec& spec);
// Usage error when tiling (tile_rows > 0) meets GradNorm::JcJohnson, whose per-layer L1 norm
// needs the whole layer's gradient; both objectives' set_tile_rows call it.
void check_grad_norm_tiling(const LossSpec& spec, int tile_rows);
// The layers a LossSpec reads (content and style), sorted, without repeats: the net's taps.
std::vector<int> loss_taps(const LossSpec& spec);
// Style blend weights normalised to sum 1 (empty = equal weights); usage errors for a count that
// differs from num_styles, negative or non-finite weights, or weights summing to 0.
std::vector<double> normalized_blend(const std::vector<double>& blend, std::size_t num_styles);

namespace cpu {

template <typename T>
class Objective {
public:
    Objective(Vgg19Net<T>& net, const LossSpec& spec);

    // Content targets P from the (preprocessed) content image (1, 3, H, W).
    void set_content(ConstView<T> content);
    // Style targets: blend-weighted Gram matrices of the style images (each its own size, each
    // Gram divided by its own number of positions M_k, paper.md §1.2: for gatys the target at an
    // image with M positions is M * sum_k b_k F_k F_k^T / M_k, which is F F^T of the style image
    // when sizes agree); blend weights are normalised to sum 1 here (empty = equal weights;
    // negative weights or weights summing to 0 are usage errors).
    //
    // Perceptual controls (docs/perceptual_controls_spatial.md, "Formulas"): with K style images,
    //  - style_layer_sets (LossSpec): style k gives targets only at its layers; at a layer the
    //    blend weights of the styles that use it are renormalised to sum 1;
    //  - style_masks: empty, or one per style image, a pixel mask (1, 1, h_k, w_k) at that image's
    //    size or an empty view (the whole image). Style k's Gram at layer l is then the guided
    //    Gram of F_k o S^l_k, S normalised by normalize_guide (area-invariant);
    //  - content masks (set_content_masks): one region per style image. The style term at layer
    //    l becomes sum_k b_k * style_loss(F o C^l_k, A^l_k) over the styles using l, with b
    //    normalised to sum 1 over all K (NIS's 1/R by default) and C^l_k normalised likewise;
    //    a content guide that is empty at a layer contributes nothing there (NIS).
    void set_styles(const std::vector<ConstView<T>>& styles, const std::vector<double>& blend,
                    const std::vector<ConstView<float>>& style_masks = {});
    // Content guides: empty (no spatial control) or one pixel mask (1, 1, H, W) per style image at
    // the content image's size. Guides are propagated for the size of x when it is evaluated.
    void set_content_masks(const std::vector<ConstView<float>>& masks);
    // Frozen pixels: the gradient is multiplied by mask (1, 1, H, W) in [0, 1] at every channel
    // (0 freezes a pixel); empty = no mask.
    void set_edit_mask(ConstView<float> mask);
    // Temporal targets (video, loss/temporal_loss.h): copies of each warped previous result
    // (1, C, H, W) and its weight map (1, 1, H, W), nearest frame first; empty clears them.
    // kind and caffe_scale are the network's preprocessing (the weights' kind, the preset's S),
    // which turn spec.temporal_weight into per-channel scales (temporal_channel_scales). Shapes
    // are the caller's to check (the engines give usage errors); here a mismatch is an internal
    // error, as is evaluating an x of another size than the targets.
    void set_temporal(const std::vector<TemporalTarget<float>>& targets, PreprocessKind kind, double caffe_scale);
    bool has_temporal() const { return !m_temporal_warped.empty(); }

    // Exact tiled evaluation (loss/tiling.h): later evaluations run strip by strip, each strip
    // owning at most `rows` image rows; 0 (the default) = untiled. Results equal the untiled
    // ones up to float rounding; memory for activations is bounded by a strip's window.
    void set_tile_rows(int rows);

    // Terms at x (1, 3, H, W); assigns dx = d total / dx unless dx is empty.
    LossTerms evaluate(ConstView<T> x, TensorView<T> dx);

    // The losses' gradients w.r.t. each tapped layer's output at x (1, 3, H, W), untiled: what the
    // backward pass injects at the taps (layer -> (1, C, h, w)). For tests and tools that run
    // the backward pass themselves (tests/cuda compares the GPU's ReLU decisions this way);
    // leaves the net holding the forward pass at x.
    std::map<int, Tensor<T>> tap_gradients(ConstView<T> x);

    // Bytes the objective holds besides its net's buffers for an h x w image with num_styles
    // style images: content targets, the per-layer C x C matrices and scratch, and the content
    // guides when has_content_masks (what the memory planner counts).
    static std::size_t planned_bytes(const LossSpec& spec, int h, int w, std::size_t num_styles,
                                     bool has_content_masks);

    const LossSpec& spec() const { return m_spec; }

private:
    // Scales the position-normalised targets of style layer j (N_j blended, or N^j_k per region
    // when content masks are set) to the preset's Gram target for an image with `positions`
    // positions (cached until the size or the targets change).
    void refresh_style_target(std::size_t j, long long positions, double gram_scale);
    // Normalised content guides C^l_k for an image of h x w (cached until the size changes).
    void refresh_content_guides(int h, int w);

    // The evaluation in three phases over the strips of loss/tiling.h (one strip = untiled):
    // statistics (content sums, Grams) strip by strip, the style values from the whole image's
    // Grams, then each strip's backward pass with the losses' gradients injected at its owned
    // positions (Vgg19Net::backward's TapGrad).
    void forward_strip(ConstView<T> x, const Strip& s);  // x (1, 3, H, W); net runs on s's window
    void prepare_terms(int h, int w);
    void accumulate_strip(const Strip& s, int h, bool first, LossTerms& terms);
    void finish_style_terms(bool grad, LossTerms& terms);
    void add_tap_gradient(const Strip& s, int h, int layer, TensorView<T> g);  // g (1, C, h_l, w_l) of the window
    // Runs add_term(out) for one loss term's gradient: out = dg itself, or with GradNorm::JcJohnson
    // a zeroed scratch whose L1 norm rescales the term (loss/conventions.h) before it is added to dg.
    template <typename Fn>
    void with_normalized_gradient(TensorView<T> g, const RowRange& r, const Columns<T>& dg, double weight, Fn&& add_term);
    bool region_on(std::size_t k, std::size_t j) const;
    // Scratch for F o T over block f (C x m values), grown as needed: a strip's block when tiled.
    T* masked_scratch(const Columns<const T>& f);
    // The support of content guide (k, j) within columns [begin, begin + m) of the whole map,
    // relative to begin (nullptr: use the dense path).
    const std::int32_t* strip_support(std::size_t k, std::size_t j, std::size_t begin, std::size_t m,
                                      std::size_t& nnz);

    Vgg19Net<T>& m_net;
    LossSpec m_spec;                           // style_layer_weights filled in (all 1 when empty)
    std::vector<Tensor<T>> m_content_targets;  // per content layer (1, C, h, w)
    std::vector<Tensor<T>> m_style_targets;    // per style layer (1, 1, C, C)
    std::vector<Tensor<T>> m_gram_scratch;     // per style layer (1, 1, C, C)
    std::vector<Tensor<T>> m_diff_scratch;     // per style layer (1, 1, C, C): G - A
    std::vector<Tensor<double>> m_style_norm;  // per style layer (1, 1, C, C): sum_k b~_k Gram(F_k o S_k) / M_k
    std::vector<char> m_layer_active;          // per style layer: some style with a weight > 0 uses it
    std::vector<long long> m_style_target_positions;  // M that the targets of layer j were scaled for
    // Per style image k and style layer j (empty tensors where k does not use j or b_k = 0):
    std::vector<std::vector<char>> m_uses;                     // style k gives targets at layer j
    std::vector<double> m_blend;                               // b, normalised to sum 1 over all K
    std::vector<std::vector<Tensor<double>>> m_region_norm;    // (1, 1, C, C): Gram(F_k o S_k) / M_k
    std::vector<std::vector<Tensor<T>>> m_region_targets;      // (1, 1, C, C): the scaled A^j_k
    std::vector<Tensor<float>> m_content_masks;                // (1, 1, H, W) each, or none
    std::vector<std::vector<Tensor<T>>> m_content_guides;      // (1, 1, h_j, w_j) normalised; empty
                                                               // where region k vanished at layer j
    std::vector<std::vector<std::vector<std::int32_t>>> m_content_support;  // guide_support of each
    int m_guides_h = -1, m_guides_w = -1;                      // image size of m_content_guides
    Tensor<T> m_norm_scratch;                  // one term's gradient at its layer (GradNorm::JcJohnson)
    Tensor<T> m_masked_scratch;                // F o T of one block of positions (masked_scratch)
    Tensor<float> m_edit_mask;                 // (1, 1, H, W) or empty
    std::vector<Tensor<T>> m_temporal_warped;  // per temporal target (1, C, H, W)
    std::vector<Tensor<T>> m_temporal_weight;  // per temporal target (1, 1, H, W)
    std::vector<double> m_temporal_scale;      // s_c per channel (temporal_channel_scales)
    std::size_t m_num_styles = 0;
    int m_tile_rows = 0;                       // 0 = untiled (set_tile_rows)
    Tensor<T> m_window, m_window_dx;           // (1, 3, rows, W): a strip's window of x and its gradient
    // Per evaluation (prepare_terms): style terms evaluated, their scales, and with content masks
    // the Gram and G - A of every region (k, j).
    bool m_regions = false;
    std::vector<char> m_style_on;
    std::vector<double> m_style_gram_scale, m_style_loss_scale;
    std::vector<std::vector<Tensor<T>>> m_region_gram, m_region_diff;
    std::vector<std::int32_t> m_strip_support;
    bool m_content_set = false, m_styles_set = false;
};

}  // namespace cpu
}  // namespace nst
