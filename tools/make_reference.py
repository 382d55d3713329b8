#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the PyTorch reference fixtures that tests/test_reference.cpp holds the engine to.

    python3 tools/make_reference.py [--out-dir tests/data]

Needs PyTorch and numpy (Debian: apt-get install python3-torch; then run it with Debian's
/usr/bin/python3 if another python3 comes first on PATH). CPU only; takes 10-25 s.

This is an independent implementation of the engine's mathematics, written from
../shared/docs/spec.md (sections 2, 5 and 6), not from the C++ code: VGG19 by F.conv2d/F.relu/
F.max_pool2d/F.avg_pool2d, the loss terms of both presets by their formulas, the gradient by
autograd, and the optimiser is torch.optim.LBFGS itself. Everything runs in float64, so the
fixtures hold the exact answer up to float64 rounding, stored as float32 tensors (a relative
rounding of 6e-8, far below the tolerances) and float64 scalars (JSON, shortest round-trip
decimal).

Only outputs are stored. The inputs (VGG19 weights of `--weights random:SEED` and four images)
come from nst's counter-based RNG (tools/nst_rng.py, bit for bit the C++ src/core/rng.h), so the
C++ test regenerates them itself and no weight file is committed. tests/README.md describes the
files, what is compared, the tolerances and when to regenerate.

ref_guided.safetensors (tests/test_controls_reference.cpp) holds the spatial and scale controls
of issue #10 (docs/perceptual_controls_spatial.md), computed the same way from their definition:
mask propagation to the layers (simple / inside / all, grow) by torch pooling operators, guided
Grams of F o T with T / sqrt(mean T^2) guides, per-region style terms, style masks, per-style
layer sets, and the gradient by autograd. `--parts guided` rewrites only that file.

ref_color.safetensors (tests/test_color.cpp) holds the colour transforms (numpy float64, no
torch): tools/ref_color.py computes it, and `--parts color` (or `all`) writes it from here too,
so that this one script regenerates every fixture.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the message CI users and contributors see first
    sys.exit(f"make_reference.py: {e.name or e} is not installed. It needs PyTorch and numpy: on Debian "
             "'apt-get install python3-torch python3-numpy', then run it with Debian's python3 "
             "(/usr/bin/python3 tools/make_reference.py) if another python3 comes first on PATH.")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nst_rng  # noqa: E402
from safetensors_np import write_safetensors  # noqa: E402

# Bump when the layout or meaning of the files changes; the C++ test refuses other versions.
FORMAT_VERSION = 1
MAGIC = "nst-reference"

RELU_TAPS = ["relu1_1", "relu1_2",
             "relu2_1", "relu2_2",
             "relu3_1", "relu3_2", "relu3_3", "relu3_4",
             "relu4_1", "relu4_2", "relu4_3", "relu4_4",
             "relu5_1", "relu5_2", "relu5_3", "relu5_4"]
CONVS_PER_BLOCK = [2, 2, 4, 4, 4]
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CONTENT_LAYERS = ["relu4_2"]

# Everything the fixtures depend on. The C++ test holds the same object and treats any
# difference as a stale fixture. Why these values (tests/README.md has the long form):
# - images: odd, non-square sizes that stay >= 2x2 at block 5 (33x37 -> 16x18 -> 8x9 -> 4x4 ->
#   2x2), so every pool rounds down somewhere and conv5 sees more than its centre tap; the style
#   image has another size and orientation, which exercises the size rule of the gatys target.
#   Power-of-two scales make scale*u exact, so x = scale*u + offset is one rounding in any
#   language, with or without a fused multiply-add.
# - point (where activations, Grams, terms and the gradient are taken): content, style and point
#   have different distributions (mean 0 and +-128, mean +64, mean 0 and +-64) so that G - A and
#   F - P are far from zero: a loss term that is a small difference of large numbers would
#   measure float32 cancellation, not the engine.
# - start (of L-BFGS): L-BFGS without line search is chaotic on this non-convex objective when
#   it overshoots or crosses ReLU/max-pool kinks: from many starts (the point among them), torch
#   itself in float32 departs from torch in float64 by 1e-4 to 1e-1 within 10 iterations. Its
#   first step also moves x by only lr / ||g||_1 in total, near float32's resolution of x at the
#   +-64 point. The start is a small image (+-0.25), its stream chosen among candidates because
#   its trajectories amplify rounding least: with x rounded to float32 and a relative noise of
#   1e-6 on every gradient, the 10 totals of all four configurations moved by at most 2e-6
#   (tests/README.md). All four descend monotonically, by 2-4 %.
# - weights of the terms: the presets' conventions (normalisations, w_l = 1/L in gatys, TV only
#   in jcjohnson) with per-layer and TV weights chosen so that every term moves the gradient at
#   the point by a similar amount (within 5x). With the presets' default weights the largest
#   term's gradient exceeds the smallest's by 4e1 to 2e8 (TV against relu5_1 in jcjohnson/avg),
#   which would hide errors in the small terms' gradients.
SETTINGS = {
    "weights": {"random_seed": 0},
    "images": {
        "seed": 0,
        "content": {"stream": 1000, "shape": [1, 3, 33, 37], "scale": 256.0, "offset": -128.0},
        "style": {"stream": 1001, "shape": [1, 3, 41, 35], "scale": 256.0, "offset": -64.0},
        "point": {"stream": 1002, "shape": [1, 3, 33, 37], "scale": 128.0, "offset": -64.0},
        "start": {"stream": 1005, "shape": [1, 3, 33, 37], "scale": 0.5, "offset": -0.25},
    },
    "activations": {"image": "point", "layers": RELU_TAPS},
    "grams": {"image": "point", "layers": STYLE_LAYERS, "stored": "upper triangle, row-major, of F F^T / (C M)"},
    "content_layers": CONTENT_LAYERS,
    "style_layers": STYLE_LAYERS,
    "configs": [
        {"preset": "jcjohnson", "pooling": "max", "content_weight": 5.0, "style_weight": 100.0,
         "tv_weight": 2e-5, "style_layer_weights": [1.0, 0.5, 10.0, 100.0, 500.0]},
        {"preset": "jcjohnson", "pooling": "avg", "content_weight": 100.0, "style_weight": 100.0,
         "tv_weight": 1e-5, "style_layer_weights": [1.0, 10.0, 300.0, 2e4, 1e6]},
        {"preset": "gatys", "pooling": "max", "content_weight": 1.0, "style_weight": 1e3,
         "tv_weight": 0.0, "style_layer_weights": [1.0, 0.1, 0.3, 1.0, 5.0]},
        {"preset": "gatys", "pooling": "avg", "content_weight": 1.0, "style_weight": 1e3,
         "tv_weight": 0.0, "style_layer_weights": [0.03, 0.1, 1.0, 10.0, 1000.0]},
    ],
    "lbfgs": {"iterations": 10, "lr": 1.0, "history_size": 100, "line_search_fn": None,
              "tolerance_grad": -1.0, "tolerance_change": -1.0, "dtype": "float64", "start": "start"},
}

