#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One full feed-forward training step on the CPU, nst vs PyTorch (issue #12), same thread count.

nst's side is `nst train` itself: pytorch-examples architecture and loss preset (VGG16 taps
relu1_2 relu2_2 relu3_3 relu4_3, content relu2_2, Gram / (C H W), MSE, Adam), random16 VGG
weights, a fresh random model, --batch-size 4 --image-size 256, over a small dataset folder made
here from ../shared/images (each image resized and centre-cropped to the crop size beforehand, so
that per-step JPEG decoding stays small; it is still inside nst's time). Its --trace JSON Lines
give the cumulative seconds after every iteration; the per-iteration times are their
differences, the first --warmup dropped.

PyTorch's side is bench/torch_transformer.py --only step (the same step as pytorch/examples'
neural_style.py, random VGG16 weights, no data loading), with --threads equal to nst's.

The two alternate for --rounds rounds (a shared machine is noisy); reported per side: the
minimum over rounds of the per-round minimum and median seconds per step, and the ratio
PyTorch / nst of the minima (> 1: nst is faster); also process CPU seconds per step (all
threads; nst's from two runs' difference, of warm-up + iters and of warm-up alone), the steadier
figure on a shared machine. Both run with OMP_WAIT_POLICY=passive unless
--spin (see bench_network.cpp's notes on oversubscription).

Usage: /usr/bin/python3 bench/train_step_side_by_side.py --nst build/nst [--threads 2]
           [--iters 3] [--warmup 1] [--rounds 2] [--batch 4] [--size 256] [--json out.json]
"""
import argparse, json, os, resource, statistics, subprocess, sys, tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def images_dir():
    for d in (os.path.join(ROOT, '..', 'shared', 'images'), os.path.join(ROOT, 'shared', 'images')):
        if os.path.isdir(d):
            return d
    sys.exit('train_step_side_by_side: no ../shared/images folder')


def square(path, size):
    im = Image.open(path).convert('RGB')
    s = size / min(im.size)
    im = im.resize((max(size, round(im.size[0] * s)), max(size, round(im.size[1] * s))), Image.BICUBIC)
    l, t = (im.size[0] - size) // 2, (im.size[1] - size) // 2
    return im.crop((l, t, l + size, t + size))


def make_data(tmp, size):
    src = images_dir()
    ds = os.path.join(tmp, 'dataset')
    os.makedirs(ds)
    names = sorted(f for f in os.listdir(src) if f.lower().endswith(('.jpg', '.jpeg', '.png')))
    for f in names:
        if f != 'the_scream.jpg':
            square(os.path.join(src, f), size).save(os.path.join(ds, os.path.splitext(f)[0] + '.jpg'), quality=95)
    style = os.path.join(tmp, 'style.jpg')
    square(os.path.join(src, 'the_scream.jpg' if 'the_scream.jpg' in names else names[0]), size).save(style, quality=95)
    return ds, style


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_nst(a, tmp, ds, style, env, iterations=None):
    """(min, median) wall seconds per timed step from the trace, and the process CPU seconds."""
    iterations = a.warmup + a.iters if iterations is None else iterations
    trace = os.path.join(tmp, 'trace.jsonl')
    cmd = [a.nst, 'train', '--style', style, '--dataset', ds, '--output', os.path.join(tmp, 'model.safetensors'),
           '--weights', 'random16:0', '--arch', 'pytorch-examples', '--loss-preset', 'pytorch-examples',
           '--batch-size', str(a.batch), '--image-size', str(a.size), '--iterations', str(iterations),
           '--checkpoint-every', '0', '--trace', trace, '--print-every', '0', '--quiet', '--threads', str(a.threads)]
    c0 = children_cpu()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    cpu = children_cpu() - c0
    if r.returncode != 0:
        sys.exit(f'nst train failed ({r.returncode}): {r.stderr.strip()[-500:]}\n  {" ".join(cmd)}')
    secs = [json.loads(line)['seconds'] for line in open(trace) if line.strip()]
    steps = [b - a_ for a_, b in zip([0.0] + secs[:-1], secs)]
    timed = steps[a.warmup:] or steps
    return min(timed), statistics.median(timed), cpu


def run_torch(a, env):
    cmd = [sys.executable, os.path.join(HERE, 'torch_transformer.py'), '--only', 'step', '--threads', str(a.threads),
           '--batch', str(a.batch), '--train-size', str(a.size), '--style-size', str(a.size),
           '--repeats', str(a.iters), '--warmup', str(a.warmup)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f'torch_transformer.py failed ({r.returncode}): {r.stderr.strip()[-500:]}')
    d = json.loads(r.stdout.strip().splitlines()[-1])
    t = d[f'step_b{a.batch}_{a.size}_s']
    return t[0], t[1], t[2], d['torch']


def machine():
    model = ''
    try:
        model = next(ln.split(':', 1)[1].strip() for ln in open('/proc/cpuinfo') if ln.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return f'{model}, {os.cpu_count()} CPUs'


def commit():
    r = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True)
    return r.stdout.strip() or None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--nst', default=os.path.join(ROOT, 'build', 'nst'))
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--iters', type=int, default=3, help='timed steps per round and side')
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--spin', action='store_true', help='leave OMP_WAIT_POLICY as it is')
    ap.add_argument('--json', help='also write the result here')
    ap.add_argument('--note', default='', help='free text recorded in the JSON')
    a = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    if not a.spin:
        env['OMP_WAIT_POLICY'] = 'passive'
    nst_min, nst_med, torch_min, torch_med, load = [], [], [], [], []
    nst_cpu, torch_cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        ds, style = make_data(tmp, a.size)
        for r in range(a.rounds):
            load.append(round(os.getloadavg()[0], 2))  # 1-minute load average before the round
            m, med, cpu_long = run_nst(a, tmp, ds, style, env)
            nst_min.append(m)
            nst_med.append(med)
            # CPU time per step: a run of the warm-up alone subtracted (setup, style, warm-up).
            cpu_short = run_nst(a, tmp, ds, style, env, iterations=a.warmup)[2]
            nst_cpu.append(max(0.0, cpu_long - cpu_short) / a.iters)
            tm, tmed, tcpu, version = run_torch(a, env)
            torch_min.append(tm)
            torch_med.append(tmed)
            torch_cpu.append(tcpu)
            print(f'round {r + 1} (load {load[-1]}): nst {m:.3f} s (median {med:.3f}), PyTorch {tm:.3f} s (median {tmed:.3f}); CPU s/step nst {nst_cpu[-1]:.3f} PyTorch {tcpu:.3f}',
                  file=sys.stderr)
    out = {
        'torch': version, 'threads': a.threads, 'batch': a.batch, 'size': a.size, 'iters': a.iters,
        'warmup': a.warmup, 'rounds': a.rounds, 'omp_wait_policy': None if a.spin else 'passive',
        'nst_s_per_step': min(nst_min), 'nst_median_s_per_step': min(nst_med),
        'torch_s_per_step': min(torch_min), 'torch_median_s_per_step': min(torch_med),
        'ratio_torch_over_nst': min(torch_min) / min(nst_min),
        'nst_cpu_s_per_step': min(nst_cpu), 'torch_cpu_s_per_step': min(torch_cpu),
        'cpu_ratio_torch_over_nst': min(torch_cpu) / min(nst_cpu) if min(nst_cpu) > 0 else None,
        'commit': commit(), 'machine': machine(), 'note': a.note,
        'per_round': {'nst_min': nst_min, 'nst_median': nst_med, 'torch_min': torch_min, 'torch_median': torch_med,
                      'load_average_before': load,
                      'nst_cpu': nst_cpu, 'torch_cpu': torch_cpu},
    }
    text = json.dumps(out, indent=1)
    print(text)
    if a.json:
        with open(a.json, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    main()
