// SPDX-License-Identifier: MIT
// Gatys's weight normalisation (docs/paper.md §2.2): rescale every conv filter so that its mean
// post-ReLU activation over a set of images and all positions is 1, compensating in the next
// layer so that the network computes the same function up to a known positive per-filter scale.
//
// One forward pass of the ORIGINAL network over the images gives mu_i^l, the mean of filter i's
// post-ReLU activation in conv layer l, pooled over every position of every image. With
// s_i^l = mu_i^l (or 1 for a dead filter, mu <= kDeadMean) and s_c^0 = 1 for the input channels:
//     W'^l[i, c] = W^l[i, c] * s_c^{l-1} / s_i^l,    b'^l[i] = b^l[i] / s_i^l.
// ReLU, max and average pooling are positively homogeneous, so every activation of the new net
// is exactly a'^l_i = a^l_i / s_i^l (conv and relu layers; pools carry the previous scales):
// the reported scale of filter i is 1 / s_i^l, and each live filter's mean over the same
// images, sizes and pooling is 1.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "io/image.h"
#include "nn/vgg19_layers.h"
#include "nn/weights.h"

namespace nst::convert {

// A filter whose mean activation is at most this is dead: left unscaled and reported.
constexpr double kDeadMean = 1e-12;

struct NormalizeOptions {
    std::string images_dir;
    int image_size = 256;  // by size_rule; 0 = each image's own size
    SizeRule size_rule = SizeRule::Max;
    Pooling pooling = Pooling::Avg;
    float caffe_scale = 255.f;  // S of spec §4 for caffe-preprocessed weights (Gatys: 255)
};

struct Normalized {
    Vgg19Weights weights;                               // normalized = true
    std::array<std::vector<double>, kNumConvs> mean;    // mu per filter, original net
    std::array<std::vector<double>, kNumConvs> scale;   // new activation = original * scale
    std::array<int, kNumConvs> dead{};                  // filters left unscaled
    std::vector<std::string> images;                    // the files used, in order
    long long positions[kNumConvs] = {};                // positions averaged over, per layer
};

// PNG/JPEG files directly in dir (not recursive), sorted by name. Throws nst::Error(Input) when
// the directory is missing or holds none.
std::vector<std::string> list_images(const std::string& dir);

// Throws nst::Error(Input) for unreadable or too-small images (each side >= 16 px after resizing).
Normalized normalize_weights(const Vgg19Weights& in, const NormalizeOptions& options);

// {"conv1_1": [s_0, s_1, ...], ...}: the per-filter scales, for nst.normalization_scales.
std::string scales_json(const Normalized& n);
// Images, size, rule, pooling and dead filters, for nst.normalization.
std::string settings_json(const Normalized& n, const NormalizeOptions& options);

}  // namespace nst::convert