# (seed, stream, index) triples whose bits/uniform/normal the C++ test recomputes: the first
# weights, the last weight of conv5_4, a content value, a value of the --init random stream, and
# a seed, stream and index that need all 64 bits.
RNG_SAMPLES = [(0, 1, 0), (0, 1, 1), (0, 16, 512 * 512 * 9 - 1), (0, 1000, 0), (0, 100, 12345),
               (2 ** 64 - 1, 2 ** 63 + 5, 2 ** 40 + 3)]


# --- inputs -----------------------------------------------------------------------------------

def make_image(name):
    s = SETTINGS["images"]
    spec = s[name]
    n = math.prod(spec["shape"])
    u = nst_rng.uniform_array(s["seed"], spec["stream"], 0, n)
    return (spec["scale"] * u + spec["offset"]).astype(np.float32).reshape(spec["shape"])


def make_weights():
    return [nst_rng.random_conv_weight(SETTINGS["weights"]["random_seed"], k) for k in range(16)]


# --- the network and the losses, from the spec ----------------------------------------------

def vgg19(x, weights, pooling, deepest):
    """Post-ReLU activations {relu name: tensor} up to and including `deepest` (spec section 2:
    3x3 convs, zero padding 1, zero biases for random weights, 2x2 stride-2 pools that round
    odd sizes down)."""
    out, k = {}, 0
    for b, n in enumerate(CONVS_PER_BLOCK, start=1):
        for i in range(1, n + 1):
            w = weights[k]
            x = F.relu(F.conv2d(x, w, torch.zeros(w.shape[0], dtype=w.dtype), padding=1))
            name = f"relu{b}_{i}"
            out[name] = x
            if name == deepest:
                return out
            k += 1
        x = F.max_pool2d(x, 2, 2) if pooling == "max" else F.avg_pool2d(x, 2, 2)
    return out


def features(act):
    """(C, M) view of a (1, C, H, W) activation."""
    return act.reshape(act.shape[1], -1)


def gram_raw(act):
    f = features(act)
    return f @ f.t()


class Problem:
    """Spec section 5 for one (preset, pooling) configuration."""

    def __init__(self, cfg, weights, content, style):
        self.cfg, self.weights = cfg, weights
        self.deepest = max(CONTENT_LAYERS + STYLE_LAYERS, key=RELU_TAPS.index)
        with torch.no_grad():
            ac = vgg19(content, weights, cfg["pooling"], self.deepest)
            ast = vgg19(style, weights, cfg["pooling"], self.deepest)
        self.P = {l: ac[l] for l in CONTENT_LAYERS}
        # The style image's F F^T and its own M. The target's normalisation depends on the preset
        # (and, for gatys, on the size of the image it is compared with): see style_terms.
        self.S = {l: (gram_raw(ast[l]), ast[l].shape[2] * ast[l].shape[3]) for l in STYLE_LAYERS}

    def terms(self, x):
        """Weighted terms (as they enter the total) and the total, as float64 tensors."""
        cfg, jc = self.cfg, self.cfg["preset"] == "jcjohnson"
        a = vgg19(x, self.weights, cfg["pooling"], self.deepest)
        t = {"content": {}, "style": {}}
        for l in CONTENT_LAYERS:
            d2 = (a[l] - self.P[l]) ** 2
            # jcjohnson: w_c * mean over C*H*W; gatys: (alpha / 2) * sum.
            t["content"][l] = cfg["content_weight"] * (d2.mean() if jc else 0.5 * d2.sum())
        L = len(STYLE_LAYERS)
        for l, user_w in zip(STYLE_LAYERS, cfg["style_layer_weights"]):
            C, M = a[l].shape[1], a[l].shape[2] * a[l].shape[3]
            S, Ms = self.S[l]
            if jc:
                # G = F F^T / (C M); the target is the style image's Gram under the same
                # normalisation (its own M); w_s * w_l * mean over C^2.
                G, A = gram_raw(a[l]) / (C * M), S / (C * Ms)
                t["style"][l] = cfg["style_weight"] * user_w * ((G - A) ** 2).mean()
            else:
                # G = F F^T; E_l = sum (G - A)^2 / (4 C^2 M^2); beta * w_l * E_l, w_l = user / L.
                # With a style image of another size, A = (M / M_s) * F_s F_s^T, so that
                # (G - A) / M compares the two M-normalised Grams (the authors' code divides each
                # Gram by its own M; nst's src/loss/objective.cpp documents the same choice).
                G, A = gram_raw(a[l]), S * (M / Ms)
                t["style"][l] = cfg["style_weight"] * (user_w / L) * ((G - A) ** 2).sum() / (4.0 * C * C * M * M)
        if jc and cfg["tv_weight"] != 0:
            # w_tv * 1/2 * sum over c, i < H-1, j < W-1 of the right and down differences squared.
            core = x[:, :, :-1, :-1]
            right = x[:, :, :-1, 1:]
            down = x[:, :, 1:, :-1]
            t["tv"] = cfg["tv_weight"] * 0.5 * (((core - right) ** 2).sum() + ((core - down) ** 2).sum())
        else:
            t["tv"] = torch.zeros((), dtype=x.dtype)
        t["total"] = sum(t["content"].values()) + sum(t["style"].values()) + t["tv"]
        return t


