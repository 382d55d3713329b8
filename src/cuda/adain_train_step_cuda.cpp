// SPDX-License-Identifier: MIT
#include "cuda/adain_train_step_cuda.h"

#include <array>

#include "core/error.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/frozen_encoder_cuda.h"
#include "cuda/nvtx.h"
#include "engine/adain_train_step.h"
#include "kernels/adain.h"
#include "kernels/adain_loss.h"
#include "kernels/content_loss.h"
#include "kernels/launch.h"
#include "loss/adain_loss.h"
#include "nn/adain.h"
#include "nn/adain_net.h"

namespace nst::cuda {

namespace {

constexpr std::size_t kWorkspace = std::size_t(256) << 20;  // cuDNN workspace per convolution

std::vector<int> relu_taps() {
    const std::array<int, 4> r = adain_encoder_relu_layers();
    return std::vector<int>(r.begin(), r.end());
}

class CudaAdainTrainStep final : public DecoderTrainStep<TrainedDecoder> {
public:
    CudaAdainTrainStep(const TrainConfig& c, const NetModel& encoder, int gpu)
        : m_config(c),
          m_port(c.adain.convention == AdainLossConvention::Port),
          m_loss(adain_loss_constants(m_port)),
          m_ctx(gpu),
          m_encoder(m_ctx, encoder.desc, encoder.params.data(), relu_taps(), kWorkspace),
          m_decoder(m_ctx, c.desc, init_params(c.desc, c.sample.seed), c.learning_rate, kWorkspace) {
        const int s = c.sample.image_size;
        const Shape batch{c.batch_size, 3, s, s};
        m_content = Tensor<float>(batch, Device::Cuda);
        m_style = Tensor<float>(batch, Device::Cuda);
        m_dout = Tensor<float>(batch, Device::Cuda);
        const std::size_t K = m_encoder.taps();
        m_mean.resize(K);
        m_sigma.resize(K);
        m_values.resize(K);
    }

