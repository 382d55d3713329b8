// SPDX-License-Identifier: MIT
// cuda::Objective, step for step the twin of cpu::Objective (loss/objective.cpp): one forward
// pass, content and style losses injected at the taps, one backward pass, TV and the temporal
// term (video) in image space.
//
// The loss kernels write raw double partial sums into one slot of kMaxPartials per term and
// add their gradients into the gradient the backward pass holds at their tap (the net's TapGrad
// callback, so that no tap keeps a gradient buffer of its own), or into dx for TV; with a
// gradient the tap's terms are evaluated inside that callback. kernels::finalize_terms
// then applies each term's scale and forms the total, on the device. Everything that depends
// on the image size (scales, partial counts, Gram scratch, style targets) is settled in
// prepare(), so evaluate() only checks host-side shapes and queues kernels.
//
// Style targets follow the CPU exactly: N_l = sum_k b~_k Gram(F_k o S^l_k) / M_k accumulated in
// double (on the device), b~ the blend renormalised over the styles whose layer set holds l,
// turned into A_l = float(gram_scale(M) * M * N_l) for the image's M. Each style's own
// N^l_k is kept as well, for content masks: then the style term at l is
// sum_k b_k style_loss(F o C^l_k, A^l_k), one guided Gram, value and gradient per region, the
// regions' weighted partials side by side in the layer's slot.
//
// Tiled evaluation (set_tile_rows, loss/tiling.h): the strip loop of evaluate_tiled() below. It
// is fixed for a prepared shape (the net is prepared for every window height in prepare(), so
// switching between them inside evaluate() neither allocates nor waits), hence capturable.
//   1. statistics, strip by strip: window copy, forward, and for each style term the Gram of
//      the owned positions (a column range of every channel row, kernels/gram.h with a row
//      stride), added in double in strip order (kernels::style_target_accumulate); without a
//      gradient also the content sums of the owned rows, each strip's partials in its own
//      share of the term's kMaxPartials;
//   2. G = float(gram_scale * sum) (style_target_scale) and the style values, as untiled;
//   3. with a gradient, strips in reverse order (the last one of step 1 is still in the net):
//      forward, then backward to the window with, at each tap (TapGrad), the content value and
//      gradient and the style gradient of the owned rows added into the gradient from above
//      (the losses add nothing elsewhere), added into dx's window rows.
// The content targets and style targets are computed strip by strip the same way, so no pass
// ever runs on a whole image once tiling is on. One strip is the untiled code, unchanged.
#include "cuda/objective_cuda.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/device_memory.h"
#include "core/error.h"
#include "cuda/check.h"
#include "cuda/gram_cublas.h"
#include "cuda/nvtx.h"
#include "kernels/content_loss.h"
#include "kernels/gram.h"
#include "kernels/guide.h"
#include "kernels/launch.h"
#include "kernels/strip.h"
#include "kernels/style_loss.h"
#include "kernels/temporal_loss.h"
#include "kernels/terms.h"
#include "kernels/grad_norm.h"
#include "kernels/tv_loss.h"
#include "loss/style_plan.h"
#include "loss/tiling.h"
#include "nn/vgg19_layers.h"

namespace nst::cuda {

namespace {

int layer_channels(int layer) { return vgg19_layers()[layer].channels; }

Shape layer_shape(int layer, int h, int w) {
    int oh = 0, ow = 0;
    layer_output_size(layer, h, w, oh, ow);
    return Shape{1, layer_channels(layer), oh, ow};
}

// rows x cols empty tensors (Tensor is move-only, so not by vector::assign).
template <typename T>
std::vector<std::vector<Tensor<T>>> tensor_grid(std::size_t rows, std::size_t cols) {
    std::vector<std::vector<Tensor<T>>> grid(rows);
    for (auto& row : grid) row.resize(cols);
    return grid;
}

// A normalised host guide (double) as a device float tensor.
Tensor<float> upload_guide(const Tensor<double>& guide) {
    Tensor<float> host(guide.shape());
    for (std::size_t i = 0; i < guide.numel(); ++i) host[i] = float(guide[i]);
    Tensor<float> d(guide.shape(), Device::Cuda);
    device_memory::copy(d.data(), host.data(), host.numel() * sizeof(float), true, false);
    return d;
}

// A device copy of a host or device tensor (the objective keeps its own).
Tensor<float> device_copy(ConstView<float> v) {
    Tensor<float> d(v.shape, Device::Cuda);
    if (v.numel() > 0)
        device_memory::copy(d.data(), v.data, v.numel() * sizeof(float), true, v.device == Device::Cuda);
    return d;
}

}  // namespace

struct Objective::Impl {
    // What evaluate() does at one content layer / style layer for the prepared shape.
    struct ContentPlan {
        Shape shape;            // the layer's output
        double two_scale = 0;   // 2 * content_weight * content_scale
    };
    struct StylePlan {
        bool active = false;    // style_weight != 0 and w_l != 0
        int channels = 0;
        long long positions = 0;
        double gram_scale = 0;
        double coef = 0;        // 4 * loss_scale * gram_scale (x grad_norm_factor)
        double weight = 0;      // the term's weight: style weight x w_l (gradient normalisation)
    };
    // One content region's term at a style layer (content masks): style k, its guide, b_k.
    struct Region {
        int k = 0;
        const float* guide = nullptr;  // C^l_k on the device (normalised)
        double weight = 0;             // b_k, normalised over all K
    };

    Impl(Context& c, Vgg19Net& n, const LossSpec& s, GramImpl impl)
        : ctx(c), net(n), spec(checked_loss_spec(s)), gram_impl(impl) {}

    Context& ctx;
    Vgg19Net& net;
    LossSpec spec;  // style_layer_weights filled in (all 1 when empty)
    GramImpl gram_impl;
    int nc = 0, ns = 0;

    // Controls (host state, as cpu::Objective's).
    std::size_t num_styles = 0;
    std::vector<double> blend;                        // b, normalised to sum 1 over all K
    std::vector<std::vector<char>> uses;              // [k][j]: style k gives targets at layer j
    std::vector<char> layer_active;                   // [j]: some style with b > 0 uses layer j
    std::vector<std::vector<Tensor<double>>> region_norm;    // [k][j] (1, 1, C, C) device: N^j_k
    std::vector<std::vector<Tensor<float>>> region_targets;  // [k][j] (1, 1, C, C) device: A^j_k
    std::vector<Tensor<float>> content_masks;         // host (1, 1, H, W) each, or none
    std::vector<std::vector<Tensor<float>>> content_guides;  // [k][j] device, empty where unused/vanished
    int guides_h = -1, guides_w = -1;                 // image size content_guides were made for
    std::vector<std::vector<Region>> regions;         // [j]: the region terms evaluate() runs
    Tensor<float> edit_mask_host;                     // (1, 1, H, W) or empty
    Tensor<float> edit_mask;                          // its device copy for the prepared shape
    Tensor<float> norm_scratch;                       // one term's gradient (GradNorm::JcJohnson), device
    Tensor<double> norm_partials;                     // its L1 partials (kMaxPartials), device
    Tensor<float> cublas_scratch;                     // F o T for guided cuBLAS Grams, device