def lbfgs_totals(problem, x0):
    """The first `iterations` totals of torch.optim.LBFGS from x0 (spec section 6 settings): one
    step() with max_iter = iterations evaluates the closure at x0, x1, ..., x_{n-1}."""
    s = SETTINGS["lbfgs"]
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=s["lr"], max_iter=s["iterations"], history_size=s["history_size"],
                            line_search_fn=s["line_search_fn"], tolerance_grad=s["tolerance_grad"],
                            tolerance_change=s["tolerance_change"])
    totals = []

    def closure():
        opt.zero_grad()
        total = problem.terms(x)["total"]
        total.backward()
        totals.append(total.item())
        return total

    opt.step(closure)
    if len(totals) != s["iterations"]:
        sys.exit(f"make_reference.py: LBFGS evaluated {len(totals)} times, expected {s['iterations']}")
    return totals


def upper_triangle(g):
    c = g.shape[0]
    i, j = np.triu_indices(c)
    return g[i, j]


def f32(t):
    return t.detach().cpu().numpy().astype(np.float32)


# --- spatial and scale controls (ref_guided.safetensors) ----------------------------------------

# A mask (H, W) with values clamp((a*i + b*j - c) / d, 0, 1), d a power of two, so that every
# value k/d is exact in float32 and the C++ test rebuilds the same mask from these integers;
# "invert" gives 1 - value (also exact).
GUIDED_STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1"]
GUIDED_CONTENT_LAYERS = ["relu2_2"]
GUIDED_SETTINGS = {
    "weights": {"random_seed": 0},
    "images": {
        "seed": 0,
        "content": {"stream": 1010, "shape": [1, 3, 24, 28], "scale": 256.0, "offset": -128.0},
        "style1": {"stream": 1011, "shape": [1, 3, 26, 22], "scale": 256.0, "offset": -64.0},
        "style2": {"stream": 1012, "shape": [1, 3, 20, 30], "scale": 256.0, "offset": -96.0},
        "point": {"stream": 1013, "shape": [1, 3, 24, 28], "scale": 128.0, "offset": -64.0},
    },
    "masks": {
        # content regions: a soft diagonal boundary and its complement
        "region1": {"shape": [24, 28], "a": 2, "b": 3, "c": 50, "d": 8, "invert": True},
        "region2": {"shape": [24, 28], "a": 2, "b": 3, "c": 50, "d": 8, "invert": False},
        # style masks: the right part of style 1, a soft lower band of style 2
        "style1": {"shape": [26, 22], "a": 0, "b": 4, "c": 10, "d": 16, "invert": False},
        "style2": {"shape": [20, 30], "a": 4, "b": 1, "c": 10, "d": 32, "invert": False},
    },
    "content_layers": GUIDED_CONTENT_LAYERS,
    "style_layers": GUIDED_STYLE_LAYERS,
    "grams": {"image": "point", "config": "regions_simple", "layers": ["relu1_1", "relu2_1"],
              "stored": "upper triangle, row-major, of (F o T_k)(F o T_k)^T / (C M), T_k the normalised guide of region k"},
    "guides": {"masks": ["region1", "region2", "style2"], "layers": GUIDED_STYLE_LAYERS,
               "modes": [["simple", 0], ["inside", 0], ["all", 0], ["simple", 2], ["inside", -1]],
               "stored": "unnormalised layer guide of the mask (pixel size of its image)"},
    "configs": [
        {"name": "regions_simple", "preset": "jcjohnson", "pooling": "avg", "mode": "simple", "grow": 0,
         "content_masks": ["region1", "region2"], "style_masks": [None, "style2"],
         "layer_sets": [["relu1_1", "relu2_1"], ["relu2_1", "relu3_1"]], "blend": [1.0, 3.0],
         "content_weight": 5.0, "style_weight": 100.0, "tv_weight": 1e-4, "style_layer_weights": [1.0, 5.0, 600.0]},
        {"name": "regions_inside", "preset": "gatys", "pooling": "max", "mode": "inside", "grow": 0,
         "content_masks": ["region1", "region2"], "style_masks": ["style1", "style2"],
         "layer_sets": None, "blend": [1.0, 1.0],
         "content_weight": 1.0, "style_weight": 1e3, "tv_weight": 0.0, "style_layer_weights": [1.0, 0.3, 1.0]},
        {"name": "blended_all_grow", "preset": "jcjohnson", "pooling": "avg", "mode": "all", "grow": 1,
         "content_masks": None, "style_masks": ["style1", None],
         "layer_sets": [["relu1_1", "relu2_1", "relu3_1"], ["relu3_1"]], "blend": [2.0, 1.0],
         "content_weight": 5.0, "style_weight": 100.0, "tv_weight": 1e-4, "style_layer_weights": [0.5, 8.0, 1000.0]},
    ],
}


