// SPDX-License-Identifier: MIT
#include "cuda/train_step_cuda.h"

#include <algorithm>
#include <cmath>

#include "core/buffer.h"
#include "core/error.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/network_cuda.h"
#include "cuda/nvtx.h"
#include "cuda/optim_cuda.h"
#include "cuda/run_state.h"
#include "cuda/vgg19_cuda.h"
#include "kernels/channel_map.h"
#include "kernels/content_loss.h"
#include "kernels/gram.h"
#include "kernels/launch.h"
#include "kernels/style_loss.h"
#include "kernels/terms.h"
#include "kernels/tv_loss.h"
#include "loss/perceptual.h"

namespace nst::cuda {

namespace {

constexpr std::size_t kWorkspace = std::size_t(256) << 20;  // cuDNN workspace per convolution

void upload(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
    NST_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
}

class CudaTrainStep final : public TrainStep {
public:
    CudaTrainStep(const TrainConfig& c, const VggWeights& weights, int gpu)
        : m_config(c),
          m_ctx(gpu),
          m_vgg(m_ctx, weights, Pooling::Max, Precision::Fp32, kWorkspace),
          m_net(m_ctx, c.desc, init_params(c.desc, c.sample.seed).data(), kWorkspace),
          m_n(param_count(c.desc)),
          m_map(kernels::to_affine(loss_input_map(c.loss.io, c.loss.preprocess))),
          m_nc(int(c.loss.content_layers.size())),
          m_ns(int(c.loss.style_layers.size())) {
        const PerceptualOptions& o = c.loss;
        if (o.content_layers.empty() && o.style_layers.empty()) throw_usage("the loss has neither content nor style layers");
        NST_REQUIRE(m_nc + m_ns + 1 <= kernels::kMaxTerms, "too many loss layers");
        m_taps = o.content_layers;
        m_taps.insert(m_taps.end(), o.style_layers.begin(), o.style_layers.end());
        std::sort(m_taps.begin(), m_taps.end());
        m_taps.erase(std::unique(m_taps.begin(), m_taps.end()), m_taps.end());
        m_vgg.set_taps(m_taps);

        const int s = c.sample.image_size;
        const Shape batch{c.batch_size, 3, s, s};
        m_x = Tensor<float>(batch, Device::Cuda);
        m_dy = Tensor<float>(batch, Device::Cuda);
        m_in = Tensor<float>(Shape{1, 3, s, s}, Device::Cuda);
        m_dx = Tensor<float>(Shape{1, 3, s, s}, Device::Cuda);
        m_grads = Buffer(m_n * sizeof(float), Device::Cuda);
        m_partials = Buffer(std::size_t(m_nc + m_ns + 1) * kernels::kMaxPartials * sizeof(double), Device::Cuda);
        m_terms = Buffer(std::size_t(c.batch_size) * (m_nc + m_ns + 2) * sizeof(double), Device::Cuda);
        m_total = Buffer(sizeof(double), Device::Cuda);
        m_state = Buffer(sizeof(RunState), Device::Cuda);
        const cudaStream_t stream = m_ctx.stream();
        NST_CUDA_CHECK(cudaMemsetAsync(m_state.data(), 0, sizeof(RunState), stream));  // kRunning
        NST_CUDA_CHECK(cudaMemsetAsync(m_total.data(), 0, sizeof(double), stream));
        m_adam = std::make_unique<Adam>(m_ctx, m_n, cpu::AdamOptions{c.learning_rate},
                                        static_cast<RunState*>(m_state.data()),
                                        static_cast<const double*>(m_total.data()));
        m_content_target.resize(std::size_t(m_nc));
        m_style_gram.resize(std::size_t(m_ns));
        m_gram.resize(std::size_t(m_ns));
        m_ctx.synchronize();
    }

    // As PerceptualLoss::set_style: to 0..255, into the io space, into the loss network's input,
    // then the Grams G = F F^T / (C H W) of the style layers.
    void set_style(ConstView<float> style_rgb) {
        NST_REQUIRE(style_rgb.shape.n == 1 && style_rgb.shape.c == 3, "style image must be (1, 3, h, w)");
        Tensor<float> t(style_rgb.shape);
        std::transform(style_rgb.begin(), style_rgb.end(), t.begin(), [](float v) { return v * 255.f; });
        rgb255_to_model_io(m_config.loss.io, t.view());
        const cudaStream_t stream = m_ctx.stream();
        Tensor<float> io(t.shape(), Device::Cuda), in(t.shape(), Device::Cuda);
        upload(io.data(), t.data(), t.numel() * sizeof(float), stream);
        kernels::channel_affine(in.data(), io.data(), 1, t.shape().plane(), m_map, stream);
        m_vgg.prepare(t.shape().h, t.shape().w);
        m_vgg.forward(in.cview());
        for (int l = 0; l < m_ns; ++l) {
            const ConstView<float> f = m_vgg.output(m_config.loss.style_layers[std::size_t(l)]);
            const int ch = f.shape.c;
            m_style_gram[std::size_t(l)] = Tensor<float>(Shape{1, 1, ch, ch}, Device::Cuda);
            gram(f, m_style_gram[std::size_t(l)].data());
        }
        m_ctx.synchronize();
        // A style image larger than the crops must not size the buffers for the whole run.
        m_vgg.release();
    }

