# SPDX-License-Identifier: MIT
"""Figure configs: loading, validation, the resolved settings of each panel and its nst options.

A figure is one JSON file in configs/ (README "Adding a figure"). A panel's settings are the chosen
parameter set of configs/params.json, overridden by the figure's defaults, then by the panel's own
config, then by --quick and --size/--iterations. validate_figure() checks a figure under every
parameter set without running nst or reading an image, so a config error shows up in CI (run
--check) and not after an hour of rendering.
"""

import re
from pathlib import Path

from . import adain
from .util import CONFIGS, ROOT, InputError, load_json, num, round_sig

# Output channels of each VGG19 block, for the authors' 1/N_l^2 layer weights.
BLOCK_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
LAYER_RE = re.compile(r"^(conv|relu)([1-5])_([1-4])$|^pool([1-5])$")
# Keys of a resolved panel config (everything `nst run` is told), in record order.
CONFIG_KEYS = ["objective", "content", "style", "ratio", "alpha", "style_only_beta", "content_layers",
               "style_layers", "layer_weights", "preset", "pooling", "init", "seed", "size_rule",
               "image_size", "style_scale", "iterations", "optimizer", "lbfgs_history", "tv_weight"]
# The perceptual controls (issue #10) and the blend weights. They are optional: a panel's record
# holds only those it sets, so the records (and cache keys) of the older figures do not change.
CONTROL_KEYS = ["style_blend_weights", "style_layer_sets", "match_color", "color_control", "luminance_match",
                "original_colors", "content_masks", "style_masks", "mask_propagation", "mask_grow", "edit_mask"]
CHOICES = {"match_color": ("none", "chol", "pca", "sym"), "color_control": ("none", "luminance"),
           "luminance_match": ("meanstd", "mean", "none"), "mask_propagation": ("simple", "inside", "all")}
# An image that is the output of another panel of the same figure (multi-step recipes).
PANEL_REF = "panel:"
PANEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# Files of configs/ that are not figures.
NOT_FIGURES = ("params.json", "masks.json")


def load_configs(folder=CONFIGS):
    """(params, figures). Each figure gets the shared masks of configs/masks.json under its own
    (a figure's 'masks' may add to them but not redefine one)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("configs folder %s not found" % folder)
    params = load_json(folder / "params.json")
    shared = {k: v for k, v in load_json(folder / "masks.json").get("masks", {}).items() if not k.startswith("//")}
    figures = []
    for p in sorted(folder.glob("*.json")):
        if p.name in NOT_FIGURES:
            continue
        fig = load_json(p)
        if fig.get("name") != p.stem:
            raise InputError("%s: 'name' must be the file's stem (%s)" % (p, p.stem))
        own = fig.get("masks") or {}
        if not isinstance(own, dict):
            raise InputError("%s: 'masks' must be an object {name: spec}" % p)
        clash = sorted(set(own) & set(shared))
        if clash:
            raise InputError("%s: mask(s) %s are already defined in configs/masks.json" % (p, ", ".join(clash)))
        fig["masks"] = dict(shared, **own)
        figures.append(fig)
    return params, figures


def read_manifest():
    """{file: {"md5", "md5s", "url"}} of tools/images.manifest: the images a figure may name.
    An entry may accept several checksums (comma list; tools/fetch_images.sh --check validates the
    format): "md5s" holds all of them, "md5" the first (the reference copy)."""
    out = {}
    for line in (ROOT / "tools" / "images.manifest").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, md5s, url = line.split("\t")[:3]
        out[name] = {"md5": md5s.split(",")[0], "md5s": md5s.split(","), "url": url}
    return out


def overlay(base, over, mode):
    """base updated by over; over's 'paper'/'impl' sub-objects apply only in that mode."""
    out = dict(base)
    for k, v in (over or {}).items():
        if k.startswith("//") or k in ("paper", "impl", "description", "sources"):
            continue
        out[k] = v
    for k, v in (over or {}).get(mode, {}).items():
        if not k.startswith("//"):
            out[k] = v
    return out


