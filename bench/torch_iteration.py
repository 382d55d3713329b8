#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Side-by-side: one style-transfer iteration in PyTorch (CPU) vs nst's CPU backend.

The same problem as bench/bench_iteration.cpp: VGG19 to relu5_1 (random He weights, no weight
gradients), jcjohnson losses (content relu4_2 MSE x5, Gram/(C*H*W) MSE x100 on relu1_1..relu5_1,
TV 1e-3), torch.optim.LBFGS(lr=1, history_size=100, line_search_fn=None, tolerance -1), one
closure evaluation per iteration. Both sides use all cores. Prints seconds per iteration and
the ratio torch / nst. Needs Debian's python3-torch; run from the repo root after building.

Usage: /usr/bin/python3 bench/torch_iteration.py [--sizes 96x128,256x256] [--iters 10] [--json OUT]
"""
import argparse, json, math, os, subprocess, sys, time

import torch

import torch_problem as problem  # bench/ is on sys.path: it is the script's folder


def synthetic(h, w, stream):
    g = torch.Generator().manual_seed(stream)
    y = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1)
    x = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w)
    c = torch.arange(3, dtype=torch.float32).view(1, 3, 1, 1)
    return 60 * torch.sin(0.05 * (y + 2 * c) * (1 + stream)) * torch.cos(0.07 * x) + 10 * torch.randn(1, 3, h, w, generator=g)


def time_torch(h, w, iters):
    net = problem.make_net()
    content, style = synthetic(h, w, 1), synthetic(h, w, 2)
    p, grams = problem.targets(net, content, style)
    img = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([img], lr=1, max_iter=iters + 1, history_size=100, line_search_fn=None,
                            tolerance_grad=-1, tolerance_change=-1)
    stamps = []

    def closure():
        opt.zero_grad()
        value = problem.loss(net, img, p, grams)
        value.backward()
        stamps.append(time.perf_counter())
        return value

    opt.step(closure)
    # Skip the first evaluation (allocation, oneDNN primitive creation) as the C++ side does.
    return (stamps[-1] - stamps[1]) / (len(stamps) - 2)


def time_nst(bench, sizes):
    out = subprocess.run([bench, '--benchmark_filter=BM_iteration', '--benchmark_format=json'],
                         check=True, capture_output=True, text=True).stdout
    res = {}
    for b in json.loads(out)['benchmarks']:
        h, w = (int(v) for v in b['name'].split('/')[1:3])
        res[(h, w)] = b['real_time'] / 1e3  # ms -> s
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='96x128,256x256')
    ap.add_argument('--iters', type=int, default=10)
    ap.add_argument('--bench', default='build/nst_bench')
    ap.add_argument('--json')
    a = ap.parse_args()
    threads = os.cpu_count()
    torch.set_num_threads(threads)
    sizes = [tuple(int(v) for v in s.split('x')) for s in a.sizes.split(',')]
    nst = time_nst(a.bench, sizes)
    rows = []
    print(f'torch {torch.__version__}, {threads} threads, oneDNN {torch.backends.mkldnn.is_available()}')
    print(f'{"size (HxW)":>12} {"torch s/it":>11} {"nst s/it":>10} {"torch/nst":>10}')
    for h, w in sizes:
        t = time_torch(h, w, a.iters)
        n = nst.get((h, w), math.nan)
        rows.append({'h': h, 'w': w, 'torch_s_per_iter': t, 'nst_s_per_iter': n, 'ratio': t / n})
        print(f'{f"{h}x{w}":>12} {t:11.4f} {n:10.4f} {t / n:10.2f}')
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'torch': torch.__version__, 'threads': threads, 'rows': rows}, f, indent=1)


if __name__ == '__main__':
    main()
