// SPDX-License-Identifier: MIT
// The models of `nst stylize` as a per-image function, shared with `nst video --model` (issue #14):
// a feed-forward model (nst train's, or a converted checkpoint), or an arbitrary-style decoder
// with its encoder and style images. The method comes from the model's nst.arch (--method names
// it explicitly): "adain-decoder" -> AdaIN (engine/adain_stylize.h), "wct-decoder" -> WCT
// (engine/wct_stylize.h; --method wct also runs an adain-decoder as WCT's level-4 decoder). A
// new method adds its name to methods_for_arch() and one branch in with_model_stylizer().
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nst::cli {

// The options of nst stylize; nst video fills the model ones.
struct StylizeOptions {
    std::string model, content, output;
    std::string backend = "cpu";
    int gpu = 0;
    int threads = 0;
    bool quiet = false;
    // Arbitrary-style models (AdaIN; WCT later).
    std::string method;                    // "" = from the model's arch
    std::string encoder;                   // adain-encoder model file
    std::vector<std::string> styles;       // repeated or comma lists
    std::string style_weights;             // "W1,W2,..."
    double alpha = 1.0;
    std::string masks;                     // "m1.png,m2.png"
    bool preserve_color = false;
    std::string adain_stats = "port";
    int content_size = 0;
    int style_size = 512;
    std::string pad = "none";
    // WCT.
    std::string levels;                    // "5,4,3,2,1"; default: the decoders' levels in order
    bool wct_identity = false;             // PytorchWCT's + I on the content covariance
    bool alpha_given = false;              // --alpha on the command line (WCT's default is 0.6)
};

// One image in, one stylised image (1, 3, H, W) in [0, 1] out; name for messages.
using ImageFn = std::function<Tensor<float>(ConstView<float> rgb, const std::string& name)>;
using UseStylizer = std::function<void(const ImageFn&)>;

// Checks the model options (usage errors, exit 2), loads the model(s), encoder and styles (input
// errors, exit 3), builds the backend and calls use() with the per-image function, which is valid
// only during that call. `folder`: the content is a folder of images (AdaIN masks then refused).
void with_model_stylizer(const StylizeOptions& o, bool folder, const UseStylizer& use);

}  // namespace nst::cli
