// SPDX-License-Identifier: MIT
#include "engine/adain_train_step.h"

#include <algorithm>
#include <array>

#include "core/error.h"
#include "engine/frozen_encoder.h"
#include "loss/adain_loss.h"
#include "loss/losses.h"
#include "nn/adain.h"
#include "nn/adain_net.h"

namespace nst {

namespace {

std::vector<int> relu_taps() {
    const std::array<int, 4> r = adain_encoder_relu_layers();
    return std::vector<int>(r.begin(), r.end());
}

class AdainTrainStep final : public DecoderTrainStep<TrainedDecoder<float>> {
public:
    AdainTrainStep(const TrainConfig& c, const NetModel& encoder)
        : m_config(c),
          m_port(c.adain.convention == AdainLossConvention::Port),
          m_stats(m_port ? cpu::AdainStats::Port : cpu::AdainStats::Official),
          m_loss(adain_loss_constants(m_port)),
          m_encoder(encoder.desc, encoder.params.data(), relu_taps()),
          m_decoder(c.desc, init_params(c.desc, c.sample.seed), c.learning_rate) {}

    LossTerms evaluate(const TrainBatch& batch) override {
        NST_REQUIRE(!batch.style.empty() && batch.content.shape.n == batch.style.shape.n,
                    "adain step: a style image per content image");
        const std::size_t K = m_encoder.taps().size();
        // The style statistics at every tap: the loss's targets, and relu4_1's for AdaIN.
        m_encoder.forward(batch.style, false);
        m_target_mean.resize(K);
        m_target_std.resize(K);
        for (std::size_t k = 0; k < K; ++k) {
            const ConstView<float> f = m_encoder.tap(k);
            const Shape st{f.shape.n, f.shape.c, 1, 1};
            m_target_mean[k].ensure(st);
            m_target_std[k].ensure(st);
            cpu::adain_channel_stats(m_target_mean[k].view(), m_target_std[k].view(), f, m_stats, cpu::AdainRole::Style);
        }
        // t = AdaIN(f(c), f(s)), the decoder's input and the content target.
        m_encoder.forward(batch.content, false);
        const ConstView<float> fc = m_encoder.tap(K - 1);
        m_t.ensure(fc.shape);
        cpu::adain_forward(m_t.view(), fc, m_target_mean[K - 1].cview(), m_target_std[K - 1].cview(), m_stats);

        const ConstView<float> out = m_decoder.net().forward(m_t.cview(), true);
        m_encoder.forward(out, true);
        LossTerms terms;
        terms.style.assign(K, 0.0);
        m_dtap.resize(K);
        std::vector<ConstView<float>> dtaps(K);
        for (std::size_t k = 0; k < K; ++k) {
            const ConstView<float> f = m_encoder.tap(k);
            m_dtap[k].ensure(f.shape);
            std::fill(m_dtap[k].begin(), m_dtap[k].end(), 0.f);
            terms.style[k] = cpu::adain_style_loss<float>(f, m_target_mean[k].cview(), m_target_std[k].cview(), m_loss,
                                                   m_config.adain.style_weight, m_dtap[k].view());
            dtaps[k] = m_dtap[k].cview();
        }
        // Content: mean over every element of the batch, sample by sample (content_loss takes one).
        const ConstView<float> f4 = m_encoder.tap(K - 1);
        const double scale = m_config.adain.content_weight / double(f4.numel());
        const Shape one{1, f4.shape.c, f4.shape.h, f4.shape.w};
        const std::size_t per = one.numel();
        double content = 0;
        for (int b = 0; b < f4.shape.n; ++b)
            content += cpu::content_loss<float>(ConstView<float>(f4.data + b * per, one),
                                                ConstView<float>(m_t.data() + b * per, one), scale,
                                                TensorView<float>(m_dtap[K - 1].data() + b * per, one));
        terms.content = {content};
        terms.total = terms.content_sum() + terms.style_sum();

        m_dout.ensure(out.shape);
        m_encoder.backward(dtaps, m_dout.view());
        m_decoder.zero_grads();
        m_decoder.net().backward(m_dout.cview(), TensorView<float>(), m_decoder.grads());
        return terms;
    }


    std::size_t host_bytes(int threads) const override {
        const TrainConfig& c = m_config;
        const int s = c.sample.image_size, b = c.batch_size;
        const Shape image{b, 3, s, s}, code{b, 512, s / 8, s / 8};
        // The encoder's activations kept for backward and its taps' gradients, the decoder's
        // activations, t, the loss's tap gradients (as large as the taps), out's gradient;
        // parameters, gradients and Adam's moments; the convolutions' column scratch per thread
        // (at most a 3x3 x 64-channel full-size band, a bound).
        std::size_t bytes = m_encoder.buffer_bytes(image);
        bytes += const_cast<TrainedDecoder<float>&>(m_decoder).net().buffer_bytes(code, true);
        bytes += code.numel() * sizeof(float);
        const std::vector<Shape> shapes = output_shapes(adain_encoder_desc(), image);
        for (int t : m_encoder.taps()) bytes += shapes[std::size_t(t)].numel() * sizeof(float);
        bytes += image.numel() * sizeof(float);
        bytes += 4 * m_decoder.param_count() * sizeof(float);
        bytes += std::size_t(std::max(threads, 1)) * 9 * 64 * std::size_t(s) * s * sizeof(float);
        return bytes;
    }

private:
    TrainedDecoder<float>& decoder() override { return m_decoder; }

    TrainConfig m_config;
    bool m_port;
    cpu::AdainStats m_stats;
    AdainLossConstants m_loss;
    FrozenEncoder<float> m_encoder;
    TrainedDecoder<float> m_decoder;
    std::vector<Tensor<float>> m_target_mean, m_target_std, m_dtap;  // per tap
    Tensor<float> m_t, m_dout;
};

}  // namespace

NetModel random_adain_encoder(std::uint64_t seed) { return random_frozen_encoder(adain_encoder_desc(), seed); }

void check_adain_train_config(const TrainConfig& config) {
    check_train_config(config);
    const int s = config.sample.image_size;
    if (s < 16 || s % 8 != 0)
        throw_usage("--image-size: must be a multiple of 8 and at least 16 (the encoder halves it three times), got " +
                    std::to_string(s));
    if (config.style_sample.image_size != s)
        throw_usage("the style crops must have the content crops' size");
    if (config.desc.arch != "adain-decoder" || config.desc.in_channels != 512)
        throw_usage("--method adain trains an adain-decoder, not a " + config.desc.arch);
}

std::unique_ptr<TrainStep> make_adain_train_step(const TrainConfig& config, const NetModel& encoder) {
    check_adain_train_config(config);
    if (encoder.desc.arch != "adain-encoder")
        throw_input("--encoder: the model is a " + encoder.desc.arch + ", not an adain-encoder");
    return std::make_unique<AdainTrainStep>(config, encoder);
}

}  // namespace nst
