// SPDX-License-Identifier: MIT
// VGG19 convolution weights (spec §3): loaded from safetensors or made by random[:SEED].
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "nn/vgg19_layers.h"

namespace nst {

// How images are mapped into the network's input space (spec §4).
enum class PreprocessKind { Caffe, Torchvision };

struct ConvParams {
    Tensor<float> weight;  // (O, I, 3, 3)
    Tensor<float> bias;    // (1, O, 1, 1)
};

struct Vgg19Weights {
    std::array<ConvParams, kNumConvs> conv;
    PreprocessKind preprocess = PreprocessKind::Caffe;
    bool normalized = false;
    bool random = false;         // made by random[:SEED]: not the pretrained network
    std::uint64_t seed = 0;      // for random weights
    std::string source;          // nst.source metadata, or "random:SEED"
    std::string path;            // file it came from ("" for random)
};

// `spec` is a safetensors path or "random" / "random:SEED". Throws nst::Error:
// Input (3) for a missing, unreadable, truncated or invalid file (the message names the tensor
// and, for a missing file, how to fetch weights or use random), Usage (2) for a bad random seed.
Vgg19Weights load_weights(const std::string& spec);

// He-normal weights (std = sqrt(2 / (O*3*3)), torchvision's VGG init), zero biases, caffe
// preprocessing. Element j of conv k's weight is sqrt(2/(O*9)) * rng::normal(seed, kStreamWeights + k, j).
Vgg19Weights random_weights(std::uint64_t seed);

// Reads a safetensors file with canonical (conv1_1.weight) or torchvision (features.N.weight) names.
// Canonical names win when a file has both; other tensors (classifier.*, pre_logits.*, fc*) are
// ignored and not read. F16, BF16 and F64 tensors are converted to float32.
Vgg19Weights load_safetensors_weights(const std::string& path);

// Writes canonical names, F32, with metadata nst.preprocess, nst.normalized and nst.source, so that
// load_safetensors_weights gives the same weights back. Atomic.
void save_weights_safetensors(const std::string& path, const Vgg19Weights& weights);

// "caffe" / "torchvision", the nst.preprocess metadata values.
const char* preprocess_name(PreprocessKind kind);

// Identifies the loaded weights in run records: "fnv1a64:<16 hex digits>", FNV-1a 64 over the
// float32 little-endian bytes of conv1_1.weight, conv1_1.bias, conv1_2.weight, ..., conv5_4.bias
// in that order. It hashes values, not the file, so the same weights give the same checksum
// whatever their names, tensor order, metadata or source dtype were (an F16 file hashes its
// float32 conversion). Host tensors only.
std::string weights_checksum(const Vgg19Weights& weights);

}  // namespace nst
