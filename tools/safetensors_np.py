# SPDX-License-Identifier: MIT
"""The safetensors writer of the fixture scripts (make_reference.py, ref_color.py); numpy only,
so that ref_color.py keeps needing nothing else."""
import json
import os
import struct

import numpy as np


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, ndarray) written as F32 little-endian; header padded with spaces to
    an 8-byte boundary as the reference implementation does. Written to a temporary file and
    renamed, so an interrupted run leaves the old fixture in place."""
    header, offset, blobs = {}, 0, []
    for name, a in tensors:
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
