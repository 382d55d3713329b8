// SPDX-License-Identifier: MIT
// What every weight-file reader hands to the converter: the file's tensors by name, each with
// its shape and a function that reads it as float32. Mapping names to VGG19's layers, checking
// shapes and architecture, and reading only the conv tensors then happens once for all formats
// (vgg19_mapping.h), and a 550 MB checkpoint costs the 80 MB of conv weights, not more.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace nst::convert {

// The formats `nst weights convert` reads.
// Torch7: Lua Torch's torch.save (torch7.h), read for jcjohnson/fast-neural-style models only.
enum class Format { TorchZip, TorchLegacy, Caffe, KerasH5, Safetensors, Torch7 };

struct SourceTensor {
    std::string name;                 // as the file names it: "features.0.weight", "conv1_1.weight"
    std::vector<std::int64_t> shape;  // as nst uses it (readers transpose layouts, e.g. Keras HWIO -> OIHW)
    std::string dtype;                // as stored: "float32", "float16", "int64", ... (messages, info)
    std::string origin;               // where the file keeps it, when `name` is not the file's own
                                      // ("block1_conv1/block1_conv1/kernel:0" for Keras); for messages
    // Reads numel(shape) float32 values in C order into dst. Throws nst::Error(Input) naming the
    // file and the tensor (unsupported dtype, truncated data, read error).
    std::function<void(float* dst)> read;
};

struct Checkpoint {
    std::string path;
    Format format = Format::Safetensors;
    std::vector<SourceTensor> tensors;            // in file order
    std::map<std::string, std::string> metadata;  // safetensors __metadata__; empty for other formats
};

// "PyTorch checkpoint (zip)", "Caffe model", ...: how messages and nst.source name a format.
const char* format_name(Format format);

std::size_t shape_numel(const std::vector<std::int64_t>& shape);
std::string shape_string(const std::vector<std::int64_t>& shape);  // "(64, 3, 3, 3)"

// Keeps strings that come from a file printable and short in one-line messages.
std::string printable(const std::string& s, std::size_t max_chars = 80);

// "<format> '<path>': <what>" as nst::Error(Input).
[[noreturn]] void fail_file(Format format, const std::string& path, const std::string& what);

// A checkpoint file opened for seeking reads: the constructor checks that it is a regular,
// readable file and learns its size, failing through fail_file like every other error of the
// format. Readers that stream tensors lazily keep it alive (shared_ptr) past the parse.
struct CheckpointFile {
    CheckpointFile(Format format, const std::string& path);
    ~CheckpointFile();
    CheckpointFile(const CheckpointFile&) = delete;
    CheckpointFile& operator=(const CheckpointFile&) = delete;

    [[noreturn]] void fail(const std::string& what) const { fail_file(format, path, what); }
    void seek(std::uint64_t pos) const;

    Format format;
    std::string path;
    std::FILE* f = nullptr;
    std::uint64_t size = 0;
};

}  // namespace nst::convert
