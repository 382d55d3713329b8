#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures what a package list costs a fresh Debian 12 machine (issue #15, the quick start):
# packages, download bytes, installed bytes and install time of
# `apt-get install --no-install-recommends` into a fresh `debootstrap --variant=minbase bookworm`
# chroot. Needs root, debootstrap and the Debian mirror; uses about 2 GB under WORK.
# Usage: bench/install_measure.sh WORK NAME (runtime | test | all | PKG...)
#   runtime: tools/install_deps.sh's list; test: tools/install_test_deps.sh's apt list on top of
#   runtime (what tools/run_tests.sh installs); all: the same as test; PKG...: an explicit list.
# Prints one JSON object. Download and installed bytes are exact for the mirror's state that day;
# times depend on the mirror and on the machine's load.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 WORK NAME (runtime|test|PKG...)" >&2; exit 2; }
work=$1 name=$2; shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
list() {  # the bash array $2 defined in script $1
  bash -c "source <(sed -n '/^$2=(/,/^)/p' '$1'); echo \${$2[@]}"
}
case "$1" in
  runtime) pkgs=$(list "$here/tools/install_deps.sh" pkgs) ;;
  test|all) pkgs="$(list "$here/tools/install_deps.sh" pkgs) $(list "$here/tools/install_test_deps.sh" apt_pkgs)" ;;
  *) pkgs="$*" ;;
esac
base=$work/base
[ -d "$base" ] || debootstrap --variant=minbase bookworm "$base" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1
root=$work/$name
rm -rf "$root"; cp -a "$base" "$root"
cat > "$root/etc/apt/sources.list" <<'S'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
S
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
trap 'umount "$root/proc"; rm -rf "$root"' EXIT
chroot "$root" apt-get update -qq
# shellcheck disable=SC2086
npk=$(chroot "$root" apt-get install -s --no-install-recommends $pkgs | grep -c '^Inst ')
# shellcheck disable=SC2086
dl=$(chroot "$root" apt-get install -qq --print-uris --no-install-recommends $pkgs | awk '{s += $3} END {print s + 0}')
before=$(du -sb --exclude=proc "$root" | cut -f1)
t0=$(date +%s.%N)
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 $pkgs >/dev/null
t1=$(date +%s.%N)
chroot "$root" apt-get clean
after=$(du -sb --exclude=proc "$root" | cut -f1)
printf '{"name": "%s", "requested": %d, "packages_installed": %d, "download_bytes": %d, "installed_bytes": %d, "install_seconds": %.1f, "loadavg": "%s"}\n' \
  "$name" "$(wc -w <<< "$pkgs")" "$npk" "$dl" "$((after - before))" "$(echo "$t1 - $t0" | bc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
