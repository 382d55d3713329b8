#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DIS end-point error of nst's flow on skimage's Middlebury 2014 motorcycle stereo pair
# (docs/data.md): flow left -> right against (-d, 0) over the finite disparities.
# Needs Debian's python3-skimage (apt-get install python3-skimage; not in install_deps.sh: it
# pulls ~120 packages) and a build of nst_flow_epe (cmake --build build --target nst_flow_epe).
# Usage: tools/flow_epe_motorcycle.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY'
import os, sys, numpy as np, skimage.data
d = os.path.dirname(skimage.data.__file__)
disp = np.load(os.path.join(d, "motorcycle_disp.npz"))["arr_0"].astype(np.float32)
disp[~np.isfinite(disp)] = -1  # unknown
np.save(os.path.join(sys.argv[1], "disp.npy"), disp)
for side in ("left", "right"):
    os.symlink(os.path.join(d, f"motorcycle_{side}.png"), os.path.join(sys.argv[1], f"{side}.png"))
PY
"$build/nst_flow_epe" "$tmp/left.png" "$tmp/right.png" "$tmp/disp.npy"
