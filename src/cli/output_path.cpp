// SPDX-License-Identifier: MIT
#include "cli/output_path.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace nst::cli {

namespace {
std::string extension(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    const std::size_t dot = path.find_last_of('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
    std::string ext = path.substr(dot);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext;
}
}  // namespace

OutputKind output_kind(const std::string& path) {
    const std::string ext = extension(path);
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
    const std::string ext = extension(path);
    const std::string stem = path.substr(0, path.size() - ext.size());
    return stem + "_" + std::to_string(iter) + path.substr(path.size() - ext.size());
}

}  // namespace nst::cli
