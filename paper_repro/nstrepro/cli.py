# SPDX-License-Identifier: MIT
"""Command-line options and the main sequence: validate the configs, resolve every panel, fetch
the images, draw the masks, render the panels in order, assemble each figure, write the report."""

import argparse
import datetime
import os
import time
from pathlib import Path

from . import adain, assemble
from .configs import (PANEL_REF, image_refs, load_configs, mask_base_image, nst_options, panel_deps, panel_order,
                      resolve_panel, used_masks, validate_all, build_argv)
from .inputs import fetch_images, git_commit, nst_identity, resolve_weights
from .masks import generate_masks
from .render import Progress, panel_paths, run_panel
from .report import figure_summary, recorded_weights, describe_weights, write_report, write_summary
from .util import CONFIGS, HERE, ROOT, InputError, UsageError, fmt_ratio, fmt_seconds, info, warn


def parse_args(argv, params, figures):
    names = [f["name"] for f in figures]
    p = argparse.ArgumentParser(
        prog="paper_repro/run",
        description="Regenerate the figures of Gatys et al. (arXiv 1508.06576, CVPR 2016; the perceptual "
                    "controls of arXiv 1606.05897 and CVPR 2017) with nst.",
        epilog="figures: " + ", ".join(names))
    p.add_argument("--quick", action="store_true", help="small and short (%s px, %s iterations): minutes per figure on a CPU"
                   % (params["quick"]["image_size"], params["quick"]["iterations"]))
    p.add_argument("--only", action="append", default=[], metavar="NAME,...", help="figures to make (default: all)")
    p.add_argument("--images", metavar="DIR", help="folder with the paper's images (default: $NST_IMAGES, ../shared/images, else download)")
    p.add_argument("--cache", metavar="DIR", default=str(ROOT / "data" / "images"), help="image cache (default: data/images)")
    p.add_argument("--out", metavar="DIR", default=str(HERE / "out"), help="output folder (default: paper_repro/out)")
    p.add_argument("--backend", default="auto", choices=["auto", "cpu", "cuda"], help="nst --backend (default auto)")
    p.add_argument("--gpu", type=int, default=0, help="nst --gpu (default 0)")
    p.add_argument("--weights", metavar="PATH|random[:SEED]",
                   help="VGG19 weights (default weights/vgg19.safetensors; if absent: random with --quick, an error otherwise)")
    p.add_argument("--adain-encoder", metavar="PATH|random",
                   help="AdaIN figures: the encoder model (nst weights convert of the port's vgg_normalised.pth; default "
                        "weights/adain-encoder.safetensors; if absent: random with --quick, an error otherwise)")
    p.add_argument("--adain-decoder", metavar="PATH|random",
                   help="AdaIN figures: the decoder model (decoder.pth converted; default weights/adain-decoder.safetensors)")
    p.add_argument("--params", choices=sorted(params["sets"]), default=None,
                   help="parameter set: paper (the papers' equations and settings) or impl (the authors' code); default %s" % params["default"])
    p.add_argument("--size", type=int, help="override every panel's --image-size")
    p.add_argument("--iterations", type=int, help="override every panel's iteration count")
    p.add_argument("--nst", metavar="PATH", default=os.environ.get("NST_BIN", str(ROOT / "build" / "nst")),
                   help="nst binary (default $NST_BIN or build/nst)")
    p.add_argument("--force", action="store_true", help="re-render panels whose record in --out matches")
    p.add_argument("--list", action="store_true", help="list figures and panels, then exit")
    p.add_argument("--configs", metavar="DIR", default=str(CONFIGS),
                   help="folder of figure configs, params.json and masks.json (default: paper_repro/configs)")
    p.add_argument("--check", action="store_true",
                   help="validate every figure config under both parameter sets, then exit (needs neither nst nor the images)")
    p.add_argument("--assemble-only", action="store_true",
                   help="render nothing: rebuild the figures and REPORT.md from the panels already in --out")
    p.add_argument("--dry-run", action="store_true", help="print the nst command lines, run nothing")
    p.add_argument("--verbose", action="store_true", help="show nst's progress")
    args = p.parse_args(argv)
    only = [n.strip() for s in args.only for n in s.split(",") if n.strip()]
    unknown = [n for n in only if n not in names]
    if unknown:
        raise UsageError("--only: unknown figure(s) %s (known: %s)" % (", ".join(unknown), ", ".join(names)))
    args.only = only
    if args.size is not None and not 1 <= args.size <= 16384:
        raise UsageError("--size must be in 1..16384")
    if args.iterations is not None and args.iterations < 0:
        raise UsageError("--iterations must be >= 0")
    return args