def make_guided_image(name):
    s = GUIDED_SETTINGS["images"]
    spec = s[name]
    n = math.prod(spec["shape"])
    u = nst_rng.uniform_array(s["seed"], spec["stream"], 0, n)
    return torch.from_numpy((spec["scale"] * u + spec["offset"]).astype(np.float32).reshape(spec["shape"])).double()


def make_mask(name):
    m = GUIDED_SETTINGS["masks"][name]
    h, w = m["shape"]
    i = torch.arange(h, dtype=torch.float64)[:, None]
    j = torch.arange(w, dtype=torch.float64)[None, :]
    v = ((m["a"] * i + m["b"] * j - m["c"]) / m["d"]).clamp(0, 1)
    return 1 - v if m["invert"] else v


def layer_sequence(deepest):
    """('conv' | 'relu' | 'pool', name) in forward order up to `deepest` (spec section 2)."""
    seq = []
    for b, n in enumerate(CONVS_PER_BLOCK, start=1):
        for i in range(1, n + 1):
            seq.append(("conv", f"conv{b}_{i}"))
            seq.append(("relu", f"relu{b}_{i}"))
            if seq[-1][1] == deepest:
                return seq
        seq.append(("pool", f"pool{b}"))
    return seq


def erode(m, k):
    # max_pool2d pads with -inf, so positions outside the image never count against a position.
    return -F.max_pool2d(-m, 2 * k + 1, 1, k)


def dilate(m, k):
    return F.max_pool2d(m, 2 * k + 1, 1, k)


def propagate(mask, layer, mode, grow):
    """The guide of `layer` for a pixel mask (H, W), from the definition: 'simple' averages 2x2 at
    each pool; 'inside' / 'all' binarise at 0.5 and erode / dilate 3x3 at each conv and take the
    2x2 minimum / maximum at each pool; grow binarises and dilates / erodes first."""
    m = mask[None, None]
    if mode != "simple" or grow != 0:
        m = (m >= 0.5).double()
    if grow > 0:
        m = dilate(m, grow)
    elif grow < 0:
        m = erode(m, -grow)
    for kind, _ in layer_sequence(layer):
        if kind == "conv" and mode == "inside":
            m = erode(m, 1)
        elif kind == "conv" and mode == "all":
            m = dilate(m, 1)
        elif kind == "pool":
            m = F.avg_pool2d(m, 2) if mode == "simple" else (-F.max_pool2d(-m, 2) if mode == "inside" else F.max_pool2d(m, 2))
    return m[0, 0]


def normalized(t):
    """T / sqrt(mean(T^2)), or None for an all-zero guide."""
    ms = (t * t).mean()
    return None if ms.item() == 0 else t / ms.sqrt()


class GuidedProblem:
    """One configuration of GUIDED_SETTINGS: the semantics of src/loss/objective.h written out."""

    def __init__(self, cfg, weights, images, masks):
        self.cfg, self.weights, self.masks = cfg, weights, masks
        self.jc = cfg["preset"] == "jcjohnson"
        self.deepest = "relu3_1"
        styles = [images["style1"], images["style2"]]
        k_n = len(styles)
        b = torch.tensor(cfg["blend"], dtype=torch.float64)
        self.b = b / b.sum()
        sets = cfg["layer_sets"] or [GUIDED_STYLE_LAYERS] * k_n
        self.uses = [[l in sets[k] for l in GUIDED_STYLE_LAYERS] for k in range(k_n)]
        with torch.no_grad():
            ac = vgg19(images["content"], weights, cfg["pooling"], self.deepest)
            self.P = {l: ac[l] for l in GUIDED_CONTENT_LAYERS}
            # N[k][l] = Gram(F_k o S^l_k) / M_k, S the style mask's normalised guide (or ones).
            self.N = [{} for _ in range(k_n)]
            for k, img in enumerate(styles):
                a = vgg19(img, weights, cfg["pooling"], self.deepest)
                for j, l in enumerate(GUIDED_STYLE_LAYERS):
                    if not self.uses[k][j]:
                        continue
                    f = features(a[l])
                    sm = cfg["style_masks"][k]
                    if sm is not None:
                        t = normalized(propagate(masks[sm], l, cfg["mode"], cfg["grow"]))
                        assert t is not None, "empty style guide"
                        f = f * t.reshape(1, -1)
                    self.N[k][l] = f @ f.t() / f.shape[1]

    def terms(self, x):
        cfg, jc = self.cfg, self.jc
        a = vgg19(x, self.weights, cfg["pooling"], self.deepest)
        t = {"content": {}, "style": {}}
        for l in GUIDED_CONTENT_LAYERS:
            d2 = (a[l] - self.P[l]) ** 2
            t["content"][l] = cfg["content_weight"] * (d2.mean() if jc else 0.5 * d2.sum())
        L = len(GUIDED_STYLE_LAYERS)
        for j, (l, user_w) in enumerate(zip(GUIDED_STYLE_LAYERS, cfg["style_layer_weights"])):
            f = features(a[l])
            C, M = f.shape
            gs = 1.0 / (C * M) if jc else 1.0
            ss = 1.0 / (C * C) if jc else 1.0 / (4.0 * C * C * M * M)
            wl = user_w if jc else user_w / L
            users = [k for k in range(len(self.N)) if self.uses[k][j]]
            term = torch.zeros((), dtype=torch.float64)
            if cfg["content_masks"]:
                # One term per region k: b_k * style_loss(F o C^l_k, gs * M * N^l_k), b over all K.
                for k in users:
                    c = normalized(propagate(self.masks[cfg["content_masks"][k]], l, cfg["mode"], cfg["grow"]))
                    if c is None:
                        continue  # the region vanished at this layer
                    fc = f * c.reshape(1, -1)
                    g = gs * (fc @ fc.t())
                    term = term + self.b[k] * ((g - gs * M * self.N[k][l]) ** 2).sum()
            else:
                # Blend renormalised over the styles that use this layer.
                bu = sum(self.b[k] for k in users)
                target = sum((self.b[k] / bu) * self.N[k][l] for k in users)
                g = gs * (f @ f.t())
                term = ((g - gs * M * target) ** 2).sum()
            t["style"][l] = cfg["style_weight"] * wl * ss * term
        if jc and cfg["tv_weight"] != 0:
            core, right, down = x[:, :, :-1, :-1], x[:, :, :-1, 1:], x[:, :, 1:, :-1]
            t["tv"] = cfg["tv_weight"] * 0.5 * (((core - right) ** 2).sum() + ((core - down) ** 2).sum())
        else:
            t["tv"] = torch.zeros((), dtype=x.dtype)
        t["total"] = sum(t["content"].values()) + sum(t["style"].values()) + t["tv"]
        return t


