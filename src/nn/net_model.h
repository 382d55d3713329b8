// SPDX-License-Identifier: MIT
// A model: a NetDesc with its parameters and what the file says about them. nst's model files
// are safetensors: one F32 tensor per ParamInfo (its name and shape), and metadata
//   nst.kind = "model", nst.arch (transformer_net.h's arch names, or adain_net.h's
//   "adain-encoder" / "adain-decoder", wct_net.h's "vgg-normalised" / "wct-decoder"; the
//   description is rebuilt from it and nst.width, and for wct-decoder nst.level, which
//   save_model writes),
//   nst.width, nst.io ("rgb255": RGB in [0, 255] in and out, "caffe-bgr": BGR minus the caffe
//   mean, jcjohnson's, or "rgb01": RGB in [0, 1], AdaIN's encoder input and decoder output),
//   nst.source (where it came from),
//   and for trained models nst.train.* (the options that made it).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nn/net_desc.h"

namespace nst {

struct NetModel {
    NetDesc desc;
    std::vector<float> params;                   // param_count(desc) values, layout order
    std::map<std::string, std::string> metadata; // nst.* keys above
};

// The description named by metadata (nst.arch, nst.width). Throws an input error (exit 3) for an
// unknown architecture, naming the ones nst knows.
NetDesc desc_from_metadata(const std::map<std::string, std::string>& metadata, const std::string& where);

// Reads an nst model file. Throws an input error (exit 3) naming the file for: a missing or
// unreadable file, no nst.kind=model metadata (e.g. VGG weights given as a model: the message
// says so), a missing tensor, a tensor of the wrong shape, an unexpected tensor.
NetModel load_model(const std::string& path);

// Writes the model atomically (nothing is clobbered on failure); metadata as given, plus nst.kind
// and nst.arch from desc.
void save_model(const std::string& path, const NetModel& model);

// A parameter's shape in model files and torch state_dicts: conv and transposed-conv weights 4-D
// as ParamInfo has them, every other tensor (biases, InstanceNorm weights) a vector.
std::vector<std::int64_t> param_file_shape(const NetDesc& desc, const ParamInfo& param);

// nst.width of a description: the channels of its first convolution (transformer_net_desc's width).
int model_width(const NetDesc& desc);

// torch's default initialisation, from nst's RNG (core/rng.h) so that the Python reference tools
// regenerate it: conv and transposed-conv weights and biases U(-b, b), b = 1 / sqrt(fan_in)
// (kaiming_uniform with a = sqrt(5); fan_in = I k k for Conv, O k k for ConvTranspose as torch
// computes it from weight.shape[1]); IN weight 1, bias 0. Element j of parameter tensor t
// (param_layout order) of a uniform kind is b * (2 uniform(seed, kStreamNetParams + t, j) - 1),
// computed in double and rounded to float.
std::vector<float> init_params(const NetDesc& desc, std::uint64_t seed);

}  // namespace nst
