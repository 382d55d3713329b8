// SPDX-License-Identifier: MIT
// Which reader a file needs, from its first bytes (magic numbers), with the extension only as a
// tie-breaker for Caffe's protobuf, which has no magic number.
#pragma once
#include <string>

#include "convert/checkpoint.h"

namespace nst::convert {

// Throws nst::Error(Input) naming the file when it is missing, unreadable, empty or of a format
// nst does not read (with what it looks like: gzip, tar, Torch7, MATLAB, ...).
Format detect_format(const std::string& path);

// Parses a --from value: "auto" gives false (detect), otherwise sets `out`. "pth" covers both
// PyTorch containers. Throws nst::Error(Usage) for an unknown name.
bool parse_format(const std::string& name, Format& out);

// Reads the file with the reader for `format`, or the detected one when `detect` is true.
Checkpoint read_checkpoint(const std::string& path, bool detect, Format format);

}  // namespace nst::convert
