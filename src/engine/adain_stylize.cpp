// SPDX-License-Identifier: MIT
#include "engine/adain_stylize.h"

#include <algorithm>
#include <cmath>

#include "color/coral.h"
#include "core/error.h"
#include "engine/stylize.h"
#include "io/image.h"
#include "nn/adain_regions.h"
#include "nn/model_checksum.h"

namespace nst {

namespace {

// Output channels of the last convolution of a description (the encoder's feature channels).
int last_conv_channels(const NetDesc& d) {
    for (auto it = d.layers.rbegin(); it != d.layers.rend(); ++it)
        if (it->op == Op::Conv || it->op == Op::ConvTranspose) return it->channels;
    return d.in_channels;
}

Tensor<float> copy_of(ConstView<float> v) {
    Tensor<float> out(v.shape);
    std::copy(v.begin(), v.end(), out.begin());
    return out;
}

int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace

AdainPad parse_adain_pad(const std::string& name) {
    if (name == "none") return AdainPad::None;
    if (name == "reflect") return AdainPad::Reflect;
    throw_usage("--pad: expected none or reflect, got '" + name + "'");
}

cpu::AdainStats parse_adain_stats(const std::string& name) {
    if (name == "port") return cpu::AdainStats::Port;
    if (name == "official") return cpu::AdainStats::Official;
    throw_usage("--adain-stats: expected port or official, got '" + name + "'");
}

CpuAdainBackend::CpuAdainBackend(const NetModel& encoder, const NetModel& decoder)
    : m_encoder(encoder.desc, encoder.params.data()), m_decoder(decoder.desc, decoder.params.data()) {}

AdainStyleCode CpuAdainBackend::encode_style(ConstView<float> rgb, cpu::AdainStats stats) {
    const ConstView<float> f = m_encoder.forward(rgb, false);
    AdainStyleCode code{Tensor<float>(Shape{1, f.shape.c, 1, 1}), Tensor<float>(Shape{1, f.shape.c, 1, 1})};
    cpu::adain_channel_stats(code.mean.view(), code.std.view(), f, stats, cpu::AdainRole::Style);
    return code;
}

Tensor<float> CpuAdainBackend::stylize(ConstView<float> rgb, const std::vector<AdainStyleCode>& styles,
                                       const AdainMix& mix) {
    m_features = copy_of(m_encoder.forward(rgb, false));
    std::vector<cpu::AdainStyleStats> st;
    for (const AdainStyleCode& s : styles) st.push_back({s.mean.cview(), s.std.cview()});
    if (mix.regions.empty())
        cpu::adain_blend(m_features.view(), m_features.cview(), st, mix.weights, mix.alpha, mix.stats);
    else
        cpu::adain_regions(m_features.view(), m_features.cview(), mix.regions, st, mix.alpha, mix.stats);
    return copy_of(m_decoder.forward(m_features.cview(), false));
}

void check_adain_models(const NetModel& encoder, const std::string& encoder_name, const NetModel& decoder,
                        const std::string& decoder_name) {
    if (encoder.desc.arch != "adain-encoder")
        throw_input("--encoder '" + encoder_name + "' is a " + encoder.desc.arch +
                    " model; AdaIN needs an adain-encoder (nst weights convert vgg_normalised.pth)");
    const int enc_out = last_conv_channels(encoder.desc);
    if (decoder.desc.in_channels != enc_out)
        throw_input("decoder '" + decoder_name + "' takes " + std::to_string(decoder.desc.in_channels) +
                    " channels but encoder '" + encoder_name + "' gives " + std::to_string(enc_out));
    // A decoder nst trained names its frozen encoder (nn/model_checksum.h): another encoder of the
    // same shape runs but decodes features the decoder never saw, so refuse it. Converted
    // decoders carry no checksum and are checked by shape only.
    const auto it = decoder.metadata.find(kAdainEncoderChecksumKey);
    if (it != decoder.metadata.end()) {
        const std::string have = params_checksum(encoder.params);
        if (have != it->second)
            throw_input("decoder '" + decoder_name + "' was trained with the encoder " + it->second +
                        " but encoder '" + encoder_name + "' is " + have +
                        " (pass the encoder it was trained with)");
    }
}

Tensor<float> resize_smaller_side(ConstView<float> rgb, int size) {
    if (size <= 0 || std::min(rgb.shape.h, rgb.shape.w) == size) return copy_of(rgb);
    int h, w;
    target_size(rgb.shape.h, rgb.shape.w, size, SizeRule::Short, h, w);
    return resize_image(rgb, h, w);
}

void require_not_constant(ConstView<float> rgb, const std::string& what) {
    const std::size_t n = rgb.shape.plane();
    for (int c = 0; c < rgb.shape.c; ++c) {
        const float* p = rgb.data + std::size_t(c) * n;
        for (std::size_t i = 1; i < n; ++i)
            if (p[i] != p[0]) return;
    }
    throw_input(what + " is a constant image (every pixel the same colour): its features have no variance "
                       "for AdaIN to normalise or transfer");
}

std::vector<std::int32_t> mask_pixel_labels(const std::vector<Tensor<float>>& masks,
                                            const std::vector<std::string>& names, int h, int w) {
    NST_REQUIRE(masks.size() == names.size() && !masks.empty(), "mask_pixel_labels: one name per mask");
    for (std::size_t k = 0; k < masks.size(); ++k) {
        const Shape s = masks[k].shape();
        if (s.h != h || s.w != w)
            throw_input("mask '" + names[k] + "' is " + std::to_string(s.w) + "x" + std::to_string(s.h) +
                        ", the content image " + std::to_string(w) + "x" + std::to_string(h) +
                        ": masks must have the content's size");
    }
    const std::size_t n = std::size_t(h) * std::size_t(w);
    std::vector<std::int32_t> labels(n, -1);
    for (std::size_t k = 0; k < masks.size(); ++k) {
        const float* m = masks[k].data();
        for (std::size_t i = 0; i < n; ++i) {
            const double v = (double(m[i]) + double(m[n + i]) + double(m[2 * n + i])) / 3.0;
            if (v < 0.5) continue;
            if (labels[i] >= 0)
                throw_input("masks '" + names[std::size_t(labels[i])] + "' and '" + names[k] +
                            "' overlap at pixel (" + std::to_string(i % std::size_t(w)) + ", " +
                            std::to_string(i / std::size_t(w)) + "): each pixel must be in exactly one mask");
            labels[i] = std::int32_t(k);
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        if (labels[i] < 0)
            throw_input("pixel (" + std::to_string(i % std::size_t(w)) + ", " + std::to_string(i / std::size_t(w)) +
                        ") is in no mask (white, >= 0.5, marks a region): the masks must cover the whole image");
    return labels;
}

std::vector<std::int32_t> mask_feature_labels(const std::vector<std::int32_t>& labels, int h0, int w0, int h1,
                                              int w1) {
    NST_REQUIRE(labels.size() == std::size_t(h0) * std::size_t(w0), "mask_feature_labels: label count");
    const int fh = ceil_div(h1, kAdainMultiple), fw = ceil_div(w1, kAdainMultiple);
    auto back = [](int v, int from, int to) { return std::min(to - 1, int(std::floor((v + 0.5) * to / from))); };
    std::vector<std::int32_t> out(std::size_t(fh) * std::size_t(fw));
    for (int i = 0; i < fh; ++i) {
        const int y = back(std::min(kAdainMultiple * i + kAdainMultiple / 2, h1 - 1), h1, h0);
        for (int j = 0; j < fw; ++j) {
            const int x = back(std::min(kAdainMultiple * j + kAdainMultiple / 2, w1 - 1), w1, w0);
            out[std::size_t(i) * std::size_t(fw) + std::size_t(j)] = labels[std::size_t(y) * std::size_t(w0) + std::size_t(x)];
        }
    }
    return out;
}

void check_adain_settings(const AdainSettings& s, std::size_t styles, bool with_masks) {
    if (!(s.alpha >= 0 && s.alpha <= 1)) throw_usage("--alpha: must be in [0, 1], got " + std::to_string(s.alpha));
    if (s.content_size < 0 || s.style_size < 0)
        throw_usage("--content-size / --style-size: must be >= 0 (0 keeps the size)");
    if (with_masks && !s.weights.empty())
        throw_usage("--style-weights and --masks exclude each other: with masks each style has its region");
    if (!s.weights.empty() && s.weights.size() != styles)
        throw_usage("--style-weights: " + std::to_string(s.weights.size()) + " weight(s) for " +
                    std::to_string(styles) + " style image(s)");
    for (double w : s.weights)
        if (!(std::isfinite(w) && w > 0))
            throw_usage("--style-weights: each weight must be finite and > 0, got " + std::to_string(w));
}

AdainStylizer::AdainStylizer(AdainBackend& backend, AdainSettings settings, std::vector<Tensor<float>> styles,
                             std::vector<std::string> style_names, bool with_masks)
    : m_backend(backend), m_settings(std::move(settings)), m_names(std::move(style_names)), m_masks(with_masks) {
    NST_REQUIRE(styles.size() == m_names.size() && !styles.empty(), "AdainStylizer: one name per style");
    check_adain_settings(m_settings, styles.size(), m_masks);
    m_weights = cpu::adain_normalised_weights(m_settings.weights.empty() ? std::vector<double>(styles.size(), 1.0)
                                                                         : m_settings.weights);
    for (std::size_t k = 0; k < styles.size(); ++k) {
        require_not_constant(styles[k].cview(), "style image '" + m_names[k] + "'");
        m_styles.push_back(resize_smaller_side(styles[k].cview(), m_settings.style_size));
        if (!m_settings.preserve_color) m_codes.push_back(m_backend.encode_style(m_styles.back().cview(), m_settings.stats));
    }
}

Tensor<float> AdainStylizer::run(ConstView<float> content_in, const std::string& content_name,
                                 const std::vector<Tensor<float>>& masks, const std::vector<std::string>& mask_names) {
    NST_REQUIRE(content_in.shape.n == 1 && content_in.shape.c == 3, "AdaIN stylize takes one RGB image");
    NST_REQUIRE(m_masks == !masks.empty(), "AdainStylizer: masks given to a stylizer made without, or missing");
    require_not_constant(content_in, "content image '" + content_name + "'");
    AdainMix mix;
    mix.alpha = m_settings.alpha;
    mix.stats = m_settings.stats;
    mix.weights = m_weights;
    const Tensor<float> content = resize_smaller_side(content_in, m_settings.content_size);
    const int h = content.shape().h, w = content.shape().w;
    if (m_masks) {
        if (masks.size() != m_styles.size())
            throw_usage("--masks: " + std::to_string(masks.size()) + " mask(s) for " +
                        std::to_string(m_styles.size()) + " style image(s); one mask per style");
        const std::vector<std::int32_t> px =
            mask_pixel_labels(masks, mask_names, content_in.shape.h, content_in.shape.w);
        mix.regions = mask_feature_labels(px, content_in.shape.h, content_in.shape.w, h, w);
        cpu::check_region_counts(cpu::region_pixel_counts(mix.regions, int(m_styles.size())), mix.stats);
    }
    std::vector<AdainStyleCode> recoloured;
    if (m_settings.preserve_color)
        for (std::size_t k = 0; k < m_styles.size(); ++k) {
            const Tensor<float> s = color::coral(m_styles[k].cview(), content.cview(), "style image '" + m_names[k] + "'",
                                                 "content image '" + content_name + "'");
            recoloured.push_back(m_backend.encode_style(s.cview(), m_settings.stats));
        }
    const std::vector<AdainStyleCode>& codes = m_settings.preserve_color ? recoloured : m_codes;
    Tensor<float> out_full;
    if (m_settings.pad == AdainPad::Reflect) {
        const Tensor<float> padded = reflect_pad_to_multiple(content.cview(), kAdainMultiple);
        out_full = m_backend.stylize(padded.cview(), codes, mix);
    } else {
        out_full = m_backend.stylize(content.cview(), codes, mix);
    }
    if (out_full.shape().c != 3 || out_full.shape().h < h || out_full.shape().w < w)
        throw_input("the decoder's output " + out_full.shape().str() + " does not cover the " + std::to_string(w) +
                    "x" + std::to_string(h) + " content");
    Tensor<float> out = crop_top_left(out_full.cview(), h, w);
    for (auto& v : out) v = std::clamp(v, 0.f, 1.f);
    return out;
}

}  // namespace nst
