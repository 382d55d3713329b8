#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print sizes on this machine: peak resident memory and seconds per iteration of `nst run` at
large sizes, untiled and tiled, with the memory planner's prediction next to each measurement.

Each configuration runs in its own child process (peak = ru_maxrss of that child, from wait4).
Images are synthetic .npy in network space (smooth waves plus noise), so no file decoding or
resizing enters the numbers; weights are random (the cost does not depend on their values).
Seconds per iteration come from the --trace stamps (iterations after the first); the planner's
prediction from `--dry-run` with the same options.

Usage: /usr/bin/python3 bench/large_images.py [--nst build/nst] [--iters 2] [--backend cpu|cuda]
           [--json OUT] [--config LABEL:HxW[:extra nst options]] ...
Extra options come last, so a configuration's own --num-iterations overrides --iters. On CUDA the
peak that matters is the device one nst prints (stderr_tail), not the host's resident set.
Default configurations: the issue #11 targets (2048x1536 untiled, 4096x3072 under 16 GiB).
"""
import argparse, json, os, platform, shlex, subprocess, sys, tempfile, time

DEFAULT = ['2048x1536 untiled:1536x2048:--tile-rows 0',
           '4096x3072 under 16G:3072x4096:--memory-limit 16G']


def synthetic(np, h, w, stream):
    rng = np.random.default_rng(stream)
    y = np.arange(h, dtype=np.float32).reshape(1, 1, h, 1)
    x = np.arange(w, dtype=np.float32).reshape(1, 1, 1, w)
    c = np.arange(3, dtype=np.float32).reshape(1, 3, 1, 1)
    img = 60 * np.sin(0.05 * (y + 2 * c) * (1 + stream)) * np.cos(0.07 * x)
    return (img + 10 * rng.standard_normal((1, 3, h, w), dtype=np.float32)).astype(np.float32)


def run_child(argv):
    """(stdout, stderr, exit code, peak MiB, wall seconds) of one child, reaped with wait4."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile(mode='w+') as out, tempfile.TemporaryFile(mode='w+') as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        return out.read(), err.read(), os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024.0, \
            time.monotonic() - t0


def main():
    import numpy as np
    ap = argparse.ArgumentParser()
    ap.add_argument('--nst', default='build/nst')
    ap.add_argument('--iters', type=int, default=2)
    ap.add_argument('--backend', default='cpu')
    ap.add_argument('--config', action='append')
    ap.add_argument('--json')
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cfg in a.config or DEFAULT:
            label, size, *extra = cfg.split(':', 2)
            h, w = (int(v) for v in size.split('x'))
            content, style = (os.path.join(tmp, f'{n}_{h}x{w}.npy') for n in ('content', 'style'))
            np.save(content, synthetic(np, h, w, 1))
            np.save(style, synthetic(np, h, w, 2))
            trace = os.path.join(tmp, 'trace.jsonl')
            base = [a.nst, 'run', '--content', content, '--style', style, '--init', 'content', '--weights',
                    'random', '--backend', a.backend, '--num-iterations', str(a.iters), '--print-iter', '0',
                    '--output', os.path.join(tmp, 'out.npy')] + (shlex.split(extra[0]) if extra else [])
            plan_out, plan_err, plan_rc, _, _ = run_child(base + ['--dry-run'])
            out, err, rc, peak, wall = run_child(base + ['--trace', trace])
            if rc != 0:
                sys.exit(f'{label}: nst failed ({rc}): {err.strip()[-600:]}')
            stamps = [json.loads(line) for line in open(trace)]
            secs = [r['seconds'] for r in stamps if 'seconds' in r]
            per_iter = (secs[-1] - secs[0]) / (len(secs) - 1) if len(secs) > 1 else secs[-1]
            row = {'label': label, 'h': h, 'w': w, 'iters': a.iters, 'peak_MiB': peak, 's_per_iter': per_iter,
                   'wall_s': wall, 'plan': plan_out.strip(), 'plan_rc': plan_rc,
                   'stderr_tail': err.strip().splitlines()[-3:]}
            rows.append(row)
            print(f'{label:>24}: peak {peak:8.0f} MiB, {per_iter:7.1f} s/iter, wall {wall:6.0f} s', flush=True)
            print('   plan:', plan_out.strip().replace('\n', '\n         '), flush=True)
    if a.json:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
        with open(a.json, 'w') as f:
            json.dump({'machine': platform.processor() or platform.machine(), 'cpus': os.cpu_count(),
                       'commit': commit, 'date': time.strftime('%Y-%m-%d'), 'rows': rows}, f, indent=1)


if __name__ == '__main__':
    main()
