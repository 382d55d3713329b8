# SPDX-License-Identifier: MIT
"""The benchmark problem in PyTorch, shared by bench/torch_iteration.py (CPU) and
bench/torch_cuda_iteration.py (CUDA): VGG19's conv stack to relu5_1 with random He-normal
weights and no weight gradients, and jcjohnson's losses (content relu4_2 MSE x5,
Gram/(C*H*W) MSE x100 on relu1_1..relu5_1, TV 1e-3 * 0.5 * sum of squared differences)."""
import torch

CFG = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512]  # to conv5_1
STYLE_TAPS = {1: 'relu1_1', 6: 'relu2_1', 11: 'relu3_1', 20: 'relu4_1', 29: 'relu5_1'}
CONTENT_TAP = 22  # relu4_2


def make_net(device='cpu'):
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
    net = torch.nn.Sequential(*layers).eval().to(device)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


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


def targets(net, content, style):
    """Content target P at relu4_2 and the style Grams, without autograd."""
    with torch.no_grad():
        p = taps(net, content)[CONTENT_TAP].clone()
        grams = {i: gram(f) for i, f in taps(net, style).items() if i in STYLE_TAPS}
    return p, grams


def loss(net, img, p, grams):
    t = taps(net, img)
    total = 5 * torch.mean((t[CONTENT_TAP] - p) ** 2)
    for i in STYLE_TAPS:
        total = total + 100 * torch.mean((gram(t[i]) - grams[i]) ** 2)
    dx = img[:, :, :-1, :-1] - img[:, :, :-1, 1:]
    dy = img[:, :, :-1, :-1] - img[:, :, 1:, :-1]
    return total + 1e-3 * 0.5 * (dx.pow(2).sum() + dy.pow(2).sum())
