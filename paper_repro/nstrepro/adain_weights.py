# SPDX-License-Identifier: MIT
"""Random AdaIN encoder and decoder model files, for quick mode without the converted weights.

Written as nst model files (safetensors; nn/net_model.h): one F32 tensor per convolution,
named by the port's Sequential index as nn/adain_net.h names them ("<index>.weight",
"<index>.bias"), metadata nst.kind=model, nst.arch=adain-encoder|adain-decoder, nst.io=rgb01.
Standard library only (no numpy in the harness).

The values are He-normal (std sqrt(2 / fan_in)) with zero biases, so the features keep their
scale through both networks and the output is a visible image rather than a flat grey; the
decoder's last convolution is scaled down and biased to mid-grey so that its output lies mostly
inside [0, 1]. They carry no style-transfer ability at all: a figure made with them shows the
harness's layout and the controls' plumbing, not the paper's results, and says so.
"""

import array
import hashlib
import json
import math
import os
import random
import struct
import sys
from pathlib import Path

# (index, out channels, in channels, kernel) of each convolution, in the port's module order
# (research/feedforward.md §5.3; the same table as nn/adain_net.cpp builds).
ENCODER = [(0, 3, 3, 1), (2, 64, 3, 3), (5, 64, 64, 3), (9, 128, 64, 3), (12, 128, 128, 3), (16, 256, 128, 3),
           (19, 256, 256, 3), (22, 256, 256, 3), (25, 256, 256, 3), (29, 512, 256, 3)]
DECODER = [(1, 256, 512, 3), (5, 256, 256, 3), (8, 256, 256, 3), (11, 256, 256, 3), (14, 128, 256, 3),
           (18, 128, 128, 3), (21, 64, 128, 3), (25, 64, 64, 3), (28, 3, 64, 3)]
# The decoder's output convolution: weights scaled by this gain relative to He-normal, bias 0.5.
OUTPUT_GAIN = 0.4
OUTPUT_BIAS = 0.5
VERSION = 1  # bump when the values change: cached files carry it in their name


def _tensors(convs, seed, last_is_output):
    rng = random.Random(seed)
    out = []
    for k, (idx, o, i, ks) in enumerate(convs):
        fan_in = i * ks * ks
        std = math.sqrt(2.0 / fan_in)
        bias = 0.0
        if last_is_output and k == len(convs) - 1:
            std *= OUTPUT_GAIN
            bias = OUTPUT_BIAS
        w = array.array("f", (rng.gauss(0.0, std) for _ in range(o * fan_in)))
        b = array.array("f", [bias] * o)
        out.append(("%d.weight" % idx, [o, i, ks, ks], w))
        out.append(("%d.bias" % idx, [o], b))
    return out


def write_safetensors(path, tensors, metadata):
    """tensors: [(name, shape, array('f'))]; little-endian F32 as safetensors requires."""
    header, offset, blobs = {}, 0, []
    for name, shape, data in tensors:
        if sys.byteorder != "little":
            data = array.array("f", data)
            data.byteswap()
        raw = data.tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # data starts 8-byte aligned
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def random_models(folder, seed, create=True):
    """(encoder path, decoder path): made once per seed and kept in folder (only named when not
    `create`, for --dry-run)."""
    folder = Path(folder)
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for arch, convs, salt in (("adain-encoder", ENCODER, 1), ("adain-decoder", DECODER, 2)):
        path = folder / ("%s-random-seed%d-v%d.safetensors" % (arch, seed, VERSION))
        if create and not path.is_file():
            meta = {"nst.kind": "model", "nst.arch": arch, "nst.io": "rgb01",
                    "nst.source": "paper_repro random weights (He-normal, seed %d, v%d): NOT trained" % (seed, VERSION)}
            write_safetensors(path, _tensors(convs, seed * 1000 + salt, arch == "adain-decoder"), meta)
        paths.append(path)
    return paths[0], paths[1]


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