    std::vector<Tensor<float>> content_targets;   // per content layer (1, C, h, w), device
    std::vector<Tensor<double>> style_norm;       // per style layer (1, 1, C, C): N_l, device
    std::vector<Tensor<float>> style_targets;     // per style layer (1, 1, C, C): A_l, device
    std::vector<Tensor<float>> grams;             // per style layer (1, 1, C, C): G, device
    std::vector<long long> style_target_positions;  // M that style_targets[j] was scaled for
    Tensor<float> gram_partials;                  // split-K scratch of kernels::gram, device
    Tensor<double> partials;                      // (nc + ns + 2) slots of kMaxPartials, device
    Tensor<double> terms;                         // nc + ns + 3, device
    // Temporal targets (set_temporal): device copies and the kernel's view of them.
    std::vector<Tensor<float>> temporal_warped;   // per target (1, C, H, W), device
    std::vector<Tensor<float>> temporal_weight;   // per target (1, 1, H, W), device
    kernels::TemporalTargets temporal;            // pointers into the above, channel scales
    Shape temporal_shape;                         // (1, C, H, W) of the targets
    bool content_set = false, styles_set = false;

    bool prepared = false;
    Shape shape;                                  // the prepared image shape
    std::vector<ContentPlan> content_plan;
    std::vector<StylePlan> style_plan;
    kernels::TermSums sums;

    std::vector<std::string> content_ranges, style_ranges;  // NVTX names, built once

    // Tiled evaluation (loss/tiling.h); strips.size() == 1 is the untiled evaluation.
    int tile_rows = 0;                            // set_tile_rows; 0 = untiled
    std::vector<Strip> strips;                    // for the prepared shape
    Tensor<float> x_window, dx_window;            // (1, 3, max window rows, W) device, tiled only
    std::vector<std::vector<int>> content_blocks;   // [i][strip]: partials of content term i's strip
    std::vector<std::vector<int>> content_offsets;  // [i][strip]: where they start in the term's slot
    std::vector<std::vector<Tensor<double>>> gram_sums;  // [j][term] (1, 1, C, C): sum of strip Grams
    std::vector<std::vector<Tensor<float>>> term_grams;  // [j][term >= 1] (1, 1, C, C): G of a region

    bool tiled() const { return strips.size() > 1; }

    cudaStream_t stream() const { return ctx.stream(); }
    double* slot(int term) { return partials.data() + std::size_t(term) * kernels::kMaxPartials; }

    // Grows a scratch buffer; waits first, since queued kernels may still use the old one.
    void ensure_scratch(Tensor<float>& t, std::size_t floats) {
        if (floats <= t.numel()) return;
        NST_REQUIRE(floats <= std::size_t(0x7fffffff), "objective: Gram scratch too large");
        ctx.synchronize();
        t = Tensor<float>(Shape{1, 1, 1, int(floats)}, Device::Cuda);
    }
    // The scratch a Gram of (C, M) needs under the chosen implementation.
    void ensure_gram_scratch(int channels, long long positions, bool guided) {
        if (gram_impl == GramImpl::Own)
            ensure_scratch(gram_partials, kernels::gram_scratch_floats(channels, positions));
        else
            ensure_scratch(cublas_scratch, gram_cublas_scratch_floats(channels, positions, guided));
    }

    // g = scale * (F o T)(F o T)^T (guide null: F F^T) by the chosen implementation.
    void gram(const float* f, const float* guide, int channels, long long positions, double scale, float* g) {
        if (gram_impl == GramImpl::Own)
            kernels::gram(f, guide, channels, positions, scale, gram_partials.data(), g, stream());
        else
            gram_cublas(ctx, gram_impl, f, guide, channels, positions, scale, cublas_scratch.data(), g);
    }

    // ---- tiled evaluation helpers

    // The strips of an image `height` rows tall: one strip (untiled) unless tiling is on.
    std::vector<Strip> plan_for(int height) const {
        if (tile_rows <= 0 || net.deepest() < 0) return {Strip{0, height, 0, height}};
        return plan_strips(height, tile_rows, net.deepest());
    }

    // A strip's owned rows of one layer: rows [r0, r0 + rows) of its window's output, which are
    // rows [g0, g0 + rows) of the whole image's output at that layer.
    struct Band {
        int r0 = 0, rows = 0, g0 = 0;
    };
    static Band band(const Strip& st, int layer, int image_h) {
        const RowRange own = owned_layer_rows(st, layer, image_h);
        const RowRange whole = owned_layer_rows(Strip{st.own_begin, st.own_end, 0, image_h}, layer, image_h);
        NST_REQUIRE(own.rows() == whole.rows() && own.rows() > 0, "objective: strip rows at a layer");
        return Band{own.begin, own.rows(), whole.begin};
    }

    // Prepares the net for every window of `plan` at width w, tallest first, so that later
    // switches between them allocate nothing (cuda::Vgg19Net::prepare).
    void prepare_windows(const std::vector<Strip>& plan, int w) {
        std::vector<int> heights;
        for (const Strip& st : plan) heights.push_back(st.win_rows());
        std::sort(heights.begin(), heights.end(), [](int a, int b) { return a > b; });
        heights.erase(std::unique(heights.begin(), heights.end()), heights.end());
        for (int h : heights) net.prepare(h, w);
    }

    // Copies strip st's window of image (1, 3, H, W) into window (device, room for it) and runs
    // the forward pass on it.
    void forward_window(const Strip& st, ConstView<float> image, float* window) {
        const int w = image.shape.w;
        net.prepare(st.win_rows(), w);  // prepared before: switches shapes only
        kernels::copy_rows(window, st.win_rows(), 0, image.data, image.shape.h, st.win_begin, 3, st.win_rows(), w,
                           stream());
        net.forward(ConstView<float>(window, Shape{1, 3, st.win_rows(), w}, Device::Cuda));
    }

    // The Gram scratch a style layer's Grams need: whole image, or the widest owned band.
    long long gram_columns(std::size_t j) const {
        const int l = spec.style_layers[j];
        if (!tiled()) return style_plan[j].positions;
        const Shape fs = layer_shape(l, shape.h, shape.w);
        long long most = 0;
        for (const Strip& st : strips) most = std::max(most, (long long)band(st, l, shape.h).rows * fs.w);
        return most;
    }

    // Style terms at layer j: one, or one per content region (content masks).
    std::size_t style_terms(std::size_t j) const { return content_masks.empty() ? 1 : regions[j].size(); }
    const float* term_guide(std::size_t j, std::size_t r) const {
        return content_masks.empty() ? nullptr : regions[j][r].guide;
    }
    const float* term_target(std::size_t j, std::size_t r) const {
        return content_masks.empty() ? style_targets[j].data()
                                     : region_targets[std::size_t(regions[j][r].k)][j].data();
    }
    float* term_gram(std::size_t j, std::size_t r) { return r == 0 ? grams[j].data() : term_grams[j][r - 1].data(); }

