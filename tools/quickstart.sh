#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: build nst, get the sample images, and stylise Tübingen in the
# style of The Starry Night. Uses weights/vgg19.safetensors when present, else random weights
# (average pooling, content init and no TV still give a recognisably stylised image; see README).
# Extra arguments are passed to `nst run` (e.g. --image-size 256 --num-iterations 300).
# It installs only the build and run packages (tools/install_deps.sh, not the test ones) and
# builds only the nst executable, so the first image comes as soon as the build allows.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/build.sh --target nst >/dev/null
images=$(tools/fetch_images.sh) || true
[ -f "$images/tubingen.jpg" ] && [ -f "$images/starry_night.jpg" ] || {
  echo "nst: error: sample images not available; set NST_IMAGES to a folder holding tubingen.jpg and starry_night.jpg" >&2
  exit 3; }
weights=weights/vgg19.safetensors
extra=()
if [ ! -f "$weights" ]; then
  weights=random
  # Random He (fan-out) weights shrink activations ~13x by relu4_2 compared with the pretrained
  # VGG, so jcjohnson's TV weight (1e-3 in x256 pixel units) would outweigh content and style
  # and blur the image: switch TV off for the demo.
  extra=(--pooling avg --init content --image-size 160 --num-iterations 150 --tv-weight 0)
fi
build/nst run --content "$images/tubingen.jpg" --style "$images/starry_night.jpg" --weights "$weights" \
  --output out.png "${extra[@]}" "$@"
echo "nst: quick start wrote out.png" >&2
