// SPDX-License-Identifier: MIT
// cuda::Objective, step for step the twin of cpu::Objective (loss/objective.cpp): one forward
// pass, content and style losses injected at the taps, one backward pass, TV in image space.
//
// The loss kernels write raw double partial sums into one slot of kMaxPartials per term and
// add their gradients into the net's tap gradients (or dx for TV); kernels::finalize_terms
// then applies each term's scale and forms the total, on the device. Everything that depends
// on the image size (scales, partial counts, Gram scratch, style targets) is settled in
// prepare(), so evaluate() only checks host-side shapes and queues kernels.
//
// Style targets follow the CPU exactly: N_l = sum_k b_k F_k F_k^T / M_k accumulated in double
// (on the device), turned into A_l = float(gram_scale(M) * M * N_l) for the image's M.
#include "cuda/objective_cuda.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/device_memory.h"
#include "core/error.h"
#include "cuda/check.h"
#include "cuda/nvtx.h"
#include "kernels/content_loss.h"
#include "kernels/gram.h"
#include "kernels/launch.h"
#include "kernels/style_loss.h"
#include "kernels/terms.h"
#include "kernels/tv_loss.h"
#include "nn/vgg19_layers.h"

namespace nst::cuda {

namespace {

int layer_channels(int layer) { return vgg19_layers()[layer].channels; }

Shape layer_shape(int layer, int h, int w) {
    int oh = 0, ow = 0;
    layer_output_size(layer, h, w, oh, ow);
    return Shape{1, layer_channels(layer), oh, ow};
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
        double coef = 0;        // 4 * loss_scale * gram_scale
    };

    Impl(Context& c, Vgg19Net& n, const LossSpec& s) : ctx(c), net(n), spec(checked_loss_spec(s)) {}

    Context& ctx;
    Vgg19Net& net;
    LossSpec spec;  // style_layer_weights filled in (all 1 when empty)
    int nc = 0, ns = 0;

    std::vector<Tensor<float>> content_targets;   // per content layer (1, C, h, w), device
    std::vector<Tensor<double>> style_norm;       // per style layer (1, 1, C, C): N_l, device
    std::vector<Tensor<float>> style_targets;     // per style layer (1, 1, C, C): A_l, device
    std::vector<Tensor<float>> grams;             // per style layer (1, 1, C, C): G, device
    std::vector<long long> style_target_positions;  // M that style_targets[j] was scaled for
    Tensor<float> gram_partials;                  // split-K scratch of kernels::gram, device
    Tensor<double> partials;                      // (nc + ns + 1) slots of kMaxPartials, device
    Tensor<double> terms;                         // nc + ns + 2, device
    bool content_set = false, styles_set = false;

    bool prepared = false;
    Shape shape;                                  // the prepared image shape
    std::vector<ContentPlan> content_plan;
    std::vector<StylePlan> style_plan;
    kernels::TermSums sums;

    std::vector<std::string> content_ranges, style_ranges;  // NVTX names, built once

    cudaStream_t stream() const { return ctx.stream(); }
    double* slot(int term) { return partials.data() + std::size_t(term) * kernels::kMaxPartials; }

    // Grows the Gram scratch; waits first, since queued kernels may still use the old buffer.
    void ensure_gram_scratch(std::size_t floats) {
        if (floats <= gram_partials.numel()) return;
        NST_REQUIRE(floats <= std::size_t(0x7fffffff), "objective: Gram scratch too large");
        ctx.synchronize();
        gram_partials = Tensor<float>(Shape{1, 1, 1, int(floats)}, Device::Cuda);
    }

    // A device image: the view itself, or a copy of a host image held by `holder`.
    ConstView<float> on_device(ConstView<float> image, Tensor<float>& holder) {
        if (image.device == Device::Cuda) return image;
        holder = Tensor<float>(image.shape, Device::Cuda);
        if (image.numel() > 0)
            device_memory::copy(holder.data(), image.data, image.numel() * sizeof(float), true, false);
        return holder.cview();
    }

    // The net's buffers back to the prepared shape after a target image of another size.
    void restore_net_shape() {
        if (prepared) net.prepare(shape.h, shape.w);
    }

    // objective.cpp's refresh_style_target: A_j = float(gram_scale * M * N_j) for M positions.
    void refresh_style_target(std::size_t j, long long positions, double gram_scale) {
        if (style_target_positions[j] == positions) return;
        const double factor = gram_scale * double(positions);
        kernels::style_target_scale(style_targets[j].data(), style_norm[j].data(), style_norm[j].shape().h, factor,
                                    stream());
        style_target_positions[j] = positions;
    }

