#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ---- wt-py (issue #15): what the Python module's build and its pytest suite need -------------
# TEST dependencies: the CLI builds and runs without them. Meant to become two lines of
# tools/install_test_deps.sh (apt: python3-dev python3-pytest python3-numpy; pip:
# nanobind scikit-build-core) once that script is on main; until then tools/run_tests.sh calls
# this one before configuring, so that CMake finds nanobind and builds the module.
# nanobind and scikit-build-core are not in Debian 12: pip for /usr/bin/python3 (the interpreter
# with NumPy and PyTorch). scikit-build-core is needed only for `pip install .`, not for CTest.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_pkgs=(python3-dev python3-pytest python3-numpy python3-pip)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "nst: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
pip_missing=()
for p in nanobind scikit-build-core; do
  /usr/bin/python3 -m pip show -q "$p" >/dev/null 2>&1 || pip_missing+=("$p")
done
if [ ${#pip_missing[@]} -gt 0 ]; then
  echo "nst: pip installing ${pip_missing[*]}" >&2
  $SUDO /usr/bin/python3 -m pip install -q --break-system-packages "${pip_missing[@]}"
fi
