// SPDX-License-Identifier: MIT
#include "convert/safetensors_source.h"

#include <memory>

#include "nn/safetensors.h"

namespace nst::convert {

Checkpoint read_safetensors_checkpoint(const std::string& path) {
    auto reader = std::make_shared<SafetensorsReader>(path, format_name(Format::Safetensors));
    Checkpoint ck;
    ck.path = path;
    ck.format = Format::Safetensors;
    ck.metadata = reader->metadata();
    // Tensors in header order would be nicer for messages, but data order is all the reader keeps.
    for (const SafetensorsEntry& e : reader->entries()) {
        SourceTensor t;
        t.name = e.name;
        t.shape = e.shape;
        t.dtype = dtype_name(e.dtype);
        t.read = [reader, e](float* dst) { reader->read(e, dst); };
        ck.tensors.push_back(std::move(t));
    }
    return ck;
}

}  // namespace nst::convert
