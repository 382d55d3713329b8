#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages that building and running nst need (root or sudo), and nothing
# that only the tests need: those are in tools/install_test_deps.sh, which the test command
# (tools/run_tests.sh, CI) runs in addition. The quick start runs only this script, so every
# package here delays a new user's first image: add a package here only if `nst` itself cannot
# be built or run without it. The CUDA Toolkit and cuDNN are not installed by this script (they
# come from NVIDIA's repositories); CMake detects them when present (docs/cuda.md).
set -euo pipefail
pkgs=(
  # compiler and build tools
  cmake g++ make pkg-config
  # required libraries (cmake/dependencies.cmake fails without them)
  libstb-dev libpng-dev libopenblas-openmp-dev libcli11-dev nlohmann-json3-dev
  # optional features of nst; each missing one switches off only its feature:
  libzip-dev libhdf5-dev                                   # nst weights convert: PyTorch zip, Keras .h5
  libopencv-video-dev                                      # nst video: optical flow (DIS)
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev  # nst video: video files
  libjpeg-dev                                              # --jpeg-decoder libjpeg (the peer presets)
  # downloads (tools/fetch_images.sh, tools/fetch_weights.sh)
  curl
)
exec "$(dirname "$0")/apt_install.sh" "${pkgs[@]}"
