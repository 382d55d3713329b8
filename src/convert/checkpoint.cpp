// SPDX-License-Identifier: MIT
#include "convert/checkpoint.h"

#include "core/error.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace nst::convert {

const char* format_name(Format format) {
    switch (format) {
        case Format::TorchZip: return "PyTorch checkpoint (zip)";
        case Format::TorchLegacy: return "PyTorch checkpoint (legacy, pre-1.6)";
        case Format::Caffe: return "Caffe model";
        case Format::KerasH5: return "Keras HDF5 file";
        case Format::Safetensors: return "safetensors file";
        case Format::Torch7: return "Torch7 file";
    }
    return "weights file";
}

std::size_t shape_numel(const std::vector<std::int64_t>& shape) {
    std::size_t n = 1;
    for (auto d : shape) n *= std::size_t(d);
    return n;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ")";
}

std::string printable(const std::string& s, std::size_t max_chars) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max_chars; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        out += (c < 0x20 || c >= 0x7f) ? '?' : char(c);
    }
    if (s.size() > max_chars) out += "...";
    return out;
}

void fail_file(Format format, const std::string& path, const std::string& what) {
    throw_input(std::string(format_name(format)) + " '" + path + "': " + what);
}

CheckpointFile::CheckpointFile(Format format_, const std::string& path_) : format(format_), path(path_) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) fail(fs::exists(path, ec) ? "is not a regular file" : "not found");
    f = std::fopen(path.c_str(), "rb");
    if (!f) fail(std::string("cannot open: ") + std::strerror(errno));
    size = std::uint64_t(fs::file_size(path, ec));
    if (ec) {
        std::fclose(f);  // the destructor does not run when the constructor throws
        f = nullptr;
        fail("cannot tell its size: " + ec.message());
    }
}

CheckpointFile::~CheckpointFile() {
    if (f) std::fclose(f);
}

void CheckpointFile::seek(std::uint64_t pos) const {
    if (fseeko(f, off_t(pos), SEEK_SET) != 0) fail(std::string("cannot seek: ") + std::strerror(errno));
}

}  // namespace nst::convert
