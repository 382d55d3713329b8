#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Markdown tables of tools/gpu_check.sh's feedforward and adain steps: nst_bench's JSON
(Google Benchmark; BM_cuda_network_* or, with --adain, BM_cuda_adain) beside the JSON line of
bench/torch_transformer.py or bench/torch_adain.py --device cuda, in ms, with PyTorch / nst
(> 1: nst is faster); with --adain also frames per second against the AdaIN paper's 15 FPS at
512^2 (56 at 256^2) on a Pascal Titan X, style encoding excluded (its §7.1). Either input may be
missing or cut short by a timeout: its cells read n/a and a note says why. Uses only the
standard library.

Usage: python3 bench/feedforward_table.py [--adain] NST_BENCH.json TORCH.json
"""
import json, sys


def key_of(name):
    """'BM_x/size:512/min_time:0.500/manual_time' -> 'BM_x/size:512' (the case and its args)."""
    parts = name.split('/')
    return '/'.join([parts[0]] + [p for p in parts[1:] if ':' in p and not p.startswith(('min_time', 'repeats'))])


def load_nst(path):
    """{benchmark name: ms per iteration or an error string}, and a note."""
    try:
        d = json.load(open(path))
    except (OSError, ValueError) as e:
        return {}, f'nst_bench JSON unreadable ({type(e).__name__}: {str(e)[:80]})'
    out = {}
    for b in d.get('benchmarks', []):
        if b.get('run_type') == 'aggregate':
            continue
        key = key_of(b['name'])
        if b.get('error_occurred'):
            out[key] = 'error: ' + b.get('error_message', '')[:60]
        elif 'ms_per_iter' in b:
            out[key] = b['ms_per_iter']
    ctx = d.get('context', {})
    label = next((b.get('label') for b in d.get('benchmarks', []) if b.get('label')), '')
    return out, f"nst_bench {ctx.get('date', '')} {label}".strip()


def load_torch(path):
    """{key: min seconds}, and a note."""
    try:
        lines = [ln for ln in open(path).read().splitlines() if ln.strip().startswith('{')]
        d = json.loads(lines[-1])
    except (OSError, ValueError, IndexError) as e:
        return {}, f'PyTorch JSON unreadable ({type(e).__name__})'
    out = {k: v[0] for k, v in d.items() if k.endswith('_s') and isinstance(v, list)}
    note = f"PyTorch {d.get('torch')} cuDNN {d.get('cudnn')} on {d.get('gpu')}, TF32 {d.get('tf32')}, min of repeats"
    return out, note


ROWS = [  # what, nst benchmark name, torch key
    ('inference 512x512, batch 1', 'BM_cuda_network_forward/size:512', 'forward_512_s'),
    ('inference 1024x1024, batch 1', 'BM_cuda_network_forward/size:1024', None),
    ('transformer fwd + bwd, batch 4 at 256', 'BM_cuda_network_train/batch:4/size:256/vgg:0', 'train_b4_256_s'),
    ('training step, batch 4 at 256 (nst: transformer + VGG16 fwd/bwd, no loss kernels or Adam; '
     'PyTorch: full step)', 'BM_cuda_network_train/batch:4/size:256/vgg:1', 'step_b4_256_s'),
]

# AdaIN (issue #13): what, nst benchmark name, torch key, the paper's FPS on a Pascal Titan X
# (Table 1 / §7.1, style encoding excluded) or None.
ADAIN_ROWS = [
    ('AdaIN transfer 512x512 (encode content + style, AdaIN, decode)', 'BM_cuda_adain/size:512/style:1',
     'transfer_512_s', None),
    ('AdaIN frame 512x512 (style statistics cached)', 'BM_cuda_adain/size:512/style:0', 'frame_512_s', 15),
    ('AdaIN transfer 256x256', 'BM_cuda_adain/size:256/style:1', 'transfer_256_s', None),
    ('AdaIN frame 256x256 (style statistics cached)', 'BM_cuda_adain/size:256/style:0', 'frame_256_s', 56),
    ('AdaIN frame 512x512 through nst stylize\'s engine (image up and back, clamp, crop)',
     'BM_cuda_adain_engine/size:512', 'frame_512_s', 15),
]


def main():
    args = sys.argv[1:]
    adain = '--adain' in args
    args = [a for a in args if a != '--adain']
    if len(args) != 2:
        sys.exit('usage: feedforward_table.py [--adain] NST_BENCH.json TORCH.json')
    nst, nst_note = load_nst(args[0])
    torch, torch_note = load_torch(args[1])
    print(f'{nst_note}; {torch_note}')
    print()
    rows = ADAIN_ROWS if adain else [r + (None,) for r in ROWS]
    fps = ' | nst FPS | paper FPS (Titan X)' if adain else ''
    print(f'| problem | nst ms | PyTorch ms | PyTorch / nst{fps} |')
    print('|---|---|---|---|' + ('---|---|' if adain else ''))
    for what, nk, tk, paper in rows:
        n = nst.get(nk)
        t = torch.get(tk) * 1e3 if tk and tk in torch else None
        ns = 'n/a' if n is None else (n if isinstance(n, str) else f'{n:.2f}')
        ts = 'n/a' if t is None else f'{t:.2f}'
        ratio = f'{t / n:.2f}x' if isinstance(n, float) and t is not None and n > 0 else 'n/a'
        extra = ''
        if adain:
            extra = ' | ' + (f'{1e3 / n:.1f}' if isinstance(n, float) and n > 0 else 'n/a')
            extra += ' | ' + ('-' if paper is None else str(paper))
        print(f'| {what} | {ns} | {ts} | {ratio}{extra} |')


if __name__ == '__main__':
    main()
