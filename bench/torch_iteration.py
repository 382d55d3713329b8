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

CFG = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512]  # to conv5_1


def make_net():
    layers, c = [], 3
    for v in CFG:
        if v == 'M':
            layers.append(torch.nn.MaxPool2d(2, 2))
        else:
            conv = torch.nn.Conv2d(c, v, 3, padding=1)
            torch.nn.init.kaiming_normal_(conv.weight, mode='fan_out', nonlinearity='relu')
            torch.nn.init.zeros_(conv.bias)
            layers += [conv, torch.nn.ReLU()]
            c = v
    net = torch.nn.Sequential(*layers).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


STYLE_TAPS = {1: 'relu1_1', 6: 'relu2_1', 11: 'relu3_1', 20: 'relu4_1', 29: 'relu5_1'}
CONTENT_TAP = 22  # relu4_2


def taps(net, x):
    out = {}
    for i, layer in enumerate(net):
        x = layer(x)
        if i in STYLE_TAPS or i == CONTENT_TAP:
            out[i] = x
    return out


def gram(f):
    _, c, h, w = f.shape
    f = f.reshape(c, h * w)
    return f @ f.t() / (c * h * w)


def synthetic(h, w, stream):
    g = torch.Generator().manual_seed(stream)
    y = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1)
    x = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w)
    c = torch.arange(3, dtype=torch.float32).view(1, 3, 1, 1)
    return 60 * torch.sin(0.05 * (y + 2 * c) * (1 + stream)) * torch.cos(0.07 * x) + 10 * torch.randn(1, 3, h, w, generator=g)


def time_torch(h, w, iters):
    net = make_net()
    content, style = synthetic(h, w, 1), synthetic(h, w, 2)
    with torch.no_grad():
        p = taps(net, content)[CONTENT_TAP].clone()
        targets = {i: gram(f) for i, f in taps(net, style).items() if i in STYLE_TAPS}
    img = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([img], lr=1, max_iter=iters + 1, history_size=100, line_search_fn=None,
                            tolerance_grad=-1, tolerance_change=-1)
    stamps = []

    def closure():
        opt.zero_grad()
        t = taps(net, img)
        loss = 5 * torch.mean((t[CONTENT_TAP] - p) ** 2)
        for i in STYLE_TAPS:
            loss = loss + 100 * torch.mean((gram(t[i]) - targets[i]) ** 2)
        dx = img[:, :, :-1, :-1] - img[:, :, :-1, 1:]
        dy = img[:, :, :-1, :-1] - img[:, :, 1:, :-1]
        loss = loss + 1e-3 * 0.5 * (dx.pow(2).sum() + dy.pow(2).sum())
        loss.backward()
        stamps.append(time.perf_counter())
        return loss

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