def resolve_panel(params, mode, fig, cell, quick, size=None, iterations=None):
    cfg = overlay({}, params["sets"][mode], mode)
    cfg = overlay(cfg, fig.get("defaults"), mode)
    cfg = overlay(cfg, cell.get("config"), mode)
    if quick:
        cfg = overlay(cfg, params.get("quick"), mode)
    if size is not None:
        cfg["image_size"] = size
    if iterations is not None:
        cfg["iterations"] = iterations
    cfg.setdefault("objective", "transfer")
    if isinstance(cfg.get("style"), str):
        cfg["style"] = [cfg["style"]]
    # A reconstruction needs only one image; the other option nst requires gets the same file
    # (its term has weight 0). A style reconstruction takes the painting's own shape.
    if cfg["objective"] == "content" and not cfg.get("style"):
        cfg["style"] = [cfg["content"]]
    if cfg["objective"] == "style" and not cfg.get("content"):
        cfg["content"] = cfg["style"][0]
    missing = [k for k in CONFIG_KEYS if k not in cfg and not (k == "ratio" and cfg["objective"] != "transfer")]
    if missing:
        raise InputError("%s/%s: config lacks %s" % (fig["name"], cell["panel"], ", ".join(missing)))
    return {k: cfg[k] for k in CONFIG_KEYS + CONTROL_KEYS if k in cfg}


def layer_channels(name):
    m = LAYER_RE.match(name)
    if not m:
        raise InputError("unknown VGG19 layer '%s'" % name)
    return BLOCK_CHANNELS[int(m.group(2) or m.group(4))]


def layer_order(name):
    m = LAYER_RE.match(name)
    if m.group(4):
        return (int(m.group(4)), 9)
    return (int(m.group(2)), int(m.group(3)))


def style_layer_weights(preset, scheme, layers):
    """Per-layer weights for nst's --style-layer-weights, given the scheme of the parameter set.

    "mean" (the paper, Eq. 5): w_l = 1/L over the L active layers. nst's gatys preset already
    divides the user weights by L, so it gets all ones; the jcjohnson preset takes them as they are.

    "inv_channels_sq" (the authors' code, paper.md §1.4): the style term of layer l is
        (sw / N_l^2) · MSE(G/M, A/M),   G = F Fᵀ, M = H·W, MSE = mean over the N_l^2 entries.
    nst's jcjohnson preset computes, per layer, w_s · w_l · mean((G_j − A_j)^2) with
    G_j = F Fᵀ / (N_l·M) = (G/M) / N_l. Hence MSE(G/M, A/M) = N_l^2 · mean((G_j − A_j)^2), and
        (sw / N_l^2) · MSE(G/M, A/M) = sw · mean((G_j − A_j)^2),
    i.e. w_s = sw and w_l = (1/N_l^2) · N_l^2 = 1 for every layer (exact: N_l is a power of two).
    The content terms agree as they are: both are cw · mean((F − P)^2) over N_l·M entries.
    The gatys preset cannot express it: its content term is ½Σ(F−P)² = (N·M/2)·MSE, which
    would need α to depend on the image size.
    """
    n = len(layers)
    if isinstance(scheme, list):
        if len(scheme) != n:
            raise InputError("layer_weights has %d entries for %d style layers" % (len(scheme), n))
        return [float(w) for w in scheme]
    if scheme == "mean":
        return [1.0] * n if preset == "gatys" else [1.0 / n] * n
    if scheme == "inv_channels_sq":
        if preset != "jcjohnson":
            raise InputError("layer_weights 'inv_channels_sq' (the authors' MSE forms) needs preset jcjohnson")
        out = []
        for name in layers:
            ch = layer_channels(name)
            authors = 1.0 / ch ** 2          # the notebook's 1e3/N_l^2 without the 1e3 (that is w_s)
            out.append(authors * ch ** 2)    # MSE(G/M) = N_l^2 · mean((G_j - A_j)^2)
        return out
    raise InputError("unknown layer_weights scheme %r" % (scheme,))


