// SPDX-License-Identifier: MIT
// Reading an input file whole, with the checks every input needs before its bytes are parsed:
// it exists, is a regular file (a directory or a FIFO would make fopen/fread fail late or
// block), is readable, is not empty and is not larger than the caller can use.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace nst {

// Throws nst::Error(Input) "cannot read <kind> '<path>': <reason>" on any failure.
std::vector<unsigned char> read_input_file(const std::string& path, const std::string& kind, std::size_t max_bytes);

// The message prefix shared by all input errors about one file: "cannot read <kind> '<path>'".
std::string input_error_prefix(const std::string& kind, const std::string& path);

}  // namespace nst