    // The tiled evaluation's per-layer device state for the prepared shape and regions.
    void refresh_tiled_state() {
        if (!tiled()) {
            gram_sums.clear();
            term_grams.clear();
            return;
        }
        const std::size_t n_style = spec.style_layers.size();
        gram_sums.resize(n_style);
        term_grams.resize(n_style);
        for (std::size_t j = 0; j < n_style; ++j) {
            const StylePlan& plan = style_plan[j];
            const std::size_t terms = plan.active ? style_terms(j) : 0;
            const Shape gs{1, 1, plan.channels, plan.channels};
            while (gram_sums[j].size() < terms) gram_sums[j].emplace_back(gs, Device::Cuda);
            while (term_grams[j].size() + 1 < terms) term_grams[j].emplace_back(gs, Device::Cuda);
        }
    }

    void evaluate_tiled(ConstView<float> x, TensorView<float> dx);
    void content_rows(std::size_t strip, int i, float* df);
    void style_rows_gradient(std::size_t strip, std::size_t j, float* df);

    // gram() of the column range [0, cols) of a row-major (C, ld) map (a strip's owned positions).
    void gram_rows(const float* f, const float* guide, int channels, long long cols, long long ld, double scale,
                   float* g) {
        if (gram_impl == GramImpl::Own)
            kernels::gram(f, guide, channels, cols, ld, scale, gram_partials.data(), g, stream());
        else
            gram_cublas(ctx, gram_impl, f, guide, channels, cols, ld, scale, cublas_scratch.data(), g);
    }

    // A device image: the view itself, or a copy of a host image held by `holder`.
    ConstView<float> on_device(ConstView<float> image, Tensor<float>& holder) {
        if (image.device == Device::Cuda) return image;
        holder = Tensor<float>(image.shape, Device::Cuda);
        if (image.numel() > 0)
            device_memory::copy(holder.data(), image.data, image.numel() * sizeof(float), true, false);
        return holder.cview();
    }

    // The net's buffers back to the prepared shape (or its windows) after a target image of
    // another size.
    void restore_net_shape() {
        if (!prepared || net.deepest() < 0) return;
        if (tiled())
            prepare_windows(strips, shape.w);
        else
            net.prepare(shape.h, shape.w);
    }

    // objective.cpp's refresh_style_target: A_j = float(gram_scale * M * N_j) for M positions,
    // and each region's A^j_k likewise from N^j_k.
    void refresh_style_target(std::size_t j, long long positions, double gram_scale) {
        if (style_target_positions[j] == positions) return;
        const double factor = gram_scale * double(positions);
        const int c = style_norm[j].shape().h;
        kernels::style_target_scale(style_targets[j].data(), style_norm[j].data(), c, factor, stream());
        for (std::size_t k = 0; k < region_norm.size(); ++k)
            if (!region_norm[k][j].empty())
                kernels::style_target_scale(region_targets[k][j].data(), region_norm[k][j].data(), c, factor,
                                            stream());
        style_target_positions[j] = positions;
    }

    void refresh_style_targets() {
        if (!prepared || !styles_set) return;
        for (std::size_t j = 0; j < style_plan.size(); ++j)
            if (style_plan[j].active)
                refresh_style_target(j, style_plan[j].positions, style_plan[j].gram_scale);
    }

    bool masks_match(int h, int w) const {
        for (const auto& m : content_masks)
            if (m.shape().h != h || m.shape().w != w) return false;
        return true;
    }

    // Everything the masks need for the prepared shape: the content guides C^j_k (host
    // propagation, uploaded once per shape), the region terms of each layer and their partial
    // counts, the edit mask on the device. Allocates; evaluate() then only reads.
    void refresh_controls() {
        if (!prepared) return;
        const int h = shape.h, w = shape.w;
        const std::size_t n_style = spec.style_layers.size();
        const bool use_regions = !content_masks.empty() && styles_set && content_masks.size() == num_styles &&
                                 spec.style_weight != 0 && n_style > 0;
        if (use_regions && masks_match(h, w) && (guides_h != h || guides_w != w)) {
            const std::vector<std::vector<Tensor<double>>> host = nst::content_guides(content_masks, uses, spec);
            content_guides = tensor_grid<float>(host.size(), n_style);
            for (std::size_t k = 0; k < host.size(); ++k)
                for (std::size_t j = 0; j < n_style; ++j)
                    if (!host[k][j].empty()) content_guides[k][j] = upload_guide(host[k][j]);
            guides_h = h;
            guides_w = w;
        }
        regions.assign(n_style, {});
        if (use_regions && masks_match(h, w)) {
            for (std::size_t j = 0; j < n_style; ++j) {
                const StylePlan& plan = style_plan[j];
                if (!plan.active) continue;
                for (std::size_t k = 0; k < num_styles; ++k) {
                    const Tensor<float>& guide = content_guides[k][j];
                    if (!uses[k][j] || blend[k] == 0 || guide.empty()) continue;
                    regions[j].push_back(Region{int(k), guide.data(), blend[k]});
                }
                const int np = kernels::style_value_partials(plan.channels);
                NST_REQUIRE(int(regions[j].size()) * np <= kernels::kMaxPartials,
                            "objective: too many content regions at " + vgg19_layers()[spec.style_layers[j]].name +
                                " for the CUDA backend");
                ensure_gram_scratch(plan.channels, gram_columns(j), true);
            }
        }
        // The style terms' partial counts: a layer no style uses (layer sets) or without any
        // region is exactly 0.
        for (std::size_t j = 0; j < n_style; ++j) {
            const StylePlan& plan = style_plan[j];
            const int term = nc + int(j);
            const bool regional = !content_masks.empty();
            const bool on = plan.active && (regional ? !regions[j].empty() : layer_active.empty() || layer_active[j]);
            const int np = plan.active ? kernels::style_value_partials(plan.channels) : 0;
            sums.count[term] = on ? np * (regional ? int(regions[j].size()) : 1) : 0;
        }
        edit_mask = Tensor<float>();
        const Shape ms{1, 1, h, w};
        if (!edit_mask_host.empty() && edit_mask_host.shape() == ms) edit_mask = upload_guide_float(edit_mask_host);
        refresh_tiled_state();
    }

    // The temporal term's partial count for the prepared shape (0 without targets: exactly 0);
    // its partials are already scaled (kernels/temporal_loss.h).
    void refresh_temporal_sums() {
        const int term = nc + ns + 1;
        sums.count[term] = temporal.count > 0 && temporal_shape == shape
                               ? kernels::temporal_loss_partials(shape.c, shape.h, shape.w, temporal.count)
                               : 0;
        sums.scale[term] = 1.0;
    }

