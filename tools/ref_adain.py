#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tests/data/ref_adain.safetensors, the float64 reference for AdaIN stylisation
(engine/adain_stylize.h; tests/test_adain_stylize.cpp).

    /usr/bin/python3 tools/ref_adain.py tests/data/ref_adain.safetensors
    (or: tools/make_reference.py --parts adain)

Written from naoto0804/pytorch-AdaIN's formulas (net.py, function.py, test.py; research/
feedforward.md §5.3), not from the C++ code: calc_mean_std (unbiased variance + eps),
adaptive_instance_normalization, coral (torch.svd matrix square roots), style_transfer with
interpolation weights and alpha. The official code's statistics (§5.2: content biased + eps,
style biased std, no eps) and its masked AdaIN (test.lua `-mask`: per-region gather, AdaIN, scatter
back; K masks here) are numpy formulas. Everything in float64 (torch double on the CPU).

Networks: the port's vgg[:31] and decoder, with the parameters of nst's init_params
(nn/net_model.h; tools/nst_rng.py) for seed SETTINGS["seed"] and then, so that random weights
give healthy activations rather than bias-dominated ones, each conv weight multiplied by a gain
(float64 product rounded to float32, which the C++ test repeats): sqrt(6) (He's variance) for
every hidden conv, SETTINGS["last_gain"] for the decoder's last; the encoder's 1x1 conv "0" is
AdaIN-style's getPreprocessConv (RGB [0, 1] -> BGR x 255 - mean) as in the real checkpoint.

Inputs (float32, stored, (1, 3, H, W) in [0, 1]): in.content (32x32), in.content_odd (36x28: not
a multiple of 8), in.style1 (40x24), in.style2 (24x32), in.mask1 / in.mask2 ((1, 1, 32, 32), 0/1,
a partition of the content; the test repeats them over R, G, B). Outputs (float32):
  stats.<port|official>.style1.mean/std   the style's target statistics (1, 512, 1, 1)
  <case>.out  the decoder's output;  <case>.feat  the decoder's input (1, 512, h/8, w/8), for
  the cases in FEATURE_CASES
cases: single (style1), interp (style1, style2, weights 1:3, alpha 0.6), official (style1,
alpha 0.8, official statistics), coral (style1 recoloured by coral toward the content; also
coral.style = the recoloured style image), masks / masks_official (style k on mask k, alpha 0.9),
odd_none (content_odd as the port runs it: output 40x32, uncropped), odd_reflect (content_odd
reflection-padded at the bottom and right to 40x32 first).
"""
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

SETTINGS = {"seed": 1703, "hidden_gain": "sqrt(6)", "last_gain": 0.01, "eps": 1e-5,
            "image_seed": 41, "interp_weights": [1, 3], "interp_alpha": 0.6, "official_alpha": 0.8,
            "mask_alpha": 0.9}
HIDDEN_GAIN = math.sqrt(6.0)
FEATURE_CASES = ("single", "masks", "odd_none")  # the others store only the output (fixture size)

# (name, out, in, k) of every conv, in order: the port's Sequential indices.
ENCODER = [("0", 3, 3, 1), ("2", 64, 3, 3), ("5", 64, 64, 3), ("9", 128, 64, 3), ("12", 128, 128, 3),
           ("16", 256, 128, 3), ("19", 256, 256, 3), ("22", 256, 256, 3), ("25", 256, 256, 3),
           ("29", 512, 256, 3)]
DECODER = [("1", 256, 512, 3), ("5", 256, 256, 3), ("8", 256, 256, 3), ("11", 256, 256, 3), ("14", 128, 256, 3),
           ("18", 128, 128, 3), ("21", 64, 128, 3), ("25", 64, 64, 3), ("28", 3, 64, 3)]


def params(convs, last_gain=None, preprocess=False):
    """init_params of the net (tensor t = 2 i + {0: weight, 1: bias}, stream STREAM_NET_PARAMS + t),
    then the gains."""
    seed = SETTINGS["seed"]
    P = {}
    for i, (name, o, c, k) in enumerate(convs):
        b = 1.0 / math.sqrt(c * k * k)
        for j, (what, shape) in enumerate((("weight", (o, c, k, k)), ("bias", (o,)))):
            u = nst_rng.uniform_array(seed, nst_rng.STREAM_NET_PARAMS + 2 * i + j, 0, math.prod(shape))
            v = (b * (2.0 * u - 1.0)).astype(np.float32)
            if what == "weight":
                gain = last_gain if (last_gain is not None and i == len(convs) - 1) else HIDDEN_GAIN
                v = (v.astype(np.float64) * gain).astype(np.float32)
            P[f"{name}.{what}"] = torch.from_numpy(v.reshape(shape)).double()
    if preprocess:
        w = torch.zeros(3, 3, 1, 1, dtype=torch.float64)
        w[0, 2, 0, 0] = w[1, 1, 0, 0] = w[2, 0, 0, 0] = 255.0
        P["0.weight"] = w
        P["0.bias"] = -torch.from_numpy(np.array([103.939, 116.779, 123.68], dtype=np.float32)).double()
    return P


def pad_conv(h, P, name):
    return F.conv2d(F.pad(h, (1, 1, 1, 1), mode="reflect"), P[name + ".weight"], P[name + ".bias"])


def encoder(x, P):
    """vgg[:31]: 1x1 conv, then (pad, conv, relu) blocks with ceil-mode 2x2 max pools."""
    h = F.conv2d(x, P["0.weight"], P["0.bias"])
    blocks = [["2", "5"], ["9", "12"], ["16", "19", "22", "25"], ["29"]]
    for b, names in enumerate(blocks):
        for n in names:
            h = F.relu(pad_conv(h, P, n))
        if b < 3:
            h = F.max_pool2d(h, 2, 2, ceil_mode=True)
    return h


def decoder(t, P):
    h = F.relu(pad_conv(t, P, "1"))
    h = F.interpolate(h, scale_factor=2, mode="nearest")
    for n in ("5", "8", "11"):
        h = F.relu(pad_conv(h, P, n))
    h = F.relu(pad_conv(h, P, "14"))
    h = F.interpolate(h, scale_factor=2, mode="nearest")
    h = F.relu(pad_conv(h, P, "18"))
    h = F.relu(pad_conv(h, P, "21"))
    h = F.interpolate(h, scale_factor=2, mode="nearest")
    h = F.relu(pad_conv(h, P, "25"))
    return pad_conv(h, P, "28")


# --- pytorch-AdaIN function.py -----------------------------------------------------------------

def calc_mean_std(feat, eps=1e-5):
    N, C = feat.size()[:2]
    feat_var = feat.view(N, C, -1).var(dim=2) + eps
    return feat.view(N, C, -1).mean(dim=2).view(N, C, 1, 1), feat_var.sqrt().view(N, C, 1, 1)


def adaptive_instance_normalization(content_feat, style_feat):
    size = content_feat.size()
    style_mean, style_std = calc_mean_std(style_feat)
    content_mean, content_std = calc_mean_std(content_feat)
    normalized = (content_feat - content_mean.expand(size)) / content_std.expand(size)
    return normalized * style_std.expand(size) + style_mean.expand(size)


def mat_sqrt(x):
    U, D, V = torch.svd(x)
    return torch.mm(torch.mm(U, D.pow(0.5).diag()), V.t())


def flatten_mean_std(feat):
    f = feat.view(3, -1)
    return f, f.mean(dim=-1, keepdim=True), f.std(dim=-1, keepdim=True)


def coral(source, target):
    source_f, source_mean, source_std = flatten_mean_std(source)
    source_norm = (source_f - source_mean.expand_as(source_f)) / source_std.expand_as(source_f)
    source_cov_eye = torch.mm(source_norm, source_norm.t()) + torch.eye(3, dtype=torch.float64)
    target_f, target_mean, target_std = flatten_mean_std(target)
    target_norm = (target_f - target_mean.expand_as(target_f)) / target_std.expand_as(target_f)
    target_cov_eye = torch.mm(target_norm, target_norm.t()) + torch.eye(3, dtype=torch.float64)
    transfer = torch.mm(mat_sqrt(target_cov_eye), torch.mm(torch.inverse(mat_sqrt(source_cov_eye)), source_norm))
    out = transfer * target_std.expand_as(source_norm) + target_mean.expand_as(source_norm)
    return out.view(source.size())


def style_transfer(E, D, content, styles, alpha=1.0, interpolation_weights=None):
    """test.py's style_transfer; styles of different sizes are encoded one by one (the port
    stacks same-size styles into one batch: the same features)."""
    content_f = encoder(content, E)
    style_fs = [encoder(s, E) for s in styles]
    if interpolation_weights:
        feat = torch.zeros_like(content_f)
        for w, sf in zip(interpolation_weights, style_fs):
            feat = feat + w * adaptive_instance_normalization(content_f, sf)
    else:
        feat = adaptive_instance_normalization(content_f, style_fs[0])
    feat = feat * alpha + content_f * (1 - alpha)
    return feat, D(feat)


# --- the official code's conventions (numpy formulas) -------------------------------------------

def official_style_stats(f):
    a = f.numpy().reshape(f.shape[1], -1)
    return a.mean(axis=1), a.std(axis=1)  # biased std, no eps


def official_adain(c, mean_s, std_s):
    a = c.numpy()[0].reshape(c.shape[1], -1)
    mu = a.mean(axis=1, keepdims=True)
    var = ((a - mu) ** 2).mean(axis=1, keepdims=True)
    t = (a - mu) / np.sqrt(var + 1e-5) * std_s[:, None] + mean_s[:, None]
    return torch.from_numpy(t.reshape(c.shape))


def port_style_stats(f):
    a = f.numpy().reshape(f.shape[1], -1)
    return a.mean(axis=1), np.sqrt(a.var(axis=1, ddof=1) + 1e-5)


def masked_adain(c, labels, style_stats, official):
    """test.lua's spatial control: region k's columns of the C x HW content map gathered, AdaIN'd
    with their own statistics and style k's, scattered back."""
    a = c.numpy()[0].reshape(c.shape[1], -1)
    out = np.zeros_like(a)
    for k, (mean_s, std_s) in enumerate(style_stats):
        idx = np.nonzero(labels.reshape(-1) == k)[0]
        g = a[:, idx]
        mu = g.mean(axis=1, keepdims=True)
        var = ((g - mu) ** 2).sum(axis=1, keepdims=True) / (g.shape[1] - (0 if official else 1))
        out[:, idx] = (g - mu) / np.sqrt(var + 1e-5) * std_s[:, None] + mean_s[:, None]
    return torch.from_numpy(out.reshape(c.shape))


