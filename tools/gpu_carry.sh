#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fills third_party_carry/ (git-ignored) with the build dependencies that the lent GPU machine
# lacks, taken from this machine's Debian packages, so that tools/gpu_check.sh can build nst
# there without any network:
#
#   usr/include/...                doctest, CLI11, nlohmann-json, Google Benchmark, stb, libpng,
#                                  zlib, OpenBLAS's cblas.h (in usr/include/openblas)
#   usr/lib/x86_64-linux-gnu/      libstb.a, libpng16.a, libz.a, libbenchmark.so.1.7.1 (+ a copy
#                                  under its soname; Debian ships no libbenchmark.a),
#                                  libbenchmark_main.a, libopenblas.a.xz (the OpenMP build,
#                                  58 MB, xz-compressed to ~5 MB; gpu_check.sh unpacks it
#                                  into its build folder)
#   usr/lib/cmake, usr/share/cmake, usr/lib/x86_64-linux-gnu/cmake
#                                  the packages' CMake config files (doctest's made relocatable)
#   fallback/libgomp.a             GCC 12's OpenMP runtime, used only if the GPU machine's
#                                  compiler cannot link -fopenmp by itself
#   cmake-hints.cmake              an initial-cache file (cmake -C) pointing CMake at all of it
#
# No symbolic links (the working tree travels as files), no libzip / HDF5 (optional converters).
# Run here, from anywhere; it rebuilds the folder from scratch and prints its size (it must stay
# well under the 64 MiB that the working tree may have in all).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEST=$ROOT/third_party_carry
ARCH=x86_64-linux-gnu
LIB=/usr/lib/$ARCH

git check-ignore -q third_party_carry/ || { echo "gpu_carry: third_party_carry/ is not git-ignored" >&2; exit 1; }
need=(doctest-dev libcli11-dev nlohmann-json3-dev libbenchmark-dev libstb-dev libpng-dev zlib1g-dev
      libopenblas-openmp-dev)
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { echo "gpu_carry: package $p is not installed (tools/install_deps.sh, tools/install_test_deps.sh)" >&2; exit 1; }
done
command -v xz >/dev/null || { echo "gpu_carry: xz is needed" >&2; exit 1; }

rm -rf "$DEST"
mkdir -p "$DEST/usr/include" "$DEST/usr/lib/$ARCH" "$DEST/fallback"

# Copies a file or directory (following links, so that only regular files arrive) to the same
# path under $DEST.
put() {
  local src=$1 dst=$DEST$1
  mkdir -p "$(dirname "$dst")"
  cp -rLp "$src" "$dst"
}

# Headers.
for d in doctest CLI nlohmann benchmark stb libpng16; do put /usr/include/$d; done
for f in png.h pngconf.h pnglibconf.h zlib.h zconf.h; do put /usr/include/$f; done
mkdir -p "$DEST/usr/include/openblas"
cp -Lp /usr/include/$ARCH/openblas-openmp/{cblas.h,openblas_config.h} "$DEST/usr/include/openblas/"

# Libraries.
for f in libstb.a libpng16.a libz.a libbenchmark_main.a libbenchmark.so.1.7.1; do put $LIB/$f; done
# The runtime looks for the soname; a copy, not a link.
soname=$(objdump -p $LIB/libbenchmark.so.1.7.1 | awk '/SONAME/ {print $2}')
[ -n "$soname" ] && cp -Lp $LIB/libbenchmark.so.1.7.1 "$DEST$LIB/$soname"
xz -T0 -6 -c $LIB/openblas-openmp/libopenblas.a >"$DEST$LIB/libopenblas.a.xz"
gomp=$(gcc -print-file-name=libgomp.a)
[ -f "$gomp" ] && cp -Lp "$gomp" "$DEST/fallback/libgomp.a"

# CMake package configurations.
put /usr/lib/cmake/doctest
put /usr/share/cmake/CLI11
put /usr/share/cmake/nlohmann_json
put $LIB/cmake/benchmark
# Debian's doctestTargets.cmake hard-codes its prefix (/usr): compute it from the file's place.
sed -i 's|^set(_IMPORT_PREFIX "/usr")|get_filename_component(_IMPORT_PREFIX "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)|' \
  "$DEST/usr/lib/cmake/doctest/doctestTargets.cmake"
grep -q 'CMAKE_CURRENT_LIST_DIR}/../../..' "$DEST/usr/lib/cmake/doctest/doctestTargets.cmake" ||
  { echo "gpu_carry: could not make doctestTargets.cmake relocatable" >&2; exit 1; }

cat >"$DEST/cmake-hints.cmake" <<'EOF'
# SPDX-License-Identifier: MIT
# Initial cache for `cmake -C third_party_carry/cmake-hints.cmake`, written by tools/gpu_carry.sh:
# points nst's dependency lookup (cmake/dependencies.cmake, FindPNG, FindZLIB, the packages'
# config files) at the carried headers and static libraries. OpenBLAS travels compressed:
# unpack usr/lib/x86_64-linux-gnu/libopenblas.a.xz somewhere and pass -DNST_OPENBLAS_LIB=<it>
# (tools/gpu_check.sh unpacks it into its build folder).
set(_carry "${CMAKE_CURRENT_LIST_DIR}/usr")
set(_lib "${_carry}/lib/x86_64-linux-gnu")
set(CMAKE_PREFIX_PATH "${_carry}" CACHE STRING "carried dependencies")
set(NST_CBLAS_INCLUDE "${_carry}/include/openblas" CACHE PATH "")
set(NST_STB_INCLUDE "${_carry}/include/stb" CACHE PATH "")
set(NST_STB_LIB "${_lib}/libstb.a" CACHE FILEPATH "")
set(PNG_PNG_INCLUDE_DIR "${_carry}/include" CACHE PATH "")
set(PNG_LIBRARY_RELEASE "${_lib}/libpng16.a" CACHE FILEPATH "")
set(PNG_LIBRARY "${_lib}/libpng16.a" CACHE FILEPATH "")
set(ZLIB_INCLUDE_DIR "${_carry}/include" CACHE PATH "")
set(ZLIB_LIBRARY_RELEASE "${_lib}/libz.a" CACHE FILEPATH "")
set(ZLIB_LIBRARY "${_lib}/libz.a" CACHE FILEPATH "")
set(doctest_DIR "${_carry}/lib/cmake/doctest" CACHE PATH "")
set(CLI11_DIR "${_carry}/share/cmake/CLI11" CACHE PATH "")
set(nlohmann_json_DIR "${_carry}/share/cmake/nlohmann_json" CACHE PATH "")
set(benchmark_DIR "${_lib}/cmake/benchmark" CACHE PATH "")
EOF

cat >"$DEST/README.txt" <<EOF
Build dependencies for the GPU machine, made by tools/gpu_carry.sh on $(date -u +%Y-%m-%d)
from Debian packages: $(for p in "${need[@]}"; do dpkg-query -W -f='${Package} ${Version}, ' "$p"; done)
Configure with: cmake -C third_party_carry/cmake-hints.cmake ... (tools/gpu_check.sh does).
EOF

if find "$DEST" -type l | grep -q .; then echo "gpu_carry: symbolic links left in $DEST" >&2; exit 1; fi
du -sh "$DEST"
du -sh "$DEST"/usr/include "$DEST"/usr/lib "$DEST"/usr/share "$DEST"/fallback | sed 's|'"$ROOT"'/||'
