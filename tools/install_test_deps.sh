#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what only the tests, the benchmarks and the reference tools need, on top of
# tools/install_deps.sh (which the test command, tools/run_tests.sh, runs first). The quick
# start never runs this script, so heavy packages (python3-torch alone is most of the download)
# belong here, not in install_deps.sh.
set -euo pipefail
here=$(dirname "$0")

apt_pkgs=(
  # headers the test and benchmark binaries are built with (CMake skips them when absent)
  doctest-dev libbenchmark-dev
  # float64 references and fixture generators (tools/make_reference.py, tests/make_*.py, bench/torch_*.py)
  python3-torch python3-numpy
  # converter tests: write real PyTorch, Keras and Caffe files to convert
  python3-h5py python3-protobuf protobuf-compiler
  # paper_repro's figure assembly (its smoke test runs in CTest): Pillow and the label font
  python3-pil fonts-dejavu-core
  # ---- other helpers add their Debian test packages below, one commented line each ----------
  # wt-batch (issue #15): nst batch's real-Slurm test (tests/slurm, ctest slurm_batch; skipped without them)
  slurm-wlm munge
  # wt-py (issue #15, Python module): its headers (CMake builds nst._nst when nanobind is found) and pytest
  python3-dev python3-pytest
)
# Python packages that Debian 12 does not have, installed with /usr/bin/python3's pip (the
# interpreter that has numpy and torch).
pip_pkgs=(
  # wt-py (issue #15): nanobind builds the Python module; scikit-build-core is `pip install .`'s backend
  nanobind scikit-build-core
)

"$here/apt_install.sh" "${apt_pkgs[@]}"
if [ ${#pip_pkgs[@]} -gt 0 ]; then
  missing=()
  for p in "${pip_pkgs[@]}"; do
    /usr/bin/python3 -m pip show -q "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    "$here/apt_install.sh" python3-pip
    echo "nst: pip installing ${missing[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO /usr/bin/python3 -m pip install -q --break-system-packages "${missing[@]}"
  fi
fi
