# SPDX-License-Identifier: MIT
"""The peer presets' loss and optimiser conventions in float64 (issue #16), for
tests/test_peer_reference.cpp; written by tools/make_reference.py --parts peers into
tests/data/ref_peers.json.

An independent implementation from the conventions' definitions (docs/conventions.md, "Peer
conventions and presets"), not from the C++ code and not from any peer's code: VGG19 and the
images are make_reference.py's (nst's RNG, --weights random:0), the loss forms are written out
here, the gradient normalisations as autograd Functions on the features, and the optimiser is
torch.optim.LBFGS itself with the preset's tolerances, one step() call of max_iter = ITERATIONS.
Stored: per configuration its first ITERATIONS L-BFGS totals and the terms at the start.

The PyTorch tutorial's conventions (--preset pytorch-tutorial; pytorch/tutorials,
advanced_source/neural_style_tutorial.py) differ in kind and are stored apart, under
"pytorch_tutorial": x is RGB in [0, 1], clamped in place before every evaluation, the network
sees (x - mean) / std, the layers are taken before their ReLU; see TUTORIAL below.
"""
import json
import math

import torch

import nst_rng

ITERATIONS = 10

# jcjohnson-style per-layer weights that balance the terms (make_reference.py's jcjohnson/max).
LAYER_W = [1.0, 0.5, 10.0, 100.0, 500.0]
CONFIGS = [
    # neural-style-pt's conventions: jcjohnson's loss, L1 TV (weight balanced for the +-0.25 start).
    {"name": "neural-style-pt", "loss": "jcjohnson", "content_weight": 5.0, "style_weight": 100.0,
     "tv_weight": 2e-4, "tv_form": "l1", "grad_norm": "none", "normalize_weights": False,
     "style_layer_weights": LAYER_W, "tol_grad": -1.0, "tol_change": -1.0},
    # ... with -normalize_gradients and -normalize_weights.
    {"name": "neural-style-pt+normalize", "loss": "jcjohnson", "content_weight": 5.0, "style_weight": 100.0,
     "tv_weight": 2e-4, "tv_form": "l1", "grad_norm": "neural-style-pt", "normalize_weights": True,
     "style_layer_weights": LAYER_W, "tol_grad": -1.0, "tol_change": -1.0},
    # jcjohnson's -normalize_gradients (L1 per layer), squared TV.
    {"name": "jcjohnson+normalize", "loss": "jcjohnson", "content_weight": 5.0, "style_weight": 100.0,
     "tv_weight": 2e-5, "tv_form": "squared-l2", "grad_norm": "jcjohnson", "normalize_weights": False,
     "style_layer_weights": LAYER_W, "tol_grad": -1.0, "tol_change": -1.0},
    # The authors' notebook: Gram / (H W), MSE, layer weights 1e3 / C^2, torch's tolerances.
    {"name": "gatys-notebook", "loss": "gatys-notebook", "content_weight": 1.0, "style_weight": 1e3,
     "tv_weight": 0.0, "tv_form": "squared-l2", "grad_norm": "none", "normalize_weights": False,
     "style_layer_weights": [1.0, 1.0, 1.0, 1.0, 1.0], "tol_grad": 1e-7, "tol_change": 1e-9},
]


class L1Normalize(torch.autograd.Function):
    """Identity forward; backward g -> g / (|g|_1 / |w| + 1e-8): the term's weighted gradient w u
    becomes w u / (|u|_1 + 1e-8) (neural-style's updateGradInput)."""

    @staticmethod
    def forward(ctx, f, w):
        ctx.w = w
        return f.view_as(f)

    @staticmethod
    def backward(ctx, g):
        return g / (g.abs().sum() / abs(ctx.w) + 1e-8), None


class ScaleByWeight(torch.autograd.Function):
    """Identity forward on the scalar loss; backward multiplies by w / (|w| + 1e-8) * w (what
    neural-style-pt's ScaleGradients does to the gradient reaching its loss)."""

    @staticmethod
    def forward(ctx, v, w):
        ctx.w = w
        return v.view_as(v)

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.w / (abs(ctx.w) + 1e-8) * ctx.w), None


def term(value_fn, f, w, grad_norm):
    """w * value_fn(f), its gradient shaped by the normalisation."""
    if grad_norm == "jcjohnson":
        return w * value_fn(L1Normalize.apply(f, w))
    if grad_norm == "neural-style-pt":
        return w * ScaleByWeight.apply(value_fn(f), w)
    return w * value_fn(f)