    void refresh_style_targets() {
        if (!prepared || !styles_set) return;
        for (std::size_t j = 0; j < style_plan.size(); ++j)
            if (style_plan[j].active)
                refresh_style_target(j, style_plan[j].positions, style_plan[j].gram_scale);
    }
};

Objective::Objective(Context& ctx, Vgg19Net& net, const LossSpec& spec) : m(std::make_unique<Impl>(ctx, net, spec)) {
    const LossSpec& s = m->spec;  // checked_loss_spec: the CPU objective's validation
    const std::size_t n_style = s.style_layers.size();

    m->nc = int(s.content_layers.size());
    m->ns = int(n_style);
    NST_REQUIRE(m->nc + m->ns + 1 <= kernels::kMaxTerms, "objective: too many loss layers");

    net.set_taps(loss_taps(s));

    m->content_targets.resize(s.content_layers.size());
    for (int l : s.style_layers) {
        const Shape gs{1, 1, layer_channels(l), layer_channels(l)};
        m->style_norm.emplace_back(gs, Device::Cuda);
        m->style_targets.emplace_back(gs, Device::Cuda);
        m->grams.emplace_back(gs, Device::Cuda);
    }
    m->style_target_positions.assign(n_style, -1);

    const int n_terms = m->nc + m->ns + 1;
    m->partials = Tensor<double>(Shape{1, 1, n_terms, kernels::kMaxPartials}, Device::Cuda);
    m->terms = Tensor<double>(Shape{1, 1, 1, n_terms + 1}, Device::Cuda);
    NST_CUDA_CHECK(cudaMemsetAsync(m->terms.data(), 0, m->terms.numel() * sizeof(double), m->stream()));
    m->sums.num_content = m->nc;
    m->sums.num_style = m->ns;

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
    o.net.prepare(image.shape.h, image.shape.w);
    o.net.forward(image);
    for (std::size_t i = 0; i < o.spec.content_layers.size(); ++i) {
        const ConstView<float> f = o.net.output(o.spec.content_layers[i]);
        Tensor<float>& p = o.content_targets[i];
        if (p.shape() != f.shape) p = Tensor<float>(f.shape, Device::Cuda);
        NST_CUDA_CHECK(cudaMemcpyAsync(p.data(), f.data, f.numel() * sizeof(float), cudaMemcpyDeviceToDevice,
                                       o.stream()));
    }
    o.ctx.synchronize();  // the uploaded image may be freed now
    o.restore_net_shape();
    o.content_set = true;
}

void Objective::set_styles(const std::vector<ConstView<float>>& styles, const std::vector<double>& blend) {
    Impl& o = *m;
    if (o.spec.style_layers.empty()) {
        o.styles_set = true;
        return;
    }
    const std::vector<double> b = normalized_blend(blend, styles.size());

    for (auto& t : o.style_norm)
        NST_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, t.numel() * sizeof(double), o.stream()));  // 0.0
    for (std::size_t k = 0; k < styles.size(); ++k) {
        const double bk = b[k];
        if (bk == 0) continue;
        Tensor<float> holder;
        const ConstView<float> image = o.on_device(styles[k], holder);
        o.net.prepare(image.shape.h, image.shape.w);
        o.net.forward(image);
        for (std::size_t j = 0; j < o.spec.style_layers.size(); ++j) {
            const int l = o.spec.style_layers[j];
            const ConstView<float> f = o.net.output(l);
            const long long m_k = (long long)f.shape.plane();
            NST_REQUIRE(m_k > 0, "style image too small for layer " + vgg19_layers()[l].name);
            o.ensure_gram_scratch(kernels::gram_scratch_floats(f.shape.c, m_k));
            float* g = o.grams[j].data();
            kernels::gram(f.data, nullptr, f.shape.c, m_k, 1.0 / double(m_k), o.gram_partials.data(), g, o.stream());
            kernels::style_target_accumulate(o.style_norm[j].data(), g, f.shape.c, bk, o.stream());
        }
        o.ctx.synchronize();  // before `holder` frees the uploaded image
    }
    o.style_target_positions.assign(o.spec.style_layers.size(), -1);
    o.styles_set = true;
    o.restore_net_shape();
    o.refresh_style_targets();
}