def write_guided(out_dir, weights, metadata, start):
    images = {k: make_guided_image(k) for k in GUIDED_SETTINGS["images"] if k != "seed"}
    masks = {k: make_mask(k) for k in GUIDED_SETTINGS["masks"]}
    tensors, results = [], {}
    for name in GUIDED_SETTINGS["guides"]["masks"]:
        for l in GUIDED_SETTINGS["guides"]["layers"]:
            for mode, grow in GUIDED_SETTINGS["guides"]["modes"]:
                tensors.append((f"guide.{name}.{l}.{mode}.{grow}", f32(propagate(masks[name], l, mode, grow))))
    for cfg in GUIDED_SETTINGS["configs"]:
        problem = GuidedProblem(cfg, weights, images, masks)
        x = images["point"].clone().requires_grad_(True)
        t = problem.terms(x)
        (grad,) = torch.autograd.grad(t["total"], x, retain_graph=True)
        tensors.append((f"grad.{cfg['name']}", f32(grad)))
        # How much each term moves the gradient, so that none hides behind another (printed only).
        norms = {}
        for group in ("content", "style"):
            for l, v in t[group].items():
                (gl,) = torch.autograd.grad(v, x, retain_graph=True)
                norms[f"{group} {l}"] = f"{gl.norm().item():.2e}"
        results[cfg["name"]] = {"content": {k: v.item() for k, v in t["content"].items()},
                                "style": {k: v.item() for k, v in t["style"].items()},
                                "tv": t["tv"].item(), "total": t["total"].item()}
        print(f"guided {cfg['name']:17s} total {t['total'].item():.6g}; gradient norms {norms} "
              f"({time.time() - start:.1f} s)")
    gcfg = next(c for c in GUIDED_SETTINGS["configs"] if c["name"] == GUIDED_SETTINGS["grams"]["config"])
    with torch.no_grad():
        a = vgg19(images["point"], weights, gcfg["pooling"], "relu3_1")
    for l in GUIDED_SETTINGS["grams"]["layers"]:
        f = features(a[l])
        for k, region in enumerate(gcfg["content_masks"]):
            fc = f * normalized(propagate(masks[region], l, gcfg["mode"], gcfg["grow"])).reshape(1, -1)
            tensors.append((f"gram.{l}.region{k + 1}", upper_triangle(f32(fc @ fc.t() / (f.shape[0] * f.shape[1])))))
    path = os.path.join(out_dir, "ref_guided.safetensors")
    m = metadata("guided", {"nst.results": json.dumps(results)})
    m["nst.settings"] = json.dumps(GUIDED_SETTINGS, sort_keys=True)
    write_safetensors(path, tensors, m)
    return path


# --- feed-forward networks (ref_transformer.safetensors) -----------------------------------------

# Johnson et al.'s TransformerNet in both layouts, written from ../shared/docs/research/feedforward.md
# (§3.1 pytorch/examples, §2.1/§2.5 jcjohnson's instance-norm models), with torch's functional ops.
# Parameters: nst's init_params (src/nn/net_model.h): conv and transposed-conv weights and biases
# U(-b, b), b = 1/sqrt(fan_in), fan_in = weight.shape[1] * k * k (I k k for a conv, O k k for a
# transposed conv, as torch computes it); element j of parameter tensor t (layout order) is
# float32(b * (2 uniform(seed, STREAM_NET_PARAMS + t, j) - 1)); InstanceNorm weight 1, bias 0.
# Because weight 1 / bias 0 would let a forward pass that ignores the affine parameters pass, the
# fixture then sets them to gamma = float32(1 + 0.5 (2u - 1)), beta = float32(0.5 (2u - 1)), u =
# uniform(seed, FF_AFFINE_STREAM + t, j); the C++ test applies the same perturbation to
# init_params' output. The width is small (4: channels 4/8/16) to keep every gradient and the Adam
# update in a file under 1 MB; the code paths are those of the published width.
FF_AFFINE_STREAM = 300
FF_SETTINGS = {
    "seed": 0,
    "affine_stream": FF_AFFINE_STREAM,
    "pytorch_examples": {"arch": "transformer-net", "width": 4,
                         "input": {"stream": 2000, "shape": [2, 3, 20, 28], "scale": 255.0, "offset": 0.0},
                         "weights": {"stream": 2001, "scale": 2.0, "offset": -1.0}},
    "jcjohnson": {"arch": "transformer-net-jcjohnson", "width": 4,
                  "input": {"stream": 2002, "shape": [1, 3, 44, 48], "scale": 255.0, "offset": -128.0},
                  "weights": {"stream": 2003, "scale": 2.0, "offset": -1.0}},
    "loss": "sum(out * R), R[j] = float32(scale * uniform(seed, weights.stream, j) + offset)",
    "adam": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "steps": 1,
             "stored": "parameters after the step minus before (float64 difference, stored float32)"},
}


