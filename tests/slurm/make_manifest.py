# SPDX-License-Identifier: MIT
"""Writes the Slurm test's inputs into WORK (standard library only): small PNG images, an 8-job
manifest jobs.jsonl (paths relative to WORK, where the array is submitted from) and
expected.json, the output size each job must produce."""
import json
import math
import struct
import sys
import zlib


def write_png(path, w, h, seed):
    """A smooth RGB image: waves whose phase depends on the seed."""
    rows = b""
    for y in range(h):
        row = bytearray([0])  # filter: none
        for x in range(w):
            for c in range(3):
                v = 0.5 + 0.45 * math.sin(0.3 * x * (c + 1) + 0.2 * y + seed * 1.7 + c)
                row.append(int(round(255 * v)))
        rows += bytes(row)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(rows)))
        f.write(chunk(b"IEND", b""))


def main(work):
    write_png(f"{work}/wide.png", 48, 36, 1)
    write_png(f"{work}/tall.png", 36, 48, 2)
    write_png(f"{work}/style_a.png", 32, 32, 3)
    write_png(f"{work}/style_b.png", 40, 32, 4)
    expected = {}
    with open(f"{work}/jobs.jsonl", "w") as manifest:
        for k in range(8):
            content = "wide.png" if k % 2 == 0 else "tall.png"
            size = 40 if k < 4 else 32
            long_side, short_side = size, round(size * 36 / 48)
            w, h = (long_side, short_side) if content == "wide.png" else (short_side, long_side)
            style = "style_a.png" if k % 3 else ["style_a.png", "style_b.png"]
            output = f"out/job{k}.png"
            job = {"content": content, "style": style, "output": output,
                   "options": {"weights": "random:1", "backend": "cpu", "num-iterations": 2,
                               "image-size": size, "seed": k, "print-iter": 0, "quiet": True}}
            manifest.write(json.dumps(job) + "\n")
            expected[output] = [w, h]
    with open(f"{work}/expected.json", "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1])
