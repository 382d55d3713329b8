// SPDX-License-Identifier: MIT
// Atomic output: bytes go to a temporary file beside the target, are flushed, then renamed over
// it. A failure at any point removes the temporary and leaves any existing target untouched.
#pragma once
#include <string>
#include <vector>

namespace nst {

// Throws nst::Error(Input) naming the path when the directory is missing or not writable.
void write_file_atomic(const std::string& path, const void* data, std::size_t bytes);
void write_file_atomic(const std::string& path, const std::vector<unsigned char>& bytes);

// Checks before a long run that `path` can be created (directory exists and is writable), so
// that a bad --output fails in a second rather than after the optimisation.
void check_writable(const std::string& path);

}  // namespace nst
