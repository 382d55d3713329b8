// SPDX-License-Identifier: MIT
// Arbitrary style transfer with AdaIN (Huang & Belongie 2017; issue #13): encode the content and
// each style with the fixed encoder (adain-encoder, RGB [0, 1] -> relu4_1), AdaIN the content
// features toward the styles' channel statistics, decode (adain-decoder). The paper's test-time
// controls (research/feedforward.md §5.1-§5.3), as naoto0804/pytorch-AdaIN's test.py computes
// them unless noted:
//   alpha       t = (1 - alpha) f(c) + alpha AdaIN(...), alpha in [0, 1];
//   weights     AdaIN(...) = sum_k w_k AdaIN(f(c), f(s_k)), w normalised to sum 1;
//   masks       one style per region: the official test.lua's spatial control, generalised to K
//               masks (nn/adain_regions.h; mask_feature_labels below says how pixels map);
//   coral       --preserve-color: each style recoloured toward the content (color/coral.h) before
//               it is encoded;
//   statistics  Port (default) or Official (nn/adain.h).
// Sizes: the content and styles are first resized so that their smaller side is content_size /
// style_size (0 keeps the size). The content then runs at its own size, as the port runs it (the
// encoder's three ceil-mode pools give a ceil(H/8) x ceil(W/8) map, the decoder 8 ceil(H/8) x
// 8 ceil(W/8) pixels: up to 7 more than the input, which the port writes out), and the output is
// the decoder's top-left H x W: the port's output cropped, for every size (AdainPad::None).
// AdainPad::Reflect instead reflection-pads the content at the bottom and right to a multiple of 8
// first (as nst stylize does for TransformerNet): the last partial pooling windows then see
// mirrored pixels, which changes the content statistics slightly; at multiples of 8 both are the
// port's computation exactly. Styles are never padded (their statistics are the port's at any
// size).
//
// The backend seam (AdainBackend) takes whole images and returns the decoder's output, so the CUDA
// backend keeps the features on the device; all the host-side logic (resizing, colour
// preservation, masks, checks, cropping) is shared.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/adain.h"
#include "nn/net_model.h"
#include "nn/network.h"

namespace nst {

constexpr int kAdainMultiple = 8;  // three 2x2 stride-2 pools

enum class AdainPad { None, Reflect };
AdainPad parse_adain_pad(const std::string& name);        // "none" | "reflect"; usage error
cpu::AdainStats parse_adain_stats(const std::string& name);  // "port" | "official"; usage error

struct AdainSettings {
    double alpha = 1.0;
    std::vector<double> weights;  // one per style, normalised here; empty = equal. Not with masks.
    cpu::AdainStats stats = cpu::AdainStats::Port;
    bool preserve_color = false;
    int content_size = 0;  // smaller side after resizing; 0 = as loaded
    int style_size = 512;  // the port's default
    AdainPad pad = AdainPad::None;
};

// A style's target statistics (nn/adain.h, role Style), on the host.
struct AdainStyleCode {
    Tensor<float> mean;  // (1, C, 1, 1)
    Tensor<float> std;   // (1, C, 1, 1)
};

// How the content features become the decoder's input: a weighted blend of every style over the
// whole map (regions empty), or style k on the pixels labelled k.
struct AdainMix {
    std::vector<double> weights;         // normalised, one per style (blend only)
    std::vector<std::int32_t> regions;   // feature-map labels, row-major; empty = blend
    double alpha = 1.0;
    cpu::AdainStats stats = cpu::AdainStats::Port;
};

class AdainBackend {
public:
    virtual ~AdainBackend() = default;
    // rgb (1, 3, H, W) in [0, 1] -> the style's statistics of its encoder features.
    virtual AdainStyleCode encode_style(ConstView<float> rgb, cpu::AdainStats stats) = 0;
    // rgb (1, 3, H, W) in [0, 1] -> the decoder's output (1, 3, H', W') on the host, unclamped.
    virtual Tensor<float> stylize(ConstView<float> rgb, const std::vector<AdainStyleCode>& styles,
                                  const AdainMix& mix) = 0;
};

// Encoder and decoder on the CPU (cpu::Network).
class CpuAdainBackend final : public AdainBackend {
public:
    CpuAdainBackend(const NetModel& encoder, const NetModel& decoder);
    AdainStyleCode encode_style(ConstView<float> rgb, cpu::AdainStats stats) override;
    Tensor<float> stylize(ConstView<float> rgb, const std::vector<AdainStyleCode>& styles,
                          const AdainMix& mix) override;

