#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages nst builds and tests with (needs root or sudo). Skips the
# install when everything is already there, so it is cheap to call from other scripts.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libstb-dev doctest-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev
      libopenblas-openmp-dev libpng-dev python3-pil fonts-dejavu-core
      libzip-dev libhdf5-dev curl python3-torch python3-h5py python3-protobuf protobuf-compiler
      libopencv-video-dev
      libavformat-dev libavcodec-dev libswscale-dev libavutil-dev)
# ---- wt-batch (issue #15): TEST dependency of the real-Slurm test of nst batch (tests/slurm,
# ctest slurm_batch; skipped without them). Belongs in tools/install_test_deps.sh once that exists.
pkgs+=(slurm-wlm munge)
# ---- end wt-batch
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "nst: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
