#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Side-by-side: one style-transfer iteration in PyTorch (CPU) vs nst's CPU backend, at any size,
with the peak resident memory of each side.

The same problem on both sides: VGG19 to relu5_1 (random He weights, no weight gradients),
jcjohnson losses (content relu4_2 MSE x5, Gram/(C*H*W) MSE x100 on relu1_1..relu5_1, TV 1e-3),
L-BFGS (lr 1, history 100, no line search), one objective evaluation per iteration, content
init, synthetic images. PyTorch: torch.optim.LBFGS with tolerances -1. nst: `nst run` on the same
synthetic images given as .npy (network space), timed from its --trace (the `seconds` stamps).
Each side runs each size in its own child process, so that the peak resident set (ru_maxrss of
that child, from wait4) is that run's alone. The first iteration is skipped on both sides
(allocation, oneDNN primitive creation). Both sides use all cores. Needs Debian's python3-torch;
run from the repo root after building.

Usage: /usr/bin/python3 bench/torch_iteration.py [--sizes 256x256,512x512] [--iters 10]
                                                 [--nst build/nst] [--json OUT]
"""
import argparse, json, math, os, subprocess, sys, tempfile

CHILD = '--child-torch'  # argv[1] of the PyTorch child process


def synthetic(torch, h, w, stream):
    g = torch.Generator().manual_seed(stream)
    y = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1)
    x = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w)
    c = torch.arange(3, dtype=torch.float32).view(1, 3, 1, 1)
    return 60 * torch.sin(0.05 * (y + 2 * c) * (1 + stream)) * torch.cos(0.07 * x) + 10 * torch.randn(1, 3, h, w, generator=g)


def torch_child(h, w, iters):
    """Runs in a child process: prints seconds per iteration as JSON."""
    import time
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_problem as problem
    torch.set_num_threads(os.cpu_count())
    net = problem.make_net()
    content, style = synthetic(torch, h, w, 1), synthetic(torch, h, w, 2)
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
    print(json.dumps({'s_per_iter': (stamps[-1] - stamps[0]) / (len(stamps) - 1)}))


def peak_of(argv):
    """Peak resident MiB of one child, read with wait4 so that other children do not count."""
    with tempfile.TemporaryFile(mode='w+') as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read()  # read without reaping: communicate() would wait() first
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f'{os.path.basename(argv[0])} failed ({proc.returncode}): {err.read().strip()[-400:]}')
    return out, usage.ru_maxrss / 1024.0


def measure_torch(h, w, iters):
    out, peak = peak_of([sys.executable, os.path.abspath(__file__), CHILD, str(h), str(w), str(iters)])
    return json.loads(out.strip().splitlines()[-1])['s_per_iter'], peak


def measure_nst(nst, h, w, iters, tmp):
    import numpy as np
    import torch
    paths = {}
    for name, stream in (('content', 1), ('style', 2)):
        paths[name] = os.path.join(tmp, f'{name}_{h}x{w}.npy')
        np.save(paths[name], synthetic(torch, h, w, stream).numpy().astype(np.float32))
    trace = os.path.join(tmp, f'trace_{h}x{w}.jsonl')
    argv = [nst, 'run', '--content', paths['content'], '--style', paths['style'], '--init', 'content',
            '--weights', 'random', '--backend', 'cpu', '--num-iterations', str(iters + 1), '--print-iter', '0',
            '--trace', trace, '--output', os.path.join(tmp, f'out_{h}x{w}.npy')]
    _, peak = peak_of(argv)
    stamps = [json.loads(line)['seconds'] for line in open(trace)]
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1), peak


def main():
    if len(sys.argv) == 5 and sys.argv[1] == CHILD:
        torch_child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    import torch
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='96x128,256x256')
    ap.add_argument('--iters', type=int, default=10)
    ap.add_argument('--nst', default='build/nst')
    ap.add_argument('--json')
    a = ap.parse_args()
    threads = os.cpu_count()
    sizes = [tuple(int(v) for v in s.split('x')) for s in a.sizes.split(',')]
    rows = []
    print(f'torch {torch.__version__}, {threads} threads, oneDNN {torch.backends.mkldnn.is_available()}')
    print(f'{"size (HxW)":>12} {"torch s/it":>11} {"nst s/it":>10} {"torch/nst":>10} {"torch MiB":>10} {"nst MiB":>9}')
    with tempfile.TemporaryDirectory() as tmp:
        for h, w in sizes:
            t, t_peak = measure_torch(h, w, a.iters)
            n, n_peak = measure_nst(a.nst, h, w, a.iters, tmp)
            rows.append({'h': h, 'w': w, 'torch_s_per_iter': t, 'nst_s_per_iter': n, 'ratio': t / n,
                         'torch_peak_MiB': t_peak, 'nst_peak_MiB': n_peak})
            print(f'{f"{h}x{w}":>12} {t:11.4f} {n:10.4f} {t / n:10.2f} {t_peak:10.0f} {n_peak:9.0f}', flush=True)
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'torch': torch.__version__, 'threads': threads, 'iters': a.iters, 'rows': rows}, f, indent=1)


if __name__ == '__main__':
    main()
