# SPDX-License-Identifier: MIT
"""Small helpers shared by every module: paths, errors, messages, files, number formats."""

import hashlib
import json
import math
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = ROOT / "paper_repro"
CONFIGS = HERE / "configs"


class UsageError(Exception):
    """Bad command line: exit 2."""


class InputError(Exception):
    """Bad config, missing file or binary: exit 3."""


def warn(msg):
    print("paper_repro: warning: " + msg, file=sys.stderr, flush=True)


def info(msg):
    print("paper_repro: " + msg, file=sys.stderr, flush=True)


def write_atomic(path, data):
    """Write via a temporary file and rename, so that an interrupted run never leaves a torn file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
        f.write(data)
    os.replace(tmp, path)


def write_json(path, obj):
    write_atomic(path, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise InputError("cannot read %s: %s" % (path, e))


def file_digest(path, algo):
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fmt_seconds(s):
    if s is None:
        return "—"
    if s < 60:
        return "%.1f s" % s
    if s < 3600:
        return "%dm%02ds" % (int(s) // 60, int(s) % 60)
    return "%dh%02dm" % (int(s) // 3600, (int(s) // 60) % 60)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def fmt_ratio(r):
    """alpha/beta as the papers print it: 1e-3 -> '1×10⁻³', 8e-4 -> '8×10⁻⁴'."""
    mant, exp = ("%.3g" % (r / 10 ** math.floor(math.log10(r))), math.floor(math.log10(r)))
    return "%s×10%s" % (mant, str(exp).translate(_SUPERSCRIPT))


def round_sig(x, digits=12):
    """1/1e-5 is 99999.99999999999 in binary; the weight nst gets should read 100000."""
    return float("%.*g" % (digits, x))


def num(x):
    """A number as nst reads it back exactly: integers plainly, others by repr (shortest round-trip)."""
    x = float(x)
    return "%d" % x if x.is_integer() and abs(x) < 1e15 else repr(x)


def png_size(path):
    """(width, height) from a PNG's IHDR, standard library only."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", head[16:24])


# JPEG start-of-frame markers carry the size; C4 (Huffman tables), C8 and CC are not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(path):
    """(width, height) of a PNG or JPEG file from its header, without decoding the pixels: the
    masks are drawn at the image file's own size (nst requires that) even where Pillow is absent."""
    with open(path, "rb") as f:
        data = f.read(8)
        if data == b"\x89PNG\r\n\x1a\n":
            return png_size(path)
        if data[:2] != b"\xff\xd8":
            raise ValueError("%s: neither PNG nor JPEG" % path)
        f.seek(2)
        while True:
            b = f.read(1)
            while b and b != b"\xff":
                b = f.read(1)
            while b == b"\xff":  # fill bytes before a marker
                b = f.read(1)
            if not b:
                raise ValueError("%s: no JPEG frame header" % path)
            marker = b[0]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
                continue
            n = struct.unpack(">H", f.read(2))[0]
            if marker in _SOF:
                h, w = struct.unpack(">xHH", f.read(5))
                return w, h
            f.seek(n - 2, os.SEEK_CUR)
