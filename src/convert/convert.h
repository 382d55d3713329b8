// SPDX-License-Identifier: MIT
// `nst weights convert`: any supported checkpoint to nst's native safetensors (spec §3), with
// the metadata decided by documented rules (weights/README.md, "Conversion rules"):
//   nst.preprocess  --preprocess; else the input's own nst.preprocess; else caffe for Caffe
//                   models, Keras files and conv1_1-style names (Gatys's vgg_conv.pth); for
//                   torchvision names, caffe when the file name carries the hash of a known Caffe
//                   port (jcjohnson's vgg19-d01eb7cb, pystiche's vgg19-74e45263), else torchvision.
//   nst.normalized  --normalized; else the input's own; else true when the file name says
//                   normalised/normalized (Gatys's vgg_normalised.caffemodel); else false.
//   nst.source      --source; else the input's own; else "<file name> (<format>, <naming> names)".
#pragma once
#include <map>
#include <string>

#include "convert/checkpoint.h"
#include "convert/vgg19_mapping.h"
#include "nn/weights.h"

namespace nst::convert {

struct ConvertOptions {
    std::string from = "auto";  // auto | pth | caffemodel | h5 | safetensors
    std::string preprocess;     // "" (rule) | caffe | torchvision
    std::string normalized;     // "" (rule) | true | false
    std::string source;         // "" (rule) | text
    std::string arch = "auto";  // auto | vgg19 | vgg16 | transformer-net | transformer-net-jcjohnson (net_kind.h)
};

struct Converted {
    Vgg19Weights weights;  // preprocess, normalized and source set
    Format format = Format::Safetensors;
    Naming naming = Naming::Canonical;
    std::string prefix;
    std::string preprocess_reason, normalized_reason;   // why, for the summary line
    std::map<std::string, std::string> extra_metadata;  // other nst.* keys carried over from the input
};

// Checks option values first (nst::Error(Usage)), then reads and maps the file (Input).
Converted convert_weights(const std::string& path, const ConvertOptions& options);

// The rule for a torchvision-named (features.N) file, whose tensors cannot tell a torchvision
// network from a Caffe port, in one sentence naming the known Caffe-port hashes and the override
// (`nst weights info` prints it; issue #16).
std::string torchvision_names_rule();

// The same for a checkpoint already opened (read_checkpoint); options already checked.
Converted convert_vgg19(const Checkpoint& ck, const ConvertOptions& options);

// Throws nst::Error(Usage) for a bad --from / --preprocess / --normalized value.
void check_options(const ConvertOptions& options);

// The conversion rules above for any VGG (19 or 16): the decided values and why.
struct VggMetadata {
    PreprocessKind preprocess = PreprocessKind::Caffe;
    bool normalized = false;
    std::string source;
    std::string preprocess_reason, normalized_reason;
    std::map<std::string, std::string> extra;  // other nst.* keys of the input (nst.arch among them)
};
VggMetadata decide_vgg_metadata(const Checkpoint& ck, Naming naming, const std::string& prefix,
                                const ConvertOptions& options);

// Reads any weights nst can use: random[:SEED] or a native/timm safetensors file as `--weights`
// reads it (metadata rules of spec §3), anything else through convert_weights with default rules.
Vgg19Weights load_any_weights(const std::string& path);

// The metadata a converted file gets: nst.preprocess, nst.normalized, nst.source, plus extra.
std::map<std::string, std::string> weights_metadata(const Vgg19Weights& w, const std::map<std::string, std::string>& extra);

// Writes canonical names, F32, with weights_metadata(w, extra); atomic.
void save_weights(const std::string& path, const Vgg19Weights& w, const std::map<std::string, std::string>& extra);

}  // namespace nst::convert
