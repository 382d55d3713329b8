// SPDX-License-Identifier: MIT
#include "engine/wct_train_step.h"

#include <string>

#include "core/error.h"
#include "engine/frozen_encoder.h"
#include "engine/wct_decoder_loss.h"
#include "nn/wct_net.h"

namespace nst {

namespace {

class WctTrainStep final : public DecoderTrainStep<TrainedDecoder<float>> {
public:
    WctTrainStep(const TrainConfig& c, const NetModel& encoder)
        : m_config(c),
          // The prefix's parameters are the first of the encoder's (layout order is layer order).
          m_encoder(encoder_prefix(encoder.desc, c.wct.level), encoder.params.data()),
          m_decoder(c.desc, init_params(c.desc, c.sample.seed), c.learning_rate) {}

    LossTerms evaluate(const TrainBatch& batch) override {
        m_decoder.zero_grads();
        const WctDecoderLoss l =
            wct_decoder_loss<float>(m_encoder, m_decoder.net(), batch.content, m_config.wct.feature_weight,
                                    m_decoder.grads());
        // Both reconstruction terms are reported as "content" terms: pixel, then feature.
        LossTerms terms;
        terms.content = {l.pixel, l.feature};
        terms.total = l.pixel + l.feature;
        return terms;
    }


    std::size_t host_bytes(int) const override {
        const int s = m_config.sample.image_size, b = m_config.batch_size;
        const int scale = 1 << (m_config.wct.level - 1);
        const Shape f{b, level_channels(m_config.wct.level), s / scale, s / scale};
        // The decoder's activations for backward, the encoder's for its backward pass (a bound:
        // 64 channels at full size per layer kept), the batch-sized temporaries; parameters,
        // gradients and Adam's moments.
        std::size_t bytes = const_cast<TrainedDecoder<float>&>(m_decoder).net().buffer_bytes(f, true);
        bytes += const_cast<cpu::Network<float>&>(m_encoder).buffer_bytes(Shape{b, 3, s, s}, true);
        bytes += std::size_t(b) * 3 * s * s * sizeof(float) * 4 + f.numel() * sizeof(float) * 3;
        bytes += 4 * m_decoder.param_count() * sizeof(float);
        return bytes;
    }

private:
    TrainedDecoder<float>& decoder() override { return m_decoder; }

    TrainConfig m_config;
    cpu::Network<float> m_encoder;
    TrainedDecoder<float> m_decoder;
};

}  // namespace

NetModel random_vgg_normalised(std::uint64_t seed) { return random_frozen_encoder(vgg_normalised_desc(), seed); }

void check_wct_train_config(const TrainConfig& config) {
    check_train_config(config);
    const int level = config.wct.level;
    if (level < 1 || level > kWctLevels)
        throw_usage("--level: must be 1 to " + std::to_string(kWctLevels) + ", got " + std::to_string(level));
    const int s = config.sample.image_size, scale = 1 << (level - 1);
    if (s % scale != 0 || s < 2 * scale)
        throw_usage("--image-size: level " + std::to_string(level) + " needs a multiple of " + std::to_string(scale) +
                    " and at least " + std::to_string(2 * scale) + " (the encoder halves it " +
                    std::to_string(level - 1) + " times), got " + std::to_string(s));
    if (!(config.wct.feature_weight >= 0) || !std::isfinite(config.wct.feature_weight))
        throw_usage("--feature-weight: must be a finite number >= 0");
    const NetDesc want = wct_decoder_desc(level);
    if (config.desc.arch != want.arch || config.desc.in_channels != want.in_channels ||
        config.desc.layers.size() != want.layers.size())
        throw_usage("--method wct-decoder --level " + std::to_string(level) + " trains the level's wct-decoder, not a " +
                    config.desc.arch);
}

std::unique_ptr<TrainStep> make_wct_train_step(const TrainConfig& config, const NetModel& encoder) {
    check_wct_train_config(config);
    const int deepest = encoder_levels(encoder.desc, "--encoder");
    if (config.wct.level > deepest)
        throw_input("--encoder: the " + encoder.desc.arch + " model reaches relu" + std::to_string(deepest) +
                    "_1, --level " + std::to_string(config.wct.level) + " needs relu" +
                    std::to_string(config.wct.level) + "_1 (convert vgg_normalised.pth with --arch vgg-normalised)");
    return std::make_unique<WctTrainStep>(config, encoder);
}

}  // namespace nst
