#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The GPU machine's check, run THERE from the repository root with third_party_carry/ carried
# (tools/gpu_carry.sh fills it here) and $OUT set: builds nst with CUDA against the carried
# dependencies and cuDNN from python3's nvidia-cudnn wheel, then runs
#
#   ctest       the CUDA suite (nst_cuda_tests, run directly so that its accuracy MESSAGEs are
#               kept) and every other CTest suite                       -> $OUT/ctest.log
#   sanitizer   compute-sanitizer memcheck and racecheck on a subset of nst_cuda_tests
#                                                                       -> $OUT/sanitizer.log
#   bench       nst_bench's CUDA cases (BM_cuda_iteration, BM_cuda_vgg19) -> $OUT/bench_cuda.json
#   feedforward issue #12's transformer: nst_bench BM_cuda_network_* (inference 512 and 1024,
#               training batch 4 at 256 without and with the VGG16 loss net) beside
#               bench/torch_transformer.py --device cuda (fp32, no TF32; forward, train, full
#               step with VGG16 loss and Adam) -> table in REPORT.md, both JSONs in misc.log
#               (~60-90 s; the cuda::Network tests run in the ctest step, test_cuda_network.cpp)
#   adain       issue #13's AdaIN: nst_bench BM_cuda_adain* (512 and 256, whole transfer and a
#               frame with cached style statistics; the frame through nst stylize's engine)
#               beside bench/torch_adain.py --device cuda
#               (fp32, no TF32) -> table in REPORT.md with FPS against the paper's 15 FPS at 512^2
#               on a Pascal Titan X; both JSONs in misc.log (~50-90 s)
#   gram        BM_cuda_gram: our Gram vs cuBLAS SSYRK / SGEMM, plain and guided, per VGG
#               style layer at 512 and 1024 px (--gram-impl's side by side) -> table in REPORT.md
#   torch       bench/torch_cuda_iteration.py (PyTorch vs nst per iteration) -> $OUT/torch_cuda.json
#   peak        nst run --backend cuda at 512 px, history 100: the peak device memory line
#   ncu         Nsight Compute summary of one iteration (optional)      -> $OUT/misc.log
#   large       (not in the default set; ask for it) issue #11's GPU targets through
#               bench/large_images.py: 4096^2 for 500 iterations timed, and 8192^2 with 100
#               history pairs (bf16, planner's tiling) for 3 iterations  -> $OUT/large.json
#
# and writes $OUT/REPORT.md (pass / fail / skipped per step, and the numbers). Configure and
# build output go to $OUT/build.log; versions, the peak run and ncu to $OUT/misc.log: at most 8
# files in $OUT. Every step is time-boxed with `timeout`, and the whole stays inside a budget
# (GPU_CHECK_BUDGET seconds, default 530): a step that no longer fits is reported as skipped.
#
# Usage: tools/gpu_check.sh [STEP...]   (default: all of ctest sanitizer bench feedforward adain
#                                        gram torch peak ncu; the build always runs first and is
#                                        incremental)
# Environment: OUT (required), GPU_CHECK_BUDGET, BUILD_DIR (default build-gpu), JOBS (16).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
: "${OUT:?gpu_check: set OUT to the folder that receives the logs}"
mkdir -p "$OUT"
BUDGET=${GPU_CHECK_BUDGET:-530}
BUILD=${BUILD_DIR:-build-gpu}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
JOBS=${JOBS:-16}
START=$(date +%s)
STEPS=("$@")
[ ${#STEPS[@]} -eq 0 ] && STEPS=(ctest sanitizer bench feedforward adain gram torch peak ncu)
MISC=$OUT/misc.log
REPORT_ROWS=()   # "| step | result | seconds | notes |"
NOTES=()         # free text for the report's body

elapsed() { echo $(($(date +%s) - START)); }
remaining() { echo $((BUDGET - $(elapsed))); }
want() { local s; for s in "${STEPS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
row() { REPORT_ROWS+=("| $1 | $2 | $3 | $4 |"); echo "gpu_check: $1: $2 ($3 s) $4" >&2; }
# Time box for a step: at most $1 seconds, and never past the budget minus a reserve of 15 s.
# (At least 1: `timeout 0` would mean no limit at all.)
box() {
  local cap=$1 left
  left=$(($(remaining) - 15))
  [ "$left" -lt "$cap" ] && cap=$left
  [ "$cap" -lt 1 ] && cap=1
  echo "$cap"
}
# Runs "$@" under timeout $1; returns the command's status (124 on timeout).
timed() {
  local limit=$1
  shift
  timeout --signal=TERM --kill-after=10 "$limit" "$@"
}
status_word() {
  case $1 in
    0) echo pass ;;
    124 | 137) echo "timeout" ;;
    77) echo "skipped (77)" ;;
    *) echo "FAIL (exit $1)" ;;
  esac
}

