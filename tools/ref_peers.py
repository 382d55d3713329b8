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
"""
import json

import torch

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
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
    return path
