#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configures and builds nst into build/ (Release). Usage: tools/build.sh [--target T]... [CMAKE_ARGS]
# --target builds only the named targets (the quick start builds only `nst`, so a machine with
# the test packages does not compile the test binaries before the first image); the remaining
# arguments go to the CMake configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
targets=()
while [ $# -gt 0 ] && [ "$1" = "--target" ]; do
  targets+=(--target "$2"); shift 2
done
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$jobs" "${targets[@]}"
