# SPDX-License-Identifier: MIT
"""The inputs of a run: the paper's images (fetched and checked against tools/images.manifest),
the VGG19 weights, the nst binary and the git commit the panels are rendered from."""

import json
import struct
import subprocess
import sys
from pathlib import Path

from .configs import read_manifest
from .util import ROOT, InputError, UsageError, file_digest, info, warn


def fetch_images(args, needed):
    """Runs tools/fetch_images.sh (copies from --images / ../shared/images or downloads, MD5
    checked) and checks every needed file against the manifest. Returns {name: info}."""
    manifest = read_manifest()
    cache = Path(args.cache).resolve()
    cmd = ["bash", str(ROOT / "tools" / "fetch_images.sh"), "--out", str(cache)]
    if args.images:
        cmd += ["--images", str(Path(args.images).resolve())]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    for line in proc.stderr.splitlines():
        if line.strip():
            print(line, file=sys.stderr)
    result = {}
    for name in sorted(needed):
        path = cache / name
        accepted = manifest.get(name, {}).get("md5s", [])
        entry = {"file": name, "path": str(path), "manifest_md5": ",".join(accepted) or None,
                 "url": manifest.get(name, {}).get("url")}
        if not path.is_file():
            entry["status"] = "missing"
        else:
            entry["md5"] = file_digest(path, "md5")
            # fetch_images.sh copies a local folder's file without checking it; say so when it
            # differs from the reference copy (e.g. a full-size scan), but use it.
            entry["status"] = "ok" if entry["md5"] in accepted else "checksum differs from manifest"
            if entry["status"] != "ok":
                warn("%s: md5 %s differs from the manifest's %s; using it anyway" % (name, entry["md5"], entry["manifest_md5"]))
        result[name] = entry
    return result


def safetensors_metadata(path):
    """The __metadata__ of a safetensors header (8-byte little-endian length, then JSON)."""
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            if n > 100 << 20:
                return {}
            header = json.loads(f.read(n).decode("utf-8"))
        return header.get("__metadata__", {}) or {}
    except (OSError, ValueError, struct.error):
        return {}


def resolve_weights(args):
    """The weights nst gets. Without --weights: weights/vgg19.safetensors when present; otherwise
    random weights in --quick mode (loudly) and an error in full mode, where hours of GPU time on
    a random network are almost certainly a mistake."""
    spec = args.weights
    fallback = False
    if spec is None:
        default = ROOT / "weights" / "vgg19.safetensors"
        if default.is_file():
            spec = str(default)
        elif args.quick:
            spec, fallback = "random", True
            warn("%s not found: falling back to RANDOM VGG19 weights (--weights random). The figures will "
                 "NOT look like the paper's; fetch the pretrained VGG19 (weights/README.md)." % default)
        else:
            raise InputError("%s not found. Full mode needs the pretrained VGG19 (weights/README.md); pass "
                             "--weights PATH, or --weights random to render with random weights anyway" % default)
    if spec == "random" or spec.startswith("random:"):
        seed = spec.split(":", 1)[1] if ":" in spec else "0"
        if not seed.isdigit():
            raise UsageError("--weights %s: the seed must be a decimal integer" % spec)
        return {"spec": spec, "random": True, "path": None, "sha256": "random:" + seed, "metadata": {},
                "fallback": fallback}
    path = Path(spec).resolve()
    if not path.is_file():
        raise InputError("weights file %s not found" % path)
    info("hashing %s" % path)
    return {"spec": str(path), "random": False, "path": str(path), "sha256": file_digest(path, "sha256"),
            "metadata": safetensors_metadata(path), "fallback": False}


def git_commit():
    try:
        sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True).stdout.strip()
        return {"sha": sha or "unknown", "dirty": bool(dirty)}
    except OSError:
        return {"sha": "unknown", "dirty": None}


def nst_identity(nst):
    try:
        v = subprocess.run([str(nst), "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InputError("cannot run %s: %s (build it with tools/build.sh or pass --nst PATH)" % (nst, e))
    if not v.startswith("nst"):
        raise InputError("%s --version printed %r; is it the nst binary? (tools/build.sh, or --nst PATH)" % (nst, v))
    return {"path": str(nst), "version": v, "sha256": file_digest(nst, "sha256")}
