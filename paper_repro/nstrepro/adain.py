# SPDX-License-Identifier: MIT
"""AdaIN figures (Huang & Belongie 2017, arXiv 1703.06868): panels rendered with `nst stylize`
(one feed-forward pass: encoder, AdaIN, decoder) instead of `nst run`.

A figure is an AdaIN figure when its config says "method": "adain". Its panels' settings start
from configs/params.json's "adain" object (not from the Gatys parameter sets, which do not apply),
then the figure's defaults, the panel's config, "adain" "quick" under --quick, and --size. Keys:

  content, style (one file or a list)   images of tools/images.manifest
  alpha                                 content-style trade-off in [0, 1] (--alpha)
  style_weights                         interpolation weights, one per style (--style-weights)
  preserve_color                        true: the style recoloured toward the content first
  content_masks                         one mask name per style: spatial control (--masks)
  image_size, style_size, size_rule     the content and each style are resized by the harness
                                        (rule max: longest side, short: shorter side) before
                                        nst sees them; nst's output has the content's size

Weights: --adain-encoder / --adain-decoder (nst model files, e.g. converted from the port's
vgg_normalised.pth and decoder.pth with `nst weights convert`), default weights/adain-encoder.
safetensors and weights/adain-decoder.safetensors; without them --quick uses random weights
made by adain_weights.py (loudly, as the Gatys figures do with random VGG19 weights) and full
mode refuses unless both options say `random`.
"""

from pathlib import Path

from .adain_weights import digest, random_models
from .util import ROOT, InputError, info, num, warn

try:
    from PIL import Image
    HAVE_PIL = True
except ImportError:
    HAVE_PIL = False

# Keys of a resolved AdaIN panel config, in record order; the controls only when set.
ADAIN_KEYS = ["method", "content", "style", "alpha", "image_size", "style_size", "size_rule"]
ADAIN_CONTROLS = ["style_weights", "preserve_color", "content_masks"]
SIZE_RULES = ("max", "short")


def is_adain(fig):
    return fig.get("method") == "adain"


def _overlay(base, over):
    out = dict(base)
    for k, v in (over or {}).items():
        if not k.startswith("//") and k not in ("description", "sources", "quick"):
            out[k] = v
    return out


def resolve_panel(params, fig, cell, quick, size=None):
    if "adain" not in params:
        raise InputError("configs/params.json has no 'adain' settings for the AdaIN figures")
    cfg = _overlay({}, params["adain"])
    cfg = _overlay(cfg, fig.get("defaults"))
    cfg = _overlay(cfg, cell.get("config"))
    if quick:
        cfg = _overlay(cfg, params["adain"].get("quick"))
    if size is not None:
        cfg["image_size"] = cfg["style_size"] = size
    cfg["method"] = "adain"
    if isinstance(cfg.get("style"), str):
        cfg["style"] = [cfg["style"]]
    missing = [k for k in ADAIN_KEYS if k not in cfg]
    if missing:
        raise InputError("%s/%s: config lacks %s" % (fig["name"], cell["panel"], ", ".join(missing)))
    return {k: cfg[k] for k in ADAIN_KEYS + ADAIN_CONTROLS if k in cfg}


def options(cfg):
    """What the record keeps beside the config (nst stylize has no loss settings)."""
    notes = []
    if cfg.get("style_weights"):
        total = float(sum(cfg["style_weights"]))
        notes.append("interpolation weights normalised to sum 1: %s" % "/".join(
            "%.3g" % (w / total) for w in cfg["style_weights"]))
    return {"notes": notes}


