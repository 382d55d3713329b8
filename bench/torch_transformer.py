#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PyTorch CPU reference timings for issue #12: pytorch/examples' TransformerNet (written out
here, same modules and state_dict names as neural_style/transformer_net.py), default init.

  forward:  batch 1 at 512x512 under torch.no_grad() (inference)
  train:    batch 4 at 256x256, forward + backward to every parameter (loss mean(y^2) / 2, so
            dy = y / numel as in bench_network.cpp), no input gradient

Compare with nst_bench --benchmark_filter=BM_transformer under OMP_NUM_THREADS equal to
--threads. Reports the minimum and median wall time and the minimum process CPU time of
--repeats timed runs after --warmup runs.

Usage: /usr/bin/python3 bench/torch_transformer.py [--threads 2] [--repeats 10] [--warmup 2]
"""
import argparse, json, statistics, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = ConvLayer(c, c, 3, 1)
        self.in1 = nn.InstanceNorm2d(c, affine=True)
        self.conv2 = ConvLayer(c, c, 3, 1)
        self.in2 = nn.InstanceNorm2d(c, affine=True)

    def forward(self, x):
        return self.in2(self.conv2(F.relu(self.in1(self.conv1(x))))) + x


class UpsampleConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride, upsample):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        if self.upsample:
            x = F.interpolate(x, mode='nearest', scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x))


class TransformerNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 32, 9, 1)
        self.in1 = nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, 3, 2)
        self.in2 = nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, 3, 2)
        self.in3 = nn.InstanceNorm2d(128, affine=True)
        self.res1, self.res2, self.res3, self.res4, self.res5 = (ResidualBlock(128) for _ in range(5))
        self.deconv1 = UpsampleConvLayer(128, 64, 3, 1, 2)
        self.in4 = nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, 3, 1, 2)
        self.in5 = nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, 9, 1)

    def forward(self, x):
        y = F.relu(self.in1(self.conv1(x)))
        y = F.relu(self.in2(self.conv2(y)))
        y = F.relu(self.in3(self.conv3(y)))
        y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
        y = F.relu(self.in4(self.deconv1(y)))
        y = F.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


def timed(fn, warmup, repeats):
    """[min wall, median wall, min process CPU] in seconds. On a shared machine the CPU time
    (all threads) is the steadier figure; compare it with nst_bench's CPU column at 1 thread."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(times), statistics.median(times), min(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--only', choices=['forward', 'train'], default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = TransformerNet()
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == 1679235, n_params
    out = {'torch': torch.__version__, 'threads': a.threads}
    if a.only in (None, 'forward'):
        x = torch.rand(1, 3, 512, 512) * 255

        def forward():
            with torch.no_grad():
                net(x)
        out['forward_512_s'] = timed(forward, a.warmup, a.repeats)
    if a.only in (None, 'train'):
        xb = torch.rand(4, 3, 256, 256) * 255

        def train():
            net.zero_grad(set_to_none=False)
            y = net(xb)
            (0.5 * (y * y).mean()).backward()
        out['train_b4_256_s'] = timed(train, a.warmup, a.repeats)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