def nst_options(cfg):
    """The loss settings nst gets for a resolved panel config, plus notes on what was mapped."""
    obj = cfg["objective"]
    notes = []
    content_layers = list(cfg["content_layers"])
    style_layers = list(cfg["style_layers"])
    for layer in content_layers + style_layers:
        layer_channels(layer)
    alpha = float(cfg["alpha"])
    if obj == "transfer":
        ratio = float(cfg["ratio"])
        if not ratio > 0:
            raise InputError("ratio must be > 0")
        cw, sw = alpha, round_sig(alpha / ratio)
    elif obj == "content":
        cw, sw = alpha, 0.0
        # nst runs VGG19 only up to the deepest requested layer; a weight-0 style term at the
        # content layer keeps a conv1_1 reconstruction from running the whole network.
        style_layers = [content_layers[-1]]
        notes.append("content reconstruction: style weight 0, style layer set to %s so nst stops there" % style_layers[0])
    elif obj == "style":
        cw, sw = 0.0, float(cfg["style_only_beta"])
        deepest = max(style_layers, key=layer_order)
        content_layers = [deepest]
        notes.append("style reconstruction: content weight 0, content layer set to %s so nst stops there" % deepest)
    else:
        raise InputError("objective must be transfer, content or style, not %r" % obj)
    lw = style_layer_weights(cfg["preset"], cfg["layer_weights"], style_layers) if obj != "content" else [1.0]
    init = cfg["init"]
    if init not in ("random", "content", "style") and not (isinstance(init, str) and init.startswith(PANEL_REF)):
        raise InputError("init must be random, content, style or panel:NAME, not %r" % (init,))
    return {"content_weight": cw, "style_weight": sw, "tv_weight": float(cfg["tv_weight"]),
            "content_layers": content_layers, "style_layers": style_layers, "style_layer_weights": lw,
            "notes": notes}


def image_refs(cfg):
    """Every image a panel reads: content, styles, and an init taken from another panel."""
    refs = [cfg["content"]] + list(cfg["style"])
    if isinstance(cfg.get("init"), str) and cfg["init"].startswith(PANEL_REF):
        refs.append(cfg["init"])
    return refs


def panel_deps(cfg):
    """Names of the panels of the same figure whose outputs this panel reads."""
    return sorted({r[len(PANEL_REF):] for r in image_refs(cfg) if r.startswith(PANEL_REF)})


def used_masks(cfg):
    names = list(cfg.get("content_masks") or []) + [m for m in cfg.get("style_masks") or [] if m != "-"]
    if cfg.get("edit_mask"):
        names.append(cfg["edit_mask"])
    return names


