#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages given as arguments that are not installed yet (root or sudo).
# Does nothing, and needs no network, when all of them are there, so the install scripts stay
# cheap to call from the quick start, the test command and CI. Shared by tools/install_deps.sh
# (build and run) and tools/install_test_deps.sh (tests only) so both behave the same.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "nst: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
