#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Puts the paper's images into a cache folder (default data/images), checked by MD5.
# Sources, in order: a local folder (--images DIR or $NST_IMAGES; ../shared/images when it
# exists), then the URLs of tools/images.manifest. Prints the folder on stdout.
# Usage: tools/fetch_images.sh [--images DIR] [--out DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
local_dir="${NST_IMAGES:-}"
out="$root/data/images"
while [ $# -gt 0 ]; do
  case "$1" in
    --images) local_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "nst: error: fetch_images.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -z "$local_dir" ] && [ -d "$root/../shared/images" ] && local_dir="$root/../shared/images"
mkdir -p "$out"
missing=0
while IFS=$'\t' read -r name md5 url; do
  case "$name" in ''|'#'*) continue ;; esac
  dest="$out/$name"
  if [ -f "$dest" ] && [ "$(md5sum < "$dest" | cut -d' ' -f1)" = "$md5" ]; then continue; fi
  if [ -n "$local_dir" ] && [ -f "$local_dir/$name" ]; then
    cp "$local_dir/$name" "$dest.tmp" && mv "$dest.tmp" "$dest"
    continue
  fi
  if command -v curl >/dev/null && curl -fsSL --max-time 60 -o "$dest.tmp" "$url" 2>/dev/null; then
    if [ "$(md5sum < "$dest.tmp" | cut -d' ' -f1)" = "$md5" ]; then mv "$dest.tmp" "$dest"; continue; fi
    echo "nst: warning: $name from $url has an unexpected checksum; not used" >&2
  fi
  rm -f "$dest.tmp"
  echo "nst: warning: could not get $name (offline?); pass --images DIR or set NST_IMAGES" >&2
  missing=$((missing + 1))
done < "$root/tools/images.manifest"
echo "$out"
[ "$missing" -eq 0 ] || exit 3