def ff_layout(arch, width):
    """Parameter tensors in nst's layout order: (name, kind, shape); kind conv, convT or in."""
    w1, w2, w3 = width, 2 * width, 4 * width
    out = []

    def conv(name, o, i, k):
        out.append((name + ".weight", "conv", (o, i, k, k)))
        out.append((name + ".bias", "conv", (o,)))

    def convt(name, i, o, k):
        out.append((name + ".weight", "convT", (i, o, k, k)))
        out.append((name + ".bias", "convT", (o,)))

    def inorm(name, c):
        out.append((name + ".weight", "in", (c,)))
        out.append((name + ".bias", "in", (c,)))

    if arch == "transformer-net":
        conv("conv1.conv2d", w1, 3, 9); inorm("in1", w1)
        conv("conv2.conv2d", w2, w1, 3); inorm("in2", w2)
        conv("conv3.conv2d", w3, w2, 3); inorm("in3", w3)
        for b in range(1, 6):
            conv(f"res{b}.conv1.conv2d", w3, w3, 3); inorm(f"res{b}.in1", w3)
            conv(f"res{b}.conv2.conv2d", w3, w3, 3); inorm(f"res{b}.in2", w3)
        conv("deconv1.conv2d", w2, w3, 3); inorm("in4", w2)
        conv("deconv2.conv2d", w1, w2, 3); inorm("in5", w1)
        conv("deconv3.conv2d", 3, w1, 9)
    else:
        conv("0.conv", w1, 3, 9); inorm("0.norm", w1)
        conv("1.conv", w2, w1, 3); inorm("1.norm", w2)
        conv("2.conv", w3, w2, 3); inorm("2.norm", w3)
        for t in range(3, 8):
            conv(f"{t}.conv1", w3, w3, 3); inorm(f"{t}.norm1", w3)
            conv(f"{t}.conv2", w3, w3, 3); inorm(f"{t}.norm2", w3)
        convt("8.conv", w3, w2, 3); inorm("8.norm", w2)
        convt("9.conv", w2, w1, 3); inorm("9.norm", w1)
        conv("10.conv", 3, w1, 9)
    return out


def ff_params(arch, width):
    """{name: float64 tensor} of init_params (seed FF_SETTINGS seed) with the affine perturbation."""
    seed = FF_SETTINGS["seed"]
    layout = ff_layout(arch, width)
    params = {}
    fan_in = None
    for t, (name, kind, shape) in enumerate(layout):
        n = math.prod(shape)
        if kind in ("conv", "convT"):
            if name.endswith(".weight"):
                fan_in = shape[1] * shape[2] * shape[3]
            b = 1.0 / math.sqrt(fan_in)
            u = nst_rng.uniform_array(seed, nst_rng.STREAM_NET_PARAMS + t, 0, n)
            v = (b * (2.0 * u - 1.0)).astype(np.float32)
        else:
            u = nst_rng.uniform_array(seed, FF_AFFINE_STREAM + t, 0, n)
            v = ((1.0 if name.endswith(".weight") else 0.0) + 0.5 * (2.0 * u - 1.0)).astype(np.float32)
        params[name] = torch.from_numpy(v.reshape(shape)).double()
    return layout, params


def ff_rng_tensor(spec, shape):
    n = math.prod(shape)
    u = nst_rng.uniform_array(FF_SETTINGS["seed"], spec["stream"], 0, n)
    return torch.from_numpy((spec["scale"] * u + spec["offset"]).astype(np.float32).reshape(shape)).double()