def figure_jobs(params, mode, fig, args):
    """The panels of a figure as jobs, in the order they must run (a panel after those it reads)."""
    by_name = {}
    if adain.is_adain(fig):
        # One nst stylize per panel, none reading another's output: cell order.
        for cell in fig["cells"]:
            if "panel" in cell:
                cfg = adain.resolve_panel(params, fig, cell, args.quick, args.size)
                by_name[cell["panel"]] = {"fig": fig, "cell": cell, "cfg": cfg, "opts": adain.options(cfg), "adain": True}
        return list(by_name.values())
    for cell in fig["cells"]:
        if "panel" in cell:
            cfg = resolve_panel(params, mode, fig, cell, args.quick, args.size, args.iterations)
            by_name[cell["panel"]] = {"fig": fig, "cell": cell, "cfg": cfg, "opts": nst_options(cfg)}
    order = panel_order(fig, {n: panel_deps(j["cfg"]) for n, j in by_name.items()})
    return [by_name[n] for n in order]


def figure_mask_names(fig, jobs):
    names = {m for j in jobs if j["fig"] is fig for m in used_masks(j["cfg"])}
    names.update(c["mask"] for c in fig["cells"] if c.get("mask"))
    return sorted(names)


def figure_images(fig, jobs):
    """The manifest images a figure reads: cells, panels' inputs, the images its masks are drawn on."""
    imgs = {c["image"] for c in fig["cells"] if c.get("image")}
    imgs.update(r for j in jobs if j["fig"] is fig for r in image_refs(j["cfg"]) if not r.startswith(PANEL_REF))
    imgs.update(mask_base_image(fig, m) for m in figure_mask_names(fig, jobs))
    return imgs


