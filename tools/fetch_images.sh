#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Puts the paper's images into a cache folder (default data/images), checked by MD5.
# Sources, in order: a local folder (--images DIR or $NST_IMAGES; ../shared/images when it
# exists), then the URLs of tools/images.manifest. Prints the folder on stdout.
# Usage: tools/fetch_images.sh [--images DIR] [--out DIR] [--manifest FILE]
#        tools/fetch_images.sh --check [--manifest FILE]       (offline: is every entry well formed?)
#        tools/fetch_images.sh --verify DIR [--manifest FILE]  (are DIR's copies ones the manifest accepts?)
# Manifest lines: NAME<TAB>MD5[,MD5...]<TAB>https://URL. More than one checksum where well-known
# copies of an image differ (a downsized copy and the museum's full-size file): any listed one is
# accepted, from the cache, a download or --verify. --check and the download read every line with
# the same parser (parse_entry), so what --check accepts is exactly what a download would use.
# Exit codes: 2 usage, 3 an image missing, a malformed manifest or a rejected copy.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
local_dir="${NST_IMAGES:-}"
out="$root/data/images"
manifest="$root/tools/images.manifest"
mode=fetch
verify_dir=""
usage() { echo "nst: error: fetch_images.sh: $1" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --images) [ $# -ge 2 ] || usage "--images needs a folder"; local_dir="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || usage "--out needs a folder"; out="$2"; shift 2 ;;
    --manifest) [ $# -ge 2 ] || usage "--manifest needs a file"; manifest="$2"; shift 2 ;;
    --check) mode=check; shift ;;
    --verify) [ $# -ge 2 ] || usage "--verify needs a folder"; mode=verify; verify_dir="$2"; shift 2 ;;
    *) usage "unknown argument '$1'" ;;
  esac
done
[ -z "$local_dir" ] && [ -d "$root/../shared/images" ] && local_dir="$root/../shared/images"
[ -f "$manifest" ] || { echo "nst: error: manifest '$manifest' not found" >&2; exit 3; }

# parse_entry LINE: sets name, md5s (space-separated) and url, or prints why the line is
# malformed and returns 1. Names are plain file names (no folders, no leading dot), because they
# become paths under --out; checksums lowercase hex as md5sum prints them.
parse_entry() {
  local line=$1 sums rest
  name=""; md5s=""; url=""
  if [[ "$line" != *$'\t'*$'\t'* ]] || [[ "$line" == *$'\t'*$'\t'*$'\t'* ]]; then
    echo "expected three tab-separated fields: name, md5[,md5...], url"; return 1
  fi
  IFS=$'\t' read -r name sums rest <<< "$line"
  url=$rest
  [[ "$name" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]] || { echo "bad file name '$name'"; return 1; }
  [[ "$sums" =~ ^[0-9a-f]{32}(,[0-9a-f]{32})*$ ]] ||
    { echo "$name: bad checksum list '$sums' (32 lowercase hex digits each, comma-separated)"; return 1; }
  md5s=${sums//,/ }
  local twice
  twice=$(tr ' ' '\n' <<< "$md5s" | sort | uniq -d | head -1)
  [ -z "$twice" ] || { echo "$name: checksum $twice listed twice"; return 1; }
  [[ "$url" =~ ^https://[A-Za-z0-9.-]+/[^[:space:]]+$ ]] || { echo "$name: source '$url' is not an https URL"; return 1; }
  return 0
}

# accepted FILE: whether FILE's md5 is one of md5s.
accepted() {
  local got s
  got=$(md5sum < "$1" | cut -d' ' -f1)
  for s in $md5s; do [ "$got" = "$s" ] && return 0; done
  return 1
}

lineno=0; bad=0; entries=0; missing=0; seen=" "
[ "$mode" = fetch ] && mkdir -p "$out"
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  case "$line" in ''|'#'*) continue ;; esac
  if ! why=$(parse_entry "$line"); then
    echo "nst: error: $manifest:$lineno: $why" >&2; bad=$((bad + 1)); continue
  fi
  parse_entry "$line" >/dev/null
  if [[ "$seen" == *" $name "* ]]; then
    echo "nst: error: $manifest:$lineno: $name listed twice" >&2; bad=$((bad + 1)); continue
  fi
  seen+="$name "; entries=$((entries + 1))
  case "$mode" in
    check) continue ;;
    verify)
      if [ ! -f "$verify_dir/$name" ]; then echo "nst: $name: not in $verify_dir" >&2; continue; fi
      if accepted "$verify_dir/$name"; then echo "nst: $name: ok" >&2
      else echo "nst: error: $verify_dir/$name: md5 $(md5sum < "$verify_dir/$name" | cut -d' ' -f1) is not one the manifest accepts ($md5s)" >&2; bad=$((bad + 1)); fi
      continue ;;
  esac
  dest="$out/$name"
  if [ -f "$dest" ] && accepted "$dest"; then continue; fi
  if [ -n "$local_dir" ] && [ -f "$local_dir/$name" ]; then
    cp "$local_dir/$name" "$dest.tmp" && mv "$dest.tmp" "$dest"
    continue
  fi
  if command -v curl >/dev/null && curl -fsSL --max-time 60 -o "$dest.tmp" "$url" 2>/dev/null; then
    if accepted "$dest.tmp"; then mv "$dest.tmp" "$dest"; continue; fi
    echo "nst: warning: $name from $url has an unexpected checksum; not used" >&2
  fi
  rm -f "$dest.tmp"
  echo "nst: warning: could not get $name (offline?); pass --images DIR or set NST_IMAGES" >&2
  missing=$((missing + 1))
done < "$manifest"
[ "$mode" = fetch ] && echo "$out"
if [ "$bad" -gt 0 ]; then
  echo "nst: error: $manifest: $bad bad entr$([ "$bad" -eq 1 ] && echo y || echo ies)" >&2; exit 3
fi
if [ "$entries" -eq 0 ]; then echo "nst: error: $manifest: no entries" >&2; exit 3; fi
case "$mode" in
  check) echo "nst: $manifest: $entries entr$([ "$entries" -eq 1 ] && echo y || echo ies) well formed" >&2 ;;
esac
[ "$missing" -eq 0 ] || exit 3