    static Tensor<float> upload_guide_float(const Tensor<float>& host) {
        Tensor<float> d(host.shape(), Device::Cuda);
        device_memory::copy(d.data(), host.data(), host.numel() * sizeof(float), true, false);
        return d;
    }
};

// ---- tiled evaluation ----------------------------------------------------------------------

// Content term i's sums over strip `strip`'s owned rows (the window is in the net) against the
// matching rows of the whole target, its partials in the strip's share of the term's slot;
// unless df is null also its gradient added into those rows of df (1, C, h, w) device, the
// gradient at the term's layer for the window.
void Objective::Impl::content_rows(std::size_t strip, int i, float* df) {
    NvtxRange range(content_ranges[std::size_t(i)].c_str());
    const int l = spec.content_layers[std::size_t(i)];
    const ConstView<float> f = net.output(l);
    const Tensor<float>& p = content_targets[std::size_t(i)];
    NST_REQUIRE(p.shape() == content_plan[std::size_t(i)].shape,
                "objective: image size differs from the content image's at " + vgg19_layers()[l].name);
    const Band b = band(strips[strip], l, shape.h);
    const std::size_t w = std::size_t(f.shape.w);
    kernels::content_loss_rows(f.data + b.r0 * w, (long long)f.shape.plane(), p.data() + b.g0 * w,
                               (long long)p.shape().plane(), f.shape.c, (long long)(b.rows * w),
                               content_plan[std::size_t(i)].two_scale, df ? df + b.r0 * w : nullptr,
                               content_blocks[std::size_t(i)][strip],
                               slot(i) + content_offsets[std::size_t(i)][strip], stream());
}

// Style layer j's gradient at strip `strip`'s owned rows (the window is in the net; the Grams of
// step 2 are set), every term's added into those rows of df (1, C, h, w) device, the gradient
// at layer j for the window.
void Objective::Impl::style_rows_gradient(std::size_t strip, std::size_t j, float* df) {
    NvtxRange range(style_ranges[j].c_str());
    const StylePlan& plan = style_plan[j];
    const int l = spec.style_layers[j];
    const ConstView<float> f = net.output(l);
    const Band b = band(strips[strip], l, shape.h);
    const std::size_t fw = std::size_t(f.shape.w);
    const bool regional = !content_masks.empty();
    for (std::size_t r = 0; r < style_terms(j); ++r) {
        const float* guide = term_guide(j, r);
        const double coef = regional ? plan.coef * regions[j][r].weight : plan.coef;
        kernels::style_gradient(term_gram(j, r), term_target(j, r), f.data + b.r0 * fw, guide ? guide + b.g0 * fw : nullptr,
                                plan.channels, (long long)(b.rows * fw), (long long)f.shape.plane(), coef,
                                df + b.r0 * fw, stream());
    }
}

void Objective::Impl::evaluate_tiled(ConstView<float> x, TensorView<float> dx) {
    const bool grad = !dx.empty();
    const cudaStream_t st = stream();
    const int h = shape.h, w = shape.w;
    const bool content_on = nc > 0 && spec.content_weight != 0;
    const bool regional = !content_masks.empty();
    // The style layers evaluated: as the untiled loop (w_l != 0, some style uses the layer).
    auto style_on = [&](std::size_t j) {
        return spec.style_weight != 0 && style_plan[j].active &&
               (regional || layer_active.empty() || layer_active[j]);
    };
    bool any_gram = false;
    for (std::size_t j = 0; j < std::size_t(ns); ++j) any_gram = any_gram || (style_on(j) && style_terms(j) > 0);

    std::size_t in_net = strips.size();  // the strip whose window the net holds; none yet
    auto load = [&](std::size_t i) {
        if (in_net == i) return;
        forward_window(strips[i], x, x_window.data());
        in_net = i;
    };

    // 1. Statistics: the Grams' sums over all strips (and the content values without a gradient).
    if (any_gram || (content_on && !grad)) {
        for (std::size_t j = 0; j < std::size_t(ns); ++j)
            for (std::size_t r = 0; style_on(j) && r < style_terms(j); ++r)
                NST_CUDA_CHECK(cudaMemsetAsync(gram_sums[j][r].data(), 0, gram_sums[j][r].numel() * sizeof(double), st));
        for (std::size_t i = 0; i < strips.size(); ++i) {
            load(i);
            for (int c = 0; c < nc && content_on && !grad; ++c) content_rows(i, c, nullptr);
            for (std::size_t j = 0; j < std::size_t(ns); ++j) {
                if (!style_on(j) || style_terms(j) == 0) continue;
                NvtxRange range(style_ranges[j].c_str());
                const int l = spec.style_layers[j];
                const ConstView<float> f = net.output(l);
                const Band b = band(strips[i], l, h);
                const std::size_t fw = std::size_t(f.shape.w);
                for (std::size_t r = 0; r < style_terms(j); ++r) {
                    const float* guide = term_guide(j, r);
                    gram_rows(f.data + b.r0 * fw, guide ? guide + b.g0 * fw : nullptr, f.shape.c,
                              (long long)(b.rows * fw), (long long)f.shape.plane(), 1.0, grams[j].data());
                    kernels::style_target_accumulate(gram_sums[j][r].data(), grams[j].data(), f.shape.c, 1.0, st);
                }
            }
        }
    }

    // 2. G = float(gram_scale * sum) and the style values.
    for (std::size_t j = 0; j < std::size_t(ns); ++j) {
        if (!style_on(j)) continue;
        const StylePlan& plan = style_plan[j];
        refresh_style_target(j, plan.positions, plan.gram_scale);  // no-op after prepare()
        const int np = kernels::style_value_partials(plan.channels);
        for (std::size_t r = 0; r < style_terms(j); ++r) {
            float* g = term_gram(j, r);
            kernels::style_target_scale(g, gram_sums[j][r].data(), plan.channels, plan.gram_scale, st);
            if (regional)
                kernels::style_value_weighted(g, term_target(j, r), plan.channels, regions[j][r].weight,
                                              slot(nc + int(j)) + r * np, st);
            else
                kernels::style_value(g, term_target(j, r), plan.channels, slot(nc + int(j)), st);
        }
    }
    if (!grad) return;

    // 3. The gradient, strip by strip from the last: each window's backward pass from the losses
    // at its owned positions, added into dx (windows overlap: their contributions add).
    NST_CUDA_CHECK(cudaMemsetAsync(dx.data, 0, dx.numel() * sizeof(float), st));
    for (std::size_t i = strips.size(); i-- > 0;) {
        const Strip& s = strips[i];
        load(i);
        NvtxRange range("backward");
        const TensorView<float> dxw(dx_window.data(), Shape{1, 3, s.win_rows(), w}, Device::Cuda);
        // At each tap: the gradient from above, then the content terms', then the style terms'
        // (the CPU objective's order).
        net.backward(dxw, [&](int l, TensorView<float> g) {
            for (int c = 0; c < nc && content_on; ++c)
                if (spec.content_layers[std::size_t(c)] == l) content_rows(i, c, g.data);
            for (std::size_t j = 0; j < std::size_t(ns); ++j)
                if (style_on(j) && spec.style_layers[j] == l) style_rows_gradient(i, j, g.data);
        });
        kernels::add_rows(dx.data, h, s.win_begin, dxw.data, s.win_rows(), 0, 3, s.win_rows(), w, st);
    }
}

Objective::Objective(Context& ctx, Vgg19Net& net, const LossSpec& spec, GramImpl gram_impl, Precision precision)
    : m(std::make_unique<Impl>(ctx, net, spec, gram_impl)) {
    // Layer indices, geometry and tiling here are VGG19's table (as the CPU objective's).
    if (net.arch() != VggArch::Vgg19)
        throw_usage(std::string("the style-transfer objective needs VGG19 weights, not ") + arch_title(net.arch()));
    if (gram_impl != GramImpl::Own) NST_CUBLAS_CHECK(cublasSetMathMode(ctx.cublas(), cublas_math_mode(precision)));
    const LossSpec& s = m->spec;  // checked_loss_spec: the CPU objective's validation
    const std::size_t n_style = s.style_layers.size();

    m->nc = int(s.content_layers.size());
    m->ns = int(n_style);
    NST_REQUIRE(m->nc + m->ns + 2 <= kernels::kMaxTerms, "objective: too many loss layers");

    net.set_taps(loss_taps(s));

    m->content_targets.resize(s.content_layers.size());
    for (int l : s.style_layers) {
        const Shape gs{1, 1, layer_channels(l), layer_channels(l)};
        m->style_norm.emplace_back(gs, Device::Cuda);
        m->style_targets.emplace_back(gs, Device::Cuda);
        m->grams.emplace_back(gs, Device::Cuda);
    }
    m->style_target_positions.assign(n_style, -1);

    const int n_terms = m->nc + m->ns + 2;  // with tv and temporal
    m->partials = Tensor<double>(Shape{1, 1, n_terms, kernels::kMaxPartials}, Device::Cuda);
    m->terms = Tensor<double>(Shape{1, 1, 1, n_terms + 1}, Device::Cuda);
    NST_CUDA_CHECK(cudaMemsetAsync(m->terms.data(), 0, m->terms.numel() * sizeof(double), m->stream()));
    m->sums.num_content = m->nc;
    m->sums.num_style = m->ns;
    m->sums.temporal = true;

    for (int l : s.content_layers) m->content_ranges.push_back("loss content " + vgg19_layers()[l].name);
    for (int l : s.style_layers) m->style_ranges.push_back("loss style " + vgg19_layers()[l].name);
}

Objective::~Objective() = default;

void Objective::set_content(ConstView<float> content) {
    Impl& o = *m;
    if (o.spec.content_layers.empty()) {
        o.content_set = true;
        return;
    }
    Tensor<float> holder;
    const ConstView<float> image = o.on_device(content, holder);
    const int h = image.shape.h, w = image.shape.w;
    const std::vector<Strip> plan = o.plan_for(h);
    if (plan.size() > 1) {
        // Strip by strip: each strip's owned rows of every content layer into the whole target.
        int most = 0;
        for (const Strip& st : plan) most = std::max(most, st.win_rows());
        Tensor<float> window(Shape{1, 3, most, w}, Device::Cuda);
        for (std::size_t i = 0; i < o.spec.content_layers.size(); ++i) {
            const Shape ps = layer_shape(o.spec.content_layers[i], h, w);
            if (o.content_targets[i].shape() != ps) o.content_targets[i] = Tensor<float>(ps, Device::Cuda);
        }
        o.prepare_windows(plan, w);
        for (const Strip& st : plan) {
            o.forward_window(st, image, window.data());
            for (std::size_t i = 0; i < o.spec.content_layers.size(); ++i) {
                const int l = o.spec.content_layers[i];
                const ConstView<float> f = o.net.output(l);
                Tensor<float>& p = o.content_targets[i];
                const Impl::Band b = Impl::band(st, l, h);
                kernels::copy_rows(p.data(), p.shape().h, b.g0, f.data, f.shape.h, b.r0, f.shape.c, b.rows, f.shape.w,
                                   o.stream());
            }
        }
        o.ctx.synchronize();  // before `window` is freed
    } else {
        o.net.prepare(h, w);
        o.net.forward(image);
        for (std::size_t i = 0; i < o.spec.content_layers.size(); ++i) {
            const ConstView<float> f = o.net.output(o.spec.content_layers[i]);
            Tensor<float>& p = o.content_targets[i];
            if (p.shape() != f.shape) p = Tensor<float>(f.shape, Device::Cuda);
            NST_CUDA_CHECK(cudaMemcpyAsync(p.data(), f.data, f.numel() * sizeof(float), cudaMemcpyDeviceToDevice,
                                           o.stream()));
        }
    }
    o.ctx.synchronize();  // the uploaded image may be freed now
    o.restore_net_shape();
    o.content_set = true;
}

void Objective::set_styles(const std::vector<ConstView<float>>& styles, const std::vector<double>& blend,
                           const std::vector<ConstView<float>>& style_masks) {
    Impl& o = *m;
    const LossSpec& s = o.spec;
    std::vector<Shape> shapes;
    for (const auto& st : styles) shapes.push_back(st.shape);
    StyleUsePlan plan = plan_styles(s, shapes, blend, style_masks);
    const std::size_t n_k = styles.size();
    o.num_styles = n_k;
    o.blend = plan.blend;
    if (s.style_layers.empty()) {
        o.styles_set = true;
        check_region_count(o.content_masks.size(), o.num_styles);
        return;
    }
    const std::size_t n_style = s.style_layers.size();
    o.uses = plan.uses;
    o.layer_active = plan.layer_active;

    for (auto& t : o.style_norm)
        NST_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, t.numel() * sizeof(double), o.stream()));  // 0.0
    o.region_norm = tensor_grid<double>(n_k, n_style);
    o.region_targets = tensor_grid<float>(n_k, n_style);
    for (std::size_t k = 0; k < n_k; ++k) {
        if (o.blend[k] == 0) continue;  // contributes to no target
        Tensor<float> holder;
        std::vector<Tensor<float>> guides(n_style);  // kept until the synchronisation below
        const ConstView<float> image = o.on_device(styles[k], holder);
        const int h = image.shape.h, w = image.shape.w;
        for (std::size_t j = 0; j < n_style; ++j)
            if (o.uses[k][j] && !plan.style_guides[k][j].empty()) guides[j] = upload_guide(plan.style_guides[k][j]);
        // N^j_k (double) = double(g), g = Gram(F o S) / M_k; the blend takes weight * g.
        auto finish_layer = [&](std::size_t j, const float* g, int c) {
            kernels::style_target_accumulate(o.style_norm[j].data(), g, c, plan.weight[k][j], o.stream());
            Tensor<double>& n = o.region_norm[k][j];
            NST_CUDA_CHECK(cudaMemsetAsync(n.data(), 0, n.numel() * sizeof(double), o.stream()));
            kernels::style_target_accumulate(n.data(), g, c, 1.0, o.stream());
            o.region_targets[k][j] = Tensor<float>(o.style_norm[j].shape(), Device::Cuda);
        };
        for (std::size_t j = 0; j < n_style; ++j)
            if (o.uses[k][j]) o.region_norm[k][j] = Tensor<double>(o.style_norm[j].shape(), Device::Cuda);
        const std::vector<Strip> strips = o.plan_for(h);
        if (strips.size() > 1) {
            // Strip by strip: the owned positions' Grams summed in double in region_norm[k][j],
            // then g = float(sum / M_k), as the untiled Gram's float(scale * sum).
            int most = 0;
            for (const Strip& st : strips) most = std::max(most, st.win_rows());
            Tensor<float> window(Shape{1, 3, most, w}, Device::Cuda);
            for (std::size_t j = 0; j < n_style; ++j) {
                if (!o.uses[k][j]) continue;
                Tensor<double>& sum = o.region_norm[k][j];
                NST_CUDA_CHECK(cudaMemsetAsync(sum.data(), 0, sum.numel() * sizeof(double), o.stream()));
            }
            o.prepare_windows(strips, w);
            for (const Strip& st : strips) {
                o.forward_window(st, image, window.data());
                for (std::size_t j = 0; j < n_style; ++j) {
                    if (!o.uses[k][j]) continue;
                    const int l = s.style_layers[j];
                    const ConstView<float> f = o.net.output(l);
                    const Impl::Band b = Impl::band(st, l, h);
                    const long long cols = (long long)b.rows * f.shape.w;
                    const float* guide = guides[j].empty() ? nullptr : guides[j].data() + std::size_t(b.g0) * f.shape.w;
                    o.ensure_gram_scratch(f.shape.c, cols, guide != nullptr);
                    o.gram_rows(f.data + std::size_t(b.r0) * f.shape.w, guide, f.shape.c, cols, (long long)f.shape.plane(),
                                1.0, o.grams[j].data());
                    kernels::style_target_accumulate(o.region_norm[k][j].data(), o.grams[j].data(), f.shape.c, 1.0,
                                                     o.stream());
                }
            }
            for (std::size_t j = 0; j < n_style; ++j) {
                if (!o.uses[k][j]) continue;
                const Shape fs = layer_shape(s.style_layers[j], h, w);
                float* g = o.grams[j].data();
                kernels::style_target_scale(g, o.region_norm[k][j].data(), fs.c, 1.0 / double(fs.plane()), o.stream());
                finish_layer(j, g, fs.c);
            }
            o.ctx.synchronize();  // before `window` is freed
        } else {
            o.net.prepare(h, w);
            o.net.forward(image);
            for (std::size_t j = 0; j < n_style; ++j) {
                if (!o.uses[k][j]) continue;
                const ConstView<float> f = o.net.output(s.style_layers[j]);
                const long long m_k = (long long)f.shape.plane();
                const float* guide = guides[j].empty() ? nullptr : guides[j].data();
                o.ensure_gram_scratch(f.shape.c, m_k, guide != nullptr);
                float* g = o.grams[j].data();
                o.gram(f.data, guide, f.shape.c, m_k, 1.0 / double(m_k), g);
                finish_layer(j, g, f.shape.c);
            }
        }
        o.ctx.synchronize();  // before `holder` and the guides free their device memory
    }
    o.style_target_positions.assign(n_style, -1);
    o.styles_set = true;
    check_region_count(o.content_masks.size(), o.num_styles);
    o.restore_net_shape();
    o.refresh_style_targets();
    o.refresh_controls();
}

