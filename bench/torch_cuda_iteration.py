#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Side-by-side on the GPU: one style-transfer iteration in PyTorch (CUDA) vs `nst run --backend cuda`.

The problem of bench/bench_cuda.cpp's BM_cuda_iteration and bench/torch_iteration.py: VGG19
conv stack to relu5_1 with random He-normal weights (no weight gradients), jcjohnson losses
(content relu4_2 MSE x5, Gram/(C*H*W) MSE x100 on relu1_1..relu5_1, TV 1e-3 * 0.5 * sum of
squared differences), torch.optim.LBFGS(lr=1, max_iter=1, history_size=100, line_search_fn=None,
tolerance_grad=-1, tolerance_change=-1) with one step() per iteration (= one closure evaluation
and one update, as nst's iteration). Square synthetic images of each size; x starts at the content.

PyTorch runs in fp32 with TF32 disabled (torch.backends.cudnn.allow_tf32 = False,
torch.backends.cuda.matmul.allow_tf32 = False), compared with nst --precision fp32; with
--tf32 it also runs with TF32 allowed, compared with nst --precision tf32. cudnn.benchmark is
on (PyTorch's fastest convolution choice, as nst picks its cuDNN algorithms per shape).
Timing: torch.cuda.synchronize() around `--iters` steps after `--warmup` steps. nst's seconds
per iteration come from its --trace (device timestamps at the end of each iteration), over the
same counts. The inputs reach nst as .npy files in network space, so both sides see the same
images (the weights are each side's own random draw from the same distribution).

Prints one JSON object on stdout (human-readable lines on stderr). Needs torch and numpy only.

Usage: python3 bench/torch_cuda_iteration.py --nst build/nst [--sizes 256,512] [--iters 20]
                                             [--warmup 5] [--tf32] [--json OUT]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import torch_problem as problem  # bench/ is on sys.path: it is the script's folder


def synthetic(h, w, stream):
    """Smooth fields plus noise in caffe space (about +-100), float32 (1, 3, h, w)."""
    rng = np.random.default_rng(stream)
    y = np.arange(h, dtype=np.float64).reshape(1, 1, h, 1)
    x = np.arange(w, dtype=np.float64).reshape(1, 1, 1, w)
    c = np.arange(3, dtype=np.float64).reshape(1, 3, 1, 1)
    img = 55 * np.sin(0.045 * (y + 3 * c) * (1 + stream)) * np.cos(0.06 * x) + 12 * rng.standard_normal((1, 3, h, w))
    return img.astype(np.float32)


def sync(dev):
    if dev.type == 'cuda':
        torch.cuda.synchronize()


def time_torch(h, w, iters, warmup, tf32, device='cuda'):
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    dev = torch.device(device)
    torch.manual_seed(0)
    net = problem.make_net(dev)
    content = torch.from_numpy(synthetic(h, w, 1)).to(dev)
    style = torch.from_numpy(synthetic(h, w, 2)).to(dev)
    p, grams = problem.targets(net, content, style)
    img = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([img], lr=1, max_iter=1, history_size=100, line_search_fn=None,
                            tolerance_grad=-1, tolerance_change=-1)

    def closure():
        opt.zero_grad()
        value = problem.loss(net, img, p, grams)
        value.backward()
        return value

    for _ in range(warmup):
        opt.step(closure)
    sync(dev)
    if dev.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(iters):
        loss = opt.step(closure)
    sync(dev)
    seconds = (time.perf_counter() - t0) / iters
    res = {'s_per_iter': seconds, 'loss': float(loss)}
    if dev.type == 'cuda':
        res['peak_mib'] = torch.cuda.max_memory_allocated() / 2 ** 20
    return res


def time_nst(nst, h, w, iters, warmup, precision, workdir):
    content, style = os.path.join(workdir, 'content.npy'), os.path.join(workdir, 'style.npy')
    np.save(content, synthetic(h, w, 1))
    np.save(style, synthetic(h, w, 2))
    trace = os.path.join(workdir, f'trace_{h}x{w}_{precision}.jsonl')
    out = os.path.join(workdir, 'out.npy')
    n = warmup + iters
    cmd = [nst, 'run', '--backend', 'cuda', '--precision', precision, '--content', content, '--style', style,
           '--init', 'content', '--weights', 'random:0', '--image-size', str(max(h, w)), '--num-iterations', str(n),
           '--lbfgs-history', '100', '--print-iter', '0', '--trace', trace, '--output', out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {'error': f'exit {r.returncode}: {r.stderr.strip()[-500:]}'}
    with open(trace) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if len(rows) < n:
        return {'error': f'trace has {len(rows)} rows, expected {n}'}
    # seconds: since the first iteration began, at the end of each one.
    s = [row['seconds'] for row in rows]
    res = {'s_per_iter': (s[n - 1] - s[warmup - 1]) / iters if warmup > 0 else s[n - 1] / n,
           'loss': rows[-1]['total']}
    peak = [line for line in r.stderr.splitlines() if 'peak' in line]
    if peak:
        res['peak_line'] = peak[-1]
    return res


def finite(v):
    """NaN and infinities as null, so that the output is strict JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [finite(x) for x in v]
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--nst', default='build/nst', help='the nst binary')
    ap.add_argument('--sizes', default='256,512')
    ap.add_argument('--iters', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--tf32', action='store_true', help='also compare with TF32 allowed on both sides')
    ap.add_argument('--json', help='also write the JSON object to this file')
    a = ap.parse_args()
    if not torch.cuda.is_available():
        log('torch_cuda_iteration: no CUDA device')
        print(json.dumps({'error': 'no CUDA device'}))
        return 77
    sizes = [int(v) for v in a.sizes.split(',')]
    modes = [('fp32', False)] + ([('tf32', True)] if a.tf32 else [])
    result = {'torch': torch.__version__, 'cudnn': torch.backends.cudnn.version(),
              'device': torch.cuda.get_device_name(0), 'iters': a.iters, 'warmup': a.warmup,
              'cudnn_benchmark': True, 'rows': []}
    log(f'torch {torch.__version__} on {result["device"]}')
    log(f'{"size":>6} {"mode":>5} {"torch s/it":>11} {"nst s/it":>10} {"torch/nst":>10}')
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for mode, tf32 in modes:
                row = {'h': size, 'w': size, 'mode': mode}
                try:
                    row['torch'] = time_torch(size, size, a.iters, a.warmup, tf32)
                except Exception as e:  # noqa: BLE001 - report and go on with the other sizes
                    row['torch'] = {'error': repr(e)}
                row['nst'] = time_nst(a.nst, size, size, a.iters, a.warmup, mode, tmp)
                t = row['torch'].get('s_per_iter', math.nan)
                n = row['nst'].get('s_per_iter', math.nan)
                row['ratio_torch_over_nst'] = t / n if n and not math.isnan(n) else math.nan
                result['rows'].append(row)
                log(f'{size:>6} {mode:>5} {t:11.5f} {n:10.5f} {row["ratio_torch_over_nst"]:10.2f}'
                    + (f'  nst error: {row["nst"]["error"]}' if 'error' in row['nst'] else '')
                    + (f'  torch error: {row["torch"]["error"]}' if 'error' in row['torch'] else ''))
    text = json.dumps(finite(result), indent=1)
    print(text)
    if a.json:
        with open(a.json, 'w') as f:
            f.write(text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