    LossTerms evaluate(const TrainBatch& batch_images) override {
        NvtxRange range("train step");
        const ConstView<float> x = batch_images.content;
        const TrainConfig& c = m_config;
        NST_REQUIRE(x.shape == m_x.shape(), "train step: batch " + x.shape.str() + ", expected " + m_x.shape().str());
        const cudaStream_t stream = m_ctx.stream();
        const int batch = x.shape.n, s = x.shape.h;
        const std::size_t plane = x.shape.plane(), per = 3 * plane;
        upload(m_x.data(), x.data, x.numel() * sizeof(float), stream);
        const ConstView<float> y = m_net.forward(m_x.cview(), true);
        NST_REQUIRE(y.shape == x.shape, "network output " + y.shape.str() + " differs from its input's shape");
        m_vgg.prepare(s, s);
        const int nterms = m_nc + m_ns + 2;
        double* partials = static_cast<double*>(m_partials.data());
        for (int b = 0; b < batch; ++b) {
            // The content targets: the loss network's features of the content image itself.
            if (m_nc > 0) {
                kernels::channel_affine(m_in.data(), m_x.data() + b * per, 1, plane, m_map, stream);
                m_vgg.forward(m_in.cview());
                for (int l = 0; l < m_nc; ++l) {
                    const ConstView<float> f = m_vgg.output(c.loss.content_layers[std::size_t(l)]);
                    Tensor<float>& t = m_content_target[std::size_t(l)];
                    if (t.shape() != f.shape) t = Tensor<float>(f.shape, Device::Cuda);
                    NST_CUDA_CHECK(cudaMemcpyAsync(t.data(), f.data, f.numel() * sizeof(float),
                                                   cudaMemcpyDeviceToDevice, stream));
                }
            }
            kernels::channel_affine(m_in.data(), y.data + b * per, 1, plane, m_map, stream);
            m_vgg.forward(m_in.cview());
            kernels::TermSums sums;
            sums.num_content = m_nc;
            sums.num_style = m_ns;
            // Each term's value and gradient at its tap, on the way down (PerceptualLoss's add_terms).
            m_vgg.backward(m_dx.view(), [&](int layer, TensorView<float> g) {
                for (int l = 0; l < m_nc; ++l) {
                    if (c.loss.content_layers[std::size_t(l)] != layer) continue;
                    const ConstView<float> f = m_vgg.output(layer);
                    const double scale = c.loss.content_weight / (double(batch) * double(f.shape.numel()));
                    sums.count[l] = kernels::content_loss_partials(f.numel());
                    sums.scale[l] = scale;
                    kernels::content_loss(f.data, m_content_target[std::size_t(l)].data(), f.numel(), 2 * scale,
                                          g.data, partials + std::size_t(l) * kernels::kMaxPartials, stream);
                }
                for (int l = 0; l < m_ns; ++l) {
                    if (c.loss.style_layers[std::size_t(l)] != layer) continue;
                    const ConstView<float> f = m_vgg.output(layer);
                    const int ch = f.shape.c;
                    const long long positions = (long long)f.shape.plane();
                    Tensor<float>& gm = m_gram[std::size_t(l)];
                    if (gm.shape() != Shape{1, 1, ch, ch}) gm = Tensor<float>(Shape{1, 1, ch, ch}, Device::Cuda);
                    const double gram_scale = 1.0 / double(f.shape.numel());
                    const double loss_scale = c.loss.style_weight / (double(batch) * double(ch) * double(ch));
                    const int term = m_nc + l;
                    sums.count[term] = kernels::style_value_partials(ch);
                    sums.scale[term] = loss_scale;
                    gram(f, gm.data());
                    const float* target = m_style_gram[std::size_t(l)].data();
                    kernels::style_value(gm.data(), target, ch, partials + std::size_t(term) * kernels::kMaxPartials,
                                         stream);
                    kernels::style_gradient(gm.data(), target, f.data, nullptr, ch, positions,
                                            4 * loss_scale * gram_scale, g.data, stream);
                }
            });
            // Back through the input map: d y_b = A^T dx (assigned).
            float* dyb = m_dy.data() + b * per;
            kernels::channel_affine_backward(dyb, m_dx.data(), 1, plane, m_map, stream);
            const int tv = m_nc + m_ns;
            if (c.loss.tv_weight != 0) {
                sums.count[tv] = kernels::tv_loss_partials(3, s, s);
                sums.scale[tv] = c.loss.tv_weight * 0.5;  // value = tv_weight * 1/2 * sum of squares
                if (sums.count[tv] > 0)
                    kernels::tv_loss(y.data + b * per, 3, s, s, c.loss.tv_weight, dyb,
                                     partials + std::size_t(tv) * kernels::kMaxPartials, stream);
            }
            // Sample b's weighted terms; the partials are reused by the next sample, after this.
            kernels::finalize_terms(partials, sums, static_cast<double*>(m_terms.data()) + std::size_t(b) * nterms,
                                    stream);
        }
        NST_CUDA_CHECK(cudaMemsetAsync(m_grads.data(), 0, m_n * sizeof(float), stream));
        m_net.backward(m_dy.cview(), TensorView<float>(), static_cast<float*>(m_grads.data()));

        // The terms of every sample, summed over the batch in sample order as the CPU loss does.
        std::vector<double> per_sample(std::size_t(batch) * nterms);
        NST_CUDA_CHECK(cudaMemcpyAsync(per_sample.data(), m_terms.data(), per_sample.size() * sizeof(double),
                                       cudaMemcpyDeviceToHost, stream));
        m_ctx.synchronize();
        LossTerms terms;
        terms.content.assign(std::size_t(m_nc), 0.0);
        terms.style.assign(std::size_t(m_ns), 0.0);
        for (int b = 0; b < batch; ++b) {
            const double* t = per_sample.data() + std::size_t(b) * nterms;
            for (int l = 0; l < m_nc; ++l) terms.content[std::size_t(l)] += t[l];
            for (int l = 0; l < m_ns; ++l) terms.style[std::size_t(l)] += t[m_nc + l];
            terms.tv += t[m_nc + m_ns];
        }
        terms.total = terms.content_sum() + terms.style_sum() + terms.tv;
        // Adam reads the total only to refuse a non-finite one (the trainer stops before that).
        upload(m_total.data(), &terms.total, sizeof(double), stream);
        m_ctx.synchronize();
        return terms;
    }