void Objective::set_content_masks(const std::vector<ConstView<float>>& masks) {
    Impl& o = *m;
    o.content_masks = checked_content_masks(masks, o.spec.guides);
    o.content_guides.clear();
    o.guides_h = o.guides_w = -1;
    if (o.styles_set) check_region_count(o.content_masks.size(), o.num_styles);
    o.refresh_controls();
}

void Objective::set_edit_mask(ConstView<float> mask) {
    Impl& o = *m;
    o.edit_mask_host = checked_edit_mask(mask);
    o.refresh_controls();
}

void Objective::set_temporal(const std::vector<TemporalTarget<float>>& targets, PreprocessKind kind,
                             double caffe_scale) {
    Impl& o = *m;
    o.ctx.synchronize();  // queued work may still read the old targets
    o.temporal = kernels::TemporalTargets{};
    o.temporal_warped.clear();
    o.temporal_weight.clear();
    o.temporal_shape = Shape{};
    if (!targets.empty()) {
        NST_REQUIRE(targets.size() <= std::size_t(kernels::kMaxTemporalTargets),
                    "objective: at most 8 temporal targets, got " + std::to_string(targets.size()));
        const Shape xs = targets[0].warped.shape;
        NST_REQUIRE(xs.n == 1 && xs.c > 0 && xs.c <= kernels::kMaxTemporalChannels && xs.h > 0 && xs.w > 0,
                    "objective: temporal target " + xs.str() + " (at most 4 channels)");
        const Shape ws{1, 1, xs.h, xs.w};
        for (const TemporalTarget<float>& t : targets) {
            NST_REQUIRE(t.warped.shape == xs && t.weight.shape == ws, "objective: temporal target " +
                        t.warped.shape.str() + " / weight " + t.weight.shape.str() + " vs " + xs.str());
            o.temporal_warped.push_back(device_copy(t.warped));
            o.temporal_weight.push_back(device_copy(t.weight));
        }
        const std::vector<double> scale = temporal_channel_scales(kind, caffe_scale, o.spec.temporal_weight, xs.c,
                                                                  xs.h, xs.w);
        for (int c = 0; c < xs.c; ++c) o.temporal.channel_scale[c] = scale[std::size_t(c)];
        for (std::size_t j = 0; j < targets.size(); ++j) {
            o.temporal.warped[j] = o.temporal_warped[j].data();
            o.temporal.weight[j] = o.temporal_weight[j].data();
        }
        o.temporal.count = int(targets.size());
        o.temporal_shape = xs;
        o.ctx.synchronize();  // the host views may be freed now
    }
    if (o.prepared) o.refresh_temporal_sums();
}