class PeerProblem:
    def __init__(self, cfg, vgg19, gram_raw, weights, content, style, content_layers, style_layers):
        self.cfg, self.vgg19, self.gram_raw, self.weights = cfg, vgg19, gram_raw, weights
        self.cl, self.sl = content_layers, style_layers
        self.deepest = "relu5_1"
        with torch.no_grad():
            ac = vgg19(content, weights, "max", self.deepest)
            ast = vgg19(style, weights, "max", self.deepest)
        self.P = {l: ac[l] for l in self.cl}
        self.S = {l: (gram_raw(ast[l]), ast[l].shape[2] * ast[l].shape[3]) for l in self.sl}
        # neural-style-pt's normalize_weights: strength / max(target.size()).
        self.cw = {l: cfg["content_weight"] / (max(ac[l].shape) if cfg["normalize_weights"] else 1) for l in self.cl}
        self.sw = {l: cfg["style_weight"] * lw / (ast[l].shape[1] if cfg["normalize_weights"] else 1)
                   for l, lw in zip(self.sl, cfg["style_layer_weights"])}

    def terms(self, x):
        cfg, gn = self.cfg, self.cfg["grad_norm"]
        a = self.vgg19(x, self.weights, "max", self.deepest)
        t = {"content": {}, "style": {}}
        for l in self.cl:
            t["content"][l] = term(lambda f: ((f - self.P[l]) ** 2).mean(), a[l], self.cw[l], gn)
        for l in self.sl:
            C, M = a[l].shape[1], a[l].shape[2] * a[l].shape[3]
            S, Ms = self.S[l]
            if cfg["loss"] == "jcjohnson":
                A = S / (C * Ms)
                fn = lambda f: ((self.gram_raw(f) / (C * M) - A) ** 2).mean()
            else:
                # GramMatrix / (h w) of each image at its own size; MSE; the layer weight 1/C^2
                # (times the style weight 1e3).
                A = S / Ms
                fn = lambda f: ((self.gram_raw(f) / M - A) ** 2).mean() / (C * C)
            t["style"][l] = term(fn, a[l], self.sw[l], gn)
        if cfg["tv_weight"] != 0 and cfg["tv_form"] == "l1":
            t["tv"] = cfg["tv_weight"] * ((x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() +
                                          (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum())
        elif cfg["tv_weight"] != 0:
            core, right, down = x[:, :, :-1, :-1], x[:, :, :-1, 1:], x[:, :, 1:, :-1]
            t["tv"] = cfg["tv_weight"] * 0.5 * (((core - right) ** 2).sum() + ((core - down) ** 2).sum())
        else:
            t["tv"] = torch.zeros((), dtype=x.dtype)
        t["total"] = sum(t["content"].values()) + sum(t["style"].values()) + t["tv"]
        return t


def lbfgs_totals(problem, x0, cfg):
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=ITERATIONS, history_size=100, line_search_fn=None,
                            tolerance_grad=cfg["tol_grad"], tolerance_change=cfg["tol_change"])
    totals = []

    def closure():
        opt.zero_grad()
        total = problem.terms(x)["total"]
        total.backward()
        totals.append(total.item())
        return total

    opt.step(closure)
    return totals


# --- the PyTorch tutorial -----------------------------------------------------------------------
# Its conventions, from their definition (no tutorial code): x in RGB [0, 1] optimised directly and
# clamped to [0, 1] in place before every evaluation (the optimiser's own iterate); network input
# (x - mean) / std with ImageNet's mean and std; VGG19 with max pooling; the tutorial's conv_1 ...
# conv_5 = conv1_1, conv1_2, conv2_1, conv2_2, conv3_1 taken before their ReLU, content conv_4 =
# conv2_2; content term 1 * mean((F - P)^2); style term 1e6 * sum over layers of mean((G - A)^2),
# G = F F^T / (C H W) of each image at its own size; no TV; x0 = the content image;
# torch.optim.LBFGS with its defaults (lr 1, history 100, tolerance_grad 1e-7,
# tolerance_change 1e-9, no line search), one step() of max_iter = TUTORIAL_ITERATIONS.
# Images in [0, 1] from nst's RNG as make_reference.py's (x = float(scale * u + offset)), the
# content and style streams with scale 1 and offset 0; the weights are --weights random:0, their
# input channels taken in the order R, G, B (torchvision's).
TUTORIAL_ITERATIONS = 20
TUTORIAL_IMAGES = {
    "seed": 0,
    "content": {"stream": 1000, "shape": [1, 3, 33, 37], "scale": 1.0, "offset": 0.0},
    "style": {"stream": 1001, "shape": [1, 3, 41, 35], "scale": 1.0, "offset": 0.0},
}
TUTORIAL = {"name": "pytorch-tutorial", "loss": "pytorch-tutorial", "content_weight": 1.0, "style_weight": 1e6,
            "tv_weight": 0.0, "tv_form": "squared-l2", "grad_norm": "none", "normalize_weights": False,
            "style_layer_weights": [1.0, 1.0, 1.0, 1.0, 1.0], "tol_grad": 1e-7, "tol_change": 1e-9,
            "pooling": "max", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "content_layers": ["conv2_2"], "style_layers": ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"],
            "init": "content", "clamp": [0.0, 1.0]}
TUTORIAL_CONVS = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"]  # the first five, in order


def tutorial_image(name):
    s = TUTORIAL_IMAGES
    spec = s[name]
    n = math.prod(spec["shape"])
    u = nst_rng.uniform_array(s["seed"], spec["stream"], 0, n)
    return torch.from_numpy((spec["scale"] * u + spec["offset"]).astype("float32").reshape(spec["shape"])).double()


def tutorial_convs(x, weights):
    """Pre-ReLU conv outputs {conv name: tensor} of conv1_1 ... conv3_1 for an RGB [0, 1] image."""
    mean = torch.tensor(TUTORIAL["mean"], dtype=torch.float64).view(-1, 1, 1)
    std = torch.tensor(TUTORIAL["std"], dtype=torch.float64).view(-1, 1, 1)
    h = (x - mean) / std
    out = {}
    for k, name in enumerate(TUTORIAL_CONVS):
        if name in ("conv2_1", "conv3_1"):
            h = torch.nn.functional.max_pool2d(h, 2, 2)
        w = weights[k]
        a = torch.nn.functional.conv2d(h, w, torch.zeros(w.shape[0], dtype=w.dtype), padding=1)
        out[name] = a
        h = torch.relu(a)
    return out


def tutorial_gram(a):
    _, c, hh, ww = a.shape
    f = a.reshape(c, hh * ww)
    return f @ f.t() / (c * hh * ww)


class TutorialProblem:
    def __init__(self, weights, content, style):
        self.weights = weights
        with torch.no_grad():
            ac = tutorial_convs(content, weights)
            ast = tutorial_convs(style, weights)
        self.P = {l: ac[l] for l in TUTORIAL["content_layers"]}
        self.A = {l: tutorial_gram(ast[l]) for l in TUTORIAL["style_layers"]}

    def terms(self, x):
        a = tutorial_convs(x, self.weights)
        t = {"content": {l: TUTORIAL["content_weight"] * ((a[l] - self.P[l]) ** 2).mean() for l in self.P},
             "style": {l: TUTORIAL["style_weight"] * lw * ((tutorial_gram(a[l]) - self.A[l]) ** 2).mean()
                       for l, lw in zip(TUTORIAL["style_layers"], TUTORIAL["style_layer_weights"])}}
        t["tv"] = torch.zeros((), dtype=x.dtype)
        t["total"] = sum(t["style"].values()) + sum(t["content"].values())
        return t


def tutorial_case(weights):
    content, style = tutorial_image("content"), tutorial_image("style")
    p = TutorialProblem(weights, content, style)
    r = dict(TUTORIAL)
    r["iterations"] = TUTORIAL_ITERATIONS
    r["images"] = TUTORIAL_IMAGES
    t = p.terms(content.clone())
    r["terms"] = {"content": [t["content"][l].item() for l in TUTORIAL["content_layers"]],
                  "style": [t["style"][l].item() for l in TUTORIAL["style_layers"]], "tv": t["tv"].item(),
                  "total": t["total"].item()}
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=TUTORIAL_ITERATIONS, history_size=100, line_search_fn=None,
                            tolerance_grad=TUTORIAL["tol_grad"], tolerance_change=TUTORIAL["tol_change"])
    totals, contents, styles, clamped, sums = [], [], [], [], []

    def closure():
        with torch.no_grad():
            before = x.detach().clone()
            x.clamp_(*TUTORIAL["clamp"])
            clamped.append(int((x.detach() != before).sum()))
            sums.append(math.fsum(x.detach().reshape(-1).tolist()))
        opt.zero_grad()
        t = p.terms(x)
        t["total"].backward()
        totals.append(t["total"].item())
        contents.append(sum(v.item() for v in t["content"].values()))
        styles.append([t["style"][l].item() for l in TUTORIAL["style_layers"]])
        return t["total"]

    opt.step(closure)
    r["lbfgs_totals"] = totals
    r["lbfgs_content"] = contents
    r["lbfgs_style"] = styles
    r["lbfgs_clamped"] = clamped
    r["lbfgs_x_sums"] = sums
    print(f"{r['name']:26s} total {r['terms']['total']:.6g}, {len(totals)} L-BFGS totals, last {totals[-1]:.6g}, "
          f"clamped per evaluation {clamped}")
    return r


def write(path, vgg19, gram_raw, weights, images, content_layers, style_layers, settings_images):
    out = {"format": 1, "iterations": ITERATIONS, "images": settings_images, "content_layers": content_layers,
           "style_layers": style_layers, "start": "start", "configs": []}
    for cfg in CONFIGS:
        p = PeerProblem(cfg, vgg19, gram_raw, weights, images["content"], images["style"], content_layers,
                        style_layers)
        t = p.terms(images["start"].clone())
        r = dict(cfg)
        r["terms"] = {"content": [t["content"][l].item() for l in content_layers],
                      "style": [t["style"][l].item() for l in style_layers], "tv": t["tv"].item(),
                      "total": t["total"].item()}
        r["lbfgs_totals"] = lbfgs_totals(p, images["start"], cfg)
        out["configs"].append(r)
        print(f"{cfg['name']:26s} total {r['terms']['total']:.6g}, {len(r['lbfgs_totals'])} L-BFGS totals, "
              f"last {r['lbfgs_totals'][-1]:.6g}")
    out["pytorch_tutorial"] = tutorial_case(weights)
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
    return path