def check_panel(fig, panel, cfg, manifest, mask_base_image):
    """Validation of one resolved panel (raises InputError naming the figure and panel)."""
    def fail(msg):
        raise InputError("configs/%s.json: panel '%s': %s" % (fig["name"], panel, msg))
    styles = cfg["style"]
    if not isinstance(styles, list) or not styles:
        fail("style must be an image or a non-empty list of images")
    for ref in [cfg["content"]] + styles:
        if not isinstance(ref, str) or ref not in manifest:
            fail("image %r is not in tools/images.manifest" % (ref,))
    a = cfg["alpha"]
    if not isinstance(a, (int, float)) or isinstance(a, bool) or not 0 <= a <= 1:
        fail("alpha must be a number in [0, 1], not %r" % (a,))
    for key in ("image_size", "style_size"):
        v = cfg[key]
        if not isinstance(v, int) or isinstance(v, bool) or not 8 <= v <= 8192:
            fail("%s must be an integer in 8..8192, not %r" % (key, v))
    if cfg["size_rule"] not in SIZE_RULES:
        fail("size_rule must be one of %s, not %r" % ("|".join(SIZE_RULES), cfg["size_rule"]))
    if "style_weights" in cfg:
        w = cfg["style_weights"]
        if (not isinstance(w, list) or len(w) != len(styles)
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in w)):
            # nst stylize takes weights > 0 (a style with weight 0 would only cost its encoding).
            fail("style_weights needs one weight > 0 per style image (%d)" % len(styles))
    elif len(styles) > 1 and "content_masks" not in cfg:
        fail("several styles need style_weights (interpolation) or content_masks (spatial control)")
    if "preserve_color" in cfg and not isinstance(cfg["preserve_color"], bool):
        fail("preserve_color must be true or false")
    if "content_masks" in cfg:
        cm = cfg["content_masks"]
        if not isinstance(cm, list) or len(cm) != len(styles):
            fail("content_masks needs one mask per style image (%d)" % len(styles))
        if "style_weights" in cfg:
            fail("content_masks (one style per region) and style_weights (interpolation) exclude each other")
        for m in cm:
            if mask_base_image(fig, m) != cfg["content"]:
                fail("content mask '%s' is drawn on %s, not on the content image %s"
                     % (m, mask_base_image(fig, m), cfg["content"]))


def used_masks(cfg):
    return list(cfg.get("content_masks") or [])


def sized_name(ref, size, rule):
    return "%s-%s%d.png" % (Path(ref).stem, rule, size)


def target_size(w, h, size, rule):
    side = max(w, h) if rule == "max" else min(w, h)
    s = size / side
    return max(1, round(w * s)), max(1, round(h * s))


def prepare_images(jobs, images, out):
    """Resizes every image the AdaIN panels read to the panel's size into OUT/<figure>/inputs/
    (PNG, bicubic), once per (image, size, rule). Returns {(figure, ref, size, rule): path}."""
    done = {}
    for j in jobs:
        cfg = j["cfg"]
        wanted = [(cfg["content"], cfg["image_size"])] + [(s, cfg["style_size"]) for s in cfg["style"]]
        for ref, size in wanted:
            key = (j["fig"]["name"], ref, size, cfg["size_rule"])
            if key in done:
                continue
            if not HAVE_PIL:
                raise InputError("the AdaIN figures need Pillow (python3-pil) to resize their inputs")
            folder = out / j["fig"]["name"] / "inputs"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / sized_name(ref, size, cfg["size_rule"])
            im = Image.open(images[ref]["path"]).convert("RGB")
            im = im.resize(target_size(im.width, im.height, size, cfg["size_rule"]),
                           getattr(Image, "Resampling", Image).BICUBIC)
            tmp = path.with_name(path.stem + ".tmp.png")
            im.save(tmp, "PNG")
            tmp.replace(path)
            done[key] = path
    return done


def input_paths(job, sized):
    """{image reference: resized file} of one panel."""
    cfg, fig = job["cfg"], job["fig"]["name"]
    paths = {cfg["content"]: sized[(fig, cfg["content"], cfg["image_size"], cfg["size_rule"])]}
    for s in cfg["style"]:
        paths.setdefault(s, sized[(fig, s, cfg["style_size"], cfg["size_rule"])])
    return paths


