#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes tests/data/pil_resize/: the reference for --resize pil-bilinear (src/io/resize_pil.cpp).

input.png: a 37 x 53 RGB image (smooth waves, noise and a hard edge, seeded); out_HxW.npy: PIL's
Image.resize((W, H), Image.BILINEAR) of it, as float32 (1, 3, H, W) holding level / 255 — what
torchvision's Resize does to a PIL image in the peers (neural-style-pt, the authors' notebook).
The sizes cover downscaling one side, both, upscaling, and one side unchanged (one PIL pass).

Usage: /usr/bin/python3 tools/make_pil_resize_fixture.py   (needs numpy and PIL)
"""
import os
import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'data', 'pil_resize')
SIZES = [(16, 23), (7, 40), (60, 80), (37, 20), (20, 53), (1, 5)]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(16)
    h, w = 37, 53
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3))
    for c in range(3):
        img[..., c] = 127 + 90 * np.sin(x / (3.0 + c) + y / 5.0) + rng.normal(0, 20, (h, w))
    img[:, 30:] += 60  # a hard edge
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    Image.fromarray(img, 'RGB').save(os.path.join(OUT, 'input.png'))
    src = Image.open(os.path.join(OUT, 'input.png')).convert('RGB')
    for oh, ow in SIZES:
        out = np.asarray(src.resize((ow, oh), Image.BILINEAR), dtype=np.float32) / np.float32(255)
        np.save(os.path.join(OUT, 'out_%dx%d.npy' % (oh, ow)), np.ascontiguousarray(out.transpose(2, 0, 1)[None], dtype=np.float32))
    print('wrote', OUT)


if __name__ == '__main__':
    main()
