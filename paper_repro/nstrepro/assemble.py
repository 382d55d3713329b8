# SPDX-License-Identifier: MIT
"""Figure assembly: the panels of a figure laid out like the paper's, with labels (Pillow)."""

import os
import re
import unicodedata
from pathlib import Path

from .report import recorded_weights

try:
    from PIL import Image, ImageDraw, ImageFont
    HAVE_PIL = True
except ImportError:  # panels still render; figures are reported as not assembled
    HAVE_PIL = False


def asciify(s):
    """For Pillow's built-in bitmap font, which has no Greek or superscripts."""
    def sup(m):
        return "e" + m.group(1).translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
    s = re.sub(r"×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", sup, s)
    for a, b in (("α", "a"), ("β", "b"), ("…", "..."), ("·", "-"), ("×", "x"), ("—", "-"), ("–", "-")):
        s = s.replace(a, b)
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


class Fonts:
    def __init__(self, size):
        self.ttf = True
        try:
            self.regular = self._load(["DejaVuSans.ttf"], size)
            self.bold = self._load(["DejaVuSans-Bold.ttf", "DejaVuSans.ttf"], size)
            self.title = self._load(["DejaVuSans-Bold.ttf", "DejaVuSans.ttf"], int(size * 1.35))
            self.small = self._load(["DejaVuSans.ttf"], max(9, int(size * 0.85)))
        except OSError:
            self.ttf = False
            self.regular = self.bold = self.title = self.small = ImageFont.load_default()

    @staticmethod
    def _load(names, size):
        for name in names:
            for cand in ("/usr/share/fonts/truetype/dejavu/" + name, name):
                try:
                    return ImageFont.truetype(cand, size)
                except OSError:
                    continue
        raise OSError("no DejaVu font")

    def text(self, s):
        return s if self.ttf else asciify(s)


def text_width(draw, s, font):
    return draw.textlength(s, font=font)


def line_height(font):
    box = font.getbbox("Ag×⁻³")
    return box[3] - min(0, box[1]) + 3


def wrap(draw, s, font, width):
    lines = []
    for para in s.split("\n"):
        cur = ""
        for word in para.split(" "):
            cand = word if not cur else cur + " " + word
            if cur and text_width(draw, cand, font) > width:
                lines.append(cur)
                cur = word
            else:
                cur = cand
        lines.append(cur)
    return lines


def resample_for(scale):
    # Upscaled tiny panels keep their pixels visible; downscaling needs a proper filter.
    lanczos = getattr(Image, "Resampling", Image).LANCZOS
    nearest = getattr(Image, "Resampling", Image).NEAREST
    return nearest if scale >= 2 else lanczos


def fit(im, box_w, box_h):
    s = min(box_w / im.width, box_h / im.height)
    w, h = max(1, round(im.width * s)), max(1, round(im.height * s))
    return im.resize((w, h), resample_for(s)) if (w, h) != im.size else im