def main(argv):
    # The figure names are in the configs, so --configs is read before the other options.
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--configs", default=str(CONFIGS))
    params, figures = load_configs(pre.parse_known_args(argv)[0].configs)
    args = parse_args(argv, params, figures)
    # Every config is checked before anything runs: a typo must not surface after hours of rendering.
    validate_all(params, figures)
    if args.check:
        n_panels = sum(1 for f in figures for c in f.get("cells", []) if "panel" in c)
        info("%d figure configs (%d panels, %d not available) are valid under params %s, quick and full" % (
            len(figures), n_panels, sum(1 for f in figures if f.get("status") == "unavailable"),
            " and ".join(sorted(params["sets"]))))
        return 0
    mode = args.params or params["default"]
    selected = [f for f in figures if not args.only or f["name"] in args.only]
    renderable = [f for f in selected if f.get("status") != "unavailable"]
    # Figures that cannot be made are always listed (in the report), requested or not.
    unavailable = [f for f in figures if f.get("status") == "unavailable"]

    jobs = [j for fig in renderable for j in figure_jobs(params, mode, fig, args)]

    if args.list:
        for f in figures:
            if f.get("status") == "unavailable":
                print("%-22s %-7s UNAVAILABLE: %s" % (f["name"], f["figure"], "; ".join(m["what"] for m in f["missing"])))
            else:
                panels = [c["panel"] for c in f["cells"] if "panel" in c]
                print("%-22s %-7s %2d panels: %s" % (f["name"], f["figure"], len(panels), " ".join(panels)))
        return 0

    needed = set()
    for fig in renderable:
        needed.update(figure_images(fig, jobs))

    nst = Path(args.nst).resolve()
    if not nst.is_file():
        raise InputError("nst binary %s not found: build it (tools/build.sh) or pass --nst PATH" % nst)
    out = Path(args.out).resolve()
    ctx = {"args": args, "mode": mode, "mode_default": args.params is None, "out": out, "done": {}, "state": {},
           "masks": {}, "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    ctx["nst"] = nst_identity(nst)
    if args.assemble_only:
        # Nothing is rendered: the figures and the report name the weights in the panels' records.
        ctx["weights"] = {"spec": None, "random": False, "path": None, "sha256": "unknown (no panel records)",
                          "metadata": {}, "fallback": False}
    elif any(not j.get("adain") for j in jobs):
        ctx["weights"] = resolve_weights(args)
    else:  # AdaIN figures only: no VGG19 weights are involved
        ctx["weights"] = {"spec": None, "random": False, "path": None, "sha256": "none (AdaIN figures only)",
                          "metadata": {}, "fallback": False}
    ctx["adain_weights"] = {"kind": "adain", "spec": None, "random": False, "path": None, "metadata": {},
                            "sha256": "unknown (no panel records)", "fallback": False}
    if any(j.get("adain") for j in jobs) and not args.assemble_only:
        ctx["adain_weights"] = adain.resolve_weights(args, out)
    ctx["commit"] = git_commit()
    ctx["images"] = fetch_images(args, needed) if needed else {}

    # A figure whose images could not be had joins the unavailable list, with what is missing.
    missing_imgs = {n for n, e in ctx["images"].items() if e["status"] == "missing"}
    still = []
    for fig in renderable:
        lack = sorted(figure_images(fig, jobs) & missing_imgs)
        if lack:
            unavailable.append({"name": fig["name"], "figure": fig["figure"], "title": fig["title"],
                                "missing": [{"what": "image %s" % n, "why": "not in --images/../shared/images and the "
                                             "download failed (offline?); URL and md5 in tools/images.manifest"} for n in lack]})
        else:
            still.append(fig)
    renderable = still
    jobs = [j for j in jobs if j["fig"] in renderable]

    if args.dry_run:
        # Nothing is written: masks and the outputs of earlier steps are named where they would be.
        for j in jobs:
            fname = j["fig"]["name"]
            if j.get("adain"):
                c = j["cfg"]
                paths = {c["content"]: out / fname / "inputs" / adain.sized_name(c["content"], c["image_size"], c["size_rule"])}
                for st in c["style"]:
                    paths.setdefault(st, out / fname / "inputs" / adain.sized_name(st, c["style_size"], c["size_rule"]))
                masks = {m: out / fname / "masks" / (m + ".png") for m in used_masks(c)}
                print(" ".join(adain.build_argv(ctx["nst"]["path"], c, paths, masks, ctx["adain_weights"], args.backend,
                                                args.gpu, panel_paths(out, fname, j["cell"]["panel"])["png"])))
                continue
            paths = {n: e["path"] for n, e in ctx["images"].items()}
            for ref in image_refs(j["cfg"]):
                if ref.startswith(PANEL_REF):
                    paths[ref] = panel_paths(out, fname, ref[len(PANEL_REF):])["png"]
            masks = {m: out / fname / "masks" / (m + ".png") for m in used_masks(j["cfg"])}
            pp = panel_paths(out, fname, j["cell"]["panel"])
            print(" ".join(build_argv(ctx["nst"]["path"], j["cfg"], j["opts"], paths, masks, ctx["weights"]["spec"],
                                      args.backend, args.gpu, args.verbose, pp["png"], pp["trace"])))
        return 0

    out.mkdir(parents=True, exist_ok=True)
    if not assemble.HAVE_PIL:
        warn("Pillow is not available (install python3-pil): panels are rendered but figures are not assembled")
    info("%s mode, params '%s'%s, %d panels in %d figures -> %s" % (
        "quick" if args.quick else "full", mode, " (default)" if args.params is None else "", len(jobs), len(renderable), out))
    requested = {f["name"] for f in selected}
    for u in unavailable:
        if u["name"] in requested:
            warn("%s (%s) not available: missing %s" % (u["name"], u["figure"], "; ".join(m["what"] for m in u["missing"])))
    image_paths = {n: e["path"] for n, e in ctx["images"].items()}
    # The AdaIN panels read their images resized by the harness (nst stylize keeps the input's size).
    ctx["adain_sized"] = adain.prepare_images([j for j in jobs if j.get("adain")], ctx["images"], out) \
        if any(j.get("adain") for j in jobs) and not args.assemble_only else {}
    for fig in renderable:
        names = figure_mask_names(fig, jobs)
        paths = image_paths
        fig_jobs = [j for j in jobs if j["fig"] is fig]
        if adain.is_adain(fig) and fig_jobs and ctx["adain_sized"]:
            # Masks are drawn at the size of the content image nst gets (one size per figure).
            paths = dict(image_paths, **adain.input_paths(fig_jobs[0], ctx["adain_sized"]))
        ctx["masks"][fig["name"]] = generate_masks(fig, names, paths, out / fig["name"] / "masks") if names else {}

    t_start = time.monotonic()
    results = []
    failures = 0
    progress = Progress(jobs)

    def footer(fig):
        s = figure_summary(fig, cur)  # cur: the records of the figure being assembled
        ws = recorded_weights(cur, ctx["adain_weights"] if adain.is_adain(fig) else ctx["weights"])
        prov = next((r for r in cur if r.get("commit") and r.get("nst")), None)
        commit = prov["commit"] if prov else ctx["commit"]
        version = prov["nst"].get("version") if prov else ctx["nst"]["version"]
        if adain.is_adain(fig):
            cfgs = [r["config"] for r in cur if r.get("config")]
            sizes = sorted({c["image_size"] for c in cfgs}) if cfgs else []
            return [
                "AdaIN, nst stylize (encoder to relu4_1, AdaIN with the port's statistics, decoder) · content %s px, "
                "styles %s px (%s side) · %s mode" % (
                    "/".join(str(x) for x in sizes) or "—", "/".join(sorted({str(c["style_size"]) for c in cfgs})) or "—",
                    "longest" if cfgs and cfgs[0]["size_rule"] == "max" else "shorter",
                    ("quick" if args.quick else "full") + (", overridden by --size" if args.size is not None else "")),
                "weights: %s · device: %s · %s · commit %s%s · rendered %s" % (
                    "; ".join(describe_weights(w) for w in ws), ", ".join(s["devices"]) or "—", version,
                    commit["sha"][:10], "+dirty" if commit.get("dirty") else "",
                    (prov or {}).get("started", ctx["started"])[:10])]
        return [
            "params: %s · preset %s · pooling %s · init %s · size %s px (%s rule; %s) · %s L-BFGS iterations (history %s) · %s" % (
                mode, s["preset"], s["pooling"], s["init"], s["image_size"], s["size_rule"],
                ", ".join("%d×%d" % x for x in s["sizes"][:2]) or "—", s["iterations"], s["lbfgs_history"],
                ("quick" if args.quick else "full") + " mode" + (", overridden by --size/--iterations"
                                                                 if args.size is not None or args.iterations is not None else "")),
            "weights: %s · device: %s · %s · commit %s%s · rendered %s" % (
                "; ".join(describe_weights(w) for w in ws), ", ".join(s["devices"]) or "—", version,
                commit["sha"][:10], "+dirty" if commit.get("dirty") else "",
                (prov or {}).get("started", ctx["started"])[:10])]
    ctx["footer"] = footer

    for fig in renderable:
        cur = []
        fig_jobs = [j for j in jobs if j["fig"] is fig]
        for j in fig_jobs:
            rec = run_panel(j, ctx)
            cur.append(rec)
            state = rec.get("_state")
            ctx["state"][(fig["name"], j["cell"]["panel"])] = state
            count, eta = progress.step(j, rec)
            fin = rec.get("final") or {}
            if state == "missing":
                failures += 1
                warn("%s %s/%s has not been rendered into %s yet" % (count, fig["name"], j["cell"]["panel"], out))
            elif state == "failed" and rec.get("exit_code") is None:
                failures += 1
                warn("%s %s/%s NOT RUN: %s%s" % (count, fig["name"], j["cell"]["panel"], "; ".join(rec["errors"]), eta))
            elif state == "failed":
                failures += 1
                warn("%s %s/%s FAILED (exit %s): %s; see %s%s" % (
                    count, fig["name"], j["cell"]["panel"], rec.get("exit_code"),
                    "; ".join(rec.get("errors") or ["no error line"]), Path(j["record"]).with_suffix(".log"), eta))
            else:
                info("%s %s/%s %s%s" % (count, fig["name"], j["cell"]["panel"],
                     {"cached": "kept (rendered by an earlier run)" if args.assemble_only else
                      "kept (same settings already rendered; --force re-renders)",
                      "reused": "copied from %s" % rec.get("reused_from")}.get(state, "%s%s" % (
                          fmt_seconds(rec.get("wall_seconds")),
                          "" if j.get("adain") else ", loss %.4g" % fin.get("total", float("nan")))), eta))
        # Cells for the layout: inputs, masks, panels (with their PNG and status), captions filled in.
        cells = []
        by_panel = {j["cell"]["panel"]: (r, j) for r, j in zip(cur, fig_jobs)}
        for cell in fig["cells"]:
            c = dict(cell)
            cap = cell.get("caption") or ""
            if "panel" in cell:
                r, j = by_panel[cell["panel"]]
                c.update(png=str(j["png"]), status=r.get("status"))
                if j["cfg"].get("ratio") is not None:
                    cap = cap.replace("{ratio}", fmt_ratio(j["cfg"]["ratio"]))
                if cell.get("inset") == "style":
                    c["inset_image"] = j["cfg"]["style"][0]
            if "mask" in cell:
                c["mask_png"] = ctx["masks"][fig["name"]][cell["mask"]]["path"]
            c["caption_text"] = cap
            cells.append(c)
        # Records in cell order (the render order puts a recipe's steps first).
        cur_by_cell = [by_panel[c["panel"]][0] for c in fig["cells"] if "panel" in c]
        fig_png = None
        if assemble.HAVE_PIL:
            fig_png = out / fig["name"] / (fig["name"] + ".png")
            try:
                size = assemble.assemble_figure(fig, cells, cur, ctx, fig_png)
                info("figure %s: %s (%d×%d)" % (fig["name"], fig_png, size[0], size[1]))
            except Exception as e:  # a layout bug must not lose hours of rendered panels
                warn("could not assemble %s: %s" % (fig["name"], e))
                fig_png = None
                failures += 1
        else:
            failures += 1
        results.append({"name": fig["name"], "figure_label": fig["figure"], "title": fig["title"],
                        "method": "adain" if adain.is_adain(fig) else "gatys",
                        "source": fig.get("source", ""), "records": cur_by_cell, "figure_png": str(fig_png) if fig_png else None,
                        "summary": figure_summary(fig, cur), "masks": list(ctx["masks"][fig["name"]].values())})

    total = time.monotonic() - t_start
    write_report(ctx, results, unavailable, total)
    write_summary(ctx, results, unavailable, total)
    info("report: %s (%s)" % (out / "REPORT.md", fmt_seconds(total)))
    used = recorded_weights([r for f in results for r in f["records"]], ctx["weights"])
    if any(w.get("random") and w.get("kind") != "adain" for w in used):
        warn("RANDOM VGG19 weights were used: the figures are NOT the paper's results")
    if any(w.get("random") and w.get("kind") == "adain" for w in used):
        warn("RANDOM AdaIN encoder and decoder weights were used: the AdaIN figures are NOT the paper's results")
    if not renderable:
        return 3
    return 1 if failures else 0