def transformer_pytorch_examples(x, P):
    """pytorch/examples TransformerNet (§3.1): reflection-padded convs, IN (eps 1e-5, biased
    variance, instance statistics) + ReLU, 5 residual blocks without a ReLU after the add,
    nearest x2 upsampling before deconv1/deconv2, raw output."""
    def conv(h, name, k, stride):
        h = F.pad(h, (k // 2,) * 4, mode="reflect")
        return F.conv2d(h, P[name + ".weight"], P[name + ".bias"], stride=stride)

    def inorm(h, name):
        return F.instance_norm(h, weight=P[name + ".weight"], bias=P[name + ".bias"], eps=1e-5)

    h = F.relu(inorm(conv(x, "conv1.conv2d", 9, 1), "in1"))
    h = F.relu(inorm(conv(h, "conv2.conv2d", 3, 2), "in2"))
    h = F.relu(inorm(conv(h, "conv3.conv2d", 3, 2), "in3"))
    for b in range(1, 6):
        r = h
        h = F.relu(inorm(conv(h, f"res{b}.conv1.conv2d", 3, 1), f"res{b}.in1"))
        h = inorm(conv(h, f"res{b}.conv2.conv2d", 3, 1), f"res{b}.in2") + r
    h = F.interpolate(h, scale_factor=2, mode="nearest")
    h = F.relu(inorm(conv(h, "deconv1.conv2d", 3, 1), "in4"))
    h = F.interpolate(h, scale_factor=2, mode="nearest")
    h = F.relu(inorm(conv(h, "deconv2.conv2d", 3, 1), "in5"))
    return conv(h, "deconv3.conv2d", 9, 1)


def transformer_jcjohnson(x, P):
    """jcjohnson's instance-norm model (§2.1, §2.5; -arch c9s1-W,d2W,d4W,R4W x5,u2W,uW,c9s1-3,
    padding_type reflect-start): 40-px reflection pad, zero-padded c/d convs, unpadded residual
    convs with the shortcut shaved by 2 px per side, SpatialFullConvolution(k3 s2 p1 adj1)
    upsampling, IN + ReLU after every layer but the last, 150 tanh."""
    def inorm(h, name):
        return F.instance_norm(h, weight=P[name + ".weight"], bias=P[name + ".bias"], eps=1e-5)

    def conv(h, name, stride, pad):
        return F.conv2d(h, P[name + ".weight"], P[name + ".bias"], stride=stride, padding=pad)

    h = F.pad(x, (40,) * 4, mode="reflect")
    h = F.relu(inorm(conv(h, "0.conv", 1, 4), "0.norm"))
    h = F.relu(inorm(conv(h, "1.conv", 2, 1), "1.norm"))
    h = F.relu(inorm(conv(h, "2.conv", 2, 1), "2.norm"))
    for t in range(3, 8):
        r = h[:, :, 2:-2, 2:-2]
        h = F.relu(inorm(conv(h, f"{t}.conv1", 1, 0), f"{t}.norm1"))
        h = inorm(conv(h, f"{t}.conv2", 1, 0), f"{t}.norm2") + r
    for t in (8, 9):
        h = F.conv_transpose2d(h, P[f"{t}.conv.weight"], P[f"{t}.conv.bias"], stride=2, padding=1, output_padding=1)
        h = F.relu(inorm(h, f"{t}.norm"))
    return 150.0 * torch.tanh(conv(h, "10.conv", 1, 4))


def ff_case(key, forward, with_adam):
    cfg = FF_SETTINGS[key]
    layout, P = ff_params(cfg["arch"], cfg["width"])
    names = [n for n, _, _ in layout]
    x = ff_rng_tensor(cfg["input"], cfg["input"]["shape"]).requires_grad_(True)
    params = [P[n].clone().requires_grad_(True) for n in names]
    out = forward(x, dict(zip(names, params)))
    R = ff_rng_tensor(cfg["weights"], list(out.shape))
    loss = (out * R).sum()
    grads = torch.autograd.grad(loss, [x] + params)
    prefix = "pe" if key == "pytorch_examples" else "jc"
    tensors = [(f"{prefix}.out", f32(out)), (f"{prefix}.grad.input", f32(grads[0])),
               (f"{prefix}.grad.params", np.concatenate([f32(g).reshape(-1) for g in grads[1:]]))]
    info = {"arch": cfg["arch"], "width": cfg["width"], "output_shape": list(out.shape), "loss": loss.item(),
            "tensors": [[n, list(s)] for n, _, s in layout],
            # The exact sum of each float32 parameter tensor: tells a drifting init_params apart
            # from a drifting network.
            "param_sums": [math.fsum(P[n].reshape(-1).tolist()) for n in names]}
    if with_adam:
        a = FF_SETTINGS["adam"]
        leaves = [p.detach().clone().requires_grad_(True) for p in params]
        for leaf, g in zip(leaves, grads[1:]):
            leaf.grad = g.detach().clone()
        opt = torch.optim.Adam(leaves, lr=a["lr"], betas=tuple(a["betas"]), eps=a["eps"])
        opt.step()
        delta = [(leaf.detach() - p.detach()).reshape(-1) for leaf, p in zip(leaves, params)]
        tensors.append((f"{prefix}.adam.delta", f32(torch.cat(delta))))
    return tensors, info


def write_feedforward(out_dir, metadata, start):
    tensors, info = [], {}
    for key, fwd, adam in (("pytorch_examples", transformer_pytorch_examples, True),
                           ("jcjohnson", transformer_jcjohnson, False)):
        t, i = ff_case(key, fwd, adam)
        tensors += t
        info[key] = i
        print(f"feedforward {key}: output {i['output_shape']}, loss {i['loss']:.6g}, "
              f"{sum(math.prod(s) for _, s in i['tensors'])} parameters ({time.time() - start:.1f} s)")
    path = os.path.join(out_dir, "ref_transformer.safetensors")
    m = metadata("feedforward", {"nst.results": json.dumps(info)})
    m["nst.settings"] = json.dumps(FF_SETTINGS, sort_keys=True)
    write_safetensors(path, tensors, m)
    return path


# --- main ---------------------------------------------------------------------------------------

def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(repo, "tests", "data"))
    ap.add_argument("--parts", default="all",
                    choices=["all", "core", "guided", "color", "feedforward", "adain", "adain-train", "wct", "peers"],
                    help="core: ref_common/max/avg; guided: ref_guided (spatial and scale controls); "
                         "color: ref_color (colour transforms, numpy); feedforward: ref_transformer "
                         "(TransformerNet forward, gradients, Adam step); adain: ref_adain (AdaIN "
                         "stylisation, tools/ref_adain.py); adain-train: ref_adain_train "
                         "(AdaIN decoder training step, tools/ref_adain_train.py); wct: ref_wct (WCT "
                         "stylisation at one to five levels, tools/make_wct_reference.py); peers: ref_peers.json "
                         "(the peer presets' conventions, tools/ref_peers.py)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    if args.parts in ("all", "color"):
        # In its own process: with torch loaded, numpy's eigh can round the stored 3x3 maps
        # differently in the last bit, and the colour fixture is defined by numpy alone.
        p = os.path.join(args.out_dir, "ref_color.safetensors")
        subprocess.run([sys.executable, os.path.join(repo, "tools", "ref_color.py"), p], check=True)
        if args.parts == "color":
            return
    if args.parts in ("all", "adain"):
        # tools/ref_adain.py: pytorch-AdaIN's test pipeline in float64, its own process like color.
        p = os.path.join(args.out_dir, "ref_adain.safetensors")
        subprocess.run([sys.executable, os.path.join(repo, "tools", "ref_adain.py"), p], check=True)
        if args.parts == "adain":
            return
    if args.parts in ("all", "adain-train"):
        p = os.path.join(args.out_dir, "ref_adain_train.safetensors")
        subprocess.run([sys.executable, os.path.join(repo, "tools", "ref_adain_train.py"), p], check=True)
        if args.parts == "adain-train":
            return
    if args.parts in ("all", "wct"):
        p = os.path.join(args.out_dir, "ref_wct.safetensors")
        subprocess.run([sys.executable, os.path.join(repo, "tools", "make_wct_reference.py"), "--out", p], check=True)
        if args.parts == "wct":
            return
    start = time.time()

    nst_rng.self_check()
    weights_np = make_weights()
    images_np = {k: make_image(k) for k in SETTINGS["images"] if k != "seed"}
    weights = [torch.from_numpy(w).double() for w in weights_np]
    images = {k: torch.from_numpy(v).double() for k, v in images_np.items()}
    print(f"inputs regenerated ({time.time() - start:.1f} s)")

    generator = {"torch": torch.__version__, "numpy": np.__version__,
                 "python": sys.version.split()[0], "script": "tools/make_reference.py"}

    def metadata(part, extra):
        m = {"nst.magic": MAGIC, "nst.version": str(FORMAT_VERSION), "nst.part": part,
             "nst.settings": json.dumps(SETTINGS, sort_keys=True), "nst.generator": json.dumps(generator)}
        m.update(extra)
        return m

    # What the C++ RNG must reproduce: raw samples, and per conv / image the float32 values'
    # exact sum (math.fsum) and a few probes, so that a drifting generator is told apart from a
    # drifting engine.
    samples = [{"seed": s, "stream": st, "index": i, "bits": f"{nst_rng.bits(s, st, i):#018x}",
                "uniform": nst_rng.uniform(s, st, i), "normal": nst_rng.normal(s, st, i)}
               for s, st, i in RNG_SAMPLES]

    def summary(a):
        flat = a.reshape(-1)
        probes = sorted({0, 1, flat.size // 3, flat.size - 1})
        return {"sum": math.fsum(flat.astype(np.float64).tolist()), "probes": [[j, float(flat[j])] for j in probes]}

    rng_check = {"samples": samples,
                 "weights": [summary(w) for w in weights_np],
                 "images": {k: summary(v) for k, v in images_np.items()}}

    point = images["point"]
    written = []
    if args.parts in ("all", "peers"):
        import ref_peers  # noqa: E402 (tools/ is on sys.path)
        written.append(ref_peers.write(os.path.join(args.out_dir, "ref_peers.json"), vgg19, gram_raw, weights, images,
                                       CONTENT_LAYERS, STYLE_LAYERS, SETTINGS["images"]))
    if args.parts == "peers":
        for p in written:
            print(f"wrote {os.path.relpath(p)} ({os.path.getsize(p) / 1e6:.2f} MB)")
        return
    if args.parts in ("all", "feedforward"):
        written.append(write_feedforward(args.out_dir, metadata, start))
    if args.parts == "feedforward":
        for p in written:
            print(f"wrote {os.path.relpath(p)} ({os.path.getsize(p) / 1e6:.2f} MB)")
        return
    if args.parts in ("all", "guided"):
        written.append(write_guided(args.out_dir, weights, metadata, start))
    if args.parts == "guided":
        for p in written:
            print(f"wrote {os.path.relpath(p)} ({os.path.getsize(p) / 1e6:.2f} MB)")
        return

    # Block 1 runs before the first pool, so its activations (and the relu1_1 Gram) are the same
    # for both poolings: stored once.
    with torch.no_grad():
        a = vgg19(point, weights, "max", "relu1_2")
    common = [(f"act.{l}", f32(a[l])) for l in ("relu1_1", "relu1_2")]
    f = a["relu1_1"]
    common.append(("gram.relu1_1", upper_triangle(f32(gram_raw(f) / (f.shape[1] * f.shape[2] * f.shape[3])))))
    path = os.path.join(args.out_dir, "ref_common.safetensors")
    write_safetensors(path, common, metadata("common", {"nst.rng_check": json.dumps(rng_check)}))
    written.append(path)

    for pooling in ("max", "avg"):
        tensors = []
        with torch.no_grad():
            a = vgg19(point, weights, pooling, RELU_TAPS[-1])
        for l in RELU_TAPS[2:]:
            tensors.append((f"act.{l}", f32(a[l])))
        for l in STYLE_LAYERS[1:]:
            f = a[l]
            g = gram_raw(f) / (f.shape[1] * f.shape[2] * f.shape[3])
            tensors.append((f"gram.{l}", upper_triangle(f32(g))))
        results = {}
        for cfg in SETTINGS["configs"]:
            if cfg["pooling"] != pooling:
                continue
            problem = Problem(cfg, weights, images["content"], images["style"])
            x = point.clone().requires_grad_(True)
            t = problem.terms(x)
            (grad,) = torch.autograd.grad(t["total"], x)
            tensors.append((f"grad.{cfg['preset']}", f32(grad)))
            r = {"content": {k: v.item() for k, v in t["content"].items()},
                 "style": {k: v.item() for k, v in t["style"].items()},
                 "tv": t["tv"].item(), "total": t["total"].item(),
                 "lbfgs_totals": lbfgs_totals(problem, images["start"])}
            results[cfg["preset"]] = r
            print(f"{cfg['preset']:9s} {pooling}: total {r['total']:.6g}, after {len(r['lbfgs_totals'])} "
                  f"L-BFGS evaluations {r['lbfgs_totals'][-1]:.6g} ({time.time() - start:.1f} s)")
        path = os.path.join(args.out_dir, f"ref_{pooling}.safetensors")
        write_safetensors(path, tensors, metadata(pooling, {"nst.results": json.dumps(results)}))
        written.append(path)

    total_bytes = 0
    for p in written:
        total_bytes += os.path.getsize(p)
        print(f"wrote {os.path.relpath(p)} ({os.path.getsize(p) / 1e6:.2f} MB)")
    print(f"{total_bytes / 1e6:.2f} MB in all, {time.time() - start:.1f} s, PyTorch {torch.__version__}")


if __name__ == "__main__":
    main()
