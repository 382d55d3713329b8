# SPDX-License-Identifier: MIT
"""Fixtures of the Python module's suite: the module, the nst executable to compare with, small
generated images (no files from outside the repository), a session on random weights."""
import os
import subprocess
import tempfile

import numpy as np
import pytest

nst = pytest.importorskip("nst", reason="the nst module is not importable (build with NST_PYTHON; see README 'Python')")
PIL_Image = pytest.importorskip("PIL.Image", reason="Pillow is needed to write and read the test PNGs")

# Small problems: 40x48 content, random weights, few iterations (the suite must stay under 40 s).
BASE = dict(weights="random", image_size=48, num_iterations=4, seed=3, quiet=True)


def _smooth_image(h, w, seed):
    """A deterministic uint8 RGB picture with structure at several scales."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for c in range(3):
        f = rng.uniform(0.05, 0.3, size=2)
        chans.append(0.5 + 0.35 * np.sin(f[0] * x + c) * np.cos(f[1] * y - c) + 0.1 * rng.standard_normal((h, w)))
    return (np.clip(np.stack(chans, axis=-1), 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="session")
def workdir():
    root = os.environ.get("NST_TEST_TMP")
    if root:
        os.makedirs(root, exist_ok=True)
    return tempfile.mkdtemp(prefix="nst_py_", dir=root)


@pytest.fixture(scope="session")
def images(workdir):
    """{'content': (path, uint8 array), 'style': (path, uint8 array)}"""
    out = {}
    for name, (h, w, seed) in {"content": (40, 48, 1), "style": (44, 40, 2)}.items():
        a = _smooth_image(h, w, seed)
        path = os.path.join(workdir, name + ".png")
        PIL_Image.fromarray(a).save(path)
        out[name] = (path, a)
    return out


@pytest.fixture(scope="session")
def nst_exe():
    exe = os.environ.get("NST_EXE")
    if not exe or not os.path.exists(exe):
        pytest.skip("NST_EXE does not name the nst executable (CTest sets it)")
    return exe


@pytest.fixture(scope="session")
def cli(nst_exe):
    """Runs the nst executable; returns the CompletedProcess (text)."""

    def run(*args, check=True):
        p = subprocess.run([nst_exe, *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"nst {' '.join(map(str, args))} failed ({p.returncode}): {p.stderr}")
        return p

    return run


@pytest.fixture(scope="session")
def session():
    return nst.Session(weights="random", backend="cpu")


def cli_args(options):
    """The same keyword options as CLI arguments (the parity tests' reference)."""
    args = []
    for k, v in options.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            args.append(flag)
        elif v is not False and v is not None:
            args += [flag, str(v)]
    return args


def quantize8(rgb):
    """The spec's 8-bit quantisation (clamp to [0, 1], round half up), in float64 NumPy."""
    return np.floor(np.clip(rgb.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
