#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test command of the README: installs what is missing, builds, and runs every suite through
# CTest. The CUDA suite reports itself skipped where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/install_python_test_deps.sh  # wt-py (issue #15): the Python module and its pytest suite
tools/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc 2>/dev/null || echo 2)"
