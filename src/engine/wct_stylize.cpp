// SPDX-License-Identifier: MIT
#include "engine/wct_stylize.h"

#include <algorithm>
#include <set>
#include <string>

#include "core/error.h"
#include "engine/stylize.h"
#include "nn/adain_net.h"

namespace nst {

namespace {

void check_level(int level) {
    if (level < 1 || level > kWctLevels)
        throw_usage("WCT: level " + std::to_string(level) + " is not in 1.." + std::to_string(kWctLevels));
}

// The decoder's description must be the level's mirror (for level 4 the AdaIN decoder is one).
bool decoder_fits(const NetDesc& d, int level) {
    NetDesc want = wct_decoder_desc(level);
    if (d.arch != "wct-decoder" && !(level == 4 && d.arch == "adain-decoder")) return false;
    if (d.in_channels != want.in_channels || d.layers.size() != want.layers.size()) return false;
    for (std::size_t i = 0; i < d.layers.size(); ++i)
        if (d.layers[i].op != want.layers[i].op || d.layers[i].channels != want.layers[i].channels) return false;
    return true;
}

}  // namespace

void check_wct_models(const WctModels& models, const std::vector<int>& levels) {
    NST_REQUIRE(models.encoder != nullptr, "check_wct_models: no encoder");
    if (levels.empty()) throw_usage("WCT: no levels");
    std::set<int> seen;
    for (int level : levels) {
        check_level(level);
        if (!seen.insert(level).second) throw_usage("WCT: level " + std::to_string(level) + " is given twice");
    }
    const int deepest = encoder_levels(models.encoder->desc, models.encoder_name);
    for (int level : levels) {
        if (level > deepest)
            throw_input(models.encoder_name + ": the " + models.encoder->desc.arch + " encoder reaches relu" +
                        std::to_string(deepest) + "_1, level " + std::to_string(level) +
                        " needs relu" + std::to_string(level) + "_1 (convert vgg_normalised.pth with --arch "
                        "vgg-normalised)");
        const NetModel* d = models.decoders[level];
        if (!d) throw_input("WCT: no decoder for level " + std::to_string(level) + " (relu" + std::to_string(level) + "_1)");
        const std::string& name = models.decoder_names[level];
        if (d->desc.in_channels != level_channels(level))
            throw_input(name + ": the decoder takes " + std::to_string(d->desc.in_channels) + " channels, the " +
                        "encoder's relu" + std::to_string(level) + "_1 gives " + std::to_string(level_channels(level)));
        if (!decoder_fits(d->desc, level)) {
            auto l = d->metadata.find("nst.level");
            throw_input(name + ": a " + d->desc.arch +
                        (l != d->metadata.end() ? " of level " + l->second : std::string()) +
                        " is not the decoder of level " + std::to_string(level));
        }
    }
}

CpuWctBackend::CpuWctBackend(const WctModels& models) : m_models(models) {}
CpuWctBackend::~CpuWctBackend() = default;

cpu::Network<float>& CpuWctBackend::encoder(int level) {
    auto& net = m_encoders[level];
    // The prefix's parameters are the first values of the encoder's (layout order is layer order).
    if (!net) net = std::make_unique<cpu::Network<float>>(encoder_prefix(m_models.encoder->desc, level),
                                                          m_models.encoder->params.data());
    return *net;
}

cpu::Network<float>& CpuWctBackend::decoder(int level) {
    auto& net = m_decoders[level];
    NST_REQUIRE(m_models.decoders[level] != nullptr, "CpuWctBackend: no decoder for the level");
    if (!net)
        net = std::make_unique<cpu::Network<float>>(m_models.decoders[level]->desc,
                                                    m_models.decoders[level]->params.data());
    return *net;
}

WctMoments CpuWctBackend::style_moments(ConstView<float> rgb, int level) {
    return cpu::wct_moments(encoder(level).forward(rgb, false), 0);
}

Tensor<float> CpuWctBackend::run_level(ConstView<float> rgb, int level, const std::vector<WctMoments>& styles,
                                       const std::vector<double>& weights, double alpha, const WctOptions& options) {
    const ConstView<float> f = encoder(level).forward(rgb, false);
    Tensor<float> t(f.shape);
    cpu::wct_forward(t.view(), f, styles, weights, alpha, options);
    const ConstView<float> y = decoder(level).forward(t.cview(), false);
    Tensor<float> out(y.shape);
    std::copy(y.begin(), y.end(), out.data());
    return out;
}

Tensor<float> wct_stylize(WctBackend& backend, ConstView<float> content, const std::vector<Tensor<float>>& styles,
                          const WctSettings& settings) {
    NST_REQUIRE(content.shape.n == 1 && content.shape.c == 3, "wct_stylize: content " + content.shape.str());
    if (!(settings.alpha >= 0 && settings.alpha <= 1))
        throw_usage("WCT: alpha must be in [0, 1], got " + std::to_string(settings.alpha));
    if (styles.empty()) throw_usage("WCT: no style image");
    std::vector<double> weights = settings.weights;
    if (weights.empty()) weights.assign(styles.size(), 1.0);
    if (weights.size() != styles.size())
        throw_usage("WCT: " + std::to_string(weights.size()) + " style weights for " + std::to_string(styles.size()) +
                    " style images");
    for (int level : settings.levels) check_level(level);
    const int h = content.shape.h, w = content.shape.w;
    Tensor<float> x(content.shape);
    std::copy(content.begin(), content.end(), x.data());
    for (int level : settings.levels) {
        std::vector<WctMoments> codes;
        for (const Tensor<float>& s : styles) codes.push_back(backend.style_moments(s.cview(), level));
        const Tensor<float> y = backend.run_level(x.cview(), level, codes, weights, settings.alpha, settings.wct);
        NST_REQUIRE(y.shape().h >= h && y.shape().w >= w, "wct_stylize: decoder output smaller than the input");
        x = crop_top_left(y.cview(), h, w);
    }
    if (settings.clamp)
        for (std::size_t i = 0; i < x.numel(); ++i) x.data()[i] = std::clamp(x.data()[i], 0.f, 1.f);
    return x;
}

}  // namespace nst
