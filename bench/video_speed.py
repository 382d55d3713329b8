#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Speed of `nst video` (issue #14) on the CPU, from the summary.json every run writes:

  * optimisation path (Ruder et al., single pass): seconds per frame for the first and later
    frames at a given number of iterations, hence seconds per iteration, and the projection to
    the reference code's recipe (2000 iterations for frame 1, 1000 later);
  * flow: DIS seconds per frame pair (nst video estimates two flows per pair);
  * feed-forward path (--model): frames per second of a Johnson transformer (width 32, the
    paper's architecture) with random weights, made by one `nst train` step.

The clip is a synthetic pan over tubingen.jpg from ../shared/images (read from there, never
copied), resized so that its long side is the working size. Weights are random (the timing
does not depend on their values). Prints one JSON line; `--out FILE` also writes it.

Usage: /usr/bin/python3 bench/video_speed.py --nst build/nst [--sizes 256,512] [--frames 4]
       [--iterations 20,10] [--out bench/results/.../video.json]
"""
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.normpath(os.path.join(HERE, '..', '..', 'shared', 'images'))


def make_clip(folder, size, frames, step):
    """frames of a 4:3 window panning right by `step` px per frame over the photo, long side `size`."""
    src = Image.open(os.path.join(IMAGES, 'tubingen.jpg')).convert('RGB')
    w, h = size, size * 3 // 4
    scale = (h + 8) / src.height
    big = src.resize((max(int(src.width * scale), w + step * frames + 8), h + 8), Image.BICUBIC)
    os.makedirs(folder, exist_ok=True)
    for i in range(frames):
        big.crop((4 + i * step, 4, 4 + i * step + w, 4 + h)).save(os.path.join(folder, f'frame_{i + 1:05d}.png'))


def run(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f'video_speed: {" ".join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-400:]}')
    return time.perf_counter() - t


def iteration_seconds(trace):
    """median seconds of one iteration, from the trace's cumulative times within each frame."""
    rows = [json.loads(l) for l in open(trace) if l.strip()]
    deltas = [b['seconds'] - a['seconds'] for a, b in zip(rows, rows[1:])
              if b['frame'] == a['frame'] and b['iter'] == a['iter'] + 1]
    return statistics.median(deltas)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--nst', default='build/nst')
    ap.add_argument('--sizes', default='256,512')
    ap.add_argument('--frames', type=int, default=4)
    ap.add_argument('--iterations', default='20,10', help='FIRST,LATER for the optimisation path')
    ap.add_argument('--ff-frames', type=int, default=8)
    ap.add_argument('--out')
    a = ap.parse_args()
    first, later = (int(v) for v in a.iterations.split(','))
    style = os.path.join(IMAGES, 'starry_night.jpg')
    res = {'machine': platform.processor() or platform.machine(), 'cores': os.cpu_count(),
           'nst': subprocess.run([a.nst, '--version'], stdout=subprocess.PIPE, text=True).stdout.strip(),
           'commit': subprocess.run(['git', '-C', HERE, 'rev-parse', '--short', 'HEAD'], stdout=subprocess.PIPE,
                                    text=True).stdout.strip(),
           'load_average_at_start': os.getloadavg(),
           'weights': 'random', 'iterations': [first, later], 'sizes': {}}
    with tempfile.TemporaryDirectory() as tmp:
        # A width-32 transformer (Johnson et al.'s net) from one training step on the clip frames.
        data = os.path.join(tmp, 'data')
        make_clip(data, 256, 2, 4)
        model = os.path.join(tmp, 'model.safetensors')
        run([a.nst, 'train', '--method', 'perceptual', '--style', style, '--dataset', data, '--output', model,
             '--weights', 'random', '--iterations', '1', '--batch-size', '1', '--image-size', '64', '--quiet'])
        for size in (int(s) for s in a.sizes.split(',')):
            r = {}
            clip = os.path.join(tmp, f'clip{size}')
            make_clip(clip, size, max(a.frames, a.ff_frames), max(2, size // 64))
            opt_clip = os.path.join(tmp, f'opt{size}')
            make_clip(opt_clip, size, a.frames, max(2, size // 64))
            out = os.path.join(tmp, f'out{size}')
            trace = os.path.join(tmp, f'trace{size}.jsonl')
            run([a.nst, 'video', '--content', opt_clip, '--style', style, '--output', out, '--weights', 'random',
                 '--preset', 'gatys', '--image-size', str(size), '--num-iterations', f'{first},{later}',
                 '--tol-loss-relative', '0', '--print-iter', '0', '--trace', trace, '--quiet'])
            s = json.load(open(os.path.join(out, '.nst-work', 'summary.json')))
            it = iteration_seconds(trace)
            # A frame = a fixed cost (problem set-up, flow warps, saving) + its iterations.
            fixed_first = s['seconds_per_frame_first'] - first * it
            fixed_later = s['seconds_per_frame_later'] - later * it
            r['optimisation'] = {
                'frames': s['frames'], 'width': s['width'], 'height': s['height'],
                'seconds_per_frame_first': s['seconds_per_frame_first'],
                'seconds_per_frame_later': s['seconds_per_frame_later'],
                'seconds_per_iteration_median': it,
                'seconds_per_frame_fixed_first': fixed_first,
                'seconds_per_frame_fixed_later': fixed_later,
                'projected_recipe_seconds_first_2000': fixed_first + 2000 * it,
                'projected_recipe_seconds_later_1000': fixed_later + 1000 * it,
                'warping_error_lai': s['warping_error_lai']}
            r['flow'] = {'method': s['flow'], 'pairs_estimated': s['flow_pairs_estimated'],
                         'seconds_per_flow': s['flow_seconds_per_pair'],
                         'seconds_per_frame_pair': 2 * s['flow_seconds_per_pair']}
            ffout = os.path.join(tmp, f'ff{size}')
            wall = run([a.nst, 'video', '--content', clip, '--model', model, '--output', ffout,
                        '--flow', 'dis-ultrafast', '--quiet'])
            s = json.load(open(os.path.join(ffout, '.nst-work', 'summary.json')))
            # Every feed-forward frame is a "later" one: load, run the model, save.
            per_frame = s['seconds_per_frame_later']
            r['feedforward'] = {'frames': s['frames'], 'width': s['width'], 'height': s['height'],
                                'seconds_per_frame': per_frame,
                                'frames_per_second': 1 / per_frame,
                                'wall_seconds_whole_command': wall,
                                'warping_error_lai': s['warping_error_lai']}
            res['sizes'][str(size)] = r
    line = json.dumps(res)
    print(line)
    if a.out:
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        open(a.out, 'w').write(json.dumps(res, indent=2) + '\n')


if __name__ == '__main__':
    main()