void Objective::prepare(const Shape& x_shape) {
    Impl& o = *m;
    const LossSpec& s = o.spec;
    NST_REQUIRE(x_shape.n == 1 && x_shape.c == 3, "objective: image must be (1, 3, H, W), got " + x_shape.str());
    const bool any_layer = o.nc > 0 || o.ns > 0;
    // Without loss layers the net has no taps (Vgg19Net::prepare would refuse) and evaluate()
    // never runs it: TV alone, as in cpu::Objective.
    if (any_layer) o.net.prepare(x_shape.h, x_shape.w);

    o.content_plan.assign(std::size_t(o.nc), {});
    for (int i = 0; i < o.nc; ++i) {
        Impl::ContentPlan& plan = o.content_plan[std::size_t(i)];
        plan.shape = layer_shape(s.content_layers[std::size_t(i)], x_shape.h, x_shape.w);
        o.sums.count[i] = 0;
        o.sums.scale[i] = 0;
        if (s.content_weight == 0) continue;
        const LossScales sc = loss_scales(s.preset, plan.shape.c, (long long)plan.shape.plane());
        const double scale = s.content_weight * sc.content;
        plan.two_scale = 2 * scale;
        o.sums.count[i] = kernels::content_loss_partials(plan.shape.numel());
        o.sums.scale[i] = scale;
    }

    std::size_t scratch = 0;
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
        plan.coef = 4 * loss_scale * sc.gram;
        o.sums.count[term] = kernels::style_value_partials(plan.channels);
        o.sums.scale[term] = loss_scale;
        scratch = std::max(scratch, kernels::gram_scratch_floats(plan.channels, plan.positions));
    }

    const int tv_term = o.nc + o.ns;
    const bool tv = s.tv_weight != 0;
    o.sums.count[tv_term] = tv ? kernels::tv_loss_partials(x_shape.n * x_shape.c, x_shape.h, x_shape.w) : 0;
    o.sums.scale[tv_term] = tv ? s.tv_weight * 0.5 : 0.0;  // value = tv_weight * 0.5 * sum
    for (int t = tv_term + 1; t < kernels::kMaxTerms; ++t) o.sums.count[t] = 0;

    if (any_layer) o.ensure_gram_scratch(scratch);
    o.shape = x_shape;
    o.prepared = true;
    o.refresh_style_targets();
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

    if (o.nc > 0 || o.ns > 0) {
        o.net.forward(x);
        if (grad) o.net.zero_grads();
        for (int i = 0; i < o.nc && s.content_weight != 0; ++i) {
            NvtxRange range(o.content_ranges[std::size_t(i)].c_str());
            const int l = s.content_layers[std::size_t(i)];
            const ConstView<float> f = o.net.output(l);
            const Tensor<float>& p = o.content_targets[std::size_t(i)];
            NST_REQUIRE(f.shape == p.shape(),
                        "objective: image size differs from the content image's at " + vgg19_layers()[l].name);
            kernels::content_loss(f.data, p.data(), f.numel(), o.content_plan[std::size_t(i)].two_scale,
                                  grad ? o.net.grad(l).data : nullptr, o.slot(i), stream);
        }
        for (int j = 0; j < o.ns && s.style_weight != 0; ++j) {
            const Impl::StylePlan& plan = o.style_plan[std::size_t(j)];
            if (!plan.active) continue;  // w_l == 0
            NvtxRange range(o.style_ranges[std::size_t(j)].c_str());
            const int l = s.style_layers[std::size_t(j)];
            const ConstView<float> f = o.net.output(l);
            NST_REQUIRE(f.shape.c == plan.channels && (long long)f.shape.plane() == plan.positions,
                        "objective: " + vgg19_layers()[l].name + " output " + f.shape.str() +
                            " differs from the prepared shape");
            o.refresh_style_target(std::size_t(j), plan.positions, plan.gram_scale);  // no-op after prepare()
            float* g = o.grams[std::size_t(j)].data();
            const float* a = o.style_targets[std::size_t(j)].data();
            kernels::gram(f.data, nullptr, plan.channels, plan.positions, plan.gram_scale, o.gram_partials.data(), g, stream);
            kernels::style_value(g, a, plan.channels, o.slot(o.nc + j), stream);
            if (grad)
                kernels::style_gradient(g, a, f.data, nullptr, plan.channels, plan.positions, plan.coef, o.net.grad(l).data,
                                        stream);
        }
        if (grad) {
            NvtxRange range("backward");
            o.net.backward(dx);
        }
    } else if (grad) {
        // Nothing but TV: its gradient accumulates onto zero.
        NST_CUDA_CHECK(cudaMemsetAsync(dx.data, 0, dx.numel() * sizeof(float), stream));
    }
    if (s.tv_weight != 0) {
        NvtxRange range("loss tv");
        kernels::tv_loss(x.data, x.shape.n * x.shape.c, x.shape.h, x.shape.w, s.tv_weight, grad ? dx.data : nullptr,
                         o.slot(o.nc + o.ns), stream);
    }
    NvtxRange range("loss terms");
    kernels::finalize_terms(o.partials.data(), o.sums, o.terms.data(), stream);
}

const double* Objective::terms_device() const { return m->terms.data(); }
double* Objective::terms_device() { return m->terms.data(); }
int Objective::num_terms() const { return m->nc + m->ns + 2; }

LossTerms Objective::unpack(const double* values) const {
    LossTerms t;
    t.content.assign(values, values + m->nc);
    t.style.assign(values + m->nc, values + m->nc + m->ns);
    t.tv = values[m->nc + m->ns];
    t.total = values[m->nc + m->ns + 1];
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
