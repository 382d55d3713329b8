#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tests/data/ref_color.safetensors, the numpy float64 reference for src/color/.

    python3 tools/ref_color.py tests/data/ref_color.safetensors

Needs only numpy (Debian: apt-get install python3-numpy; run it with /usr/bin/python3 if another
python3 comes first on PATH). Takes well under a second.

An independent implementation, written from the formulas of docs/perceptual_controls_color.md
and the authors' `match_color` as the research notes describe it, not from the C++ code; it uses
numpy's own linear algebra (np.linalg.cholesky, np.linalg.eigh, np.linalg.inv), where the C++ side
has its own 3x3 Cholesky and Jacobi eigen-solver. Everything is float64.

Inputs are small deterministic RGB images (smooth trigonometric patterns, no RNG), rounded to
float32 first, stored in the file as they are (F32, so the C++ test reads the very values used
here) and converted to float64 for the computation. Outputs are stored as F32 images (a relative
rounding of 6e-8, far below the test's 1e-6) and, where exactness matters, as float64 JSON in the
metadata (the maps A, b and the statistics; shortest round-trip decimals).

Contents (images (1, 3, H, W), C order; names in the file):
  in.content (7x9), in.style (8x6), in.generated (7x9), in.grey (8x6, R = G = B)
  match.<mode>         style recoloured to the content, mode chol | pca | sym, eps 1e-5
  match_grey.<mode>    the grey image recoloured to the content (rank-1 covariance: eps matters)
  grey.content         Y of the content in all three channels
  lum.<mode>           the style's luminance matched to the content's, meanstd | mean | none
  swap                 clip(content + (Y(generated) - Y(content)), 0, 1)
metadata nst.results (JSON): {"map": {"<mode>": {"a": 3x3, "b": 3}, "grey_<mode>": ...},
  "stats": {"content": {"mean": 3, "cov": 3x3}, "style": ..., "grey": ...}, "eps": 1e-5}
"""
import json
import os
import sys

try:
    import numpy as np
except ImportError:
    sys.exit("ref_color.py: numpy is not installed (Debian: apt-get install python3-numpy, then run it "
             "with /usr/bin/python3)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_np import write_safetensors  # noqa: E402

MAGIC = "nst-reference-color"
FORMAT_VERSION = 1
EPS = 1e-5
LUMA = np.array([0.299, 0.587, 0.114])


def pattern(h, w, phase, freqs):
    """An RGB image in about [0.15, 0.85]: three correlated but independent smooth waves."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for c in range(3):
        fy, fx = freqs[c]
        v = 0.5 + 0.2 * np.sin(fx * x + fy * y + phase + 1.1 * c) + 0.12 * np.cos(0.9 * x * y / (h * w) * 7 + c)
        chans.append(v)
    # Mix the channels so that the covariance has off-diagonal terms.
    m = np.array([[0.8, 0.15, 0.05], [0.2, 0.7, 0.1], [0.1, 0.25, 0.65]])
    img = np.einsum("ij,jhw->ihw", m, np.stack(chans))
    return img[None].astype(np.float32)


def stats(img):
    p = img[0].reshape(3, -1).astype(np.float64)
    mu = p.mean(axis=1)
    d = p - mu[:, None]
    return mu, d @ d.T / p.shape[1]  # population covariance


def sqrtm_sym(c):
    lam, v = np.linalg.eigh(c)
    return v @ np.diag(np.sqrt(lam)) @ v.T


def color_map(target, source, mode, eps=EPS):
    mu_t, ct = stats(target)
    mu_s, cs = stats(source)
    ct = ct + eps * np.eye(3)
    cs = cs + eps * np.eye(3)
    if mode == "chol":
        a = np.linalg.cholesky(cs) @ np.linalg.inv(np.linalg.cholesky(ct))
    elif mode == "pca":
        a = sqrtm_sym(cs) @ np.linalg.inv(sqrtm_sym(ct))
    elif mode == "sym":
        qt = sqrtm_sym(ct)
        qt_inv = np.linalg.inv(qt)
        a = qt_inv @ sqrtm_sym(qt @ cs @ qt) @ qt_inv
    else:
        raise ValueError(mode)
    b = mu_s - a @ mu_t
    return a, b


def apply_map(img, a, b):
    p = img[0].reshape(3, -1).astype(np.float64)
    out = np.clip(a @ p + b[:, None], 0, 1)
    return out.reshape(img.shape)


def luma(img):
    return np.einsum("c,chw->hw", LUMA, img[0].astype(np.float64))


def grey(img):
    y = luma(img)
    return np.stack([y, y, y])[None]


def match_luminance(style, content, mode):
    ls, lc = luma(style), luma(content)
    if mode == "meanstd":
        s = (lc.std() / ls.std()) * (ls - ls.mean()) + lc.mean()
    elif mode == "mean":
        s = ls - ls.mean() + lc.mean()
    else:
        s = ls
    s = np.clip(s, 0, 1)
    return np.stack([s, s, s])[None]


def swap(content, generated):
    c = content.astype(np.float64)
    dy = luma(generated) - luma(content)
    return np.clip(c + dy[None, None], 0, 1)


def write_color(path):
    """Computes every colour reference and writes them to `path` (ref_color.safetensors)."""
    content = pattern(7, 9, 0.3, [(0.9, 0.5), (0.4, 1.1), (1.3, 0.3)])
    style = pattern(8, 6, 1.7, [(0.3, 1.4), (1.2, 0.6), (0.7, 0.9)])
    generated = pattern(7, 9, 2.9, [(1.1, 0.8), (0.5, 0.4), (0.9, 1.5)])
    g = luma(pattern(8, 6, 0.8, [(0.6, 0.7), (1.0, 0.3), (0.4, 1.2)])).astype(np.float32)
    grey_in = np.stack([g, g, g])[None]

    tensors = [("in.content", content), ("in.style", style), ("in.generated", generated), ("in.grey", grey_in)]
    results = {"eps": EPS, "map": {}, "stats": {}}
    for mode in ("chol", "pca", "sym"):
        a, b = color_map(style, content, mode)
        tensors.append((f"match.{mode}", apply_map(style, a, b)))
        results["map"][mode] = {"a": a.tolist(), "b": b.tolist()}
        a, b = color_map(grey_in, content, mode)
        tensors.append((f"match_grey.{mode}", apply_map(grey_in, a, b)))
        results["map"][f"grey_{mode}"] = {"a": a.tolist(), "b": b.tolist()}
    for name, img in (("content", content), ("style", style), ("grey", grey_in)):
        mu, cov = stats(img)
        results["stats"][name] = {"mean": mu.tolist(), "cov": cov.tolist()}
    tensors.append(("grey.content", grey(content)))
    for mode in ("meanstd", "mean", "none"):
        tensors.append((f"lum.{mode}", match_luminance(style, content, mode)))
    tensors.append(("swap", swap(content, generated)))

    generator = {"numpy": np.__version__, "python": sys.version.split()[0], "script": "tools/ref_color.py"}
    metadata = {"nst.magic": MAGIC, "nst.version": str(FORMAT_VERSION), "nst.results": json.dumps(results),
                "nst.generator": json.dumps(generator)}
    write_safetensors(path, tensors, metadata)
    return path


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 tools/ref_color.py OUT.safetensors")
    write_color(sys.argv[1])
    print(f"wrote {sys.argv[1]} ({os.path.getsize(sys.argv[1])} bytes)")


if __name__ == "__main__":
    main()
