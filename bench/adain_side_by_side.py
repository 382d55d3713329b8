#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""AdaIN style transfer on the CPU, nst vs PyTorch, same problem and thread count (issue #13's
target: nst >= 1.5x faster at 512x512).

The problem: one --size x --size content and one style of the same size, encode both (the
port's normalised VGG19 to relu4_1: 1x1 preprocessing conv, reflection padding, ceil-mode max
pooling), AdaIN at alpha 1 with the port's statistics, decode (reflection padding, nearest x2
upsampling) -> (1, 3, S, S); float32, inference only, random weights (the shapes are the port's,
the timing does not depend on the values). Also each part alone: the encoder on one image, the
AdaIN operation on (1, 512, S/8, S/8) features, the decoder.

  nst:     build/nst_bench's BM_adain_cpu/S, BM_adain_cpu_{encode,op,decode}/S and
           BM_adain_engine/S/1 (bench/bench_adain.cpp: cpu::Network on adain_encoder_desc /
           adain_decoder_desc with cpu::adain_channel_stats + adain_blend; and the same transfer
           through nst stylize's engine, AdainStylizer, beside the same PyTorch transfer), --repeats repetitions of one iteration each
           after Google Benchmark's own warm-up call, under OMP_NUM_THREADS=--threads
  PyTorch: bench/torch_adain.py --threads T (the port's nn.Sequentials and function.py's AdaIN,
           torch.inference_mode, --warmup runs, then --repeats timed runs)

The sides alternate for --rounds rounds (a shared machine is noisy). Per side and case: the
median of the round's repeats, and the best (lowest) round median over rounds is the figure;
PyTorch / nst of those is the ratio (> 1: nst is faster). The process CPU seconds (all threads;
the steadier figure when other jobs share the cores) are recorded beside them. Both sides run
with OMP_WAIT_POLICY=passive unless --spin (see bench_network.cpp's notes on oversubscription).

Prints one line per case and a final line `AdaIN SxS CPU ...: PyTorch / nst = R x`, and writes
the JSON record (machine, versions, commit, load averages, every sample) to --json.

Usage: /usr/bin/python3 bench/adain_side_by_side.py [--nst-bench build/nst_bench] [--threads 2]
           [--size 512] [--repeats 5] [--warmup 2] [--rounds 3] [--spin] [--json OUT.json]
           [--note TEXT]
"""
import argparse, datetime, json, os, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# case, nst benchmark (its name up to the size), torch_adain.py mode, what follows the size
CASES = [
    ('transfer', 'BM_adain_cpu', 'transfer', ''),
    ('engine', 'BM_adain_engine', 'transfer', '/1'),  # nst stylize's AdainStylizer, same problem
    ('encode', 'BM_adain_cpu_encode', 'encode', ''),
    ('adain', 'BM_adain_cpu_op', 'adain', ''),
    ('decode', 'BM_adain_cpu_decode', 'decode', ''),
]


def run_nst(a, env):
    """{case: (wall seconds list, process CPU seconds list)} over --repeats repetitions."""
    pattern = '|'.join(f'^{n}/{a.size}{tail}(/|$)' for _, n, _, tail in CASES)
    cmd = [a.nst_bench, f'--benchmark_filter={pattern}', '--benchmark_format=json',
           f'--benchmark_repetitions={a.repeats}', '--benchmark_min_time=0.01']
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f'nst_bench failed ({r.returncode}): {r.stderr.strip()[-500:]}\n  {" ".join(cmd)}')
    d = json.loads(r.stdout)
    out = {}
    for b in d['benchmarks']:
        if b.get('run_type') == 'aggregate' or b.get('error_occurred'):
            continue
        case = next(c for c, n, _, _ in CASES if b['name'].split('/')[0] == n)
        unit = {'ns': 1e-9, 'us': 1e-6, 'ms': 1e-3, 's': 1.0}[b.get('time_unit', 'ns')]
        wall, cpu = out.setdefault(case, ([], []))
        wall.append(b['real_time'] * unit)
        cpu.append(b['cpu_time'] * unit)
    missing = [c for c, _, _, _ in CASES if c not in out]
    if missing:
        sys.exit(f'nst_bench gave no result for {missing} (is bench_adain.cpp built into {a.nst_bench}?)')
    return out, d.get('context', {})


def run_torch(a, env):
    """{case: [min wall, median wall, min CPU]} and the JSON line's header fields."""
    cmd = [sys.executable, os.path.join(HERE, 'torch_adain.py'), '--threads', str(a.threads), '--sizes', str(a.size),
           '--only', ','.join(dict.fromkeys(m for _, _, m, _ in CASES)), '--repeats', str(a.repeats), '--warmup', str(a.warmup)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f'torch_adain.py failed ({r.returncode}): {r.stderr.strip()[-500:]}')
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return {c: d[f'{m}_{a.size}_s'] for c, _, m, _ in CASES}, d


def machine():
    model, mem = '', ''
    try:
        model = next(ln.split(':', 1)[1].strip() for ln in open('/proc/cpuinfo') if ln.startswith('model name'))
        kib = next(int(ln.split()[1]) for ln in open('/proc/meminfo') if ln.startswith('MemTotal'))
        mem = f', {kib / 2**20:.0f} GiB'
    except (OSError, StopIteration, ValueError):
        pass
    return f'{model}, {os.cpu_count()} CPUs{mem}'


def git(*args):
    r = subprocess.run(['git', '-C', ROOT, *args], capture_output=True, text=True)
    return r.stdout.strip() or None


def openblas():
    """The OpenBLAS package nst links (Debian), or None."""
    r = subprocess.run(['dpkg-query', '-W', '-f', '${Package} ${Version}\\n', 'libopenblas0-openmp'],
                       capture_output=True, text=True)
    return r.stdout.strip() or None


def cmake_build_type(binary):
    """CMAKE_BUILD_TYPE of the build folder holding the binary, or None."""
    try:
        for ln in open(os.path.join(os.path.dirname(os.path.abspath(binary)), 'CMakeCache.txt')):
            if ln.startswith('CMAKE_BUILD_TYPE:'):
                return ln.split('=', 1)[1].strip() or None
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--nst-bench', default=os.path.join(ROOT, 'build', 'nst_bench'))
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--repeats', type=int, default=5, help='timed runs per round, side and case')
    ap.add_argument('--warmup', type=int, default=2, help="PyTorch's untimed runs per case (nst: one)")
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--spin', action='store_true', help='leave OMP_WAIT_POLICY as it is')
    ap.add_argument('--json', help='write the record here (e.g. bench/results/cpu-xeon-2core/DATE-adain.json)')
    ap.add_argument('--note', default='', help='free text recorded in the JSON')
    a = ap.parse_args()
    if a.size < 8 or a.size % 8:
        ap.error('--size must be a positive multiple of 8')
    if not os.access(a.nst_bench, os.X_OK):
        ap.error(f'--nst-bench: {a.nst_bench} is not an executable (build with -DNST_BUILD_BENCH=ON)')
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    if not a.spin:
        env['OMP_WAIT_POLICY'] = 'passive'
    rounds = []
    for r in range(a.rounds):
        load = round(os.getloadavg()[0], 2)  # 1-minute load average before the round
        nst, ctx = run_nst(a, env)
        torch, header = run_torch(a, env)
        rounds.append({'load_average_before': load, 'nst': nst, 'torch': torch})
        print(f'round {r + 1} (load {load}): transfer nst median {statistics.median(nst["transfer"][0]):.3f} s, '
              f'PyTorch median {torch["transfer"][1]:.3f} s', file=sys.stderr, flush=True)
    cases = {}
    for case, _, _, _ in CASES:
        nst_med = min(statistics.median(rd['nst'][case][0]) for rd in rounds)
        nst_min = min(min(rd['nst'][case][0]) for rd in rounds)
        nst_cpu = min(statistics.median(rd['nst'][case][1]) for rd in rounds)
        t_med = min(rd['torch'][case][1] for rd in rounds)
        t_min = min(rd['torch'][case][0] for rd in rounds)
        t_cpu = min(rd['torch'][case][2] for rd in rounds)
        cases[case] = {
            'nst_median_s': nst_med, 'nst_min_s': nst_min, 'nst_cpu_s': nst_cpu,
            'torch_median_s': t_med, 'torch_min_s': t_min, 'torch_cpu_s': t_cpu,
            'ratio_torch_over_nst': t_med / nst_med,
            'ratio_min': t_min / nst_min,
            'cpu_ratio': t_cpu / nst_cpu if nst_cpu > 0 else None,
        }
        print(f'{case:9s} nst {nst_med * 1e3:9.2f} ms (min {nst_min * 1e3:.2f}, CPU {nst_cpu * 1e3:.1f})   '
              f'PyTorch {t_med * 1e3:9.2f} ms (min {t_min * 1e3:.2f}, CPU {t_cpu * 1e3:.1f})   '
              f'PyTorch / nst {t_med / nst_med:.2f}x')
    loads = [rd['load_average_before'] for rd in rounds]
    rec = {
        'what': f'issue #13 AdaIN style transfer at {a.size}x{a.size} on the CPU (encode content and style to '
                'relu4_1, AdaIN alpha 1 with the port\'s statistics, decode), nst vs PyTorch, float32, inference, '
                'random weights, same thread count; the parts alone beside it',
        'how': 'bench/adain_side_by_side.py ' + ' '.join(sys.argv[1:]),
        'machine': machine(),
        'date': datetime.date.today().isoformat(),
        'commit': git('rev-parse', '--short', 'HEAD'),
        'dirty': bool(git('status', '--porcelain', '--untracked-files=no')),
        'torch': header.get('torch'),
        'openblas': openblas(),
        'nst_build_type': cmake_build_type(a.nst_bench),
        'nst_bench_context': {k: ctx.get(k) for k in ('num_cpus', 'mhz_per_cpu', 'date')},
        'threads': a.threads, 'size': a.size, 'repeats': a.repeats, 'warmup': a.warmup, 'rounds': a.rounds,
        'omp_wait_policy': None if a.spin else 'passive',
        'load_average_before_rounds': loads,
        'figure': 'per side and case the lowest over rounds of the round median (wall seconds); ratio = PyTorch / nst',
        'cases': cases,
        'ratio_torch_over_nst': cases['transfer']['ratio_torch_over_nst'],
        'target': 1.5,
        'note': a.note,
        'per_round': rounds,
    }
    c = cases['transfer']
    print(f'AdaIN {a.size}x{a.size} CPU, {a.threads} threads, load {min(loads)}-{max(loads)}: '
          f'nst {c["nst_median_s"]:.3f} s, PyTorch {c["torch_median_s"]:.3f} s per transfer '
          f'(median, best of {a.rounds} rounds): PyTorch / nst = {c["ratio_torch_over_nst"]:.2f}x (target >= 1.5x)'
          + (f'; record {a.json}' if a.json else ''))
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, 'w') as f:
            f.write(json.dumps(rec, indent=1) + '\n')


if __name__ == '__main__':
    main()
