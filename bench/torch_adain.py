#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PyTorch reference timings for issue #13: AdaIN style transfer with naoto0804/pytorch-AdaIN's
exact networks (net.py's `vgg[:31]` and `decoder`, written out here module for module with the
same Sequential indices, so a state_dict of the port would load) and function.py's AdaIN.

  transfer: test.py's style_transfer at alpha 1 on one --size x --size content and style:
            encode the content and the style (relu4_1), adaptive_instance_normalization
            (calc_mean_std: unbiased variance + 1e-5 on both sides), decode. -> BM_adain_cpu
  encode:   the encoder alone on one image (the transfer runs it twice)  -> BM_adain_cpu_encode
  adain:    the operation alone on (1, 512, S/8, S/8) features          -> BM_adain_cpu_op
  decode:   the decoder alone from (1, 512, S/8, S/8) features          -> BM_adain_cpu_decode
  frame:    content encoding + AdaIN + decoding with the style's statistics computed once
            beforehand (the paper's 15 FPS at 512^2 excludes the style encoding, §7.1)

float32, torch.inference_mode(), random weights: torch's default init, which nst's init_params
(nn/net_model.h) reproduces in distribution (the timing does not depend on the values; the
shapes are the port's), --threads intra-op threads. --device cpu
(default) or cuda (each timed call ends with torch.cuda.synchronize(); TF32 off unless --tf32,
cudnn.benchmark on). Reports [min wall, median wall, min process CPU] seconds of --repeats timed
runs after --warmup runs per mode, as one JSON line on stdout (keys `<mode>_<S>_s`).

Usage: /usr/bin/python3 bench/torch_adain.py [--device cpu|cuda] [--tf32] [--threads 2]
           [--sizes 512,256] [--only transfer,encode,adain,decode,frame] [--repeats 5] [--warmup 2]
"""
import argparse, json

import torch
import torch.nn as nn

from torch_transformer import setup_torch, timed  # the same set-up and clock as the TransformerNet side


def encoder():
    """net.py's vgg[:31]: the 1x1 preprocessing conv, then VGG19 to relu4_1 with reflection
    padding and ceil-mode pooling. Indices as in the port (conv keys 0, 2, 5, 9, ..., 29)."""
    def pad_conv(cin, cout):
        return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3)), nn.ReLU()]
    pool = lambda: nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)
    layers = [nn.Conv2d(3, 3, (1, 1))]
    layers += pad_conv(3, 64) + pad_conv(64, 64) + [pool()]
    layers += pad_conv(64, 128) + pad_conv(128, 128) + [pool()]
    layers += pad_conv(128, 256) + pad_conv(256, 256) + pad_conv(256, 256) + pad_conv(256, 256) + [pool()]
    layers += pad_conv(256, 512)
    net = nn.Sequential(*layers)
    assert len(net) == 31 and isinstance(net[29], nn.Conv2d) and isinstance(net[30], nn.ReLU)
    return net


def decoder():
    """net.py's decoder: 29 modules, reflection pad + 3x3 conv, ReLU after every conv but the
    last, nearest x2 upsampling at 3, 16 and 23 (conv keys 1, 5, 8, 11, 14, 18, 21, 25, 28)."""
    def pad_conv(cin, cout, relu=True):
        return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3))] + ([nn.ReLU()] if relu else [])
    up = lambda: nn.Upsample(scale_factor=2, mode='nearest')
    layers = pad_conv(512, 256) + [up()]
    layers += pad_conv(256, 256) + pad_conv(256, 256) + pad_conv(256, 256) + pad_conv(256, 128) + [up()]
    layers += pad_conv(128, 128) + pad_conv(128, 64) + [up()]
    layers += pad_conv(64, 64) + pad_conv(64, 3, relu=False)
    net = nn.Sequential(*layers)
    assert len(net) == 29 and isinstance(net[28], nn.Conv2d)
    return net


def calc_mean_std(feat, eps=1e-5):
    """function.py's calc_mean_std: per (n, c) mean and sqrt(unbiased var + eps)."""
    n, c = feat.shape[:2]
    var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def adaptive_instance_normalization(content, style_mean, style_std):
    """function.py's AdaIN with the style's statistics given (computed by calc_mean_std)."""
    mean, std = calc_mean_std(content)
    return (content - mean.expand_as(content)) / std.expand_as(content) * style_std.expand_as(content) \
        + style_mean.expand_as(content)


MODES = ('transfer', 'encode', 'adain', 'decode', 'frame')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    ap.add_argument('--tf32', action='store_true', help='allow TF32 on CUDA (default off: fp32 as nst)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--sizes', default='512,256', help='comma-separated square sizes (multiples of 8)')
    ap.add_argument('--only', default=','.join(MODES), help='comma-separated modes among ' + ', '.join(MODES))
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=2)
    a = ap.parse_args()
    modes = a.only.split(',')
    if not modes or any(m not in MODES for m in modes):
        ap.error(f'--only: expected modes among {", ".join(MODES)}, got {a.only!r}')
    try:
        sizes = [int(s) for s in a.sizes.split(',')]
    except ValueError:
        ap.error(f'--sizes: expected comma-separated integers, got {a.sizes!r}')
    if any(s < 8 or s % 8 for s in sizes):
        ap.error('--sizes: each size must be a positive multiple of 8')
    dev, sync = setup_torch(a.device, a.threads, a.tf32)
    enc, dec = encoder().to(dev).eval(), decoder().to(dev).eval()
    n_enc, n_dec = (sum(p.numel() for p in m.parameters()) for m in (enc, dec))
    assert (n_enc, n_dec) == (3505740, 3505219), (n_enc, n_dec)  # research/feedforward.md §5.3
    out = {'torch': torch.__version__, 'device': a.device, 'threads': a.threads,
           'repeats': a.repeats, 'warmup': a.warmup}
    if a.device == 'cuda':
        out.update(gpu=torch.cuda.get_device_name(0), cudnn=torch.backends.cudnn.version(), tf32=a.tf32)
    with torch.inference_mode():
        for s in sizes:
            content = torch.rand(1, 3, s, s, device=dev)
            style = torch.rand(1, 3, s, s, device=dev)
            feat_c = torch.rand(1, 512, s // 8, s // 8, device=dev) * 4
            feat_s = torch.rand(1, 512, s // 8, s // 8, device=dev) * 4
            style_stats = calc_mean_std(enc(style))

            def transfer():
                fs = enc(style)
                return dec(adaptive_instance_normalization(enc(content), *calc_mean_std(fs)))

            def frame():
                return dec(adaptive_instance_normalization(enc(content), *style_stats))
            fns = {
                'transfer': transfer,
                'encode': lambda: enc(content),
                'adain': lambda: adaptive_instance_normalization(feat_c, *calc_mean_std(feat_s)),
                'decode': lambda: dec(feat_c),
                'frame': frame,
            }
            for m in modes:
                out[f'{m}_{s}_s'] = timed(fns[m], a.warmup, a.repeats, sync)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
