// SPDX-License-Identifier: MIT
#include "cli/output_path.h"

#include "core/error.h"
#include "io/path.h"

namespace nst::cli {

OutputKind output_kind(const std::string& path) {
    const std::string ext = lower_extension(path);
    if (ext == ".png") return OutputKind::Png;
    if (ext == ".jpg" || ext == ".jpeg") return OutputKind::Jpeg;
    if (ext == ".npy") return OutputKind::Npy;
    throw_usage("--output '" + path + "': unsupported extension '" + ext + "' (use .png, .jpg or .npy)");
}

void validate_output_path(const std::string& path, int depth) {
    const OutputKind kind = output_kind(path);
    if (depth != 8 && depth != 16) throw_usage("--output-depth: must be 8 or 16");
    if (depth == 16 && kind != OutputKind::Png) throw_usage("--output-depth 16: only .png output has 16-bit samples");
}

std::string iteration_path(const std::string& path, int iter) {
    const std::string ext = lower_extension(path);
    const std::string stem = path.substr(0, path.size() - ext.size());
    return stem + "_" + std::to_string(iter) + path.substr(path.size() - ext.size());
}

std::string stage_path(const std::string& path, int stage) {
    const std::string ext = lower_extension(path);
    const std::string stem = path.substr(0, path.size() - ext.size());
    return stem + "_stage" + std::to_string(stage) + path.substr(path.size() - ext.size());
}

}  // namespace nst::cli
