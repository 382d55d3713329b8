// SPDX-License-Identifier: MIT
// VGG19 / VGG16 convolution weights (spec §3): loaded from safetensors or made by
// random[:SEED] / random16[:SEED]. The weights say which network they are (arch); the nets and
// the layer names follow them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/vgg19_layers.h"

namespace nst {

// How images are mapped into the network's input space (spec §4).
enum class PreprocessKind { Caffe, Torchvision };

struct ConvParams {
    Tensor<float> weight;  // (O, I, 3, 3)
    Tensor<float> bias;    // (1, O, 1, 1)
};

struct VggWeights {
    VggArch arch = VggArch::Vgg19;
    // One per conv of arch, in table order (conv1_1, conv1_2, conv2_1, ...). A default-made
    // VggWeights is VGG19's 16 empty convs, for the caller to fill.
    std::vector<ConvParams> conv = std::vector<ConvParams>(kNumConvs);
    PreprocessKind preprocess = PreprocessKind::Caffe;
    bool normalized = false;
    bool random = false;         // made by random[:SEED]: not the pretrained network
    std::uint64_t seed = 0;      // for random weights
    std::string source;          // nst.source metadata, or "random:SEED"
    std::string path;            // file it came from ("" for random)

    int num_convs() const { return int(conv.size()); }
};
// The name from before VGG16: every VggWeights, VGG19 by default.
using Vgg19Weights = VggWeights;

// `spec` is a safetensors path, "random" / "random:SEED" (VGG19) or "random16" / "random16:SEED"
// (VGG16). Throws nst::Error:
// Input (3) for a missing, unreadable, truncated or invalid file (the message names the tensor
// and, for a missing file, how to fetch weights or use random), Usage (2) for a bad random seed.
VggWeights load_weights(const std::string& spec);

// He-normal weights (std = sqrt(2 / (O*3*3)), torchvision's VGG init), zero biases, caffe
// preprocessing. Element j of conv k's weight is sqrt(2/(O*9)) * rng::normal(seed, kStreamWeights + k, j),
// k counting the convs of `arch` (so VGG16's conv3_3 is stream kStreamWeights + 6, as VGG19's).
VggWeights random_weights(std::uint64_t seed, VggArch arch = VggArch::Vgg19);

// Reads a safetensors file with canonical (conv1_1.weight) or torchvision (features.N.weight) names.
// Canonical names win when a file has both; other tensors (classifier.*, pre_logits.*, fc*) are
// ignored and not read. F16, BF16 and F64 tensors are converted to float32. The architecture is
// metadata nst.arch (vgg19 / vgg16) when present; otherwise VGG16 when the file has none of
// VGG19's own tensors (conv3_4, conv4_4, conv5_4; features.16, .23, .25, .30, .32, .34) and one
// that says VGG16 (canonical conv5_3; torchvision features.17, .24, .26); otherwise VGG19.
VggWeights load_safetensors_weights(const std::string& path);

// Writes canonical names, F32, with metadata nst.arch, nst.preprocess, nst.normalized and
// nst.source, so that load_safetensors_weights gives the same weights back. Atomic.
void save_weights_safetensors(const std::string& path, const VggWeights& weights);

// Throws an input error (exit 3) "<VGG16|VGG19> weights: ..." when the weights do not have their
// architecture's conv count and shapes; both backends' nets check this before using them.
void check_vgg_weights(const VggWeights& weights);

// "caffe" / "torchvision", the nst.preprocess metadata values.
const char* preprocess_name(PreprocessKind kind);

// Identifies the loaded weights in run records: "fnv1a64:<16 hex digits>", FNV-1a 64 over the
// float32 little-endian bytes of conv1_1.weight, conv1_1.bias, conv1_2.weight, ..., conv5_4.bias
// (VGG16: ..., conv5_3.bias) in that order. It hashes values, not the file, so the same weights give the same checksum
// whatever their names, tensor order, metadata or source dtype were (an F16 file hashes its
// float32 conversion). Host tensors only.
std::string weights_checksum(const VggWeights& weights);

}  // namespace nst
