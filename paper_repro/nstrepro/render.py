# SPDX-License-Identifier: MIT
"""Rendering: one `nst run` per panel, with its PNG and JSON record; panels already rendered
with the same settings are kept, identical panels in two figures are rendered once and copied,
and the progress lines carry an estimate of the time left."""

import datetime
import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
import time

from . import adain
from .configs import PANEL_REF, build_argv, image_refs, panel_deps, used_masks
from .util import file_digest, fmt_ratio, fmt_seconds, load_json, png_size, write_json

# The nst process being waited for, so that a SIGTERM to the harness ends it as well.
RUNNING = [None]


def on_sigterm(signum, frame):
    if RUNNING[0] is not None and RUNNING[0].poll() is None:
        RUNNING[0].terminate()
    print("paper_repro: terminated", file=sys.stderr)
    sys.exit(143)


DEVICE_RE = re.compile(r"^nst: (\d+)x(\d+), (\d+) iterations of (\S+) on (.+)$")


def parse_log(text):
    out = {"device": None, "width": None, "height": None, "backend_note": None, "random_weights_warning": False,
           "errors": []}
    for line in text.splitlines():
        m = DEVICE_RE.match(line)
        if m:
            out["width"], out["height"] = int(m.group(1)), int(m.group(2))
            out["device"] = m.group(5)
        elif line.startswith("nst: backend"):
            out["backend_note"] = line[len("nst: "):]
        elif "using random VGG19 weights" in line:
            out["random_weights_warning"] = True
        elif line.startswith("nst: error:"):
            out["errors"].append(line)
    return out


def read_trace(path):
    trace = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    trace.append(json.loads(line))
    except (OSError, ValueError):
        pass
    return trace


def panel_paths(out, fig_name, panel):
    pdir = out / fig_name / "panels"
    return {"dir": pdir, "png": pdir / (panel + ".png"), "record": pdir / (panel + ".json"),
            "log": pdir / (panel + ".log"), "trace": pdir / (panel + ".trace.jsonl")}


def input_entries(job, ctx):
    """{image reference: entry} for the panel: manifest images as fetched, and the outputs of
    the panels it reads (their PNG as it is now, so the cache key follows a re-render)."""
    fig = job["fig"]["name"]
    out = {}
    for ref in image_refs(job["cfg"]):
        if ref.startswith(PANEL_REF):
            png = panel_paths(ctx["out"], fig, ref[len(PANEL_REF):])["png"]
            out[ref] = {"file": ref, "path": str(png), "md5": file_digest(png, "md5") if png.is_file() else None,
                        "status": "ok" if png.is_file() else "missing"}
        else:
            out[ref] = ctx["images"][ref]
    return out


def caption_of(cell, cfg):
    return (cell.get("caption") or "").replace("{ratio}", fmt_ratio(cfg["ratio"]) if cfg.get("ratio") else "")


