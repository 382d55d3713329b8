// SPDX-License-Identifier: MIT
// Universal style transfer by WCT (Li et al. 2017; research/feedforward.md §6; nn/wct.h for the
// transform): for each level L in the order given (the paper's coarse-to-fine 5, 4, 3, 2, 1 by
// default), the current image x is encoded to reluL_1, its features whitened and coloured toward
// the styles' (encoded from the original style images at the same level), and decoded by the
// level's decoder; the decoded image is the next level's input. The first level's input is the
// content. Single-level WCT at relu4_1 with the AdaIN decoder is the case levels = {4}.
//
// Sizes: every level runs at the content's size; a decoder's output (2^(L-1) ceil(H / 2^(L-1))
// rows, from the ceil-mode pools) is cropped to its top-left H x W before the next level, as the
// port's AdaIN output (engine/adain_stylize.h's AdainPad::None). Between levels the image is not
// clamped (the official code passes the decoder's output on as is); the result is clamped to
// [0, 1].
//
// The backend seam (WctBackend) takes whole images, so the CUDA backend keeps the features on the
// device; the level loop, checks and cropping are shared.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/net_model.h"
#include "nn/network.h"
#include "nn/wct.h"
#include "nn/wct_net.h"

namespace nst {

struct WctSettings {
    std::vector<int> levels{5, 4, 3, 2, 1};  // in the order run
    double alpha = 0.6;                      // test_wct.lua's -alpha default
    std::vector<double> weights;             // one per style, normalised; empty = equal
    WctOptions wct;
    bool clamp = true;  // clamp the result to [0, 1] (off: the last decoder's values, e.g. for .npy)
};

class WctBackend {
public:
    virtual ~WctBackend() = default;
    // rgb (1, 3, H, W) in [0, 1] -> the moments of its level-L features.
    virtual WctMoments style_moments(ConstView<float> rgb, int level) = 0;
    // rgb (1, 3, H, W) -> decoder_L(WCT(encoder_L(rgb), styles)) (1, 3, H', W') on the host.
    virtual Tensor<float> run_level(ConstView<float> rgb, int level, const std::vector<WctMoments>& styles,
                                    const std::vector<double>& weights, double alpha, const WctOptions& options) = 0;
};

// The models of a WCT run: the encoder and one decoder per level used.
struct WctModels {
    const NetModel* encoder = nullptr;
    std::string encoder_name;
    const NetModel* decoders[kWctLevels + 1] = {};  // by level (index 0 unused); null = none
    std::string decoder_names[kWctLevels + 1];
};

// Input errors (naming the files) unless: the encoder is an adain-encoder or vgg-normalised model
// reaching every level in `levels`, each level has a decoder, and each decoder is a wct-decoder of
// that level (or, for level 4, an adain-decoder) taking the encoder's channels there. Usage errors
// for levels outside 1..5 or repeated.
void check_wct_models(const WctModels& models, const std::vector<int>& levels);

// Encoder prefixes and decoders on the CPU (cpu::Network), built on first use of a level.
class CpuWctBackend final : public WctBackend {
public:
    explicit CpuWctBackend(const WctModels& models);
    ~CpuWctBackend() override;
    WctMoments style_moments(ConstView<float> rgb, int level) override;
    Tensor<float> run_level(ConstView<float> rgb, int level, const std::vector<WctMoments>& styles,
                            const std::vector<double>& weights, double alpha, const WctOptions& options) override;

private:
    cpu::Network<float>& encoder(int level);
    cpu::Network<float>& decoder(int level);
    WctModels m_models;
    std::unique_ptr<cpu::Network<float>> m_encoders[kWctLevels + 1], m_decoders[kWctLevels + 1];
};

// content (1, 3, H, W) and styles (1, 3, H_k, W_k), RGB in [0, 1] -> the stylised image
// (1, 3, H, W), clamped to [0, 1] unless settings.clamp is off. Usage errors for alpha outside [0, 1] and bad weights (count,
// sign, all zero); input errors for images too small for the deepest level.
Tensor<float> wct_stylize(WctBackend& backend, ConstView<float> content, const std::vector<Tensor<float>>& styles,
                          const WctSettings& settings);

}  // namespace nst
