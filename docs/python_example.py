# SPDX-License-Identifier: MIT
"""nst from Python, notebook style: run it cell by cell, or as a script.

    PYTHONPATH=build/python /usr/bin/python3 docs/python_example.py     # from a source build
    python3 docs/python_example.py                                      # after `pip install .`

It uses random weights and tiny images so that it runs anywhere in about a minute (the times below
are from a busy 2-core machine; stderr also shows nst's notice about random weights); with the real VGG19
(`tools/fetch_weights.sh`) pass weights="weights/vgg19.safetensors" and a larger image_size.
The comments under each cell show what it printed on the development machine (CPU backend).
"""
import threading
import time

import numpy as np

import nst

# %% A session loads the weights once; every call reuses them.
s = nst.Session(weights="random", backend="cpu")
print(nst.__version__)
# 0.1.0

# %% Images are paths or arrays: (H, W, 3) uint8 0..255 or float32 in [0, 1].
y, x = np.mgrid[0:64, 0:80] / 80.0
content = np.stack([x, y, 0.5 + 0.5 * np.sin(8 * x * y)], axis=-1).astype(np.float32)
style = (np.random.default_rng(0).random((48, 48, 3)) * 255).astype(np.uint8)

# %% Style transfer with the CLI's options as keywords; a callback sees every iteration.
history = []


def progress(iteration, terms, seconds):
    history.append(terms["total"])
    if iteration % 10 == 0:
        print(f"iter {iteration:3d}  total {terms['total']:.4g}  ({seconds:.2f} s)")
    return iteration < 30  # False stops the run: here after 30 of the 100 iterations


image = s.run(content, style, image_size=64, num_iterations=100, init="content", seed=0, quiet=True,
              callback=progress)
print(image.shape, image.dtype, f"{image.min():.3f}..{image.max():.3f}", f"{len(history)} iterations")
# iter  10  total 225.5  (14.04 s)
# iter  20  total 209.3  (25.17 s)
# iter  30  total 201.5  (32.53 s)
# (51, 64, 3) float32 0.153..1.000 30 iterations

# %% The objective and its gradient at a point (network space, (1, 3, H, W)).
x0 = np.random.default_rng(1).normal(0, 10, (1, 3, 51, 64)).astype(np.float32)
terms, grad = s.evaluate(x0, content, style, image_size=64)
print({k: (round(v, 4) if isinstance(v, float) else {l: round(t, 4) for l, t in v.items()}) for k, v in terms.items()})
print(grad.shape, f"|grad| = {np.linalg.norm(grad):.4g}")
# {'content': {'relu4_2': 48.9725}, 'style': {'relu1_1': 96.1001, 'relu2_1': 138.6745, 'relu3_1': 14.214,
#  'relu4_1': 1.0668, 'relu5_1': 1.1357}, 'tv': 1887.8904, 'total': 2188.054}
# (1, 3, 51, 64) |grad| = 4.27

# %% Activations and Gram matrices.
acts = s.features(content, ["relu1_1", "relu4_2"])
grams = s.gram(style, ["relu3_1"], preset="gatys")
print({k: v.shape for k, v in acts.items()}, {k: v.shape for k, v in grams.items()})
# {'relu1_1': (1, 64, 64, 80), 'relu4_2': (1, 512, 8, 10)} {'relu3_1': (256, 256)}

# %% Errors carry the CLI's message and exit code.
for bad in (dict(content="missing.jpg"), dict(content=content, pooling="median")):
    try:
        s.run(bad.pop("content"), style, image_size=32, num_iterations=1, **bad)
    except nst.Error as e:
        print(type(e).__name__, e.exit_code, e)
# InputError 3 cannot read image 'missing.jpg': file not found
# UsageError 2 --pooling: unknown pooling 'median' (choose max or avg)

# %% The GIL is released while nst runs: other Python threads keep going.
ticks = []
done = threading.Event()


def ticker():
    while not done.is_set():
        ticks.append(time.monotonic())
        time.sleep(0.01)


thread = threading.Thread(target=ticker)
thread.start()
s.run(content, style, image_size=64, num_iterations=20, quiet=True)
done.set()
thread.join()
print(f"the other thread ticked {len(ticks)} times during the run")
# the other thread ticked 1704 times during the run
