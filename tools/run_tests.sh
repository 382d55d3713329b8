#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test command of the README: installs what is missing (the build and run packages, then the
# test packages), builds everything, and runs every suite through CTest. The CUDA suite reports
# itself skipped where no GPU is present. Tests and benchmarks are switched on explicitly so that
# a build/ configured without them (-DNST_BUILD_TESTS=OFF) cannot turn this into an empty run,
# and CTest fails when it finds no tests.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/install_test_deps.sh
tools/build.sh -DNST_BUILD_TESTS=ON -DNST_BUILD_BENCH=ON
ctest --test-dir build --output-on-failure --no-tests=error -j"$(nproc 2>/dev/null || echo 2)"