# --- inputs ------------------------------------------------------------------------------------

def image(index, h, w):
    """Smooth colour waves plus a little noise, in [0, 1], float32 (from nst_rng)."""
    u = nst_rng.uniform_array(SETTINGS["image_seed"], 10 + index, 0, 9 + 3 * h * w)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((3, h, w))
    for c in range(3):
        fx, fy, ph = 0.1 + 0.5 * u[3 * c], 0.1 + 0.5 * u[3 * c + 1], 6.283 * u[3 * c + 2]
        noise = u[9 + c * h * w: 9 + (c + 1) * h * w].reshape(h, w)
        img[c] = 0.5 + 0.3 * np.sin(fx * x + fy * y + ph) + 0.15 * (noise - 0.5)
    return np.clip(img, 0, 1).astype(np.float32)[None]


def feature_labels(pixel_labels, h, w):
    """The label of feature pixel (i, j): pixel (min(8i + 4, h - 1), min(8j + 4, w - 1))."""
    fh, fw = -(-h // 8), -(-w // 8)
    rows = np.minimum(8 * np.arange(fh) + 4, h - 1)
    cols = np.minimum(8 * np.arange(fw) + 4, w - 1)
    return pixel_labels[np.ix_(rows, cols)]


def f32(t):
    return t.detach().numpy().astype(np.float32) if torch.is_tensor(t) else np.asarray(t, dtype=np.float32)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data", "ref_adain.safetensors")
    torch.set_grad_enabled(False)
    E = params(ENCODER, preprocess=True)
    D = params(DECODER, last_gain=SETTINGS["last_gain"])
    imgs = {"content": image(0, 32, 32), "content_odd": image(1, 36, 28), "style1": image(2, 40, 24),
            "style2": image(3, 24, 32)}
    yy, xx = np.mgrid[0:32, 0:32]
    region = (xx + 0.5 * yy < 20).astype(np.int64)  # 1: mask 1 (left, top), 0: mask 2
    pixel_labels = np.where(region == 1, 0, 1)
    imgs["mask1"] = (pixel_labels == 0).astype(np.float32)[None, None]
    imgs["mask2"] = (pixel_labels == 1).astype(np.float32)[None, None]
    T = {k: torch.from_numpy(v).double() for k, v in imgs.items()}
    tensors = [(f"in.{k}", v) for k, v in imgs.items()]
    c, s1, s2 = T["content"], T["style1"], T["style2"]
    results = {}

    def record(case, feat, out):
        if case in FEATURE_CASES:
            tensors.append((f"{case}.feat", f32(feat)))
        tensors.append((f"{case}.out", f32(out)))
        o = out.numpy()
        results[case] = {"out_shape": list(out.shape), "out_min": float(o.min()), "out_max": float(o.max()),
                         "out_in_01": float(((o >= 0) & (o <= 1)).mean())}

    f1 = encoder(s1, E)
    for name, (m, s) in (("port", port_style_stats(f1)), ("official", official_style_stats(f1))):
        tensors.append((f"stats.{name}.style1.mean", f32(m.reshape(1, -1, 1, 1))))
        tensors.append((f"stats.{name}.style1.std", f32(s.reshape(1, -1, 1, 1))))
    # The port's own calc_mean_std must agree with the numpy Port formula.
    pm, ps = calc_mean_std(f1)
    assert np.allclose(pm.numpy().reshape(-1), port_style_stats(f1)[0], rtol=1e-12, atol=0)
    assert np.allclose(ps.numpy().reshape(-1), port_style_stats(f1)[1], rtol=1e-12, atol=0)

    record("single", *style_transfer(E, lambda t: decoder(t, D), c, [s1]))
    w = SETTINGS["interp_weights"]
    record("interp", *style_transfer(E, lambda t: decoder(t, D), c, [s1, s2], alpha=SETTINGS["interp_alpha"],
                                     interpolation_weights=[x / sum(w) for x in w]))
    cf = encoder(c, E)
    a = SETTINGS["official_alpha"]
    t = a * official_adain(cf, *official_style_stats(f1)) + (1 - a) * cf
    record("official", t, decoder(t, D))
    s1c = coral(s1[0], c[0])[None]
    tensors.append(("coral.style", f32(s1c)))
    record("coral", *style_transfer(E, lambda t: decoder(t, D), c, [s1c]))
    labels = feature_labels(pixel_labels, 32, 32)
    results["mask_feature_labels"] = labels.reshape(-1).tolist()
    f2 = encoder(s2, E)
    a = SETTINGS["mask_alpha"]
    for case, official in (("masks", False), ("masks_official", True)):
        stats = [official_style_stats(f) if official else port_style_stats(f) for f in (f1, f2)]
        t = a * masked_adain(cf, labels, stats, official) + (1 - a) * cf
        record(case, t, decoder(t, D))
    odd = T["content_odd"]
    record("odd_none", *style_transfer(E, lambda t: decoder(t, D), odd, [s1]))
    padded = F.pad(odd, (0, 4, 0, 4), mode="reflect")
    record("odd_reflect", *style_transfer(E, lambda t: decoder(t, D), padded, [s1]))

    meta = {"nst.part": "adain", "nst.settings": json.dumps(SETTINGS, sort_keys=True),
            "nst.results": json.dumps(results, sort_keys=True),
            "nst.generator": json.dumps({"torch": torch.__version__, "numpy": np.__version__,
                                         "script": "tools/ref_adain.py"})}
    write_safetensors(out_path, tensors, meta)
    for k, v in results.items():
        print(k, v)
    print(f"wrote {out_path} ({os.path.getsize(out_path) / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
