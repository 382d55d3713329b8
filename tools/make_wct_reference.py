#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reference outputs of WCT stylisation (tests/data/ref_wct.safetensors), in PyTorch float64.

Independent of nst's code: the normalised VGG19 encoder (vgg[:44], pytorch-AdaIN's layout),
the mirrored decoders and WCT (Li et al. 2017, the official test_wct.lua conventions: covariance
/ (HW - 1), eigenvalues < 1e-5 dropped, no eps; optionally PytorchWCT's + I on the content
covariance) written here with torch.nn.functional and torch.linalg.eigh. Weights are nst's
init_params (src/nn/net_model.h) regenerated from the seed (tools/nst_rng.py), every conv weight
then multiplied by 2.5 in float32 (He-like gain, so that features keep their scale to relu5_1
and the covariances are not all truncated); nothing but the images and outputs is stored.
Run: /usr/bin/python3 tools/make_wct_reference.py [--out tests/data/ref_wct.safetensors]
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nst_rng  # noqa: E402
from safetensors_np import write_safetensors  # noqa: E402

GAIN = np.float32(2.5)
SETTINGS = {
    "encoder_seed": 7, "decoder_seed": 10,  # decoder of level L: decoder_seed + L
    "gain": 2.5, "truncation": 1e-5,
    "content": {"shape": [1, 3, 34, 40], "seed": 3, "stream": 900},
    "styles": [{"shape": [1, 3, 36, 30], "seed": 9, "stream": 901},
               {"shape": [1, 3, 32, 38], "seed": 5, "stream": 902}],
    "cases": {
        "single4": {"levels": [4], "alpha": 1.0, "styles": [0], "weights": [1.0], "identity": False},
        "multi": {"levels": [5, 4, 3, 2, 1], "alpha": 0.6, "styles": [0], "weights": [1.0], "identity": False},
        "blend": {"levels": [3, 1], "alpha": 0.8, "styles": [0, 1], "weights": [1.0, 3.0], "identity": True},
    },
}
CONVS = [2, 2, 4, 4, 4]
CHANNELS = [64, 128, 256, 512, 512]


def encoder_convs():
    """(name, out, in, k) of vgg[:44] in order, and the ops: ('conv', i) / ('pool',) / ('relu', L)."""
    ops, convs, idx, ch = [], [], 0, 3
    convs.append(("0", 3, 3, 1))
    ops.append(("conv", 0))
    idx = 1
    for block in range(1, 6):
        n = 1 if block == 5 else CONVS[block - 1]
        for k in range(1, n + 1):
            idx += 1  # the pad
            convs.append((str(idx), CHANNELS[block - 1], ch, 3))
            ops.append(("conv", len(convs) - 1))
            ch = CHANNELS[block - 1]
            idx += 1
            ops.append(("relu", block if k == 1 else 0))
            idx += 1
        if block < 5:
            ops.append(("pool",))
            idx += 1
    assert idx == 44
    return convs, ops


def decoder_convs(level):
    """(name, out, in, 3) and ops of the level's mirrored decoder (src/nn/wct_net.h)."""
    steps, ch = [], 3
    for block in range(1, level + 1):
        if block > 1:
            steps.append(("pool", 0))
        n = 1 if block == level else CONVS[block - 1]
        for _ in range(n):
            steps.append(("conv", ch))
            ch = CHANNELS[block - 1]
    convs, ops, idx, cin = [], [], 0, ch
    for i in range(len(steps) - 1, -1, -1):
        kind, c = steps[i]
        if kind == "pool":
            ops.append(("up",))
            idx += 1
            continue
        idx += 1  # the pad
        convs.append((str(idx), c, cin, 3))
        ops.append(("conv", len(convs) - 1))
        cin = c
        idx += 1
        if i > 0:
            ops.append(("relu", 0))
            idx += 1
    return convs, ops


def init_params(convs, seed):
    """nst's init_params for a conv-only layout (weight then bias per conv), gain on weights."""
    params, t = [], 0
    for name, o, i, k in convs:
        fan_in = i * k * k
        b = 1.0 / math.sqrt(fan_in)
        wn, bn = o * i * k * k, o
        u = nst_rng.uniform_array(seed, nst_rng.STREAM_NET_PARAMS + t, 0, wn)
        w = (b * (2.0 * u - 1.0)).astype(np.float32) * GAIN
        u = nst_rng.uniform_array(seed, nst_rng.STREAM_NET_PARAMS + t + 1, 0, bn)
        bias = (b * (2.0 * u - 1.0)).astype(np.float32)
        params.append((torch.from_numpy(w.reshape(o, i, k, k)).double(), torch.from_numpy(bias).double()))
        t += 2
    return params


