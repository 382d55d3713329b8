# SPDX-License-Identifier: MIT
"""The run's report: REPORT.md for people, report.json for scripts."""

import json
import os
import platform
from pathlib import Path

from .adain import settings_line as adain_settings
from .util import fmt_ratio, fmt_seconds, write_atomic, write_json


def settings_line(cfg, opts):
    if cfg.get("method") == "adain":
        return adain_settings(cfg)
    parts = []
    if cfg["objective"] == "transfer":
        parts.append("α/β = %s" % fmt_ratio(cfg["ratio"]))
    elif cfg["objective"] == "style" and cfg.get("content") not in cfg.get("style", []):
        parts.append("texture only (content weight 0)")
    else:
        parts.append("%s reconstruction" % cfg["objective"])
    parts.extend(control_notes(cfg))
    return ", ".join(parts)


def control_notes(cfg):
    """The perceptual controls a panel uses, in words (empty for the 2015/2016 figures)."""
    out = []
    if cfg.get("match_color", "none") != "none":
        out.append("colour matching %s" % cfg["match_color"])
    if cfg.get("color_control", "none") != "none":
        out.append("luminance only (style luminance: %s)" % cfg.get("luminance_match", "meanstd"))
    if cfg.get("original_colors"):
        out.append("original colours")
    if cfg.get("style_blend_weights"):
        out.append("blend %s" % "/".join("%g" % w for w in cfg["style_blend_weights"]))
    if cfg.get("style_layer_sets"):
        out.append("layer sets %s" % " ".join("{*}" if s == "*" else "{%s}" % ",".join(s) for s in cfg["style_layer_sets"]))
    if cfg.get("content_masks"):
        out.append("content masks %s" % ",".join(cfg["content_masks"]))
    if cfg.get("style_masks"):
        out.append("style masks %s" % ",".join(cfg["style_masks"]))
    if cfg.get("content_masks") or cfg.get("style_masks"):
        out.append("propagation %s, grow %s" % (cfg.get("mask_propagation", "simple"), cfg.get("mask_grow", 0)))
    if cfg.get("edit_mask"):
        out.append("edit mask %s" % cfg["edit_mask"])
    return out


def figure_summary(fig, recs):
    """Settings shared by all panels of a figure, for the footer and the report."""
    cfgs = [r["config"] for r in recs if r.get("config")]
    def common(key):
        vals = {json.dumps(c.get(key)) for c in cfgs}
        return cfgs[0].get(key) if len(vals) == 1 and cfgs else "varies"
    sizes = {(r["output"]["width"], r["output"]["height"]) for r in recs if r.get("output", {}).get("width")}
    devs = {r.get("backend", {}).get("device") for r in recs if r.get("backend", {}).get("device")}
    return {"preset": common("preset"), "pooling": common("pooling"), "init": common("init"),
            "iterations": common("iterations"), "image_size": common("image_size"), "size_rule": common("size_rule"),
            "lbfgs_history": common("lbfgs_history"),
            "sizes": sorted(sizes), "devices": sorted(devs),
            "wall": sum(r.get("wall_seconds") or 0 for r in recs if r.get("_state") in ("rendered", "failed")),
            "wall_earlier": sum(r.get("wall_seconds") or 0 for r in recs if r.get("_state") == "cached")}


def recorded_weights(recs, fallback):
    """The distinct weights the panels' records name (panels kept from an earlier run may differ
    from this run's --weights); this run's weights when no record names any."""
    seen = {}
    for r in recs:
        w = r.get("weights")
        if w and w.get("sha256"):
            seen.setdefault(w["sha256"], w)
    return list(seen.values()) or [fallback]


def describe_weights(w):
    if w.get("random"):
        return "RANDOM (%s)" % w["sha256"]
    if w.get("path"):
        return "%s (sha256 %s…)" % (Path(w["path"]).name, w["sha256"][:12])
    return str(w.get("sha256"))