def run_panel(job, ctx):
    """Renders one panel (or reuses an identical one) and writes its PNG and JSON record."""
    fig, cell, cfg, opts = job["fig"], job["cell"], job["cfg"], job["opts"]
    args = ctx["args"]
    stem = cell["panel"]
    p = panel_paths(ctx["out"], fig["name"], stem)
    p["dir"].mkdir(parents=True, exist_ok=True)
    png, rec_path, log_path, trace_path = p["png"], p["record"], p["log"], p["trace"]
    inputs = input_entries(job, ctx)
    masks = {m: ctx["masks"][fig["name"]][m] for m in used_masks(cfg)}
    weights = ctx["adain_weights"] if job.get("adain") else ctx["weights"]
    key_src = {"config": cfg, "nst_options": opts, "images": {n: inputs[n].get("md5") for n in image_refs(cfg)},
               "weights": weights["sha256"], "nst": ctx["nst"]["sha256"], "backend": [args.backend, args.gpu]}
    if masks:
        key_src["masks"] = {m: e["md5"] for m, e in masks.items()}
    key = hashlib.sha256(json.dumps(key_src, sort_keys=True).encode()).hexdigest()
    job.update(png=png, record=rec_path, key=key)

    # --assemble-only: lay out what an earlier run wrote, whatever its settings.
    if args.assemble_only:
        if rec_path.is_file() and png.is_file():
            old = load_json(rec_path)
            old["_state"] = "cached"
            return old
        return {"figure": fig["name"], "panel": stem, "status": "not rendered", "config": cfg, "nst_options": opts,
                "output": {}, "_state": "missing"}
    # A later step of a recipe cannot run without the output of the step before.
    bad_deps = [d for d in panel_deps(cfg) if ctx["state"].get((fig["name"], d)) not in ("rendered", "cached", "reused")]
    if bad_deps:
        rec = {"figure": fig["name"], "panel": stem, "caption": caption_of(cell, cfg), "status": "failed",
               "exit_code": None, "config": cfg, "nst_options": opts, "output": {}, "key": key,
               "errors": ["it reads the output of panel(s) %s, which failed" % ", ".join(bad_deps)]}
        write_json(rec_path, rec)
        rec["_state"] = "failed"
        return rec
    # Same settings already rendered by an earlier run into this folder: keep it (--force re-renders).
    if not args.force and rec_path.is_file() and png.is_file():
        old = load_json(rec_path)
        if old.get("key") == key and old.get("status") in ("ok", "reused"):
            old["_state"] = "cached"
            ctx["done"][key] = (fig["name"] + "/" + stem, png, rec_path)
            return old
    # Same settings rendered earlier in this run for another figure (CVPR Fig. 1 shares arXiv
    # Fig. 1's style reconstructions): copy instead of spending the time twice.
    if key in ctx["done"]:
        src_name, src_png, src_rec = ctx["done"][key]
        shutil.copyfile(src_png, png)
        rec = load_json(src_rec)
        rec.update(figure=fig["name"], panel=stem, status="reused", reused_from=src_name,
                   caption=caption_of(cell, cfg),
                   output={"png": png.name, "width": rec.get("output", {}).get("width"),
                           "height": rec.get("output", {}).get("height")})
        write_json(rec_path, rec)
        rec["_state"] = "reused"
        return rec

    if job.get("adain"):
        # nst stylize: one pass, no trace; its inputs are the harness's resized copies.
        argv = adain.build_argv(ctx["nst"]["path"], cfg, adain.input_paths(job, ctx["adain_sized"]),
                                {m: e["path"] for m, e in masks.items()}, weights, args.backend, args.gpu, png)
    else:
        argv = build_argv(ctx["nst"]["path"], cfg, opts, {n: e["path"] for n, e in inputs.items()},
                          {m: e["path"] for m, e in masks.items()}, ctx["weights"]["spec"], args.backend, args.gpu,
                          args.verbose, png, trace_path)
    if trace_path.exists():
        trace_path.unlink()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("$ " + " ".join(argv) + "\n")
        log.flush()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        RUNNING[0] = proc
        lines = []
        for line in proc.stdout:
            lines.append(line)
            log.write(line)
            if args.verbose:
                sys.stderr.write("    " + line)
        rc = proc.wait()
        RUNNING[0] = None
    wall = time.monotonic() - t0
    parsed = parse_log("".join(lines))
    if job.get("adain") and parsed["device"] is None:
        # nst stylize names no device: it runs where --backend says, the CPU by default.
        parsed["device"] = "cpu" if args.backend in ("auto", "cpu") else "%s:%d" % (args.backend, args.gpu)
    trace = read_trace(trace_path)
    ok = rc == 0 and png.is_file()
    width = height = None
    if ok:
        width, height = png_size(png)
    images = {"content": inputs[cfg["content"]], "style": [inputs[s] for s in cfg["style"]]}
    if str(cfg.get("init", "")).startswith(PANEL_REF):
        images["init"] = inputs[cfg["init"]]
    rec = {
        "figure": fig["name"], "panel": stem,
        "caption": caption_of(cell, cfg),
        "status": "ok" if ok else "failed", "exit_code": rc,
        "params": ctx["mode"], "quick": bool(args.quick),
        "config": cfg,
        "nst_options": opts,
        "nst": {"binary": ctx["nst"]["path"], "version": ctx["nst"]["version"], "sha256": ctx["nst"]["sha256"],
                "argv": argv},
        "images": images,
        "weights": {k: weights.get(k) for k in ("kind", "spec", "path", "sha256", "random", "metadata")
                    if k in weights},
        "backend": {"requested": args.backend, "note": parsed["backend_note"], "device": parsed["device"]},
        "output": {"png": png.name, "width": width, "height": height},
        "final": trace[-1] if trace else None,
        "wall_seconds": round(wall, 3),
        "nst_seconds": trace[-1]["seconds"] if trace else None,
        "commit": ctx["commit"],
        "started": started,
        "host": platform.node(),
        "log": log_path.name,
        "errors": parsed["errors"],
        "key": key,
        "trace": trace,
    }
    if masks:
        rec["masks"] = masks
    if trace_path.exists():
        trace_path.unlink()  # the record holds the trace; one copy is enough
    write_json(rec_path, rec)
    if ok:
        ctx["done"][key] = (fig["name"] + "/" + stem, png, rec_path)
    rec["_state"] = "rendered" if ok else "failed"
    return rec


class Progress:
    """Counts panels and estimates the time left from the panels rendered so far.

    The work of a panel is taken as iterations × image_size² (the cost of an iteration grows with
    the pixel count); the rate is the measured seconds per unit of the panels this run rendered.
    Kept, copied and failed panels are not in the rate; the estimate assumes that every
    panel still to come is rendered, so it is an upper bound when an earlier run left some."""

    def __init__(self, jobs):
        self.total = len(jobs)
        self.k = 0
        self.left_units = sum(self.units(j["cfg"]) for j in jobs)
        self.spent = 0.0
        self.spent_units = 0.0

    @staticmethod
    def units(cfg):
        # An AdaIN panel is one feed-forward pass: about as long as a few iterations.
        return max(1, int(cfg.get("iterations", 3))) * float(cfg["image_size"]) ** 2

    def step(self, job, rec):
        """Accounts for a finished panel; returns the '[k/n]' prefix and the ETA text."""
        self.k += 1
        u = self.units(job["cfg"])
        self.left_units -= u
        if rec.get("_state") == "rendered" and rec.get("wall_seconds"):
            self.spent += rec["wall_seconds"]
            self.spent_units += u
        eta = ""
        if self.spent_units > 0 and self.k < self.total:
            eta = " · about %s left" % fmt_seconds(self.spent / self.spent_units * self.left_units)
        return "[%d/%d]" % (self.k, self.total), eta
