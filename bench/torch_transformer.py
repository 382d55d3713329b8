#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PyTorch reference timings for issue #12: pytorch/examples' TransformerNet (written out here,
same modules and state_dict names as neural_style/transformer_net.py), default init.

  forward:  batch 1 at --size (512) under torch.no_grad() (inference)
  train:    batch --batch (4) at --train-size (256), forward + backward to every parameter (loss
            mean(y^2) / 2, so dy = y / numel as in bench_network.cpp), no input gradient
  step:     one full training step as pytorch/examples' neural_style.py train(): the same batch
            through TransformerNet, both x and y through VGG16 (random weights: torchvision is not
            needed), content loss 1e5 * MSE at relu2_2, style loss 1e10 * sum of MSE of
            Gram / (C H W) at relu1_2, relu2_2, relu3_3, relu4_3 against a style image's Grams
            (computed once, as there), ImageNet normalisation of y / 255, backward, Adam (lr 1e-3).
            The data loading is not in it (nst train's per-iteration time includes decoding).

--device cpu (default) or cuda. On CUDA every timed call ends with torch.cuda.synchronize(),
and TF32 is off unless --tf32 (nst computes in fp32). Compare on the CPU with nst_bench
--benchmark_filter=BM_transformer under OMP_NUM_THREADS equal to --threads (and the step with
bench/train_step_side_by_side.py); on CUDA with BM_cuda_network_* (tools/gpu_check.sh
feedforward). Reports the minimum and median wall time and the minimum process CPU time of
--repeats timed runs after --warmup runs, as JSON on stdout.

Usage: /usr/bin/python3 bench/torch_transformer.py [--device cpu|cuda] [--tf32] [--threads 2]
           [--repeats 10] [--warmup 2] [--only forward,train,step] [--size 512] [--batch 4]
           [--train-size 256]
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


class Vgg16Features(nn.Module):
    """torchvision's vgg16().features up to relu4_3 (index 22), returning the four loss taps."""
    CFG = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512]
    TAPS = {3: 'relu1_2', 8: 'relu2_2', 15: 'relu3_3', 22: 'relu4_3'}

    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in self.CFG:
            if v == 'M':
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        for m in self.features:
            if isinstance(m, nn.Conv2d):  # He init keeps random activations of a sane size
                nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
                nn.init.zeros_(m.bias)
        for q in self.parameters():
            q.requires_grad_(False)

    def forward(self, x):
        out = {}
        for i, m in enumerate(self.features):
            x = m(x)
            if i in self.TAPS:
                out[self.TAPS[i]] = x
        return out


def gram_matrix(y):
    b, ch, h, w = y.size()
    f = y.view(b, ch, w * h)
    return f.bmm(f.transpose(1, 2)) / (ch * h * w)


def normalize_batch(batch):
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    return (batch / 255.0 - mean) / std


def timed(fn, warmup, repeats, sync):
    """[min wall, median wall, min process CPU] in seconds. On a shared machine the CPU time
    (all threads) is the steadier figure; compare it with nst_bench's CPU column at 1 thread.
    `sync` waits for queued device work (CUDA) inside each timed interval."""
    for _ in range(warmup):
        fn()
        sync()
    times, cpu = [], []
    for _ in range(repeats):
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(times), statistics.median(times), min(cpu)


def setup_torch(device, threads, tf32):
    """Threads, seed 0 and (CUDA) TF32 off unless asked, cuDNN autotuning; returns (device, sync),
    sync waiting for queued device work (a no-op on the CPU)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if device == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True
        return torch.device(device), torch.cuda.synchronize
    return torch.device(device), lambda: None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    ap.add_argument('--tf32', action='store_true', help='allow TF32 on CUDA (default off: fp32 as nst)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--only', default='forward,train',
                    help='comma-separated modes among forward, train, step (default: forward,train)')
    ap.add_argument('--size', type=int, default=512, help='inference image size')
    ap.add_argument('--batch', type=int, default=4, help='training batch')
    ap.add_argument('--train-size', type=int, default=256, help='training crop size')
    ap.add_argument('--style-size', type=int, default=256, help='style image size (step mode)')
    a = ap.parse_args()
    dev, sync = setup_torch(a.device, a.threads, a.tf32)
    net = TransformerNet().to(dev)
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == 1679235, n_params
    out = {'torch': torch.__version__, 'device': a.device, 'threads': a.threads}
    if a.device == 'cuda':
        out.update(gpu=torch.cuda.get_device_name(0), cudnn=torch.backends.cudnn.version(), tf32=a.tf32)
    modes = a.only.split(',')
    if not modes or any(m not in ('forward', 'train', 'step') for m in modes):
        ap.error(f'--only: expected modes among forward, train, step, got {a.only!r}')
    n, t = a.batch, a.train_size
    if 'forward' in modes:
        x = torch.rand(1, 3, a.size, a.size, device=dev) * 255

        def forward():
            with torch.no_grad():
                net(x)
        out[f'forward_{a.size}_s'] = timed(forward, a.warmup, a.repeats, sync)
    if 'train' in modes:
        xb = torch.rand(n, 3, t, t, device=dev) * 255

        def train():
            net.zero_grad(set_to_none=False)
            y = net(xb)
            (0.5 * (y * y).mean()).backward()
        out[f'train_b{n}_{t}_s'] = timed(train, a.warmup, a.repeats, sync)
    if 'step' in modes:
        vgg = Vgg16Features().to(dev)
        opt = torch.optim.Adam(net.parameters(), 1e-3)
        style = torch.rand(1, 3, a.style_size, a.style_size, device=dev) * 255
        with torch.no_grad():
            gram_style = {k: gram_matrix(v) for k, v in vgg(normalize_batch(style)).items()}
        xb = torch.rand(n, 3, t, t, device=dev) * 255
        content_weight, style_weight = 1e5, 1e10

        def step():
            opt.zero_grad()
            y = normalize_batch(net(xb))
            x = normalize_batch(xb)
            fy, fx = vgg(y), vgg(x)
            content = content_weight * F.mse_loss(fy['relu2_2'], fx['relu2_2'])
            style_loss = 0.
            for k, g in gram_style.items():
                style_loss = style_loss + F.mse_loss(gram_matrix(fy[k]), g.expand(n, -1, -1))
            (content + style_weight * style_loss).backward()
            opt.step()
        out[f'step_b{n}_{t}_s'] = timed(step, a.warmup, a.repeats, sync)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