    void update(double learning_rate) override {
        m_adam->set_learning_rate(learning_rate);
        m_adam->step(m_net.params(), static_cast<const float*>(m_grads.data()));
    }

    std::vector<float> params() const override {
        std::vector<float> out(m_n);
        NST_CUDA_CHECK(cudaMemcpyAsync(out.data(), const_cast<Network&>(m_net).params(), m_n * sizeof(float),
                                       cudaMemcpyDeviceToHost, m_ctx.stream()));
        m_ctx.synchronize();
        return out;
    }

    std::vector<float> gradient() const override {
        std::vector<float> out(m_n);
        NST_CUDA_CHECK(cudaMemcpyAsync(out.data(), m_grads.data(), m_n * sizeof(float), cudaMemcpyDeviceToHost,
                                       m_ctx.stream()));
        m_ctx.synchronize();
        return out;
    }

    TrainAdamState adam_state() const override {
        return TrainAdamState{m_adam->iterations(), m_adam->first_moment(), m_adam->second_moment()};
    }

    void restore(const std::vector<float>& params, const TrainAdamState& a) override {
        NST_REQUIRE(params.size() == m_n && a.m.size() == m_n && a.v.size() == m_n, "train state of the wrong size");
        upload(m_net.params(), params.data(), m_n * sizeof(float), m_ctx.stream());
        m_adam->set_state(a.step, a.m.data(), a.v.data());  // synchronises
    }

    // The host keeps only copies for checkpoints: parameters and two moments.
    std::size_t host_bytes(int) const override { return 3 * m_n * sizeof(float); }

private:
    // g = F F^T / (C H W) for f (1, C, H, W), device; our Gram kernel (bit-reproducible).
    void gram(ConstView<float> f, float* g) {
        const int ch = f.shape.c;
        const long long positions = (long long)f.shape.plane();
        const std::size_t need = kernels::gram_scratch_floats(ch, positions) * sizeof(float);
        if (m_gram_scratch.bytes() < need) {
            m_ctx.synchronize();  // the old scratch may still be in use by queued work
            m_gram_scratch = Buffer(need, Device::Cuda);
        }
        kernels::gram(f.data, nullptr, ch, positions, 1.0 / double(f.shape.numel()),
                      static_cast<float*>(m_gram_scratch.data()), g, m_ctx.stream());
    }

    TrainConfig m_config;
    Context m_ctx;
    VggNet m_vgg;
    Network m_net;
    std::size_t m_n;
    kernels::ChannelAffine m_map;
    int m_nc, m_ns;
    std::vector<int> m_taps;
    Tensor<float> m_x, m_dy, m_in, m_dx;  // the batch and dL/dy (B, 3, S, S); one sample and its gradient
    Buffer m_grads, m_partials, m_terms, m_total, m_state, m_gram_scratch;
    std::unique_ptr<Adam> m_adam;
    std::vector<Tensor<float>> m_content_target, m_style_gram, m_gram;  // device, per layer
};

}  // namespace

std::unique_ptr<TrainStep> make_cuda_train_step(const TrainConfig& config, const VggWeights& weights,
                                                ConstView<float> style_rgb, int gpu) {
    check_train_config(config);
    auto step = std::make_unique<CudaTrainStep>(config, weights, gpu);
    step->set_style(style_rgb);
    return step;
}

}  // namespace nst::cuda
