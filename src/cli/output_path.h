// SPDX-License-Identifier: MIT
// Output paths of `nst run`: the kind by extension, and the names of intermediate saves.
#pragma once
#include <string>

namespace nst::cli {

enum class OutputKind { Png, Jpeg, Npy };

OutputKind output_kind(const std::string& path);  // usage error for other extensions
// Usage error unless the extension is supported and the depth fits it (16 only for .png).
void validate_output_path(const std::string& path, int depth);
// "out.png", 50 -> "out_50.png"; "dir/a.b.jpg" -> "dir/a.b_50.jpg".
std::string iteration_path(const std::string& path, int iter);
// The result of stage k (1-based) of a coarse-to-fine run: "out.png", 2 -> "out_stage2.png".
std::string stage_path(const std::string& path, int stage);

}  // namespace nst::cli
