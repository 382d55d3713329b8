#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tests/data/ref_adain_train.safetensors, the float64 PyTorch reference for AdaIN's
decoder training step (`nst train --method adain`; src/engine/adain_train_step.h).

    /usr/bin/python3 tools/ref_adain_train.py tests/data/ref_adain_train.safetensors

(also run by `tools/make_reference.py --parts adain-train`). Needs numpy and torch; a few seconds.

Written from pytorch-AdaIN's net.py / function.py formulas (research/feedforward.md §5.3: Net's
encode_with_intermediate, calc_mean_std with the unbiased variance + 1e-5, MSE means over N C,
style weight 10) and the official Torch code's (§5.2: AdaIN with the biased content variance +
1e-5 and the style's biased std, StyleINLossModule with input sigma sqrt(biased var + 1e-6),
target biased std, a sum over channels divided by N, style weight 1e-2), not from the C++ code.

Weights are regenerated, never stored: the decoder is nst's init_params(adain-decoder, DEC_SEED)
(torch's default init from nst's RNG, as make_reference.py's ff_params computes it); the encoder
is init_params(adain-encoder, ENC_SEED) with every float32 value multiplied by the float32 gain
2.5 (about He's scale, so that relu4_1 is not vanishingly small). Images: RGB in [0, 1] from
nst's RNG, content and style (2, 3, 32, 32) each.

Contents ("<v>" = port | official):
  in.content, in.style                           the images (float32, used as stored)
  <v>.grad.<name>                                the decoder gradient, whole, for the small tensors
                                                 (every bias and 28.weight)
  <v>.grad.<name>.sample                         its values at the indices sample.<name>, for the big ones
  sample.<name>                                  the sampled flat indices (as float32, exact)
  port.adam2.delta.<name>[.sample]               parameters after two Adam steps (lr 1e-4, decay 0.5:
                                                 lr_i = lr / (1 + decay i), the second step at the
                                                 re-evaluated gradient) minus before, same selection
metadata nst.results (JSON, float64): per variant the terms {content, style: [4], total} and the
L2 norm of each parameter tensor's gradient; nst.settings: everything above.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nst_rng  # noqa: E402
from safetensors_np import write_safetensors  # noqa: E402

SETTINGS = {
    "enc_seed": 11, "dec_seed": 12, "enc_gain": 2.5,
    "content": {"seed": 13, "stream": 4001, "shape": [2, 3, 32, 32]},
    "style": {"seed": 13, "stream": 4002, "shape": [2, 3, 32, 32]},
    "port": {"content_weight": 1.0, "style_weight": 10.0},
    "official": {"content_weight": 1.0, "style_weight": 1e-2},
    "sample": {"seed": 14, "stream": 4003, "count": 48},
    "adam": {"lr": 1e-4, "lr_decay": 0.5, "steps": 2, "betas": [0.9, 0.999], "eps": 1e-8},
}

# (in, out) channels of each 3x3 conv of the encoder after its 1x1 conv "0", with the pool
# after it (True) or not; names are the port's Sequential indices.
ENC = [("2", 3, 64, False), ("5", 64, 64, True), ("9", 64, 128, False), ("12", 128, 128, True),
       ("16", 128, 256, False), ("19", 256, 256, False), ("22", 256, 256, False), ("25", 256, 256, True),
       ("29", 256, 512, False)]
TAPS = {"2": "relu1_1", "9": "relu2_1", "16": "relu3_1", "29": "relu4_1"}
# The decoder: (name, in, out, upsample after its ReLU).
DEC = [("1", 512, 256, True), ("5", 256, 256, False), ("8", 256, 256, False), ("11", 256, 256, False),
       ("14", 256, 128, True), ("18", 128, 128, False), ("21", 128, 64, True), ("25", 64, 64, False),
       ("28", 64, 3, False)]


def init_params(convs, seed, gain=None):
    """nst's init_params for a list of (name, in, out, k) convs in layout order (weight, bias)."""
    P = {}
    t = 0
    for name, cin, cout, k in convs:
        b = 1.0 / math.sqrt(cin * k * k)
        for suffix, shape in ((".weight", (cout, cin, k, k)), (".bias", (cout,))):
            n = math.prod(shape)
            u = nst_rng.uniform_array(seed, nst_rng.STREAM_NET_PARAMS + t, 0, n)
            v = (b * (2.0 * u - 1.0)).astype(np.float32)
            if gain is not None:
                v = (v * np.float32(gain)).astype(np.float32)
            P[name + suffix] = torch.from_numpy(v.reshape(shape)).double()
            t += 1
    return P


def encoder_params():
    convs = [("0", 3, 3, 1)] + [(n, i, o, 3) for n, i, o, _ in ENC]
    return init_params(convs, SETTINGS["enc_seed"], SETTINGS["enc_gain"])


def decoder_layout():
    return [(n, i, o, 3) for n, i, o, _ in DEC]


def conv_reflect(h, P, name):
    return F.conv2d(F.pad(h, (1, 1, 1, 1), mode="reflect"), P[name + ".weight"], P[name + ".bias"])


def encode_with_intermediate(x, E):
    """The port's enc_1 .. enc_4 outputs: relu1_1, relu2_1, relu3_1, relu4_1."""
    h = F.conv2d(x, E["0.weight"], E["0.bias"])
    feats = []
    for name, _, _, pool in ENC:
        h = F.relu(conv_reflect(h, E, name))
        if name in TAPS:
            feats.append(h)
        if pool:
            h = F.max_pool2d(h, 2, 2, ceil_mode=True)
    return feats


def decode(t, D):
    h = t
    for name, _, _, up in DEC:
        h = conv_reflect(h, D, name)
        if name != "28":
            h = F.relu(h)
        if up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
    return h


def mean_std(feat, unbiased, eps):
    n, c = feat.shape[:2]
    v = feat.reshape(n, c, -1)
    return v.mean(dim=2), (v.var(dim=2, unbiased=unbiased) + eps).sqrt()


def losses(content, style, E, D, variant):
    """(content loss, [4 style losses], total) of Net.forward (port) or the official train.lua."""
    port = variant == "port"
    w = SETTINGS[variant]
    with torch.no_grad():
        sf = encode_with_intermediate(style, E)
        cf = encode_with_intermediate(content, E)[-1]
        # AdaIN: the port's calc_mean_std for both; the official: biased content var + 1e-5,
        # style biased std without eps.
        cm, cs = mean_std(cf, port, 1e-5)
        sm, ss = mean_std(sf[-1], port, 1e-5 if port else 0.0)
        t = (cf - cm[..., None, None]) / cs[..., None, None] * ss[..., None, None] + sm[..., None, None]
    g = decode(t, D)
    gf = encode_with_intermediate(g, E)
    loss_c = F.mse_loss(gf[-1], t)
    loss_s = []
    for a, b in zip(gf, sf):
        if port:
            am, asd = mean_std(a, True, 1e-5)
            bm, bsd = mean_std(b, True, 1e-5)
            loss_s.append(F.mse_loss(am, bm) + F.mse_loss(asd, bsd))
        else:
            am, asd = mean_std(a, False, 1e-6)
            bm, bsd = mean_std(b, False, 0.0)
            n = a.shape[0]
            loss_s.append((((am - bm) ** 2).sum() + ((asd - bsd) ** 2).sum()) / n)
    total = w["content_weight"] * loss_c + w["style_weight"] * sum(loss_s)
    return loss_c, loss_s, total


def rng_image(spec):
    n = math.prod(spec["shape"])
    u = nst_rng.uniform_array(spec["seed"], spec["stream"], 0, n)
    return u.astype(np.float32).reshape(spec["shape"])


def f32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data", "ref_adain_train.safetensors")
    start = time.time()
    torch.set_default_dtype(torch.float64)
    E = encoder_params()
    layout = decoder_layout()
    D0 = init_params(layout, SETTINGS["dec_seed"])
    names = [n + s for n, _, _, _ in layout for s in (".weight", ".bias")]
    content_np, style_np = rng_image(SETTINGS["content"]), rng_image(SETTINGS["style"])
    content, style = torch.from_numpy(content_np).double(), torch.from_numpy(style_np).double()

    small = [n for n in names if n.endswith(".bias") or n == "28.weight"]
    big = [n for n in names if n not in small]
    sp = SETTINGS["sample"]
    samples = {}
    for k, n in enumerate(big):
        size = D0[n].numel()
        u = nst_rng.uniform_array(sp["seed"], sp["stream"] + k, 0, sp["count"])
        samples[n] = np.minimum((u * size).astype(np.int64), size - 1)

    tensors = [("in.content", content_np), ("in.style", style_np)]
    tensors += [("sample." + n, samples[n].astype(np.float32)) for n in big]
    results = {}

    def select(prefix, values):
        for n in names:
            v = values[n].reshape(-1)
            if n in samples:
                tensors.append((f"{prefix}.{n}.sample", f32(v[torch.from_numpy(samples[n])])))
            else:
                tensors.append((f"{prefix}.{n}", f32(v)))

    for variant in ("port", "official"):
        D = {n: D0[n].clone().requires_grad_(True) for n in names}
        lc, ls, total = losses(content, style, E, D, variant)
        grads = torch.autograd.grad(total, [D[n] for n in names])
        G = dict(zip(names, grads))
        select(f"{variant}.grad", G)
        results[variant] = {"content": lc.item(), "style": [v.item() for v in ls], "total": total.item(),
                            "grad_norm": {n: G[n].norm().item() for n in names}}
        print(f"adain-train {variant}: content {lc.item():.6g}, style {[round(v.item(), 6) for v in ls]}, "
              f"total {total.item():.6g} ({time.time() - start:.1f} s)")

    # Two Adam steps with the inverse-time decay, each at the current parameters' gradient.
    a = SETTINGS["adam"]
    D = {n: D0[n].clone().requires_grad_(True) for n in names}
    opt = torch.optim.Adam([D[n] for n in names], lr=a["lr"], betas=tuple(a["betas"]), eps=a["eps"])
    for i in range(a["steps"]):
        for group in opt.param_groups:
            group["lr"] = a["lr"] / (1.0 + a["lr_decay"] * i)
        opt.zero_grad()
        _, _, total = losses(content, style, E, D, "port")
        total.backward()
        opt.step()
    select("port.adam2.delta", {n: (D[n].detach() - D0[n]) for n in names})

    meta = {"nst.part": "adain-train", "nst.settings": json.dumps(SETTINGS, sort_keys=True),
            "nst.results": json.dumps(results),
            "nst.generator": json.dumps({"torch": torch.__version__, "numpy": np.__version__,
                                         "script": "tools/ref_adain_train.py"})}
    write_safetensors(out, tensors, meta)
    print(f"wrote {out} ({os.path.getsize(out) / 1e3:.0f} KB, {time.time() - start:.1f} s)")


if __name__ == "__main__":
    main()