def build_argv(nst, cfg, paths, mask_paths, weights, backend, gpu, out_png):
    """The `nst stylize` command line of a panel."""
    argv = [str(nst), "stylize", "--model", str(weights["decoder"]), "--encoder", str(weights["encoder"]),
            "--content", str(paths[cfg["content"]])]
    for s in cfg["style"]:
        argv += ["--style", str(paths[s])]
    # The harness has resized the images already: nst keeps their sizes (its --style-size default
    # would resize the styles to 512 on the shorter side, the port's default).
    argv += ["--content-size", "0", "--style-size", "0", "--alpha", num(cfg["alpha"]), "--output", str(out_png)]
    if "style_weights" in cfg:
        argv += ["--style-weights", ",".join(num(w) for w in cfg["style_weights"])]
    if "content_masks" in cfg:
        argv += ["--masks", ",".join(str(mask_paths[m]) for m in cfg["content_masks"])]
    if cfg.get("preserve_color"):
        argv.append("--preserve-color")
    # nst stylize picks the CPU unless told; 'auto' leaves it to nst.
    if backend != "auto":
        argv += ["--backend", backend]
    if backend == "cuda":
        argv += ["--gpu", str(gpu)]
    return argv


def resolve_weights(args, out):
    """{"kind": "adain", "encoder", "decoder", "random", "sha256", "spec", "path", "metadata", "fallback"}."""
    enc, dec = args.adain_encoder, args.adain_decoder
    fallback = False
    if enc is None and dec is None:
        d_enc, d_dec = ROOT / "weights" / "adain-encoder.safetensors", ROOT / "weights" / "adain-decoder.safetensors"
        if d_enc.is_file() and d_dec.is_file():
            enc, dec = str(d_enc), str(d_dec)
        elif args.quick:
            enc = dec = "random"
            fallback = True
            warn("%s / %s not found: the AdaIN figures fall back to RANDOM encoder and decoder weights. They will "
                 "NOT look like the paper's; convert the port's vgg_normalised.pth and decoder.pth "
                 "(README 'Arbitrary styles') and pass --adain-encoder/--adain-decoder." % (d_enc.name, d_dec.name))
        else:
            raise InputError("the AdaIN figures need --adain-encoder and --adain-decoder (nst model files; default "
                             "weights/adain-{encoder,decoder}.safetensors, not found), or both 'random'")
    if (enc is None) != (dec is None) or (enc == "random") != (dec == "random"):
        raise InputError("--adain-encoder and --adain-decoder go together (both files, or both 'random')")
    if enc == "random":
        e, d = random_models(out / "adain-random", 0, create=not args.dry_run)
        if not args.dry_run:
            info("AdaIN: random encoder and decoder in %s" % e.parent)
        return {"kind": "adain", "encoder": str(e), "decoder": str(d), "random": True, "spec": "random:0",
                "sha256": "adain-random:0:" + (digest(d)[:16] if d.is_file() else "not made (dry run)"), "path": None, "metadata": {}, "fallback": fallback}
    for p in (enc, dec):
        if not Path(p).is_file():
            raise InputError("AdaIN weights file %s not found" % p)
    e, d = Path(enc).resolve(), Path(dec).resolve()
    return {"kind": "adain", "encoder": str(e), "decoder": str(d), "random": False, "spec": "%s + %s" % (e.name, d.name),
            "sha256": digest(e)[:32] + "+" + digest(d)[:32], "path": str(d), "metadata": {}, "fallback": False}


def settings_line(cfg):
    parts = ["α = %s" % num(cfg["alpha"])]
    if cfg.get("style_weights"):
        parts.append("interpolation %s" % "/".join("%g" % w for w in cfg["style_weights"]))
    if cfg.get("content_masks"):
        parts.append("spatial control, masks %s" % ",".join(cfg["content_masks"]))
    if cfg.get("preserve_color"):
        parts.append("colour preserved")
    return ", ".join(parts)
