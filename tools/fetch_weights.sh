#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Downloads a pretrained VGG19 from its official URL, checks its size and checksum where they
# are known (weights/README.md), and converts it with `nst weights convert` to
# weights/vgg19.safetensors. The download is kept beside it (weights/<file>) and reused.
#
# Usage: tools/fetch_weights.sh [--output PATH] [--list] SOURCE
#   SOURCE: caffe | normalised | gatys-pth | torchvision | jcjohnson | keras | timm
# Environment (mirrors, offline copies and tests):
#   NST_FETCH_URL           download from this URL instead (file:// works)
#   NST_FETCH_EXPECT_SIZE   expected size in bytes   } replace the published values;
#   NST_FETCH_EXPECT_MD5    expected MD5             } "none" disables a check
#   NST_FETCH_EXPECT_SHA256 expected SHA-256 (a prefix is enough, as in torch.hub file names)
#   NST_WEIGHTS_DIR         where downloads go (default: weights/)
#   NST_EXE                 the nst binary (default: build/nst)
# Exit codes: 0 done, 2 usage, 3 download, size or checksum failure (or convert's input error),
# 4 nst not built.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
nst="${NST_EXE:-$root/build/nst}"
dir="${NST_WEIGHTS_DIR:-$root/weights}"
output="$root/weights/vgg19.safetensors"

die() { echo "nst: error: fetch_weights.sh: $2" >&2; exit "$1"; }

# name | file | URL | size | md5 | sha256 (prefix) | --from | convert options
table() {
  cat <<'EOF'
caffe|VGG_ILSVRC_19_layers.caffemodel|http://www.robots.ox.ac.uk/~vgg/software/very_deep/caffe/VGG_ILSVRC_19_layers.caffemodel|574671192|b5c644beabd7cf06bdd9065cfd674c97||caffemodel|--preprocess caffe --normalized false
normalised|vgg_normalised.caffemodel|https://bethgelab.org/media/uploads/deeptextures/vgg_normalised.caffemodel||||caffemodel|--preprocess caffe --normalized true
gatys-pth|vgg_conv.pth|https://bethgelab.org/media/uploads/pytorch_models/vgg_conv.pth||||pth|--preprocess caffe --normalized false
torchvision|vgg19-dcbb9e9d.pth|https://download.pytorch.org/models/vgg19-dcbb9e9d.pth|||dcbb9e9d|pth|--preprocess torchvision --normalized false
jcjohnson|vgg19-d01eb7cb.pth|https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth|||d01eb7cb|pth|--preprocess caffe --normalized false
keras|vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5|https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5|80134624|253f8cb515780f3b799900260a226db6||h5|--preprocess caffe --normalized false
timm|vgg19.tv_in1k.safetensors|https://huggingface.co/timm/vgg19.tv_in1k/resolve/main/model.safetensors||||safetensors|--preprocess torchvision --normalized false
EOF
}

source_name=""
while [ $# -gt 0 ]; do
  case "$1" in
    --output) [ $# -ge 2 ] || die 2 "--output needs a path"; output="$2"; shift 2 ;;
    --list) table | cut -d'|' -f1,2,3 | tr '|' '\t'; exit 0 ;;
    -h|--help) sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die 2 "unknown option '$1' (see --help)" ;;
    *) [ -z "$source_name" ] || die 2 "one SOURCE only"; source_name="$1"; shift ;;
  esac
done
[ -n "$source_name" ] || die 2 "no SOURCE given; choose one of: $(table | cut -d'|' -f1 | tr '\n' ' ')"
row="$(table | grep "^${source_name}|" || true)"
[ -n "$row" ] || die 2 "unknown SOURCE '$source_name'; choose one of: $(table | cut -d'|' -f1 | tr '\n' ' ')"
IFS='|' read -r _ file url size md5 sha256 from convert_opts <<<"$row"
url="${NST_FETCH_URL:-$url}"
size="${NST_FETCH_EXPECT_SIZE:-$size}"; [ "$size" = none ] && size=""
md5="${NST_FETCH_EXPECT_MD5:-$md5}"; [ "$md5" = none ] && md5=""
sha256="${NST_FETCH_EXPECT_SHA256:-$sha256}"; [ "$sha256" = none ] && sha256=""

[ -x "$nst" ] || die 4 "'$nst' not found: build nst first (tools/build.sh) or set NST_EXE"
command -v curl >/dev/null || die 3 "curl is needed to download (Debian: apt-get install curl)"
mkdir -p "$dir"
dest="$dir/$file"

# Prints nothing when the file matches what is known about it, else the first mismatch.
verify() {
  local f="$1" actual
  if [ -n "$size" ]; then
    actual="$(stat -c %s "$f")"
    [ "$actual" = "$size" ] || { echo "size $actual bytes, expected $size"; return; }
  fi
  if [ -n "$md5" ]; then
    actual="$(md5sum < "$f" | cut -d' ' -f1)"
    [ "$actual" = "$md5" ] || { echo "MD5 $actual, expected $md5"; return; }
  fi
  if [ -n "$sha256" ]; then
    actual="$(sha256sum < "$f" | cut -d' ' -f1)"
    case "$actual" in "$sha256"*) ;; *) echo "SHA-256 $actual, expected ${sha256}..."; return ;; esac
  fi
}

if [ -f "$dest" ] && [ -z "$(verify "$dest")" ]; then
  echo "nst: $file already downloaded and verified: $dest" >&2
else
  echo "nst: downloading $url -> $dest" >&2
  set +e
  curl -fL --retry 2 --connect-timeout 20 --progress-bar -o "$dest.part" "$url"
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    rm -f "$dest.part"
    case $rc in
      5|6|7|28|35|52|56)
        die 3 "cannot reach $url (curl exit $rc: offline, or the host is down?). Download $file by other means (weights/README.md lists mirrors), put it at $dest and run this again, or run: nst weights convert FILE $output" ;;
      22)
        die 3 "the server refused $url (HTTP error; moved? see weights/README.md for mirrors)" ;;
      37)
        die 3 "cannot read $url (curl exit 37: no such local file)" ;;
      *)
        die 3 "download of $url failed (curl exit $rc)" ;;
    esac
  fi
  problem="$(verify "$dest.part")"
  if [ -n "$problem" ]; then
    mv -f "$dest.part" "$dest.bad"
    die 3 "$file from $url does not match the published file: $problem (kept as $dest.bad; not converted)"
  fi
  mv -f "$dest.part" "$dest"
fi
if [ -z "$size$md5$sha256" ]; then
  echo "nst: warning: $file: size and checksum not verified (none published; see weights/README.md)" >&2
elif [ -z "$md5$sha256" ]; then
  echo "nst: warning: $file: checksum not verified (none published), size checked" >&2
fi

# shellcheck disable=SC2086  # convert_opts is a word list from the table above
exec "$nst" weights convert "$dest" "$output" --from "$from" $convert_opts \
  --source "$file from $url ($source_name; see weights/README.md)"