def write_report(ctx, results, unavailable, total_wall):
    args = ctx["args"]
    all_recs = [r for f in results for r in f["records"]]
    used = recorded_weights(all_recs, ctx["weights"])
    randoms = [w for w in used if w.get("random") and w.get("kind") != "adain"]
    adain_randoms = [w for w in used if w.get("random") and w.get("kind") == "adain"]
    L = []
    L.append("# Gatys et al. reproduction report")
    L.append("")
    if randoms:
        L.append("> ## ⚠️ RANDOM WEIGHTS — THESE ARE NOT THE PAPER'S RESULTS")
        L.append(">")
        L.append("> %s rendered with **random VGG19 weights** (%s, He-normal), **not the pretrained VGG19**. The "
                 "images show what the harness and the optimiser do, not what Gatys et al.'s method produces. %s"
                 "Fetch the pretrained network (weights/README.md) and rerun." % (
                     "Every panel below was" if len(randoms) == len(used) else "Some panels below were",
                     ", ".join("`%s`" % w["sha256"] for w in randoms),
                     "The weights file was missing, so the harness fell back to random weights (--quick). "
                     if ctx["weights"].get("fallback") else ""))
        L.append("")
    if adain_randoms:
        L.append("> ## ⚠️ RANDOM AdaIN WEIGHTS — THE AdaIN FIGURES ARE NOT THE PAPER'S RESULTS")
        L.append(">")
        L.append("> The AdaIN panels were rendered with **random encoder and decoder weights** (%s, He-normal, made by "
                 "paper_repro/nstrepro/adain_weights.py), **not** the trained decoder and the normalised VGG19. They show "
                 "the figures' layout and that every control runs, not what AdaIN produces. Convert the port's "
                 "`vgg_normalised.pth` and `decoder.pth` and pass `--adain-encoder`/`--adain-decoder`." % (
                     ", ".join("`%s`" % w["sha256"] for w in adain_randoms)))
        L.append("")
    started = ctx["started"]
    L.append("- date: %s; host %s; total wall time %s" % (started, platform.node(), fmt_seconds(total_wall)))
    L.append("- commit: `%s`%s" % (ctx["commit"]["sha"], " (working tree has uncommitted changes)" if ctx["commit"]["dirty"] else ""))
    L.append("- nst: `%s` (%s, sha256 `%s`)" % (ctx["nst"]["path"], ctx["nst"]["version"], ctx["nst"]["sha256"][:16]))
    L.append("- mode: **%s** (%s); parameter set: **%s**%s" % (
        "quick" if args.quick else "full",
        "small images, few iterations" if args.quick else "the paper's size and iteration counts",
        ctx["mode"], " (default)" if ctx["mode_default"] else ""))
    if args.assemble_only:
        L.append("- **assembled only** (`--assemble-only`): nothing was rendered; each panel's record holds the commit, "
                 "nst binary and weights it was rendered with")
    if args.size is not None or args.iterations is not None:
        L.append("- overrides: %s" % ", ".join(x for x in [
            "--size %s" % args.size if args.size is not None else "",
            "--iterations %s" % args.iterations if args.iterations is not None else ""] if x))
    if len(used) > 1:
        L.append("- **weights differ between panels** (some were kept from an earlier run; `--force` re-renders):")
    for w in used:
        if w.get("kind") == "adain":
            L.append("- AdaIN weights: %s `%s`" % ("**RANDOM** (not trained)" if w.get("random") else w.get("spec"),
                                                  w["sha256"]))
            continue
        if w.get("random"):
            L.append("- weights: **RANDOM** `%s` (not pretrained)" % w["sha256"])
            continue
        meta = w.get("metadata") or {}
        L.append("- weights: `%s`, sha256 `%s`; metadata: %s" % (
            w.get("path"), w["sha256"], ", ".join("%s=%s" % kv for kv in sorted(meta.items())) or "none"))
        norm = str(meta.get("nst.normalized", "")).lower() == "true"
        if ctx["mode"] == "paper" and not norm:
            L.append("  - **note:** the paper's α/β values were tuned for the *normalised* VGG19 (vgg_normalised, "
                     "paper.md §2); these weights are not marked `nst.normalized=true`, so the ratios do not mean "
                     "what they meant in the paper.")
        if ctx["mode"] == "impl" and norm:
            L.append("  - **note:** the `impl` settings are those of the authors' code for the *original* VGG19; "
                     "these weights are the normalised network.")
    devs = sorted({r.get("backend", {}).get("device") or "?" for f in results for r in f["records"]})
    L.append("- backend: requested `%s`; device(s): %s" % (args.backend, ", ".join(devs) or "—"))
    L.append("- images: %s" % ", ".join("`%s` %s" % (n, "md5 ok" if e["status"] == "ok" else "**" + e["status"] + "**")
                                        for n, e in sorted(ctx["images"].items())))
    L.append("")
    L.append("## Figures")
    L.append("")
    L.append("| figure | panels | status | size (px) | iterations | init | preset / pooling | time | image |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for f in results:
        s = f["summary"]
        if f.get("method") == "adain":
            s = dict(s, iterations="— (one pass)", init="—", preset="AdaIN", pooling="nst stylize")
        states = [r.get("status") for r in f["records"]]
        n_bad = sum(1 for x in states if x not in ("ok", "reused"))
        status = "ok" if n_bad == 0 and f["figure_png"] else ("%d failed" % n_bad if n_bad else "not assembled")
        sizes = ", ".join("%d×%d" % wh for wh in s["sizes"][:3]) + (" …" if len(s["sizes"]) > 3 else "")
        L.append("| %s (%s) | %d | %s | %s | %s | %s | %s / %s | %s | %s |" % (
            f["name"], f["figure_label"], len(f["records"]), status, sizes or "—", s["iterations"], s["init"],
            s["preset"], s["pooling"],
            fmt_seconds(s["wall"]) if s["wall"] or not s["wall_earlier"] else "%s (earlier run)" % fmt_seconds(s["wall_earlier"]),
            "[%s](%s)" % (Path(f["figure_png"]).name, os.path.relpath(f["figure_png"], ctx["out"])) if f["figure_png"] else "—"))
    L.append("")
    for f in results:
        L.append("### %s — %s %s" % (f["name"], f["figure_label"], f["title"]))
        L.append("")
        L.append("Source: %s" % f["source"])
        L.append("")
        if f.get("method") == "adain":
            L.append("| panel | content → style(s) | controls | size | time | state |")
            L.append("|---|---|---|---|---|---|")
            for r in f["records"]:
                cfg = r.get("config", {})
                L.append("| %s | %s → %s | %s | %s | %s | %s |" % (
                    r["panel"], cfg.get("content"), ", ".join(cfg.get("style", [])),
                    adain_settings(cfg) if cfg.get("alpha") is not None else "—",
                    "%s×%s" % (r["output"]["width"], r["output"]["height"]) if r.get("output", {}).get("width") else "—",
                    {"rendered": fmt_seconds(r.get("wall_seconds")), "reused": "copied",
                     "cached": "%s (earlier run)" % fmt_seconds(r.get("wall_seconds"))}.get(r.get("_state"), r.get("_state")),
                    r.get("status")))
            L.append("")
            if f.get("masks"):
                L.append("Masks (255 = inside, drawn at the content's size): " + ", ".join(
                    "`%s`" % m["name"] for m in f["masks"]))
                L.append("")
            continue
        L.append("| panel | images | objective / α/β | w_c, w_s | layers (content; style) | init, seed | size | final loss | time | state |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in f["records"]:
            cfg, o = r.get("config", {}), r.get("nst_options", {})
            fin = r.get("final") or {}
            images = {"content": "%s (content only)" % cfg.get("content"),
                      "style": "%s (style only%s)" % (",".join(cfg.get("style", [])), "" if cfg.get("content") in
                                                      cfg.get("style", []) else ", init %s" % cfg.get("content"))}.get(
                cfg.get("objective"), "%s → %s" % (cfg.get("content"), ",".join(cfg.get("style", []))))
            L.append("| %s | %s | %s | %g, %g | %s; %s | %s, %s | %s | %s | %s | %s |" % (
                r["panel"], images, settings_line(cfg, o),
                o.get("content_weight", 0), o.get("style_weight", 0),
                ",".join(o.get("content_layers", [])), ",".join(o.get("style_layers", [])),
                cfg.get("init"), cfg.get("seed"),
                "%s×%s" % (r["output"]["width"], r["output"]["height"]) if r.get("output", {}).get("width") else "—",
                "%.4g" % fin["total"] if fin.get("total") is not None else "—",
                {"rendered": fmt_seconds(r.get("wall_seconds")), "reused": "copied",
                 "cached": "%s (earlier run)" % fmt_seconds(r.get("wall_seconds"))}.get(r.get("_state"), r.get("_state")),
                r.get("status") + (" (from %s)" % r["reused_from"] if r.get("reused_from") else "")))
        L.append("")
        if f.get("masks"):
            L.append("Masks (generated from the config's polygons; 255 = inside): " + "; ".join(
                "`%s` on %s, %d×%d, %.1f %% of the pixels ([png](%s))" % (
                    m["name"], m["image"], m["width"], m["height"], 100 * m["coverage"],
                    os.path.relpath(m["path"], str(ctx["out"]))) for m in f["masks"]))
            L.append("")
    L.append("## Not available")
    L.append("")
    if unavailable:
        L.append("| figure | what is missing | why |")
        L.append("|---|---|---|")
        for u in unavailable:
            for m in u["missing"]:
                L.append("| %s (%s: %s) | %s | %s |" % (u["name"], u["figure"], u["title"], m["what"], m["why"]))
    else:
        L.append("Nothing: every requested figure was rendered.")
    L.append("")
    L.append("Per-panel records (full config, nst command line, weights checksum, device, loss trace, wall time, "
             "commit): `<figure>/panels/<panel>.json`; nst's output: `<panel>.log`.")
    write_atomic(ctx["out"] / "REPORT.md", "\n".join(L) + "\n")


def write_summary(ctx, results, unavailable, total_wall):
    """report.json: the run, its figures and panels, what is not available."""
    args, out = ctx["args"], ctx["out"]
    summary = {
        "started": ctx["started"], "params": ctx["mode"], "quick": bool(args.quick), "wall_seconds": round(total_wall, 3),
        "weights": {k: ctx["weights"][k] for k in ("spec", "path", "sha256", "random", "fallback", "metadata")},
        "adain_weights": ({k: v for k, v in ctx["adain_weights"].items() if k not in ("encoder", "decoder")}
                          if ctx.get("adain_weights") else None),
        "nst": ctx["nst"], "commit": ctx["commit"], "backend": args.backend, "images": ctx["images"],
        "figures": [{"name": f["name"], "figure": f["figure_label"], "png": f["figure_png"],
                     "masks": f.get("masks") or [],
                     "panels": [{"panel": r["panel"], "status": r.get("status"), "state": r.get("_state"),
                                 "record": os.path.relpath(str(out / f["name"] / "panels" / (r["panel"] + ".json")), str(out))}
                                for r in f["records"]]} for f in results],
        "unavailable": [{"name": u["name"], "figure": u["figure"], "missing": u["missing"]} for u in unavailable],
    }
    write_json(out / "report.json", summary)