    // The mixed features of the last stylize() (the decoder's input), for tests.
    const Tensor<float>& last_features() const { return m_features; }

private:
    cpu::Network<float> m_encoder, m_decoder;
    Tensor<float> m_features;
};

// Throws an input error unless `encoder` is an adain-encoder and the decoder's input channels
// equal the encoder's output channels (the message names both files), and, for a decoder that
// records its encoder's checksum (nst train --method adain), unless that is this encoder's.
void check_adain_models(const NetModel& encoder, const std::string& encoder_name, const NetModel& decoder,
                        const std::string& decoder_name);

// rgb resized so that its smaller side is `size` (aspect kept, io/image.h's antialiased resize);
// 0 or the current size returns a copy.
Tensor<float> resize_smaller_side(ConstView<float> rgb, int size);  // (1, 3, H, W)

// Input error when every pixel of rgb has the same colour: its features would have no variance
// anywhere (AdaIN has nothing to normalise / transfer). `what` names the image.
void require_not_constant(ConstView<float> rgb, const std::string& what);

// Masks (each (1, 3, H, W), the content's size as loaded) -> one label per pixel: the index of the
// mask whose mean over R, G, B is >= 0.5 there. Input errors, naming the mask: a size other than
// the content's, a pixel in no mask, a pixel in two masks.
std::vector<std::int32_t> mask_pixel_labels(const std::vector<Tensor<float>>& masks,
                                            const std::vector<std::string>& names, int h, int w);

// The labels on the encoder's feature map of a content image that was h0 x w0 when the masks were
// read and h1 x w1 when encoded: feature pixel (i, j) takes the label of the content pixel
// (min(8i + 4, h1 - 1), min(8j + 4, w1 - 1)) -- the centre of its 8 x 8 block, or the last row /
// column when that block is partial -- mapped back to the h0 x w0 grid by nearest neighbour
// (floor((y + 0.5) h0 / h1)). Result: ceil(h1/8) x ceil(w1/8), row-major.
std::vector<std::int32_t> mask_feature_labels(const std::vector<std::int32_t>& labels, int h0, int w0, int h1,
                                              int w1);

// Usage errors (exit 2) for settings that cannot run with `styles` style images: alpha outside
// [0, 1], negative sizes, weights with masks, a weight count other than the style count, a weight
// that is not finite and > 0.
void check_adain_settings(const AdainSettings& settings, std::size_t styles, bool with_masks);

// The host-side pipeline around a backend: styles prepared (resized, encoded) once, then any
// number of contents.
class AdainStylizer {
public:
    // styles: (1, 3, H_k, W_k) in [0, 1] as loaded; names for messages. Usage errors as
    // check_adain_settings, input errors for constant styles.
    AdainStylizer(AdainBackend& backend, AdainSettings settings, std::vector<Tensor<float>> styles,
                  std::vector<std::string> style_names, bool with_masks);

    // content (1, 3, H, W) in [0, 1] -> the stylised image (1, 3, H', W') in [0, 1] (clamped), H' x W'
    // the content's size after content_size. masks: empty, or one per style (mask_pixel_labels).
    Tensor<float> run(ConstView<float> content, const std::string& content_name,
                      const std::vector<Tensor<float>>& masks = {}, const std::vector<std::string>& mask_names = {});

private:
    AdainBackend& m_backend;
    AdainSettings m_settings;
    std::vector<Tensor<float>> m_styles;  // resized
    std::vector<std::string> m_names;
    std::vector<AdainStyleCode> m_codes;  // encoded once unless preserve_color
    std::vector<double> m_weights;        // normalised
    bool m_masks;
};

}  // namespace nst
