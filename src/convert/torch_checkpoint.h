// SPDX-License-Identifier: MIT
// PyTorch checkpoints (torch.save) without PyTorch: the zip container of torch >= 1.6 and the
// legacy stream of older versions (and of _use_new_zipfile_serialization=False).
//
// Zip: <archive>/data.pkl is the pickled object; persistent ids ('storage', type, key, location,
// numel) name entries <archive>/data/<key> holding the raw little-endian elements; an optional
// <archive>/byteorder says "little". Entries are STORED (uncompressed) by torch, but any method
// libzip reads is accepted.
// Legacy: five pickles in a row (magic number 0x1950a86a20f9469cfc6c, protocol version 1001,
// sys_info, the object with 6-tuple persistent ids, the list of storage keys), then for each key
// in that order an int64 little-endian element count and the raw elements.
#pragma once
#include <string>

#include "convert/checkpoint.h"

namespace nst::convert {

// Reads the tensors' layout (not their data) from a zip or legacy checkpoint, whichever the
// file is. Throws nst::Error(Input) naming the file for anything malformed or unsupported.
Checkpoint read_torch_checkpoint(const std::string& path);

Checkpoint read_torch_zip(const std::string& path);     // needs libzip (Debian: libzip-dev)
Checkpoint read_torch_legacy(const std::string& path);

}  // namespace nst::convert