def assemble_figure(fig, cells, recs, ctx, out_png):
    """Lays the figure out like the paper's: a grid of panels with column labels on top, row
    labels on the left, a caption under each cell, the title above and the settings below."""
    layout = fig["layout"]
    rows, cols = layout["rows"], layout["cols"]
    loaded = {}
    for c in cells:
        im = None
        if c.get("image"):
            im = Image.open(ctx["images"][c["image"]]["path"]).convert("RGB")
        elif c.get("mask_png") and Path(c["mask_png"]).is_file():
            im = Image.open(c["mask_png"]).convert("RGB")
        elif c.get("png") and Path(c["png"]).is_file() and c.get("status") in ("ok", "reused"):
            im = Image.open(c["png"]).convert("RGB")
        loaded[tuple(c["cell"])] = im
    native = [im.size for c, im in loaded.items() if im is not None and not _is_input(cells, c)]
    base = max([max(s) for s in native] or [256])
    side = int(min(360, max(200, base)))
    # Every cell box fits its image within side x side; the grid uses the largest fitted box.
    fitted = {k: (fit(im, side, side) if im is not None else None) for k, im in loaded.items()}
    box_w = max([im.width for im in fitted.values() if im is not None] or [side])
    box_h = max([im.height for im in fitted.values() if im is not None] or [int(side * 0.75)])

    fonts = Fonts(max(11, min(15, box_w // 17)))
    scratch = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    lh, lh_small = line_height(fonts.regular), line_height(fonts.small)
    margin, gap = 16, 10
    by_cell = {tuple(c["cell"]): c for c in cells}
    captions = {k: wrap(scratch, fonts.text(c.get("caption_text") or ""), fonts.regular, box_w)
                if c.get("caption_text") else [] for k, c in by_cell.items()}
    cap_h = [max([len(captions.get((r, c), [])) for c in range(cols)] + [0]) * lh for r in range(rows)]
    row_labels = [fonts.text(s) for s in layout.get("row_labels") or []]
    col_labels = [fonts.text(s) for s in layout.get("col_labels") or []]
    rl_w = 0
    if row_labels:
        # As wide as the longest label up to 0.7 of a cell (then wrapped), never narrower than a word.
        longest_word = max(text_width(scratch, w, fonts.bold) for s in row_labels for w in s.split(" "))
        longest = max(text_width(scratch, s, fonts.bold) for s in row_labels)
        rl_w = int(max(longest_word, min(longest, box_w * 0.7))) + 4
    row_label_lines = [wrap(scratch, s, fonts.bold, rl_w) for s in row_labels]
    col_label_lines = [wrap(scratch, s, fonts.bold, box_w) for s in col_labels]
    cl_h = max([len(x) for x in col_label_lines] + [0]) * lh + (6 if col_labels else 0)
    grid_w = rl_w + (gap if rl_w else 0) + cols * box_w + (cols - 1) * gap
    width = grid_w + 2 * margin

    title = fonts.text("%s — %s" % (fig["figure"], fig["title"]))
    title_lines = wrap(scratch, title, fonts.title, grid_w)
    th = line_height(fonts.title)
    subtitle_lines = wrap(scratch, fonts.text(fig["paper"]), fonts.regular, grid_w)
    footer = [fonts.text(s) for s in ctx["footer"](fig)]
    footer_lines = [ln for s in footer for ln in wrap(scratch, s, fonts.small, grid_w)]
    is_adain = fig.get("method") == "adain"
    randoms = [w["sha256"] for w in recorded_weights(recs, ctx["adain_weights"] if is_adain else ctx["weights"])
               if w.get("random")]
    banner = bool(randoms)
    banner_fmt = ("RANDOM AdaIN ENCODER AND DECODER WEIGHTS (%s) — NOT the trained networks: only the layout and "
                  "the controls' plumbing are shown, not the paper's results" if is_adain else
                  "RANDOM VGG19 WEIGHTS (%s) — NOT the pretrained network: these are not the paper's results")
    banner_text = fonts.text(banner_fmt % ", ".join(randoms))
    banner_lines = wrap(scratch, banner_text, fonts.bold, grid_w - 16) if banner else []
    banner_h = (len(banner_lines) * lh + 12) if banner else 0

    height = (margin + len(title_lines) * th + len(subtitle_lines) * lh + 8 + cl_h
              + sum(box_h + cap_h[r] + gap for r in range(rows))
              + 6 + len(footer_lines) * lh_small + (banner_h + 8 if banner else 0) + margin)
    canvas = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(canvas)
    y = margin
    for ln in title_lines:
        d.text((margin, y), ln, fill="black", font=fonts.title)
        y += th
    for ln in subtitle_lines:
        d.text((margin, y), ln, fill=(60, 60, 60), font=fonts.regular)
        y += lh
    y += 8
    if banner:
        d.rectangle([margin, y, margin + grid_w, y + banner_h], fill=(200, 0, 0))
        yy = y + 6
        for ln in banner_lines:
            d.text((margin + 8, yy), ln, fill="white", font=fonts.bold)
            yy += lh
        y += banner_h + 8
    x0 = margin + rl_w + (gap if rl_w else 0)
    for c, lines in enumerate(col_label_lines):
        for i, ln in enumerate(lines):
            tw = text_width(d, ln, fonts.bold)
            d.text((x0 + c * (box_w + gap) + (box_w - tw) / 2, y + i * lh), ln, fill="black", font=fonts.bold)
    y += cl_h
    for r in range(rows):
        if r < len(row_label_lines):
            lines = row_label_lines[r]
            ty = y + (box_h - len(lines) * lh) / 2
            for i, ln in enumerate(lines):
                d.text((margin, ty + i * lh), ln, fill="black", font=fonts.bold)
        for c in range(cols):
            k = (r, c)
            if k not in by_cell:
                continue
            cell = by_cell[k]
            bx, by = x0 + c * (box_w + gap), y
            im = fitted.get(k)
            if im is None:
                d.rectangle([bx, by, bx + box_w - 1, by + box_h - 1], fill=(235, 235, 235), outline=(180, 0, 0))
                msg = fonts.text("%s: %s" % (cell.get("panel", "image"), cell.get("status", "missing")))
                d.text((bx + 6, by + box_h / 2 - lh / 2), msg, fill=(180, 0, 0), font=fonts.regular)
            else:
                px, py = bx + (box_w - im.width) // 2, by + (box_h - im.height) // 2
                canvas.paste(im, (px, py))
                if cell.get("inset") == "style" and cell.get("inset_image"):
                    # The paper shows each painting as a small inset in the lower-left corner.
                    st = Image.open(ctx["images"][cell["inset_image"]]["path"]).convert("RGB")
                    st = fit(st, max(8, int(im.width * 0.3)), max(8, int(im.height * 0.4)))
                    sx, sy = px + 3, py + im.height - st.height - 3
                    d.rectangle([sx - 2, sy - 2, sx + st.width + 1, sy + st.height + 1], fill="white")
                    canvas.paste(st, (sx, sy))
            for i, ln in enumerate(captions.get(k, [])):
                d.text((bx, y + box_h + 2 + i * lh), ln, fill="black", font=fonts.regular)
        y += box_h + cap_h[r] + gap
    y += 6
    for ln in footer_lines:
        d.text((margin, y), ln, fill=(60, 60, 60), font=fonts.small)
        y += lh_small
    tmp = out_png.with_name(out_png.stem + ".tmp.png")
    canvas.save(tmp, "PNG", optimize=False)
    os.replace(tmp, out_png)
    return canvas.size


def _is_input(cells, key):
    for c in cells:
        if tuple(c["cell"]) == key:
            return bool(c.get("image") or c.get("mask"))
    return False