    LossTerms evaluate(const TrainBatch& batch) override {
        NvtxRange range("adain train step");
        NST_REQUIRE(batch.content.shape == m_content.shape() && batch.style.shape == m_style.shape(),
                    "adain step: batch " + batch.content.shape.str() + " / " + batch.style.shape.str() + ", expected " +
                        m_content.shape().str());
        const cudaStream_t stream = m_ctx.stream();
        upload(m_content, batch.content);
        upload(m_style, batch.style);
        const std::size_t K = m_encoder.taps();
        const int n = batch.content.shape.n;
        // The style statistics at every tap (the loss's targets; relu4_1's also AdaIN's), as
        // cpu::adain_channel_stats gives them for role Style.
        m_encoder.forward(m_style.cview());
        for (std::size_t k = 0; k < K; ++k) {
            const ConstView<float> f = m_encoder.tap(k);
            const std::size_t planes = std::size_t(f.shape.n) * f.shape.c;
            if (m_mean[k].numel() != planes) {
                m_mean[k] = Tensor<float>(Shape{1, 1, 1, int(planes)}, Device::Cuda);
                m_sigma[k] = Tensor<float>(Shape{1, 1, 1, int(planes)}, Device::Cuda);
                m_values[k] = Buffer(planes * sizeof(double), Device::Cuda);
            }
            kernels::adain_channel_stats(m_mean[k].data(), m_sigma[k].data(), f.data, f.shape.n, f.shape.c,
                                         f.shape.plane(), m_port, m_port ? cpu::kAdainEps : 0.0, stream);
        }
        // t = AdaIN(f(c), f(s)): the decoder's input and the content target.
        m_encoder.forward(m_content.cview());
        const ConstView<float> fc = m_encoder.tap(K - 1);
        if (m_t.shape() != fc.shape) m_t = Tensor<float>(fc.shape, Device::Cuda);
        kernels::AdainWeights one;
        one.count = 1;
        one.w[0] = 1.0;
        kernels::adain_blend(m_t.data(), fc.data, m_mean[K - 1].data(), m_sigma[K - 1].data(), one, 1.0, fc.shape.n,
                             fc.shape.c, fc.shape.plane(), n, m_port, stream);

        const ConstView<float> out = m_decoder.net().forward(m_t.cview(), true);
        m_encoder.forward(out);
        const double content_scale = m_config.adain.content_weight / double(fc.numel());
        const int content_blocks = kernels::content_loss_partials(fc.numel());
        if (m_partials.bytes() < std::size_t(content_blocks) * sizeof(double))
            m_partials = Buffer(std::size_t(content_blocks) * sizeof(double), Device::Cuda);
        std::vector<double> style_scale(K);
        m_encoder.backward(
            [&](std::size_t k, TensorView<float> g) {
                const ConstView<float> f = m_encoder.tap(k);
                const int planes = f.shape.n * f.shape.c;
                style_scale[k] = m_config.adain.style_weight /
                                 (m_loss.mean_over_channels ? double(planes) : double(f.shape.n));
                kernels::adain_style_loss(f.data, m_mean[k].data(), m_sigma[k].data(), planes, f.shape.plane(),
                                          m_loss.unbiased, m_loss.eps, style_scale[k], g.data,
                                          static_cast<double*>(m_values[k].data()), stream);
                if (k + 1 == K)
                    kernels::content_loss(f.data, m_t.data(), f.numel(), 2 * content_scale, g.data,
                                          static_cast<double*>(m_partials.data()), stream);
            },
            m_dout.view());
        m_decoder.zero_grads();
        m_decoder.net().backward(m_dout.cview(), TensorView<float>(), m_decoder.grads());

        // The terms, summed on the host in index order (planes, then the content partials).
        LossTerms terms;
        terms.style.assign(K, 0.0);
        for (std::size_t k = 0; k < K; ++k) {
            std::vector<double> v(m_values[k].bytes() / sizeof(double));
            copy_back(v.data(), m_values[k].data(), v.size() * sizeof(double));
            double sum = 0;
            for (double x : v) sum += x;
            terms.style[k] = style_scale[k] * sum;
        }
        std::vector<double> partials(static_cast<std::size_t>(content_blocks));
        copy_back(partials.data(), m_partials.data(), partials.size() * sizeof(double));
        double content = 0;
        for (double x : partials) content += x;
        terms.content = {content_scale * content};
        terms.total = terms.content_sum() + terms.style_sum();
        m_decoder.set_total(terms.total);
        return terms;
    }


    // The host keeps only copies for checkpoints: parameters and two moments.
    std::size_t host_bytes(int) const override { return 3 * m_decoder.param_count() * sizeof(float); }

private:
    TrainedDecoder& decoder() override { return m_decoder; }

    void upload(Tensor<float>& dst, ConstView<float> src) {
        NST_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data, src.numel() * sizeof(float), cudaMemcpyHostToDevice,
                                       m_ctx.stream()));
    }
    void copy_back(void* dst, const void* src, std::size_t bytes) {
        NST_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, m_ctx.stream()));
        m_ctx.synchronize();
    }

    TrainConfig m_config;
    bool m_port;
    AdainLossConstants m_loss;
    Context m_ctx;
    FrozenEncoder m_encoder;
    TrainedDecoder m_decoder;
    Tensor<float> m_content, m_style, m_t, m_dout;    // device
    std::vector<Tensor<float>> m_mean, m_sigma;       // device, per tap: the style's statistics
    std::vector<Buffer> m_values;                     // device, per tap: per-plane style values
    Buffer m_partials;                                // device: the content loss's partial sums
};

}  // namespace

std::unique_ptr<TrainStep> make_cuda_adain_train_step(const TrainConfig& config, const NetModel& encoder, int gpu) {
    check_adain_train_config(config);
    if (encoder.desc.arch != "adain-encoder")
        throw_input("--encoder: the model is a " + encoder.desc.arch + ", not an adain-encoder");
    return std::make_unique<CudaAdainTrainStep>(config, encoder, gpu);
}

}  // namespace nst::cuda
