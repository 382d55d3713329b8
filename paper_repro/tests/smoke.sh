#!/bin/sh
# SPDX-License-Identifier: MIT
# CTest smoke test of the reproduction harness: arXiv Fig. 2 (five panels) and CVPR 2017 Fig. 1
# (four panels: content masks, luminance-only transfer, colour matching, and the two-step texture
# recipe whose second step reads the first one's output) in quick mode at 32 px with 3 iterations
# and random weights on the CPU, then check_outputs on what it wrote (panels, records, figures,
# masks), and, when nst stylize does AdaIN, AdaIN Figs. 7 and 10 (alpha steps; spatial control with
# masks). Exit 77 (CTest: skipped) when the paper's images cannot be had.
# Usage: smoke.sh NST_BINARY OUT_DIR [IMAGES_DIR]
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
nst="$1"
out="$2"
images="${3:-}"
rm -rf "$out"
figures=gatys2015-fig2,gatys2017-fig1
# The AdaIN figures (nst stylize with --encoder, random encoder/decoder made by the harness) join
# when this nst has AdaIN stylisation: Fig. 7 (alpha) and Fig. 10 (masks).
if "$nst" stylize --help 2>/dev/null | grep -q -- '--encoder'; then
  figures=$figures,adain2017-fig7,adain2017-fig10
fi
set -- --quick --only "$figures" --size 32 --iterations 3 --weights random --adain-encoder random \
  --adain-decoder random --backend cpu \
  --out "$out" --cache "$out/images" --nst "$nst" --force
[ -n "$images" ] && [ -d "$images" ] && set -- "$@" --images "$images"
"$here/run" "$@"
rc=$?
if [ "$rc" -eq 3 ] && grep -q "download failed" "$out/REPORT.md" 2>/dev/null; then
  echo "smoke.sh: the paper's images are not available here (offline, no ../shared/images): skipped" >&2
  exit 77
fi
[ "$rc" -eq 0 ] || { echo "smoke.sh: paper_repro/run exited $rc" >&2; exit 1; }
exec "$here/tests/check_outputs" --out "$out" --figures "$figures" --iterations 3 --expect-random