# ---- environment ----------------------------------------------------------------------------
{
  echo "== gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ) in $ROOT"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L 2>&1
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  else
    echo "nvidia-smi: not available"
  fi
  command -v nvcc >/dev/null && nvcc --version | tail -2
  cmake --version | head -1
  ${CXX:-g++} --version | head -1
  command -v ninja >/dev/null && echo "ninja $(ninja --version)"
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())" 2>&1
  nproc
} >"$MISC" 2>&1
GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)

[ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
CUDNN_ROOT=$(python3 -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))" 2>/dev/null || true)
if [ -z "$CUDNN_ROOT" ] || [ ! -f "$CUDNN_ROOT/include/cudnn.h" ]; then
  # nvidia.cudnn is a namespace package in some wheels (no __file__): look for the folder.
  CUDNN_ROOT=$(python3 -c "
import os, nvidia
for p in list(nvidia.__path__):
    d = os.path.join(p, 'cudnn')
    if os.path.isfile(os.path.join(d, 'include', 'cudnn.h')):
        print(d)
        break" 2>/dev/null || true)
fi
if [ -n "$CUDNN_ROOT" ]; then
  echo "cuDNN root: $CUDNN_ROOT (lib: $(ls "$CUDNN_ROOT/lib" 2>/dev/null | tr '\n' ' '))" >>"$MISC"
else
  echo "cuDNN root: none found in python3's nvidia wheels; CMake looks in the CUDA toolkit" >>"$MISC"
fi
# cuDNN 9 loads its engine libraries at run time, and they need the other NVIDIA wheels'
# libraries (cuBLAS(Lt), NVRTC, ...): put every nvidia/*/lib on the loader path.
NV_LIBS=$(python3 -c "
import os, nvidia
dirs = []
for base in nvidia.__path__:
    for d in sorted(os.listdir(base)):
        lib = os.path.join(base, d, 'lib')
        if os.path.isdir(lib) and d != 'cuda_cupti':  # the profilers bring their own CUPTI
            dirs.append(lib)
print(':'.join(dirs))" 2>/dev/null || true)
export LD_LIBRARY_PATH="${NV_LIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CMAKE_POLICY_VERSION_MINIMUM=3.5  # CMake 4 and old package configs

# ---- carried dependencies --------------------------------------------------------------------
CARRY=$ROOT/third_party_carry
OBLAS_XZ=$CARRY/usr/lib/x86_64-linux-gnu/libopenblas.a.xz
OBLAS=$BUILD/carried/libopenblas.a   # unpacked into the build folder, not the carry
if [ ! -f "$CARRY/cmake-hints.cmake" ] || [ ! -f "$OBLAS_XZ" ]; then
  row build "FAIL" "$(elapsed)" "third_party_carry/ missing: run tools/gpu_carry.sh here and carry it"
  STEPS=()
elif [ ! -f "$OBLAS" ]; then
  mkdir -p "$(dirname "$OBLAS")"
  if command -v xz >/dev/null; then
    xz -dc "$OBLAS_XZ" >"$OBLAS.tmp" && mv "$OBLAS.tmp" "$OBLAS"
  else
    python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \
      "$OBLAS_XZ" "$OBLAS"
  fi
fi
# OpenMP: the compiler's own runtime, or the carried GCC 12 libgomp.a if it cannot link one.
OMP_ARGS=()
if ! echo 'int main(){return 0;}' | ${CXX:-g++} -x c++ -fopenmp - -o /tmp/nst_omp_probe 2>/dev/null; then
  OMP_ARGS=(-DOpenMP_CXX_FLAGS=-fopenmp -DOpenMP_CXX_LIB_NAMES=gomp
            "-DOpenMP_gomp_LIBRARY=$CARRY/fallback/libgomp.a")
  echo "OpenMP: the compiler cannot link -fopenmp; using the carried libgomp.a" >>"$MISC"
fi

# ---- configure and build ---------------------------------------------------------------------
BUILD_OK=0
if [ -f "$CARRY/cmake-hints.cmake" ] && [ -f "$OBLAS" ]; then
  t0=$(date +%s)
  GEN=()
  command -v ninja >/dev/null && [ ! -f "$BUILD/Makefile" ] && GEN=(-G Ninja)
  {
    timed "$(box 120)" cmake -S . -B "$BUILD" "${GEN[@]}" -C "$CARRY/cmake-hints.cmake" \
      -DCMAKE_BUILD_TYPE=Release -DNST_WITH_CUDA=ON -DNST_CPU_ARCH=native -DCUDNN_ROOT="$CUDNN_ROOT" \
      -DNST_OPENBLAS_LIB="$OBLAS" \
      "${OMP_ARGS[@]}" &&
      timed "$(box 330)" cmake --build "$BUILD" -j"$JOBS"
  } >"$OUT/build.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    BUILD_OK=1
    row build pass $(($(date +%s) - t0)) "$(grep -m1 'nst: cuDNN' "$OUT/build.log" | sed 's/^-- //')"
  else
    row build "$(status_word $rc)" $(($(date +%s) - t0)) "see build.log: $(grep -m1 -E 'error|Error' "$OUT/build.log" | cut -c1-160)"
  fi
fi
[ $BUILD_OK -eq 1 ] || STEPS=()
NST=$BUILD/nst

# ---- ctest -----------------------------------------------------------------------------------
if want ctest && [ "$(box 180)" -lt 60 ]; then
  row ctest "skipped (time)" 0 ""
elif want ctest; then
  t0=$(date +%s)
  {
    echo "== nst_cuda_tests (run directly: CTest runs the same binary as its test nst_cuda_tests)"
    (cd "$BUILD/tests/cuda" && timed "$(box 180)" ./nst_cuda_tests --duration=true)
  } >"$OUT/ctest.log" 2>&1
  rc=$?
  CUDA_SUMMARY=$(grep -E '^\[doctest\] (test cases|assertions):' "$OUT/ctest.log" | tr '\n' ' ')
  row "nst_cuda_tests" "$(status_word $rc)" $(($(date +%s) - t0)) "$CUDA_SUMMARY"
  t0=$(date +%s)
  {
    echo
    echo "== ctest: every other suite (-LE cuda)"
    timed "$(box 200)" ctest --test-dir "$BUILD" -LE cuda -j"$JOBS" --output-on-failure --timeout 200
  } >>"$OUT/ctest.log" 2>&1
  rc=$?
  row "ctest (other suites)" "$(status_word $rc)" $(($(date +%s) - t0)) \
    "$(grep -E 'tests passed|tests failed' "$OUT/ctest.log" | tail -1)"
fi

# ---- compute-sanitizer -----------------------------------------------------------------------
if want sanitizer; then
  # Kernels of our own (optimisers, preprocessing, losses, pooling, bias/ReLU) and one small
  # engine run through cuDNN; the whole suite under memcheck would not fit the budget.
  SUBSET='cuda lbfgs*,cuda adam*,cuda preprocess*,cuda vgg19: a second forward*,cuda engine: a non-finite*'
  : >"$OUT/sanitizer.log"
  if command -v compute-sanitizer >/dev/null; then
    for tool in memcheck racecheck; do
      t0=$(date +%s)
      lim=$(box 110)
      if [ "$lim" -lt 30 ]; then row "sanitizer $tool" "skipped (time)" 0 ""; continue; fi
      extra=()
      [ $tool = memcheck ] && extra=(--leak-check full)
      {
        echo "== compute-sanitizer --tool $tool on -tc='$SUBSET'"
        (cd "$BUILD/tests/cuda" && timed "$lim" compute-sanitizer --tool $tool "${extra[@]}" --error-exitcode 99 \
          --print-limit 50 ./nst_cuda_tests "-tc=$SUBSET")
      } >>"$OUT/sanitizer.log" 2>&1
      rc=$?
      row "sanitizer $tool" "$(status_word $rc)" $(($(date +%s) - t0)) \
        "$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|LEAK SUMMARY' "$OUT/sanitizer.log" | tail -1)"
    done
  else
    row sanitizer "skipped" 0 "compute-sanitizer not on PATH"
  fi
fi

# ---- benchmarks ------------------------------------------------------------------------------
if want bench; then
  t0=$(date +%s)
  lim=$(box 150)
  if [ "$lim" -ge 40 ]; then
    timed "$lim" "$BUILD/nst_bench" --benchmark_filter='BM_cuda_(iteration|vgg19)' --benchmark_format=json \
      >"$OUT/bench_cuda.json" 2>>"$MISC"
    rc=$?
    row bench "$(status_word $rc)" $(($(date +%s) - t0)) "BM_cuda_iteration, BM_cuda_vgg19 -> bench_cuda.json"
    BENCH_TABLE=$(python3 - "$OUT/bench_cuda.json" <<'EOF' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
print('| benchmark | ms / iter | TFLOP/s | peak MiB |')
print('|---|---|---|---|')
names = {0: 'fp32', 1: 'tf32', 2: 'bf16'}
for b in d.get('benchmarks', []):
    if b.get('error_occurred'):
        print(f"| {b['name']} | error: {b.get('error_message', '')} | | |")
        continue
    print(f"| {b['name']} | {b.get('ms_per_iter', float('nan')):.3f} | {b.get('TFLOP_per_s', float('nan')):.1f} | "
          f"{b.get('peak_MiB', float('nan')):.0f} |")
EOF
)
  else
    row bench "skipped (time)" 0 ""
  fi
fi

# ---- feed-forward transformer (issue #12): nst vs PyTorch CUDA ------------------------------------
# Both JSONs stay in the build folder ($OUT holds at most 8 files) and are appended to misc.log.
if want feedforward; then
  t0=$(date +%s)
  lim=$(box 90)
  if [ "$lim" -ge 45 ]; then
    FF_NST=$BUILD/bench_feedforward.json
    FF_TORCH=$BUILD/torch_feedforward.json
    rm -f "$FF_NST" "$FF_TORCH"
    timed "$(box 40)" "$BUILD/nst_bench" --benchmark_filter='BM_cuda_network_' --benchmark_format=json \
      >"$FF_NST" 2>>"$MISC"
    rc_nst=$?
    PYTHONUNBUFFERED=1 timed "$(box 50)" python3 bench/torch_transformer.py --device cuda --only forward,train,step \
      --size 512 --batch 4 --train-size 256 --warmup 3 --repeats 10 >"$FF_TORCH" 2>>"$MISC"
    rc_torch=$?
    { echo "== feedforward: nst_bench BM_cuda_network_ (rc $rc_nst)"; cat "$FF_NST"
      echo "== feedforward: torch_transformer.py --device cuda (rc $rc_torch)"; cat "$FF_TORCH"; } >>"$MISC" 2>&1
    rc=$rc_nst
    [ $rc -eq 0 ] && rc=$rc_torch
    row feedforward "$(status_word $rc)" $(($(date +%s) - t0)) \
      "nst_bench rc $rc_nst, torch_transformer.py rc $rc_torch; table in REPORT.md, JSONs in misc.log"
    FF_TABLE=$(python3 bench/feedforward_table.py "$FF_NST" "$FF_TORCH" 2>&1)
  else
    row feedforward "skipped (time)" 0 ""
  fi
fi

# ---- AdaIN (issue #13): nst vs PyTorch CUDA, and FPS vs the paper ---------------------------------
if want adain; then
  t0=$(date +%s)
  lim=$(box 95)
  if [ "$lim" -ge 45 ]; then
    AD_NST=$BUILD/bench_adain.json
    AD_TORCH=$BUILD/torch_adain.json
    rm -f "$AD_NST" "$AD_TORCH"
    timed "$(box 45)" "$BUILD/nst_bench" --benchmark_filter='BM_cuda_adain' --benchmark_format=json \
      >"$AD_NST" 2>>"$MISC"
    rc_nst=$?
    PYTHONUNBUFFERED=1 timed "$(box 40)" python3 bench/torch_adain.py --device cuda --only transfer,frame \
      --sizes 512,256 --warmup 3 --repeats 20 >"$AD_TORCH" 2>>"$MISC"
    rc_torch=$?
    { echo "== adain: nst_bench BM_cuda_adain (rc $rc_nst)"; cat "$AD_NST"
      echo "== adain: torch_adain.py --device cuda (rc $rc_torch)"; cat "$AD_TORCH"; } >>"$MISC" 2>&1
    rc=$rc_nst
    [ $rc -eq 0 ] && rc=$rc_torch
    row adain "$(status_word $rc)" $(($(date +%s) - t0)) \
      "nst_bench rc $rc_nst, torch_adain.py rc $rc_torch; table in REPORT.md, JSONs in misc.log"
    AD_TABLE=$(python3 bench/feedforward_table.py --adain "$AD_NST" "$AD_TORCH" 2>&1)
  else
    row adain "skipped (time)" 0 ""
  fi
fi

# ---- Gram: ours vs cuBLAS (the JSON stays in the build folder: $OUT holds at most 8 files) ------
if want gram; then
  t0=$(date +%s)
  lim=$(box 120)
  if [ "$lim" -ge 40 ]; then
    timed "$lim" "$BUILD/nst_bench" --benchmark_filter='BM_cuda_gram' --benchmark_format=json \
      >"$BUILD/bench_gram.json" 2>>"$MISC"
    rc=$?
    row gram "$(status_word $rc)" $(($(date +%s) - t0)) "BM_cuda_gram -> table in REPORT.md"
    GRAM_TABLE=$(python3 - "$BUILD/bench_gram.json" <<'EOF' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
rows = {}
for b in d.get('benchmarks', []):
    if b.get('error_occurred'):
        continue
    a = dict(p.split(':') for p in b['name'].split('/')[1:] if ':' in p)
    key = (int(a['layer']), int(a['size']), int(a['guided']))
    rows.setdefault(key, {})[int(a['impl'])] = b.get('us_per_gram', float('nan'))
layers = ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1']
print('| layer | size | guided | own us | cuBLAS SSYRK us | cuBLAS SGEMM us |')
print('|---|---|---|---|---|---|')
for (l, s, g), r in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
    f = lambda i: f"{r[i]:.1f}" if i in r else '-'
    print(f"| {layers[l]} | {s} | {'yes' if g else 'no'} | {f(0)} | {f(1)} | {f(2)} |")
EOF
)
  else
    row gram "skipped (time)" 0 ""
  fi
fi

# ---- PyTorch side by side --------------------------------------------------------------------
if want torch; then
  t0=$(date +%s)
  lim=$(box 150)
  if [ "$lim" -ge 40 ]; then
    PYTHONUNBUFFERED=1 timed "$lim" python3 bench/torch_cuda_iteration.py --nst "$NST" --sizes 256,512 \
      --iters 20 --warmup 5 --tf32 --json "$OUT/torch_cuda.json" >/dev/null 2>>"$MISC"
    rc=$?
    row torch "$(status_word $rc)" $(($(date +%s) - t0)) "bench/torch_cuda_iteration.py -> torch_cuda.json"
    TORCH_TABLE=$(python3 - "$OUT/torch_cuda.json" <<'EOF' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
print(f"PyTorch {d['torch']} (cuDNN {d['cudnn']}) on {d['device']}, {d['iters']} timed iterations after {d['warmup']}")
print()
print('| size | mode | PyTorch s/iter | nst s/iter | PyTorch / nst |')
print('|---|---|---|---|---|')
f = lambda v: 'n/a' if v is None else f'{v:.5f}'
for r in d['rows']:
    t, n = r['torch'].get('s_per_iter'), r['nst'].get('s_per_iter')
    ratio = r.get('ratio_torch_over_nst')
    err = r['nst'].get('error') or r['torch'].get('error') or ''
    print(f"| {r['h']}x{r['w']} | {r['mode']} | {f(t)} | {f(n)} | {'n/a' if ratio is None else f'{ratio:.2f}x'} {err[:80]} |")
EOF
)
  else
    row torch "skipped (time)" 0 ""
  fi
fi

# ---- peak device memory at 512 px ------------------------------------------------------------
PEAK_DIR=$(mktemp -d)
make_inputs() {
  python3 - "$PEAK_DIR" <<'EOF'
import sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
for name, s in (('content', 1), ('style', 2)):
    y = np.arange(512).reshape(1, 1, 512, 1)
    x = np.arange(512).reshape(1, 1, 1, 512)
    img = 60 * np.sin(0.05 * y * s) * np.cos(0.07 * x) + 10 * rng.standard_normal((1, 3, 512, 512))
    np.save(f'{d}/{name}.npy', img.astype(np.float32))
EOF
}
if want peak; then
  t0=$(date +%s)
  lim=$(box 90)
  if [ "$lim" -lt 30 ]; then
    row "peak memory 512 px" "skipped (time)" 0 ""
  elif ! make_inputs 2>>"$MISC"; then
    row "peak memory 512 px" "FAIL" 0 "could not write the .npy inputs (python3 with numpy; see misc.log)"
  else
    {
      echo "== nst run --backend cuda --image-size 512 --lbfgs-history 100 (10 iterations)"
      timed "$lim" "$NST" run --backend cuda --content "$PEAK_DIR/content.npy" --style "$PEAK_DIR/style.npy" \
        --init content --weights random:0 --image-size 512 --lbfgs-history 100 --num-iterations 10 \
        --print-iter 5 --output "$PEAK_DIR/out.npy" 2>&1
    } >"$PEAK_DIR/run.log"
    rc=$?
    cat "$PEAK_DIR/run.log" >>"$MISC"
    PEAK_LINE=$(grep -m1 'peak' "$PEAK_DIR/run.log")
    PEAK_MIB=$(echo "$PEAK_LINE" | sed -n 's/.*memory \([0-9.]*\) MiB.*/\1/p')
    note="$PEAK_LINE"
    if [ $rc -eq 0 ] && [ -n "$PEAK_MIB" ] && [ "${PEAK_MIB%.*}" -ge 1536 ]; then
      rc=1
      note="$PEAK_LINE (over the 1.5 GiB target of docs/cuda.md)"
    fi
    row "peak memory 512 px" "$(status_word $rc)" $(($(date +%s) - t0)) "$note"
  fi
fi

# ---- Nsight Compute --------------------------------------------------------------------------
if want ncu; then
  t0=$(date +%s)
  lim=$(box 100)
  if ! command -v ncu >/dev/null; then
    row ncu "skipped" 0 "ncu not on PATH"
  elif [ "$lim" -lt 40 ]; then
    row ncu "skipped (time)" 0 ""
  else
    [ -f "$PEAK_DIR/content.npy" ] || make_inputs 2>>"$MISC"
    {
      echo "== ncu (SpeedOfLight) of iteration 3 at 512 px, --cuda-graph off"
      timed "$lim" ncu --profile-from-start off --section SpeedOfLight --print-summary per-kernel \
        "$NST" run --backend cuda --content "$PEAK_DIR/content.npy" --style "$PEAK_DIR/style.npy" \
        --init content --weights random:0 --image-size 512 --num-iterations 3 --print-iter 0 \
        --profile-iters 3:1 --cuda-graph off --output "$PEAK_DIR/ncu.npy" 2>&1 | head -400
    } >>"$MISC" 2>&1
    rc=${PIPESTATUS[0]}
    row ncu "$(status_word "$rc")" $(($(date +%s) - t0)) "summary in misc.log"
  fi
fi
rm -rf "$PEAK_DIR"

# ---- print sizes (issue #11) -------------------------------------------------------------------
if want large; then
  t0=$(date +%s)
  lim=$(box 500)
  if [ "$lim" -lt 120 ]; then
    row large "skipped (time)" 0 ""
  else
    timed "$lim" python3 bench/large_images.py --nst "$NST" --backend cuda --iters 3 --json "$OUT/large.json" \
      --config "4096^2, 500 iterations:4096x4096:--num-iterations 500" \
      --config "8192^2, 100 pairs bf16:8192x8192:--lbfgs-history 100 --lbfgs-history-precision bf16" \
      >>"$MISC" 2>&1
    rc=$?
    row large "$(status_word $rc)" $(($(date +%s) - t0)) "peaks and s/iter in large.json (device peak in stderr_tail)"
  fi
fi

# ---- report ----------------------------------------------------------------------------------
{
  echo "# GPU check"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), ${GPU_NAME:-unknown GPU}, $(elapsed) s in all (budget $BUDGET s)."
  echo
  echo "| step | result | seconds | notes |"
  echo "|---|---|---|---|"
  for r in "${REPORT_ROWS[@]}"; do echo "$r"; done
  if [ -f "$OUT/ctest.log" ]; then
    echo
    echo "## Accuracy and other measurements printed by nst_cuda_tests"
    echo
    echo '```'
    grep -E 'MESSAGE|rel L2|rel err|worst|differ' "$OUT/ctest.log" | grep -v '^\[doctest\]' | sed 's/^.*MESSAGE: //' | head -80
    echo '```'
    FAILS=$(grep -E -A4 ': (ERROR|FATAL ERROR):|The following tests FAILED' "$OUT/ctest.log" | head -60)
    if [ -n "$FAILS" ]; then
      echo
      echo "## Failures (first 60 lines)"
      echo
      echo '```'
      echo "$FAILS"
      echo '```'
    fi
  fi
  if [ -n "${BENCH_TABLE:-}" ]; then
    echo
    echo "## nst_bench CUDA cases (precision 0 fp32, 1 tf32, 2 bf16)"
    echo
    echo "$BENCH_TABLE"
  fi
  if [ -n "${FF_TABLE:-}" ]; then
    echo
    echo "## Feed-forward transformer (issue #12): nst vs PyTorch CUDA, fp32, ms"
    echo
    echo "$FF_TABLE"
  fi
  if [ -n "${AD_TABLE:-}" ]; then
    echo
    echo "## AdaIN (issue #13): nst vs PyTorch CUDA, fp32, ms; FPS vs the paper's Pascal Titan X"
    echo
    echo "$AD_TABLE"
  fi
  if [ -n "${GRAM_TABLE:-}" ]; then
    echo
    echo "## One Gram matrix: ours vs cuBLAS (fp32 pedantic), microseconds"
    echo
    echo "$GRAM_TABLE"
  fi
  if [ -n "${TORCH_TABLE:-}" ]; then
    echo
    echo "## One iteration: PyTorch vs nst"
    echo
    echo "$TORCH_TABLE"
  fi
  for n in "${NOTES[@]}"; do echo; echo "$n"; done
  echo
  echo "Logs: build.log, ctest.log, sanitizer.log, bench_cuda.json, torch_cuda.json, misc.log (versions, feedforward and AdaIN JSONs, peak run, ncu)."
} >"$OUT/REPORT.md"
echo "gpu_check: done in $(elapsed) s; $OUT/REPORT.md" >&2