def build_argv(nst, cfg, opts, paths, mask_paths, weights_spec, backend, gpu, verbose, out_png, trace):
    """The nst command line of a panel. paths: image reference -> file; mask_paths: mask name -> file."""
    init = cfg["init"]
    argv = [str(nst), "run",
            "--content", str(paths[cfg["content"]]),
            "--style", ",".join(str(paths[s]) for s in cfg["style"]),
            "--output", str(out_png),
            "--image-size", str(int(cfg["image_size"])), "--size-rule", cfg["size_rule"],
            "--style-scale", num(cfg["style_scale"]),
            "--preset", cfg["preset"],
            "--content-weight", num(opts["content_weight"]), "--style-weight", num(opts["style_weight"]),
            "--tv-weight", num(opts["tv_weight"]),
            "--content-layers", ",".join(opts["content_layers"]),
            "--style-layers", ",".join(opts["style_layers"]),
            "--style-layer-weights", ",".join(num(w) for w in opts["style_layer_weights"]),
            "--pooling", cfg["pooling"], "--init", str(paths[init]) if init.startswith(PANEL_REF) else init,
            "--seed", str(int(cfg["seed"])),
            "--optimizer", cfg["optimizer"], "--lbfgs-history", str(int(cfg["lbfgs_history"])),
            "--num-iterations", str(int(cfg["iterations"])),
            "--weights", weights_spec, "--backend", backend, "--gpu", str(gpu),
            "--trace", str(trace),
            "--print-iter", str(max(1, int(cfg["iterations"]) // 10) if verbose else 0)]
    # The controls, only where a panel sets them, so that the older figures' command lines (and
    # an nst without the controls) are unchanged.
    if "style_blend_weights" in cfg:
        argv += ["--style-blend-weights", ",".join(num(w) for w in cfg["style_blend_weights"])]
    if "style_layer_sets" in cfg:
        argv += ["--style-layer-sets", ";".join("*" if s == "*" else ",".join(s) for s in cfg["style_layer_sets"])]
    for key in ("match_color", "color_control", "luminance_match", "mask_propagation"):
        if key in cfg:
            argv += ["--" + key.replace("_", "-"), cfg[key]]
    if cfg.get("original_colors"):
        argv.append("--original-colors")
    if "content_masks" in cfg:
        argv += ["--content-masks", ",".join(str(mask_paths[m]) for m in cfg["content_masks"])]
    if "style_masks" in cfg:
        argv += ["--style-masks", ",".join("-" if m == "-" else str(mask_paths[m]) for m in cfg["style_masks"])]
    if "mask_grow" in cfg:
        argv += ["--mask-grow", str(int(cfg["mask_grow"]))]
    if "edit_mask" in cfg:
        argv += ["--edit-mask", str(mask_paths[cfg["edit_mask"]])]
    return argv


# --------------------------------------------------------------------------- validation

def _fail(fig, msg):
    raise InputError("configs/%s.json: %s" % (fig.get("name", "?"), msg))


def mask_base_image(fig, name, seen=()):
    """The image file a mask belongs to (an inverted mask belongs to its source's image)."""
    spec = (fig.get("masks") or {}).get(name)
    if spec is None:
        _fail(fig, "unknown mask '%s' (masks: %s)" % (name, ", ".join(sorted(fig.get("masks") or {})) or "none"))
    if name in seen:
        _fail(fig, "mask '%s' inverts itself (cycle %s)" % (name, " -> ".join(seen + (name,))))
    if "invert" in spec:
        return mask_base_image(fig, spec["invert"], seen + (name,))
    return spec["image"]


def _check_masks(fig, manifest):
    masks = fig.get("masks") or {}
    if not isinstance(masks, dict):
        _fail(fig, "'masks' must be an object {name: spec}")
    for name, spec in masks.items():
        if not PANEL_NAME_RE.match(name):
            _fail(fig, "mask name %r: letters, digits, '_', '.', '-' only" % name)
        if not isinstance(spec, dict) or ("invert" in spec) == ("polygons" in spec):
            _fail(fig, "mask '%s': give either 'invert': NAME or 'image' and 'polygons'" % name)
        if "invert" in spec:
            mask_base_image(fig, name)
            continue
        if spec.get("image") not in manifest:
            _fail(fig, "mask '%s': image %r is not in tools/images.manifest" % (name, spec.get("image")))
        polys = spec["polygons"]
        if not isinstance(polys, list) or not polys:
            _fail(fig, "mask '%s': 'polygons' must be a non-empty list of polygons" % name)
        for poly in polys:
            if not isinstance(poly, list) or len(poly) < 3:
                _fail(fig, "mask '%s': a polygon needs at least 3 points [x, y]" % name)
            for pt in poly:
                if (not isinstance(pt, list) or len(pt) != 2
                        or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in pt)):
                    _fail(fig, "mask '%s': point %r is not [x, y] with 0 <= x, y <= 1 (fractions of the "
                          "image's width and height)" % (name, pt))


def _check_controls(fig, panel, cfg, opts, manifest, panels):
    where = "panel '%s'" % panel
    n_style = len(cfg["style"])
    for ref in image_refs(cfg):
        if not isinstance(ref, str):
            _fail(fig, "%s: image %r is not a file name" % (where, ref))
        if ref.startswith(PANEL_REF):
            dep = ref[len(PANEL_REF):]
            if dep not in panels:
                _fail(fig, "%s: %s names no panel of this figure" % (where, ref))
            if dep == panel:
                _fail(fig, "%s: reads its own output" % where)
        elif ref not in manifest:
            _fail(fig, "%s: image %r is not in tools/images.manifest" % (where, ref))
    for key, allowed in CHOICES.items():
        if key in cfg and cfg[key] not in allowed:
            _fail(fig, "%s: %s must be one of %s, not %r" % (where, key, "|".join(allowed), cfg[key]))
    if "original_colors" in cfg and not isinstance(cfg["original_colors"], bool):
        _fail(fig, "%s: original_colors must be true or false" % where)
    if "mask_grow" in cfg and (not isinstance(cfg["mask_grow"], int) or isinstance(cfg["mask_grow"], bool)):
        _fail(fig, "%s: mask_grow must be an integer (pixels; < 0 erodes)" % where)
    if "style_blend_weights" in cfg:
        w = cfg["style_blend_weights"]
        if not isinstance(w, list) or len(w) != n_style or not all(isinstance(x, (int, float)) and x >= 0 for x in w) \
                or not sum(w) > 0:
            _fail(fig, "%s: style_blend_weights needs one weight >= 0 per style image (%d), not all 0" % (where, n_style))
    if "style_layer_sets" in cfg:
        sets = cfg["style_layer_sets"]
        if not isinstance(sets, list) or len(sets) != n_style:
            _fail(fig, "%s: style_layer_sets needs one set per style image (%d)" % (where, n_style))
        covered = set()
        for s in sets:
            if s == "*":
                covered.update(opts["style_layers"])
                continue
            if not isinstance(s, list) or not s:
                _fail(fig, "%s: a style layer set is '*' or a non-empty list of layers, not %r" % (where, s))
            for layer in s:
                if layer not in opts["style_layers"]:
                    _fail(fig, "%s: style layer set names %s, which is not a style layer (%s)"
                          % (where, layer, ",".join(opts["style_layers"])))
            covered.update(s)
        unused = [x for x in opts["style_layers"] if x not in covered]
        if unused:
            _fail(fig, "%s: style layer(s) %s are in no style layer set" % (where, ",".join(unused)))
    if "content_masks" in cfg:
        cm = cfg["content_masks"]
        if not isinstance(cm, list) or len(cm) != n_style:
            _fail(fig, "%s: content_masks needs one mask per style image (%d)" % (where, n_style))
        for m in cm:
            if mask_base_image(fig, m) != cfg["content"]:
                _fail(fig, "%s: content mask '%s' is drawn on %s, not on the content image %s"
                      % (where, m, mask_base_image(fig, m), cfg["content"]))
    if "style_masks" in cfg:
        sm = cfg["style_masks"]
        if not isinstance(sm, list) or len(sm) != n_style:
            _fail(fig, "%s: style_masks needs one entry per style image (%d): a mask or '-'" % (where, n_style))
        for m, style in zip(sm, cfg["style"]):
            if m != "-" and mask_base_image(fig, m) != style:
                _fail(fig, "%s: style mask '%s' is drawn on %s, not on its style image %s"
                      % (where, m, mask_base_image(fig, m), style))
    if "edit_mask" in cfg and mask_base_image(fig, cfg["edit_mask"]) != cfg["content"]:
        _fail(fig, "%s: edit mask '%s' is not drawn on the content image %s" % (where, cfg["edit_mask"], cfg["content"]))
    if ("mask_propagation" in cfg or "mask_grow" in cfg) and not ("content_masks" in cfg or "style_masks" in cfg):
        _fail(fig, "%s: mask_propagation/mask_grow without content_masks or style_masks" % where)


def panel_order(fig, names_deps):
    """Panels in cell order, except that a panel comes after the panels it reads (stable
    topological order); a cycle is a config error."""
    order, state = [], {}

    def visit(name, path):
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            _fail(fig, "panels read each other's output in a cycle: %s" % " -> ".join(path + [name]))
        state[name] = "active"
        for d in names_deps[name]:
            visit(d, path + [name])
        state[name] = "done"
        order.append(name)

    for name in names_deps:
        visit(name, [])
    return order


def validate_figure(fig, params, manifest):
    """Checks one figure config completely, under every parameter set, in quick and full mode.
    Raises InputError naming the file and the problem. Runs nothing and reads no image."""
    for key in ("paper", "figure", "title"):
        if not isinstance(fig.get(key), str) or not fig[key]:
            _fail(fig, "'%s' must be a non-empty string" % key)
    if fig.get("status") == "unavailable":
        miss = fig.get("missing")
        if not isinstance(miss, list) or not miss or not all(
                isinstance(m, dict) and m.get("what") and m.get("why") for m in miss):
            _fail(fig, "an unavailable figure needs 'missing': [{\"what\": ..., \"why\": ...}, ...]")
        return
    if fig.get("status") not in (None, "available"):
        _fail(fig, "status must be 'unavailable' or absent, not %r" % fig.get("status"))
    layout = fig.get("layout") or {}
    rows, cols = layout.get("rows"), layout.get("cols")
    if not isinstance(rows, int) or not isinstance(cols, int) or rows < 1 or cols < 1:
        _fail(fig, "layout needs integer 'rows' and 'cols' >= 1")
    _check_masks(fig, manifest)
    cells = fig.get("cells")
    if not isinstance(cells, list) or not cells:
        _fail(fig, "'cells' must be a non-empty list")
    seen_cells, panels = set(), {}
    for cell in cells:
        pos = cell.get("cell")
        if not (isinstance(pos, list) and len(pos) == 2 and 0 <= pos[0] < rows and 0 <= pos[1] < cols):
            _fail(fig, "cell %r lies outside the %d×%d layout" % (pos, rows, cols))
        if tuple(pos) in seen_cells:
            _fail(fig, "two cells at %r" % (pos,))
        seen_cells.add(tuple(pos))
        kinds = [k for k in ("image", "panel", "mask") if k in cell]
        if len(kinds) != 1:
            _fail(fig, "cell %r must have exactly one of 'image', 'panel', 'mask'" % (pos,))
        if "image" in cell and cell["image"] not in manifest:
            _fail(fig, "cell %r: image %r is not in tools/images.manifest" % (pos, cell["image"]))
        if "mask" in cell:
            mask_base_image(fig, cell["mask"])
        if "panel" in cell:
            if not isinstance(cell["panel"], str) or not PANEL_NAME_RE.match(cell["panel"]):
                _fail(fig, "cell %r: panel name %r: letters, digits, '_', '.', '-' only" % (pos, cell["panel"]))
            if cell["panel"] in panels:
                _fail(fig, "two panels named '%s'" % cell["panel"])
            panels[cell["panel"]] = cell
    if adain.is_adain(fig):
        for quick in (False, True):
            for name, cell in panels.items():
                try:
                    cfg = adain.resolve_panel(params, fig, cell, quick)
                except InputError as e:
                    _fail(fig, "panel '%s': %s" % (name, e))
                adain.check_panel(fig, name, cfg, manifest, mask_base_image)
        return
    if fig.get("method", "gatys") != "gatys":
        _fail(fig, "method must be 'gatys' (nst run; the default) or 'adain' (nst stylize), not %r" % fig.get("method"))
    for mode in params["sets"]:
        for quick in (False, True):
            deps = {}
            for name, cell in panels.items():
                try:
                    cfg = resolve_panel(params, mode, fig, cell, quick)
                    opts = nst_options(cfg)
                except InputError as e:
                    _fail(fig, "panel '%s' (params %s): %s" % (name, mode, e))
                except (TypeError, ValueError, KeyError, AttributeError) as e:
                    _fail(fig, "panel '%s' (params %s): malformed setting (%s: %s)" % (name, mode, type(e).__name__, e))
                _check_controls(fig, name, cfg, opts, manifest, panels)
                deps[name] = panel_deps(cfg)
            panel_order(fig, deps)


def validate_all(params, figures):
    manifest = read_manifest()
    for fig in figures:
        validate_figure(fig, params, manifest)