def run(x, convs, ops, params, stop_relu=None):
    for op in ops:
        if op[0] == "conv":
            w, b = params[op[1]]
            if w.shape[-1] == 3:
                x = F.pad(x, (1, 1, 1, 1), mode="reflect")
            x = F.conv2d(x, w, b)
        elif op[0] == "relu":
            x = F.relu(x)
            if stop_relu is not None and op[1] == stop_relu:
                return x
        elif op[0] == "pool":
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)
        else:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
    assert stop_relu is None
    return x


def moments(f):
    c = f.shape[1]
    x = f[0].reshape(c, -1)
    m = x.mean(1, keepdim=True)
    xc = x - m
    return m, xc, xc @ xc.T / (x.shape[1] - 1)


def power(s, p, thr):
    d, e = torch.linalg.eigh(s)
    keep = d >= thr
    return (e[:, keep] * d[keep] ** p) @ e[:, keep].T, d


def wct(fc, fss, weights, alpha, identity, thr, report):
    c = fc.shape[1]
    mc, xc, sc = moments(fc)
    if identity:
        sc = sc + torch.eye(c, dtype=sc.dtype)
    white, dc = power(sc, -0.5, thr)
    wsum = sum(weights)
    k = torch.zeros(c, c, dtype=torch.float64)
    ms = torch.zeros(c, 1, dtype=torch.float64)
    gaps = [dc]
    for fs, w in zip(fss, weights):
        m, _, s = moments(fs)
        col, ds = power(s, 0.5, thr)
        gaps.append(ds)
        k += w / wsum * col
        ms += w / wsum * m
    # The truncation must not be a coin toss between nst (float features) and this (double): no
    # eigenvalue within 5% of it. Float features (relative error e ~ 1e-6..1e-5) move a small
    # eigenvalue d by about 2 e sqrt(d * d_typical) (first-order perturbation along its own
    # direction), ~1e-8 here: far inside 5% of 1e-5.
    for d in gaps:
        near = ((d > thr / 1.05) & (d < thr * 1.05)).sum().item()
        report.append(near)
    y = k @ white @ xc + ms
    out = alpha * y + (1 - alpha) * fc[0].reshape(c, -1)
    return out.reshape(fc.shape)


def image(spec):
    n = math.prod(spec["shape"])
    u = nst_rng.uniform_array(spec["seed"], spec["stream"], 0, n).astype(np.float32)
    return torch.from_numpy(u.reshape(spec["shape"])).double()


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(repo, "tests", "data", "ref_wct.safetensors"))
    args = ap.parse_args()
    enc_convs, enc_ops = encoder_convs()
    enc = init_params(enc_convs, SETTINGS["encoder_seed"])
    content = image(SETTINGS["content"])
    styles = [image(s) for s in SETTINGS["styles"]]
    tensors = [("content", content.numpy()), ("style0", styles[0].numpy()), ("style1", styles[1].numpy())]
    thr = SETTINGS["truncation"]
    h, w = content.shape[2], content.shape[3]
    for name, case in SETTINGS["cases"].items():
        x = content
        near = []
        for level in case["levels"]:
            dconvs, dops = decoder_convs(level)
            dec = init_params(dconvs, SETTINGS["decoder_seed"] + level)
            fc = run(x, enc_convs, enc_ops, enc, level)
            fss = [run(styles[i], enc_convs, enc_ops, enc, level) for i in case["styles"]]
            t = wct(fc, fss, case["weights"], case["alpha"], case["identity"], thr, near)
            x = run(t, dconvs, dops, dec)[:, :, :h, :w]
        print(f"{name}: output range [{x.min().item():.4g}, {x.max().item():.4g}], "
              f"eigenvalues within 5% of the truncation: {near}")
        if any(near):
            sys.exit(f"{name}: eigenvalues near the truncation threshold; change the seeds")
        tensors.append((name, x.numpy()))
    meta = {"nst.settings": json.dumps(SETTINGS, sort_keys=True),
            "nst.generator": json.dumps({"torch": torch.__version__, "numpy": np.__version__,
                                         "script": "tools/make_wct_reference.py"})}
    write_safetensors(args.out, tensors, meta)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e3:.1f} kB)")


if __name__ == "__main__":
    main()
