#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Development helper: builds a doctest binary from an explicit list of sources (plus the core
# and the test main), so that one area can be compiled and tested while other areas of the tree
# are mid-change. Usage: tools/dev_test.sh NAME src/a.cpp tests/test_a.cpp ... [-- doctest args]
# The binary goes to build-dev/NAME and is run with the arguments after `--`.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; shift
srcs=(); args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; args=("$@"); break; fi
  srcs+=("$1"); shift
done
mkdir -p build-dev/tmp
core=(src/core/error.cpp src/core/buffer.cpp src/core/device_memory_none.cpp src/nn/vgg19_layers.cpp)
g++ -std=c++17 -O2 -g -march=native -fopenmp -Wall -Wextra -Isrc -Itests \
    -I/usr/include/x86_64-linux-gnu/openblas-openmp -I/usr/include/stb -I/usr/include/hdf5/serial \
    -DNST_VERSION='"dev"' -DNST_EXE="\"$PWD/build/nst\"" -DNST_TEST_DATA="\"$PWD/tests/data\"" \
    -DNST_SHARED_IMAGES="\"$PWD/../shared/images\"" -DNST_TEST_TMP="\"$PWD/build-dev/tmp\"" \
    -DNST_SOURCE_DIR="\"$PWD\"" -DNST_HAVE_LIBZIP=1 -DNST_HAVE_HDF5=1 \
    "${core[@]}" tests/main.cpp tests/test_util.cpp "${srcs[@]}" \
    -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lstb -lpng -lzip -lhdf5_serial -o "build-dev/$name"
"build-dev/$name" "${args[@]}"