void Objective::set_tile_rows(int rows) {
    if (rows < 0) throw_usage("--tile-rows: must be at least 0 (0 = untiled)");
    check_grad_norm_tiling(m->spec, rows);
    m->tile_rows = rows;
    if (m->prepared) prepare(m->shape);
}

int Objective::num_strips() const { return int(m->strips.size()); }

void Objective::prepare(const Shape& x_shape) {
    Impl& o = *m;
    const LossSpec& s = o.spec;
    NST_REQUIRE(x_shape.n == 1 && x_shape.c == 3, "objective: image must be (1, 3, H, W), got " + x_shape.str());
    const bool any_layer = o.nc > 0 || o.ns > 0;
    // Without loss layers the net has no taps (Vgg19Net::prepare would refuse) and evaluate()
    // never runs it: TV alone, as in cpu::Objective.
    o.strips = any_layer ? o.plan_for(x_shape.h) : std::vector<Strip>{Strip{0, x_shape.h, 0, x_shape.h}};
    NST_REQUIRE(o.strips.size() <= std::size_t(kernels::kMaxPartials), "objective: too many strips");
    o.shape = x_shape;  // gram_columns() and the bands below need it
    if (o.tiled()) {
        int most = 0;
        for (const Strip& st : o.strips) most = std::max(most, st.win_rows());
        const Shape ws{1, 3, most, x_shape.w};
        if (o.x_window.shape() != ws) {
            o.x_window = Tensor<float>();  // free first
            o.dx_window = Tensor<float>();
            o.x_window = Tensor<float>(ws, Device::Cuda);
            o.dx_window = Tensor<float>(ws, Device::Cuda);
        }
        o.prepare_windows(o.strips, x_shape.w);
    } else {
        o.x_window = Tensor<float>();
        o.dx_window = Tensor<float>();
        if (any_layer) o.net.prepare(x_shape.h, x_shape.w);
    }

    o.content_plan.assign(std::size_t(o.nc), {});
    for (int i = 0; i < o.nc; ++i) {
        Impl::ContentPlan& plan = o.content_plan[std::size_t(i)];
        plan.shape = layer_shape(s.content_layers[std::size_t(i)], x_shape.h, x_shape.w);
        o.sums.count[i] = 0;
        o.sums.scale[i] = 0;
        if (s.content_weight == 0) continue;
        const LossScales sc = loss_scales(s.preset, plan.shape.c, (long long)plan.shape.plane());
        const double scale = s.content_weight * sc.content;
        plan.two_scale = 2 * scale * grad_norm_factor(s.grad_norm, s.content_weight);
        o.sums.count[i] = kernels::content_loss_partials(plan.shape.numel());
        o.sums.scale[i] = scale;
    }
    // Tiled: each strip's content partials get an equal share of the term's kMaxPartials.
    o.content_blocks.assign(std::size_t(o.nc), {});
    o.content_offsets.assign(std::size_t(o.nc), {});
    for (int i = 0; i < o.nc && o.tiled() && s.content_weight != 0; ++i) {
        const Shape& ps = o.content_plan[std::size_t(i)].shape;
        const int share = kernels::kMaxPartials / int(o.strips.size());
        int offset = 0;
        for (const Strip& st : o.strips) {
            const Impl::Band b = Impl::band(st, s.content_layers[std::size_t(i)], x_shape.h);
            const int blocks =
                std::min(share, kernels::content_loss_partials(std::size_t(ps.c) * std::size_t(b.rows) * ps.w));
            o.content_blocks[std::size_t(i)].push_back(blocks);
            o.content_offsets[std::size_t(i)].push_back(offset);
            offset += blocks;
        }
        o.sums.count[i] = offset;
    }

    o.style_plan.assign(std::size_t(o.ns), {});
    for (int j = 0; j < o.ns; ++j) {
        Impl::StylePlan& plan = o.style_plan[std::size_t(j)];
        const int term = o.nc + j;
        o.sums.count[term] = 0;
        o.sums.scale[term] = 0;
        if (s.style_weight == 0) continue;
        const double wl = style_layer_weight(s.preset, s.style_layer_weights[std::size_t(j)], o.ns);
        if (wl == 0) continue;
        const Shape fs = layer_shape(s.style_layers[std::size_t(j)], x_shape.h, x_shape.w);
        plan.active = true;
        plan.channels = fs.c;
        plan.positions = (long long)fs.plane();
        const LossScales sc = loss_scales(s.preset, plan.channels, plan.positions);
        const double loss_scale = s.style_weight * wl * sc.style;
        plan.gram_scale = sc.gram;
        plan.weight = s.style_weight * wl;
        plan.coef = 4 * loss_scale * sc.gram * grad_norm_factor(s.grad_norm, plan.weight);
        o.sums.count[term] = kernels::style_value_partials(plan.channels);
        o.sums.scale[term] = loss_scale;
        o.ensure_gram_scratch(plan.channels, o.gram_columns(std::size_t(j)), false);
    }

    const int tv_term = o.nc + o.ns;
    const bool tv = s.tv_weight != 0;
    const bool l1 = s.tv_form == TvForm::L1;
    const int planes = x_shape.n * x_shape.c;
    o.sums.count[tv_term] = !tv ? 0
                            : l1 ? kernels::tv_l1_loss_partials(planes, x_shape.h, x_shape.w)
                                 : kernels::tv_loss_partials(planes, x_shape.h, x_shape.w);
    // value = tv_weight * 0.5 * sum of squares, or tv_weight * sum of |differences|
    o.sums.scale[tv_term] = tv ? s.tv_weight * (l1 ? 1.0 : 0.5) : 0.0;
    if (s.grad_norm == GradNorm::JcJohnson && any_layer) {
        NST_REQUIRE(!o.tiled(), "objective: jcjohnson gradient normalisation with tiling");
        std::size_t most = 0;
        for (int l : loss_taps(s)) most = std::max(most, layer_shape(l, x_shape.h, x_shape.w).numel());
        o.ensure_scratch(o.norm_scratch, most);
        if (o.norm_partials.empty()) o.norm_partials = Tensor<double>(Shape{1, 1, 1, kernels::kMaxPartials}, Device::Cuda);
    }
    for (int t = tv_term + 1; t < kernels::kMaxTerms; ++t) o.sums.count[t] = 0;
    o.refresh_temporal_sums();

    o.prepared = true;
    o.refresh_style_targets();
    o.refresh_controls();
}

