# SPDX-License-Identifier: MIT
"""Region masks for the spatial-control figures, generated at run time from the figure config.

A mask is a grey 8-bit PNG at the pixel size of the image file it belongs to (nst requires the
mask and its image to have the same size, and resizes both together): 255 inside the region, 0
outside. Its config is either
    {"image": FILE, "polygons": [[[x, y], ...], ...]}   points as fractions of width and height,
                                                         filled by the even-odd rule, polygons OR-ed
    {"invert": NAME}                                     the complement of another mask
so that the masks are plain text in the config and reproducible, and no image file is committed.
Standard library only (zlib PNG writer), so a run without Pillow still renders the panels.
"""

import struct
import zlib
from math import ceil

from .util import InputError, file_digest, image_size, write_atomic


def rasterize(polygons, width, height):
    """Rows of bytes (255 inside, 0 outside) of the polygons, points in fractions of the size.
    A pixel is inside when its centre is (even-odd rule per polygon; union over polygons)."""
    rows = []
    edges = []
    for poly in polygons:
        pts = [(x * width, y * height) for x, y in poly]
        edges.append([(pts[i], pts[(i + 1) % len(pts)]) for i in range(len(pts))])
    for j in range(height):
        yc = j + 0.5
        row = bytearray(width)
        for poly_edges in edges:
            xs = []
            for (x0, y0), (x1, y1) in poly_edges:
                # Half-open in y, so a vertex shared by two edges is counted once.
                if (y0 <= yc < y1) or (y1 <= yc < y0):
                    xs.append(x0 + (yc - y0) * (x1 - x0) / (y1 - y0))
            xs.sort()
            for a, b in zip(xs[0::2], xs[1::2]):
                i0 = max(0, ceil(a - 0.5))
                i1 = min(width, ceil(b - 0.5))
                if i1 > i0:
                    row[i0:i1] = b"\xff" * (i1 - i0)
        rows.append(bytes(row))
    return rows


def grey_png(rows, width):
    """An 8-bit greyscale PNG of the rows (filter type 0 on every row)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


_INVERT = bytes(255 - i for i in range(256))


def mask_rows(fig, name, image_paths, cache):
    """(rows, width, height, image file) of mask `name` of figure `fig`, memoised in cache."""
    if name in cache:
        return cache[name]
    spec = fig["masks"][name]
    if "invert" in spec:
        rows, w, h, image = mask_rows(fig, spec["invert"], image_paths, cache)
        out = ([r.translate(_INVERT) for r in rows], w, h, image)
    else:
        image = spec["image"]
        try:
            w, h = image_size(image_paths[image])
        except (OSError, ValueError) as e:
            raise InputError("mask '%s': cannot read the size of %s: %s" % (name, image, e))
        out = (rasterize(spec["polygons"], w, h), w, h, image)
    cache[name] = out
    return out


def generate_masks(fig, names, image_paths, out_dir):
    """Writes OUT/<figure>/masks/<name>.png for each mask name; returns {name: entry} with the
    path, md5, image, size and the region's share of the pixels. An empty or full-image mask is a
    config error: nst would reject the empty region, and a full one is no region."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cache, result = {}, {}
    for name in sorted(set(names)):
        rows, w, h, image = mask_rows(fig, name, image_paths, cache)
        inside = sum(r.count(255) for r in rows)
        if inside == 0:
            raise InputError("%s: mask '%s' covers no pixel of %s (%d×%d)" % (fig["name"], name, image, w, h))
        path = out_dir / (name + ".png")
        data = grey_png(rows, w)
        if not path.is_file() or path.read_bytes() != data:
            write_atomic(path, data)
        result[name] = {"name": name, "path": str(path), "md5": file_digest(path, "md5"), "image": image,
                        "width": w, "height": h, "coverage": round(inside / float(w * h), 4)}
    return result
