// SPDX-License-Identifier: MIT
#include "convert/detect.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "convert/caffemodel.h"
#include "convert/keras_h5.h"
#include "convert/safetensors_source.h"
#include "convert/torch_checkpoint.h"
#include "core/error.h"

namespace nst::convert {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    if (s.size() < suffix.size()) return false;
    for (std::size_t i = 0; i < suffix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
    return true;
}

[[noreturn]] void unsupported(const std::string& path, const std::string& what) {
    throw_input("weights file '" + path + "': " + what);
}

}  // namespace

Format detect_format(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found) unsupported(path, "not found");
    if (st.type() == fs::file_type::directory) unsupported(path, "is a directory");
    if (!ec && st.type() != fs::file_type::regular) unsupported(path, "is not a regular file");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) unsupported(path, std::string("cannot open: ") + std::strerror(errno));
    unsigned char h[1032] = {0};
    const std::size_t n = std::fread(h, 1, sizeof h, f);
    std::fclose(f);
    if (n == 0) unsupported(path, "empty file");

    auto at = [&](std::size_t off, const char* magic, std::size_t len) {
        return n >= off + len && std::memcmp(h + off, magic, len) == 0;
    };
    if (at(0, "PK\x03\x04", 4) || at(0, "PK\x05\x06", 4)) return Format::TorchZip;
    if (h[0] == 0x80 && n >= 2 && h[1] >= 2 && h[1] <= 5) return Format::TorchLegacy;  // a pickle
    // HDF5's superblock sits at 0 or, after a user block, at 512, 1024, ...
    for (std::size_t off : {0, 512, 1024})
        if (at(off, "\x89HDF\r\n\x1a\n", 8)) return Format::KerasH5;
    if (n >= 9) {
        std::uint64_t len = 0;
        for (int i = 7; i >= 0; --i) len = (len << 8) | h[i];
        const std::uint64_t size = std::uint64_t(fs::file_size(path, ec));
        if (!ec && len >= 2 && len <= size - 8 && h[8] == '{') return Format::Safetensors;
    }
    // Torch7's torch.save starts with the root object's type (3 table, 4 torch object) and its
    // reference index 1, both int32 little-endian.
    if ((at(0, "\x03\0\0\0\x01\0\0\0", 8) || at(0, "\x04\0\0\0\x01\0\0\0", 8))) return Format::Torch7;
    if (at(0, "\x1f\x8b", 2))
        unsupported(path, "is gzip-compressed (a .tar.gz mirror?): unpack it first");
    if (at(257, "ustar", 5))
        unsupported(path, "is a tar archive: PyTorch's tar checkpoints (torch < 0.1.10) are not supported");
    if (at(0, "MATLAB", 6))
        unsupported(path, "is a MATLAB .mat file (MatConvNet): not supported; use the Caffe or PyTorch weights");
    if (ends_with(path, ".t7")) return Format::Torch7;
    if (ends_with(path, ".lua")) unsupported(path, "is Lua source, not a weights file");
    if (ends_with(path, ".prototxt"))
        unsupported(path, "is a network definition (.prototxt) without weights; convert the .caffemodel");
    if (ends_with(path, ".caffemodel") || ends_with(path, ".binaryproto")) return Format::Caffe;
    // Caffe models have no magic number; a NetParameter starts with one of its field tags:
    // name (0x0a), layers (0x12), input (0x1a), input_dim (0x20/0x22), layer (0xa2 0x06).
    if (h[0] == 0x0a || h[0] == 0x12 || h[0] == 0x1a || h[0] == 0x20 || h[0] == 0x22 ||
        (h[0] == 0xa2 && n > 1 && h[1] == 0x06))
        return Format::Caffe;
    unsupported(path, "unrecognised format (not a PyTorch checkpoint, Caffe model, Keras HDF5 or safetensors "
                      "file); pass --from to force a reader");
}

bool parse_format(const std::string& name, Format& out) {
    if (name == "auto") return false;
    if (name == "pth" || name == "pt" || name == "torch") out = Format::TorchZip;  // container is sniffed
    else if (name == "caffemodel" || name == "caffe") out = Format::Caffe;
    else if (name == "h5" || name == "keras" || name == "hdf5") out = Format::KerasH5;
    else if (name == "safetensors") out = Format::Safetensors;
    else if (name == "t7" || name == "torch7") out = Format::Torch7;
    else throw_usage("--from '" + name + "': choose auto, pth, caffemodel, h5, safetensors or t7");
    return true;
}

Checkpoint read_checkpoint(const std::string& path, bool detect, Format format) {
    const Format f = detect ? detect_format(path) : format;
    switch (f) {
        case Format::TorchZip:
        case Format::TorchLegacy: return read_torch_checkpoint(path);
        case Format::Caffe: return read_caffemodel(path);
        case Format::KerasH5: return read_keras_h5(path);
        case Format::Safetensors: return read_safetensors_checkpoint(path);
        case Format::Torch7:
            fail_file(f, path, "nst reads Torch7 files only as jcjohnson/fast-neural-style models (`nst weights "
                               "convert` makes an nst model of them); for VGG weights use the Caffe model the .t7 was "
                               "converted from");
    }
    return read_safetensors_checkpoint(path);
}

}  // namespace nst::convert