void Objective::evaluate(ConstView<float> x, TensorView<float> dx) {
    Impl& o = *m;
    const LossSpec& s = o.spec;
    const bool grad = !dx.empty();
    if (grad) NST_REQUIRE(dx.shape == x.shape, "objective: gradient " + dx.shape.str() + " vs image " + x.shape.str());
    NST_REQUIRE(o.content_set || o.nc == 0, "objective: set_content() was not called");
    NST_REQUIRE(o.styles_set || o.ns == 0, "objective: set_styles() was not called");
    NST_REQUIRE(o.prepared && x.shape == o.shape, "objective: prepare() was not called for image " + x.shape.str());
    NST_REQUIRE(x.device == Device::Cuda && (!grad || dx.device == Device::Cuda),
                "objective: device tensors only");
    const cudaStream_t stream = o.stream();

    const bool regional = !o.content_masks.empty();
    if (regional && o.ns > 0 && s.style_weight != 0) {
        NST_REQUIRE(o.content_masks.size() == o.num_styles, "objective: content masks vs style images");
        for (std::size_t k = 0; k < o.content_masks.size(); ++k)
            NST_REQUIRE(o.content_masks[k].shape().h == x.shape.h && o.content_masks[k].shape().w == x.shape.w,
                        "content mask " + std::to_string(k + 1) + " " + o.content_masks[k].shape().str() +
                            " vs image " + std::to_string(x.shape.h) + "x" + std::to_string(x.shape.w));
    }
    if (o.tiled()) {
        o.evaluate_tiled(x, dx);
    } else if (o.nc > 0 || o.ns > 0) {
        o.net.forward(x);
        // Content term i: its value, and unless df is null its gradient added into df (the
        // gradient at its layer, (1, C, h, w) device).
        auto content_term = [&](int i, float* df) {
            NvtxRange range(o.content_ranges[std::size_t(i)].c_str());
            const int l = s.content_layers[std::size_t(i)];
            const ConstView<float> f = o.net.output(l);
            const Tensor<float>& p = o.content_targets[std::size_t(i)];
            NST_REQUIRE(f.shape == p.shape(),
                        "objective: image size differs from the content image's at " + vgg19_layers()[l].name);
            kernels::content_loss(f.data, p.data(), f.numel(), o.content_plan[std::size_t(i)].two_scale, df, o.slot(i),
                                  stream);
        };
        auto style_on = [&](int j) {
            if (s.style_weight == 0 || !o.style_plan[std::size_t(j)].active) return false;  // w_l == 0
            return regional || o.layer_active.empty() || o.layer_active[std::size_t(j)];   // some style uses l
        };
        // Style layer j: its Gram(s) and value, and unless df is null its gradient added into df.
        // The regions' Grams share one buffer, so each region's gradient follows its Gram.
        auto style_term = [&](int j, float* df) {
            const Impl::StylePlan& plan = o.style_plan[std::size_t(j)];
            NvtxRange range(o.style_ranges[std::size_t(j)].c_str());
            const int l = s.style_layers[std::size_t(j)];
            const ConstView<float> f = o.net.output(l);
            NST_REQUIRE(f.shape.c == plan.channels && (long long)f.shape.plane() == plan.positions,
                        "objective: " + vgg19_layers()[l].name + " output " + f.shape.str() +
                            " differs from the prepared shape");
            o.refresh_style_target(std::size_t(j), plan.positions, plan.gram_scale);  // no-op after prepare()
            float* g = o.grams[std::size_t(j)].data();
            if (!regional) {
                const float* a = o.style_targets[std::size_t(j)].data();
                o.gram(f.data, nullptr, plan.channels, plan.positions, plan.gram_scale, g);
                kernels::style_value(g, a, plan.channels, o.slot(o.nc + j), stream);
                if (df) kernels::style_gradient(g, a, f.data, nullptr, plan.channels, plan.positions, plan.coef, df, stream);
                return;
            }
            // One guided term per region whose style uses this layer: sum_k b_k style_loss(F o C_k, A_k),
            // the regions' partials side by side in the layer's slot, each weighted by b_k.
            const int np = kernels::style_value_partials(plan.channels);
            const std::vector<Impl::Region>& regions = o.regions[std::size_t(j)];
            for (std::size_t r = 0; r < regions.size(); ++r) {
                const Impl::Region& region = regions[r];
                const float* a = o.region_targets[std::size_t(region.k)][std::size_t(j)].data();
                o.gram(f.data, region.guide, plan.channels, plan.positions, plan.gram_scale, g);
                kernels::style_value_weighted(g, a, plan.channels, region.weight, o.slot(o.nc + j) + r * np, stream);
                if (df)
                    kernels::style_gradient(g, a, f.data, region.guide, plan.channels, plan.positions,
                                            plan.coef * region.weight, df, stream);
            }
        };
        if (!grad) {
            for (int i = 0; i < o.nc && s.content_weight != 0; ++i) content_term(i, nullptr);
            for (int j = 0; j < o.ns; ++j)
                if (style_on(j)) style_term(j, nullptr);
        } else {
            // The terms at each tap inside the backward pass, added into the gradient from above
            // (content, then style: the CPU objective's order).
            NvtxRange range("backward");
            // With jcjohnson's normalisation each term writes into a zeroed scratch first, whose L1
            // norm then scales it into g (kernels/grad_norm.h).
            const bool normalize = s.grad_norm == GradNorm::JcJohnson;
            auto add_term = [&](TensorView<float> g, double weight, auto&& term) {
                if (!normalize) return term(g.data);
                float* tmp = o.norm_scratch.data();
                NST_CUDA_CHECK(cudaMemsetAsync(tmp, 0, g.numel() * sizeof(float), stream));
                term(tmp);
                kernels::grad_l1_partials(tmp, g.numel(), o.norm_partials.data(), stream);
                kernels::grad_l1_scale_add(tmp, g.numel(), o.norm_partials.data(), weight, g.data, stream);
            };
            o.net.backward(dx, [&](int l, TensorView<float> g) {
                for (int i = 0; i < o.nc && s.content_weight != 0; ++i)
                    if (s.content_layers[std::size_t(i)] == l)
                        add_term(g, s.content_weight, [&](float* df) { content_term(i, df); });
                for (int j = 0; j < o.ns; ++j)
                    if (style_on(j) && s.style_layers[std::size_t(j)] == l)
                        add_term(g, o.style_plan[std::size_t(j)].weight, [&](float* df) { style_term(j, df); });
            });
        }
    } else if (grad) {
        // Nothing but TV: its gradient accumulates onto zero.
        NST_CUDA_CHECK(cudaMemsetAsync(dx.data, 0, dx.numel() * sizeof(float), stream));
    }
    if (s.tv_weight != 0) {
        NvtxRange range("loss tv");
        if (s.tv_form == TvForm::L1)
            kernels::tv_l1_loss(x.data, x.shape.n * x.shape.c, x.shape.h, x.shape.w, s.tv_weight,
                                grad ? dx.data : nullptr, o.slot(o.nc + o.ns), stream);
        else
            kernels::tv_loss(x.data, x.shape.n * x.shape.c, x.shape.h, x.shape.w, s.tv_weight,
                             grad ? dx.data : nullptr, o.slot(o.nc + o.ns), stream);
    }
    if (o.temporal.count > 0) {
        NST_REQUIRE(o.temporal_shape == x.shape,
                    "objective: image " + x.shape.str() + " vs temporal targets " + o.temporal_shape.str());
        NvtxRange range("loss temporal");
        kernels::temporal_loss(x.data, x.shape.c, x.shape.h, x.shape.w, o.temporal, grad ? dx.data : nullptr,
                               o.slot(o.nc + o.ns + 1), stream);
    }
    if (grad && !o.edit_mask_host.empty()) {
        // Frozen pixels: every term's gradient (TV and temporal included) is multiplied by the mask.
        const Shape ms{1, 1, x.shape.h, x.shape.w};
        NST_REQUIRE(o.edit_mask_host.shape() == ms,
                    "edit mask " + o.edit_mask_host.shape().str() + " vs image " + x.shape.str());
        NvtxRange range("edit mask");
        kernels::mask_multiply(dx.data, o.edit_mask.data(), x.shape.n * x.shape.c, (long long)x.shape.plane(), stream);
    }
    NvtxRange range("loss terms");
    kernels::finalize_terms(o.partials.data(), o.sums, o.terms.data(), stream);
}

const double* Objective::terms_device() const { return m->terms.data(); }
double* Objective::terms_device() { return m->terms.data(); }
int Objective::num_terms() const { return m->nc + m->ns + 3; }

LossTerms Objective::unpack(const double* values) const {
    LossTerms t;
    t.content.assign(values, values + m->nc);
    t.style.assign(values + m->nc, values + m->nc + m->ns);
    t.tv = values[m->nc + m->ns];
    t.temporal = values[m->nc + m->ns + 1];
    t.total = values[m->nc + m->ns + 2];
    return t;
}

LossTerms Objective::terms_to_host() const {
    std::vector<double> host(static_cast<std::size_t>(num_terms()));
    NST_CUDA_CHECK(cudaMemcpyAsync(host.data(), m->terms.data(), host.size() * sizeof(double),
                                   cudaMemcpyDeviceToHost, m->stream()));
    NST_CUDA_CHECK(cudaStreamSynchronize(m->stream()));
    return unpack(host.data());
}

const LossSpec& Objective::spec() const { return m->spec; }

}  // namespace nst::cuda
