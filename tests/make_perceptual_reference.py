#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes tests/data/ref_perceptual.safetensors: pytorch/examples' perceptual loss (neural_style.py
train: torchvision normalisation, VGG16 to relu4_3, content MSE at relu2_2 against the content
batch, style MSE of Grams F F^T / (C H W) against the style image's, weights 1e5 / 1e10), written
here in torch and evaluated in float64, with its gradient w.r.t. the transformer output by
autograd. The loss network is nst's random16:7 (VGG16 He-normal weights regenerated bit for bit by
tools/nst_rng.py, zero biases); the images come from nst's RNG too (see `inputs`), so the file
holds only results: the terms (metadata, repr of the doubles) and dL/dy as float32.

Run with Debian's /usr/bin/python3 (python3-torch, numpy): tests/make_perceptual_reference.py
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import nst_rng  # noqa: E402

SEED = 7
VGG16_CONVS = [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128), (256, 256), (256, 256),
               (512, 256), (512, 512), (512, 512)]  # conv1_1 .. conv4_3
# conv indices after which a pool follows, and the taps (relu after conv k).
POOL_AFTER = {1, 3, 6}
TAPS = {"relu1_2": 1, "relu2_2": 3, "relu3_3": 6, "relu4_3": 9}
B, H, W = 2, 32, 32
STYLE_H, STYLE_W = 36, 28


def conv_weight(k):
    o, i = VGG16_CONVS[k]
    std = math.sqrt(2.0 / float(o * 9))
    w = (std * nst_rng.normal_array(SEED, nst_rng.STREAM_WEIGHTS + k, 0, o * i * 9)).astype(np.float32)
    return torch.from_numpy(w.reshape(o, i, 3, 3).astype(np.float64))


def inputs(stream, shape, scale):
    """value i = scale * uniform(SEED, stream, i) in double (the test builds the same)."""
    n = int(np.prod(shape))
    return torch.from_numpy((scale * nst_rng.uniform_array(SEED, stream, 0, n)).reshape(shape))


def features(x, weights):
    out = {}
    h = x
    for k, w in enumerate(weights):
        h = F.relu(F.conv2d(h, w, padding=1))
        for name, kk in TAPS.items():
            if kk == k:
                out[name] = h
        if k in POOL_AFTER:
            h = F.max_pool2d(h, 2, 2)
    return out


def normalize_batch(t):
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1)
    return (t / 255.0 - mean) / std


def gram(f):
    b, c, h, w = f.shape
    f = f.view(b, c, h * w)
    return f.bmm(f.transpose(1, 2)) / (c * h * w)


def main():
    weights = [conv_weight(k) for k in range(len(VGG16_CONVS))]
    y = inputs(3000, (B, 3, H, W), 255.0).requires_grad_(True)
    x = inputs(3001, (B, 3, H, W), 255.0)
    style = inputs(3002, (1, 3, STYLE_H, STYLE_W), 1.0).float().double()  # the test loads it as float
    fs = features(normalize_batch(style * 255.0), weights)
    style_grams = {k: gram(v) for k, v in fs.items()}
    fy = features(normalize_batch(y), weights)
    fx = features(normalize_batch(x), weights)
    content = 1e5 * F.mse_loss(fy["relu2_2"], fx["relu2_2"])
    style_terms = [1e10 * F.mse_loss(gram(fy[name]), style_grams[name].expand(B, -1, -1))
                   for name in ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]]
    total = content + sum(style_terms)
    total.backward()
    dy = y.grad.numpy().astype(np.float32)
    meta = {"nst.magic": "nst-reference", "nst.part": "perceptual",
            "nst.settings": json.dumps({"seed": SEED, "loss_weights": "random16:7", "y": [3000, 255.0],
                                        "x": [3001, 255.0], "style": [3002, 1.0, "float32"],
                                        "shape": [B, 3, H, W], "style_shape": [1, 3, STYLE_H, STYLE_W]}),
            "nst.results": json.dumps({"total": repr(total.item()), "content": repr(content.item()),
                                       "style": [repr(s.item()) for s in style_terms]}),
            "nst.generator": json.dumps({"torch": torch.__version__, "script": "tests/make_perceptual_reference.py"})}
    header = {"__metadata__": meta, "dy": {"dtype": "F32", "shape": list(dy.shape),
                                           "data_offsets": [0, dy.nbytes]}}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "ref_perceptual.safetensors")
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + dy.tobytes())
    print(out, "total", total.item())


if __name__ == "__main__":
    main()
