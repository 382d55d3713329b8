#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the inputs of tests/test_convert.cpp into OUT_DIR, with the real producers:

  torch.save of a torchvision-named VGG19 state dict (zip and legacy serialisations), of a
  Gatys-named one (vgg_conv.pth layout); small full-shape files of stride-0 tensors (a nested
  training checkpoint, a whole pickled model, pickle protocol 4, the oldest tensor pickling);
  Keras-layout .h5 files written with h5py (Keras 2 notop layout, Keras 1 names in a full-model
  file, Keras 3 layout without attributes); .caffemodel files written with python3-protobuf from
  src/convert/caffe_subset.proto (current `layer` and legacy V1 `layers`); a timm-style
  safetensors file; small wrong-architecture and wrong-shape checkpoints; an input x and the
  activations PyTorch computes for it (float64) as .npy. Also the feed-forward models of
  tests/test_convert_transformer.cpp and tests/test_convert_adain.cpp (write_adain: ~28 MB).

All full files hold the same float32 VGG19 weights (some tensors stored as float16, bfloat16 or
float64 with values exactly representable, some non-contiguous or at a storage offset), so every
conversion must give the same network. Run with Debian's /usr/bin/python3 (python3-torch,
python3-h5py, python3-protobuf, protobuf-compiler). Files are made once: a stamp holding this
script's and the schema's hash makes later runs (one per test process) return at once; a lock
serialises concurrent test processes.

Usage: make_convert_inputs.py OUT_DIR
"""
import argparse
import collections
import copy
import fcntl
import hashlib
import json
import os
import pickle
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "src", "convert", "caffe_subset.proto")

# VGG19 configuration E: channels per conv, "M" for a pool (torchvision's features layout).
CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
BLOCKS = [2, 2, 4, 4, 4]
# Layers whose activations are compared; x is 40 x 48, so relu5_4 is 2 x 3.
LAYERS = ["relu1_1", "conv2_1", "relu3_1", "pool3", "relu4_2", "relu5_4", "pool5"]
H, W = 40, 48


def conv_names():
    return ["conv%d_%d" % (b + 1, i + 1) for b, n in enumerate(BLOCKS) for i in range(n)]


def conv_indices(cfg):
    """torchvision's features index of each conv: conv and ReLU take two slots, a pool one."""
    out, k = [], 0
    for v in cfg:
        if v == "M":
            k += 1
        else:
            out.append(k)
            k += 2
    return out


def stamp_text():
    h = hashlib.sha256()
    for p in (os.path.abspath(__file__), PROTO):
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def weights(torch):
    """Canonical float32 weights: He-normal kernels, small random biases, some values rounded so
    that their float16 / bfloat16 copies are exact."""
    g = torch.Generator().manual_seed(1234)
    out = collections.OrderedDict()
    cin = 3
    for name, cout in zip(conv_names(), [v for v in CFG if v != "M"]):
        std = (2.0 / (cout * 9)) ** 0.5
        out[name + ".weight"] = torch.randn(cout, cin, 3, 3, generator=g) * std
        out[name + ".bias"] = torch.randn(cout, generator=g) * 0.05
        cin = cout
    out["conv1_2.bias"] = out["conv1_2.bias"].half().float()
    out["conv3_1.bias"] = out["conv3_1.bias"].bfloat16().float()
    out["conv2_1.weight"] = out["conv2_1.weight"].half().float()
    return out


def torchvision_dict(torch, w, exotic):
    """features.N names; with exotic storage: dtypes, strides and offsets as torch.save keeps them."""
    sd = collections.OrderedDict()
    for k, name in zip(conv_indices(CFG), conv_names()):
        sd["features.%d.weight" % k] = w[name + ".weight"].clone()
        sd["features.%d.bias" % k] = w[name + ".bias"].clone()
    if exotic:
        w0 = w["conv1_1.weight"]
        sd["features.0.weight"] = w0.transpose(0, 1).contiguous().transpose(0, 1)  # strides (9, 576, 3, 1)
        assert not sd["features.0.weight"].is_contiguous()
        big = torch.zeros(100 + 64)
        big[100:] = w["conv1_1.bias"]
        sd["features.0.bias"] = big[100:]  # storage offset 100 in a 164-element storage
        sd["features.2.bias"] = w["conv1_2.bias"].half()
        sd["features.5.weight"] = w["conv2_1.weight"].half()
        sd["features.10.bias"] = w["conv3_1.bias"].bfloat16()
        sd["features.7.weight"] = w["conv2_2.weight"].double()
        sd["features.34.bias"] = w["conv5_4.bias"].double()
        sd["extra.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    sd["classifier.6.weight"] = torch.ones(10, 20)  # stands in for the 500 MB classifier
    sd["classifier.6.bias"] = torch.zeros(10)
    return sd


def vgg_features(torch, cfg):
    layers, cin = [], 3
    for v in cfg:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2, 2))
        else:
            layers += [torch.nn.Conv2d(cin, v, 3, padding=1), torch.nn.ReLU(inplace=False)]
            cin = v
    return torch.nn.Sequential(*layers)


def reference(torch, w, out):
    """Input x and PyTorch's activations (float64 network) at LAYERS, by nst's layer names."""
    g = torch.Generator().manual_seed(99)
    x = torch.randn(1, 3, H, W, generator=g, dtype=torch.float64) * 40.0
    import numpy as np
    np.save(os.path.join(out, "x.npy"), x.float().numpy())
    x = x.float().double()  # the network sees exactly the float32 input nst reads
    names = {}
    k = 0
    for b, n in enumerate(BLOCKS):
        for i in range(n):
            names[k] = "conv%d_%d" % (b + 1, i + 1)
            names[k + 1] = "relu%d_%d" % (b + 1, i + 1)
            k += 2
        names[k] = "pool%d" % (b + 1)
        k += 1
    feats = vgg_features(torch, CFG).double()
    ci = 0
    with torch.no_grad():
        for k, layer in enumerate(feats):
            if isinstance(layer, torch.nn.Conv2d):
                name = conv_names()[ci]
                layer.weight.copy_(w[name + ".weight"].double())
                layer.bias.copy_(w[name + ".bias"].double())
                ci += 1
        h = x
        for k, layer in enumerate(feats):
            h = layer(h)
            if names[k] in LAYERS:
                np.save(os.path.join(out, "ref_%s.npy" % names[k]), h.numpy())


def write_keras(h5py, np, w, path, layout):
    """layout: 'notop' (Keras 2 save_weights: root layer_names, weight_names kernel:0/bias:0),
    'model' (model.save: model_weights/, Keras 1 names W_1:0/b_1:0, optimizer_weights decoys),
    'keras3' (layers/<name>/vars/0|1, no attributes)."""
    with h5py.File(path, "w", libver="earliest") as f:
        layer_names = []
        root = f
        if layout == "model":
            root = f.create_group("model_weights")
            opt = f.create_group("optimizer_weights/training/Adam/block1_conv1")
            opt.create_dataset("kernel_m:0", data=np.zeros((3, 3, 3, 64), np.float32))
        if layout != "keras3":
            root.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
            layer_names.append("input_1")
        ci = 0
        for b, n in enumerate(BLOCKS):
            for i in range(n):
                name = "block%d_conv%d" % (b + 1, i + 1)
                canon = conv_names()[ci]
                ci += 1
                kernel = w[canon + ".weight"].numpy().transpose(2, 3, 1, 0)  # OIHW -> HWIO
                bias = w[canon + ".bias"].numpy()
                if layout == "keras3":
                    g = f.create_group("layers/%s/vars" % name)
                    g.create_dataset("0", data=kernel)
                    g.create_dataset("1", data=bias)
                    continue
                g = root.create_group(name)
                if layout == "notop":
                    wn = [name + "/kernel:0", name + "/bias:0"]
                else:
                    wn = [name + "_W_1:0", name + "_b_1:0"]
                g.attrs["weight_names"] = np.array([s.encode() for s in wn])
                g.create_dataset(wn[0], data=kernel)
                g.create_dataset(wn[1], data=bias)
                layer_names.append(name)
            if layout != "keras3":
                root.create_group("block%d_pool" % (b + 1)).attrs["weight_names"] = np.array([], dtype="S1")
                layer_names.append("block%d_pool" % (b + 1))
        if layout != "keras3":
            root.attrs["layer_names"] = np.array([s.encode() for s in layer_names])
            root.attrs["backend"] = b"tensorflow"
            root.attrs["keras_version"] = b"2.2.4" if layout == "notop" else b"1.2.2"


def write_caffe(pb, w, path, legacy):
    """legacy=False: NetParameter.layer (type strings, BlobShape); True: NetParameter.layers (V1
    enum types, num/channels/height/width dims, bias (1, 1, 1, O), conv5_4's bias as double_data)."""
    net = pb.NetParameter()
    net.name = "VGG_ILSVRC_19_layers"
    V1 = pb.V1LayerParameter
    ci = 0
    for b, n in enumerate(BLOCKS):
        for i in range(n):
            name = conv_names()[ci]
            ci += 1
            wt = w[name + ".weight"].numpy()
            bs = w[name + ".bias"].numpy()
            if legacy:
                L = net.layers.add()
                L.name, L.type = name, V1.CONVOLUTION
                L.bottom.append("data")
                L.top.append(name)
                blob = L.blobs.add()
                blob.num, blob.channels, blob.height, blob.width = wt.shape
                blob.data.extend(wt.ravel().tolist())
                blob = L.blobs.add()
                blob.num, blob.channels, blob.height, blob.width = 1, 1, 1, bs.shape[0]
                if name == "conv5_4":
                    blob.double_data.extend(bs.astype("float64").ravel().tolist())
                else:
                    blob.data.extend(bs.ravel().tolist())
                R = net.layers.add()
                R.name, R.type = "relu" + name[4:], V1.RELU
            else:
                L = net.layer.add()
                L.name, L.type = name, "Convolution"
                blob = L.blobs.add()
                blob.shape.dim.extend(list(wt.shape))
                blob.data.extend(wt.ravel().tolist())
                blob = L.blobs.add()
                blob.shape.dim.extend([bs.shape[0]])
                blob.data.extend(bs.ravel().tolist())
                R = net.layer.add()
                R.name, R.type = "relu" + name[4:], "ReLU"
        if legacy:
            P = net.layers.add()
            P.name, P.type = "pool%d" % (b + 1), V1.POOLING
        else:
            P = net.layer.add()
            P.name, P.type = "pool%d" % (b + 1), "Pooling"
    # A small fully connected layer with weights, as the real file has (fc6 is 400 MB there).
    if legacy:
        F = net.layers.add()
        F.name, F.type = "fc6", V1.INNER_PRODUCT
    else:
        F = net.layer.add()
        F.name, F.type = "fc6", "InnerProduct"
    blob = F.blobs.add()
    blob.data.extend([0.5] * 12)
    if not legacy:
        blob.shape.dim.extend([3, 4])
    with open(path, "wb") as f:
        f.write(net.SerializeToString())


def write_safetensors(path, tensors, metadata):
    """A safetensors file written by hand (the format is 8 bytes + JSON + raw little-endian data),
    so that the test does not depend on the safetensors package."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, arr) in tensors.items():
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def write_oldest_legacy(path, shapes, value):
    """A legacy checkpoint as the first torch versions wrote it, opcode by opcode: every tensor is
    torch.FloatTensor() (NEWOBJ) with state (storage, offset, size, stride) set by BUILD. All
    tensors are stride-0 views of one 1-element storage."""
    def uni(s):
        b = s.encode()
        return b"X" + struct.pack("<I", len(b)) + b

    def ints(v):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in v) + b"t"

    magic = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)
    proto = pickle.dumps(1001, protocol=2)
    info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    obj = b"\x80\x02}("
    for name, shape in shapes.items():
        pid = b"(" + uni("storage") + b"ctorch\nFloatStorage\n" + uni("1") + uni("cpu") + b"K\x01Nt"
        obj += uni(name) + b"ctorch\nFloatTensor\n)\x81(" + pid + b"QK\x00" + ints(shape) + ints([0] * len(shape)) + b"tb"
    obj += b"u."
    keys = pickle.dumps(["1"], protocol=2)
    with open(path, "wb") as f:
        f.write(magic + proto + info + obj + keys + struct.pack("<q", 1) + struct.pack("<f", value))


def small_dict(torch, cfg, bn=False):
    """Tiny tensors in another network's layout: the architecture check comes before shapes."""
    sd = collections.OrderedDict()
    for k in conv_indices(cfg):
        sd["features.%d.weight" % k] = torch.zeros(2, 2, 3, 3)
        sd["features.%d.bias" % k] = torch.zeros(2)
        if bn:
            sd["features.%d.weight" % (k + 1)] = torch.ones(2)
            sd["features.%d.running_mean" % (k + 1)] = torch.zeros(2)
    return sd


# --- feed-forward models and VGG16 (tests/test_convert_transformer.cpp) -------------------------

# Sizes that are multiples of 4 keep the output the input's size (4 ceil(ceil(H/2)/2)).
TN_H, TN_W = 28, 36


def transformer_net(torch):
    """pytorch/examples fast_neural_style's TransformerNet (transformer_net.py), module for module,
    so that state_dict() gives the released files' keys: ConvLayer = ReflectionPad2d(k // 2) +
    Conv2d; InstanceNorm2d(affine=True); ResidualBlock without a ReLU after the add;
    UpsampleConvLayer = nearest interpolate x2 + ConvLayer."""
    nn, F = torch.nn, torch.nn.functional

    class ConvLayer(nn.Module):
        def __init__(self, cin, cout, k, stride, upsample=None):
            super().__init__()
            self.upsample = upsample
            self.reflection_pad = nn.ReflectionPad2d(k // 2)
            self.conv2d = nn.Conv2d(cin, cout, k, stride)

        def forward(self, x):
            if self.upsample:
                x = F.interpolate(x, mode="nearest", scale_factor=self.upsample)
            return self.conv2d(self.reflection_pad(x))

    class ResidualBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = ConvLayer(c, c, 3, 1)
            self.in1 = nn.InstanceNorm2d(c, affine=True)
            self.conv2 = ConvLayer(c, c, 3, 1)
            self.in2 = nn.InstanceNorm2d(c, affine=True)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.in2(self.conv2(self.relu(self.in1(self.conv1(x))))) + x

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
            self.deconv1 = ConvLayer(128, 64, 3, 1, upsample=2)
            self.in4 = nn.InstanceNorm2d(64, affine=True)
            self.deconv2 = ConvLayer(64, 32, 3, 1, upsample=2)
            self.in5 = nn.InstanceNorm2d(32, affine=True)
            self.deconv3 = ConvLayer(32, 3, 9, 1)
            self.relu = nn.ReLU()

        def forward(self, x):
            y = self.relu(self.in1(self.conv1(x)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.relu(self.in3(self.conv3(y)))
            y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
            y = self.relu(self.in4(self.deconv1(y)))
            y = self.relu(self.in5(self.deconv2(y)))
            return self.deconv3(y)

    return TransformerNet()


def write_transformer(torch, np, out):
    """TransformerNet checkpoints as pytorch/examples users have them: the legacy serialisation
    with the pre-0.4 running_mean / running_var keys (30 of them, set to values that would change
    the output if they were used), and the zip one (a .model file, as neural_style.py train names
    it); PyTorch's output (float64 network, eval mode) on a small image; broken variants."""
    torch.manual_seed(4321)
    net = transformer_net(torch)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if ".in" in "." + name or name.startswith("in"):
                # Non-trivial affine parameters, so that a loader mixing up weight and bias shows.
                p.copy_(1.0 + 0.3 * torch.randn(p.shape) if name.endswith("weight") else 0.2 * torch.randn(p.shape))
    net.eval()
    sd = net.state_dict()
    legacy = collections.OrderedDict()
    for k, v in sd.items():
        legacy[k] = v.clone()
        if k.endswith(".weight") and (k.startswith("in") or ".in" in k):
            base = k[: -len("weight")]
            legacy[base + "running_mean"] = torch.full(v.shape, 5.0)
            legacy[base + "running_var"] = torch.full(v.shape, 100.0)
    assert sum(1 for k in legacy if "running_" in k) == 30
    torch.save(legacy, os.path.join(out, "tn_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(sd, os.path.join(out, "tn_zip.model"))

    g = torch.Generator().manual_seed(7)
    x = (torch.rand(1, 3, TN_H, TN_W, generator=g, dtype=torch.float64) * 255.0).float()
    np.save(os.path.join(out, "tn_x.npy"), x.numpy())
    with torch.no_grad():
        y = net.double()(x.double())
    np.save(os.path.join(out, "tn_ref.npy"), y.numpy())

    # Broken variants (zip): a missing key, a wrong shape, an unexpected tensor.
    missing = collections.OrderedDict((k, v) for k, v in sd.items() if k != "res3.in2.bias")
    torch.save(missing, os.path.join(out, "tn_missing_zip.pth"))
    wrong = collections.OrderedDict(sd)
    wrong["res2.conv1.conv2d.weight"] = torch.zeros(1).expand(128, 128, 5, 5)
    torch.save(wrong, os.path.join(out, "tn_wrong_shape_zip.pth"))
    extra = collections.OrderedDict(sd)
    extra["style_embedding.weight"] = torch.zeros(4, 4)
    torch.save(extra, os.path.join(out, "tn_extra_zip.pth"))


def write_vgg16(torch, np, pb, out):
    """VGG16 as torchvision saves it (features.N, zip) and as Caffe's VGG_ILSVRC_16_layers names
    it (conv1_1 ...): every tensor a constant that says which conv and which parameter it is
    (conv k: weight k + 1, bias -(k + 1) / 8), so a mapping that swaps layers shows. The torch file
    uses stride-0 tensors (tiny file), the Caffe file holds the full 14.7 M values."""
    names = ["conv%d_%d" % (b + 1, i + 1) for b, n in enumerate([2, 2, 3, 3, 3]) for i in range(n)]
    chans = [v for v in VGG16 if v != "M"]
    sd = collections.OrderedDict()
    net = pb.NetParameter()
    net.name = "VGG_ILSVRC_16_layers"
    cin = 3
    for k, (idx, name, cout) in enumerate(zip(conv_indices(VGG16), names, chans)):
        sd["features.%d.weight" % idx] = torch.full((1,), float(k + 1)).expand(cout, cin, 3, 3)
        sd["features.%d.bias" % idx] = torch.full((1,), -(k + 1) / 8.0).expand(cout)
        L = net.layer.add()
        L.name, L.type = name, "Convolution"
        blob = L.blobs.add()
        blob.shape.dim.extend([cout, cin, 3, 3])
        blob.data.extend(np.full(cout * cin * 9, float(k + 1), np.float32))
        blob = L.blobs.add()
        blob.shape.dim.extend([cout])
        blob.data.extend(np.full(cout, -(k + 1) / 8.0, np.float32))
        cin = cout
    sd["classifier.0.weight"] = torch.zeros(1).expand(4096, 25088)
    torch.save(sd, os.path.join(out, "vgg16_tv_zip.pth"))
    with open(os.path.join(out, "VGG_ILSVRC_16_layers.caffemodel"), "wb") as f:
        f.write(net.SerializeToString())


# --- jcjohnson/fast-neural-style .t7 (Torch7 serialisation, written by hand) ----------------------

class T7Module:
    """A Torch class instance: its class name and its fields (written as one table)."""
    def __init__(self, cls, **fields):
        self.cls, self.fields = cls, fields


class T7Tensor:
    """A torch.FloatTensor view: sizes, strides, 0-based storage offset, storage (T7Storage)."""
    def __init__(self, size, stride, offset, storage):
        self.size, self.stride, self.offset, self.storage = size, stride, offset, storage


class T7Storage:
    def __init__(self, values):
        self.values = values  # float32 numpy array


class T7Writer:
    """Torch7's binary torch.save (File.lua writeObject): int32 type tags, float64 numbers,
    int32-length strings, tables and torch objects with reference indices (an object written
    twice is written once, then by index), tensors as nDimension, int64 sizes, strides, 1-based
    offset and a storage object, storages as an int64 count and raw float32."""

    def __init__(self):
        self.buf = bytearray()
        self.index = 0
        self.seen = {}
        self.keep = []  # written objects stay alive, so that no later object reuses their id()

    def i32(self, v):
        self.buf += struct.pack("<i", v)

    def string(self, s):
        b = s.encode()
        self.i32(len(b))
        self.buf += b

    def obj(self, v):
        if v is None:
            self.i32(0)
        elif isinstance(v, bool):
            self.i32(5)
            self.i32(1 if v else 0)
        elif isinstance(v, (int, float)):
            self.i32(1)
            self.buf += struct.pack("<d", float(v))
        elif isinstance(v, str):
            self.i32(2)
            self.string(v)
        else:
            torch_obj = isinstance(v, (T7Module, T7Tensor, T7Storage))
            self.i32(4 if torch_obj else 3)
            if id(v) in self.seen:
                self.i32(self.seen[id(v)])
                return
            self.index += 1
            self.seen[id(v)] = self.index
            self.keep.append(v)
            self.i32(self.index)
            if isinstance(v, T7Tensor):
                self.string("V 1")
                self.string("torch.FloatTensor")
                self.i32(len(v.size))
                self.buf += struct.pack("<%dq" % len(v.size), *v.size)
                self.buf += struct.pack("<%dq" % len(v.stride), *v.stride)
                self.buf += struct.pack("<q", v.offset + 1)
                self.obj(v.storage)
            elif isinstance(v, T7Storage):
                self.string("V 1")
                self.string("torch.FloatStorage")
                self.buf += struct.pack("<q", v.values.size)
                self.buf += v.values.astype("<f4").tobytes()
            elif isinstance(v, T7Module):
                self.string("V 1")
                self.string(v.cls)
                self.obj(dict(v.fields))
            else:
                items = list(v.items()) if isinstance(v, dict) else [(i + 1, x) for i, x in enumerate(v)]
                self.i32(len(items))
                for k, x in items:
                    self.obj(k)
                    self.obj(x)


def t7_tensor(a, offset=0):
    import numpy as np
    a = np.ascontiguousarray(a, dtype=np.float32)
    stride, acc = [], 1
    for d in reversed(a.shape):
        stride.insert(0, acc)
        acc *= d
    storage = np.concatenate([np.full(offset, 7.0, np.float32), a.ravel()])
    return T7Tensor(list(a.shape), stride, offset, T7Storage(storage))


def write_jcjohnson(torch, np, out):
    """A half-width instance-norm model as fast-neural-style saves it ({model = nn.Sequential,
    opt = {...}}, modules with their usual fields, shared empty buffers, the InstanceNormalization
    inner SpatialBatchNormalization, one weight at a storage offset), and PyTorch's output of the
    same network (float64, F ops from docs/research/feedforward.md §2) on a small caffe-space image."""
    F = torch.nn.functional
    g = torch.Generator().manual_seed(2024)
    w1, w2, w3 = 16, 32, 64
    P = {}
    empty = T7Tensor([], [], 0, None)

    def conv(name, o, i, k, stride, pad, transposed=False):
        fan = (o if transposed else i) * k * k
        shape = (i, o, k, k) if transposed else (o, i, k, k)
        w = (torch.rand(shape, generator=g) * 2 - 1) / fan ** 0.5
        b = (torch.rand(o, generator=g) * 2 - 1) / fan ** 0.5
        P[name] = (w, b)
        fields = dict(nInputPlane=i, nOutputPlane=o, kW=k, kH=k, dW=stride, dH=stride, padW=pad, padH=pad,
                      weight=t7_tensor(w.numpy(), offset=5 if name == "1" else 0), bias=t7_tensor(b.numpy()),
                      gradWeight=empty, gradBias=empty, output=empty, gradInput=empty, train=True,
                      _type="torch.FloatTensor")
        if transposed:
            fields.update(adjW=1, adjH=1)
            return T7Module("nn.SpatialFullConvolution", **fields)
        return T7Module("nn.SpatialConvolution", **fields)

    def norm(name, c):
        w = torch.rand(c, generator=g) + 0.5
        b = torch.rand(c, generator=g) - 0.5
        P[name + "n"] = (w, b)
        bn = T7Module("nn.SpatialBatchNormalization", eps=1e-5, momentum=0.1, affine=False,
                      running_mean=t7_tensor(np.zeros(c)), running_var=t7_tensor(np.ones(c)), train=True)
        return T7Module("nn.InstanceNormalization", nOutput=c, eps=1e-5, weight=t7_tensor(w.numpy()),
                        bias=t7_tensor(b.numpy()), gradWeight=empty, gradBias=empty, bn=bn, output=empty)

    relu = lambda: T7Module("nn.ReLU", inplace=False, threshold=0, val=0, output=empty, gradInput=empty)
    mods = [T7Module("nn.SpatialReflectionPadding", pad_l=40, pad_r=40, pad_t=40, pad_b=40, output=empty)]
    mods += [conv("0", w1, 3, 9, 1, 4), norm("0", w1), relu()]
    mods += [conv("1", w2, w1, 3, 2, 1), norm("1", w2), relu()]
    mods += [conv("2", w3, w2, 3, 2, 1), norm("2", w3), relu()]
    for t in range(3, 8):
        branch = T7Module("nn.Sequential", modules=[conv(f"{t}a", w3, w3, 3, 1, 0), norm(f"{t}a", w3), relu(),
                                                     conv(f"{t}b", w3, w3, 3, 1, 0), norm(f"{t}b", w3)])
        concat = T7Module("nn.ConcatTable", modules=[branch, T7Module("nn.ShaveImage", size=2)])
        mods.append(T7Module("nn.Sequential", modules=[concat, T7Module("nn.CAddTable", inplace=False)]))
    mods += [conv("8", w2, w3, 3, 2, 1, transposed=True), norm("8", w2), relu()]
    mods += [conv("9", w1, w2, 3, 2, 1, transposed=True), norm("9", w1), relu()]
    mods += [conv("10", 3, w1, 9, 1, 4), T7Module("nn.Tanh"), T7Module("nn.MulConstant", constant_scalar=150.0),
             T7Module("nn.TotalVariation", strength=1e-6)]
    model = T7Module("nn.Sequential", modules=mods, output=empty, train=False)
    opt = {"arch": "c9s1-16,d32,d64,R64,R64,R64,R64,R64,u32,u16,c9s1-3", "preprocessing": "vgg",
           "padding_type": "reflect-start", "use_instance_norm": 1, "tanh_constant": 150}
    w = T7Writer()
    w.obj({"model": model, "opt": opt, "train_loss_history": [1.5, 1.25]})
    with open(os.path.join(out, "jc_in.t7"), "wb") as f:
        f.write(bytes(w.buf))
    # The same model with a BatchNorm layer (the eccv16 kind) is refused.
    mods_bn = list(mods)
    mods_bn[2] = T7Module("nn.SpatialBatchNormalization", eps=1e-5, weight=t7_tensor(np.ones(w1)),
                          bias=t7_tensor(np.zeros(w1)))
    w = T7Writer()
    w.obj({"model": T7Module("nn.Sequential", modules=mods_bn), "opt": opt})
    with open(os.path.join(out, "jc_bn.t7"), "wb") as f:
        f.write(bytes(w.buf))

    def fconv(h, name, stride, pad):
        wt, b = P[name]
        return F.conv2d(h, wt.double(), b.double(), stride=stride, padding=pad)

    def fnorm(h, name):
        wt, b = P[name + "n"]
        return F.instance_norm(h, weight=wt.double(), bias=b.double(), eps=1e-5)

    x = (torch.rand(1, 3, 44, 52, generator=g, dtype=torch.float64) * 255 - 120).float()
    np.save(os.path.join(out, "jc_x.npy"), x.numpy())
    h = F.pad(x.double(), (40,) * 4, mode="reflect")
    h = F.relu(fnorm(fconv(h, "0", 1, 4), "0"))
    h = F.relu(fnorm(fconv(h, "1", 2, 1), "1"))
    h = F.relu(fnorm(fconv(h, "2", 2, 1), "2"))
    for t in range(3, 8):
        r = h[:, :, 2:-2, 2:-2]
        h = F.relu(fnorm(fconv(h, f"{t}a", 1, 0), f"{t}a"))
        h = fnorm(fconv(h, f"{t}b", 1, 0), f"{t}b") + r
    for t in ("8", "9"):
        wt, b = P[t]
        h = F.conv_transpose2d(h, wt.double(), b.double(), stride=2, padding=1, output_padding=1)
        h = F.relu(fnorm(h, t))
    y = 150.0 * torch.tanh(fconv(h, "10", 1, 4))
    np.save(os.path.join(out, "jc_ref.npy"), y.numpy())


# --- pytorch-AdaIN's encoder and decoder (tests/test_convert_adain.cpp) -------------------------

ADAIN_X = (25, 29)     # encoder input: odd sizes, so the ceil-mode pools round up (relu4_1 4 x 4)
ADAIN_F = (3, 4)       # decoder input (512 channels): output 24 x 32


def adain_nets(torch):
    """naoto0804/pytorch-AdaIN's net.py Sequentials, module for module: the 53-module encoder
    `vgg` and the 29-module `decoder`."""
    nn = torch.nn

    def pad_conv(i, o):
        return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(i, o, (3, 3))]

    enc = [nn.Conv2d(3, 3, (1, 1))]
    channels = 3
    for block, (n, c) in enumerate(zip([2, 2, 4, 4, 4], [64, 128, 256, 512, 512])):
        for _ in range(n):
            enc += pad_conv(channels, c) + [nn.ReLU()]
            channels = c
        if block < 4:
            enc.append(nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True))
    dec = []
    for i, o, up in [(512, 256, True), (256, 256, False), (256, 256, False), (256, 256, False),
                     (256, 128, True), (128, 128, False), (128, 64, True), (64, 64, False)]:
        dec += pad_conv(i, o) + [nn.ReLU()]
        if up:
            dec.append(nn.Upsample(scale_factor=2, mode="nearest"))
    dec += pad_conv(64, 3)
    vgg, decoder = nn.Sequential(*enc), nn.Sequential(*dec)
    assert len(vgg) == 53 and len(decoder) == 29
    return vgg, decoder


ADAIN_STYLIZE = {"content": (32, 40), "style": (24, 32), "alpha": 0.7, "last_gain": 0.01}


def write_png(path, rgb):
    """An 8-bit RGB PNG of rgb (H, W, 3) uint8, with zlib alone (no imaging library needed)."""
    import zlib
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def adain_stylize_reference(torch, np, vgg, decoder, out):
    """pytorch-AdaIN's test.py on two PNGs (content_size = style_size = 0, no crop; sizes multiples of
    8, so nst's output is the port's), float64: style_transfer(vgg[:31], decoder, content, style,
    alpha) with function.py's calc_mean_std (unbiased variance + 1e-5) and AdaIN; saved as the port
    saves (save_image clamps to [0, 1]) into adain_stylized_ref.npy, float32 (1, 3, H, W)."""
    g = np.random.default_rng(13)
    imgs = {}
    for name, (h, w) in (("content", ADAIN_STYLIZE["content"]), ("style", ADAIN_STYLIZE["style"])):
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([np.sin(0.3 * x + c) * np.cos(0.2 * y - c) for c in range(3)], axis=-1)
        rgb = np.clip(127.5 + 90 * base + g.uniform(-30, 30, (h, w, 3)), 0, 255).astype(np.uint8)
        write_png(os.path.join(out, "adain_%s.png" % name), rgb)
        # ToTensor: uint8 / 255 in float32, (1, 3, H, W).
        imgs[name] = torch.from_numpy((rgb.astype(np.float32) / 255).transpose(2, 0, 1).copy())[None].double()

    def calc_mean_std(feat, eps=1e-5):
        n, c = feat.size()[:2]
        var = feat.view(n, c, -1).var(dim=2) + eps
        return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)

    with torch.no_grad():
        enc, dec = vgg[:31].double(), decoder.double()
        cf, sf = enc(imgs["content"]), enc(imgs["style"])
        sm, ss = calc_mean_std(sf)
        cm, cs = calc_mean_std(cf)
        t = (cf - cm) / cs * ss + sm
        a = ADAIN_STYLIZE["alpha"]
        y = dec(t * a + cf * (1 - a)).clamp(0, 1)
    np.save(os.path.join(out, "adain_stylized_ref.npy"), y.float().numpy())


def write_adain(torch, np, out):
    """vgg_normalised.pth as the port ships it (all 53 modules' keys; the preprocessing conv set
    as AdaIN-style's getPreprocessConv; vgg[31:]'s tensors stored at full shape with stride 0,
    which costs nothing, as the port never runs them) and decoder.pth, PyTorch's outputs (float64)
    of vgg[:31] on an image in [0, 1] and of the decoder on a 512-channel feature, the port's
    stylised output of two PNGs (adain_stylize_reference), and broken variants (small stride-0
    files). The conv weights are torch's default init times sqrt(6) (He's variance; the decoder's
    last conv times ADAIN_STYLIZE["last_gain"] instead): with the default init alone the
    activations are bias-dominated (about 200 of relu4_1's 512 channels constant) and the decoded
    image within +-0.03 of 0, which would make the stylised-output comparison nearly vacuous."""
    import math
    torch.manual_seed(1703)
    vgg, decoder = adain_nets(torch)
    with torch.no_grad():
        w = torch.zeros(3, 3, 1, 1)
        w[0, 2, 0, 0] = w[1, 1, 0, 0] = w[2, 0, 0, 0] = 255.0
        vgg[0].weight.copy_(w)
        vgg[0].bias.copy_(-torch.tensor([103.939, 116.779, 123.68]))
        for mod in list(vgg)[1:31] + list(decoder)[:-1]:
            if isinstance(mod, torch.nn.Conv2d):
                mod.weight.mul_(math.sqrt(6.0))
        decoder[28].weight.mul_(ADAIN_STYLIZE["last_gain"])
    sd = collections.OrderedDict()
    g44 = torch.Generator().manual_seed(44)
    for k, v in vgg.state_dict().items():
        i = int(k.split(".")[0])
        if i < 31:
            sd[k] = v
        elif i < 44 and k.endswith(".weight"):
            # conv4_2 .. conv5_1 (vgg[:44], WCT's relu5_1 encoder): one random value per output
            # channel, stride 0 over the rest (small file; channel order still visible).
            sd[k] = (torch.rand(v.shape[0], 1, 1, 1, generator=g44) * 0.01).expand(v.shape)
        elif i < 44:
            sd[k] = torch.rand(v.shape, generator=g44) * 0.1 - 0.05
        else:
            sd[k] = torch.full((1,), 0.01).expand(v.shape)
    assert len(sd) == 34
    torch.save(sd, os.path.join(out, "adain_vgg_normalised.pth"))
    dsd = decoder.state_dict()
    torch.save(dsd, os.path.join(out, "adain_decoder.pth"))

    g = torch.Generator().manual_seed(11)
    x = torch.rand(1, 3, *ADAIN_X, generator=g, dtype=torch.float64).float()
    f = torch.rand(1, 512, *ADAIN_F, generator=g, dtype=torch.float64).float()
    np.save(os.path.join(out, "adain_x.npy"), x.numpy())
    np.save(os.path.join(out, "adain_f.npy"), f.numpy())
    with torch.no_grad():
        np.save(os.path.join(out, "adain_enc_ref.npy"), vgg[:31].double()(x.double()).numpy())
        # vgg[:44], to relu5_1: `--arch vgg-normalised` for WCT (tests/test_convert_wct.cpp),
        # with the file's values of conv4_2 .. conv5_1.
        vgg44 = copy.deepcopy(vgg[:44]).double()
        vgg44.load_state_dict({k: v for k, v in sd.items() if int(k.split(".")[0]) < 44})
        np.save(os.path.join(out, "adain_enc44_ref.npy"), vgg44(x.double()).numpy())
        np.save(os.path.join(out, "adain_dec_ref.npy"), decoder.double()(f.double()).numpy())
    adain_stylize_reference(torch, np, vgg, decoder, out)

    cheap = collections.OrderedDict((k, torch.full((1,), 0.01).expand(v.shape)) for k, v in dsd.items())
    missing = collections.OrderedDict((k, v) for k, v in cheap.items() if k != "14.bias")
    torch.save(missing, os.path.join(out, "adain_dec_missing.pth"))
    extra = collections.OrderedDict(cheap)
    extra["30.weight"] = torch.zeros(1).expand(3, 3, 3, 3)
    torch.save(extra, os.path.join(out, "adain_dec_extra.pth"))
    echeap = collections.OrderedDict((k, torch.full((1,), 0.01).expand(v.shape)) for k, v in sd.items())
    wrong = collections.OrderedDict(echeap)
    wrong["29.weight"] = torch.zeros(1).expand(512, 256, 1, 1)
    torch.save(wrong, os.path.join(out, "adain_enc_wrong_shape.pth"))
    # A first conv of the wrong shape hides what the file is: only --arch tells.
    wrong = collections.OrderedDict(echeap)
    wrong["0.weight"] = torch.zeros(1).expand(3, 3, 3, 3)
    torch.save(wrong, os.path.join(out, "adain_enc_wrong_first.pth"))


def generate(out):
    import numpy as np
    import torch
    import h5py

    subprocess.run(["protoc", "--python_out=" + out, "-I", os.path.dirname(PROTO), PROTO], check=True)
    sys.path.insert(0, out)
    import caffe_subset_pb2 as pb

    w = weights(torch)
    reference(torch, w, out)

    tv = torchvision_dict(torch, w, exotic=True)
    torch.save(tv, os.path.join(out, "tv_zip.pth"))
    torch.save(tv, os.path.join(out, "tv_legacy.pth"), _use_new_zipfile_serialization=False)
    gatys = collections.OrderedDict((k, v.clone()) for k, v in w.items())
    torch.save(gatys, os.path.join(out, "vgg_conv_legacy.pth"), _use_new_zipfile_serialization=False)

    write_keras(h5py, np, w, os.path.join(out, "keras_notop.h5"), "notop")
    write_keras(h5py, np, w, os.path.join(out, "keras_model.h5"), "model")
    write_keras(h5py, np, w, os.path.join(out, "keras3.weights.h5"), "keras3")
    write_caffe(pb, w, os.path.join(out, "vgg_layer.caffemodel"), legacy=False)
    write_caffe(pb, w, os.path.join(out, "vgg_layers_v1.caffemodel"), legacy=True)
    # Small files of the same layouts (tiny kernels: wrong shapes), for corruption fuzzing.
    tiny = collections.OrderedDict()
    for name in conv_names():
        tiny[name + ".weight"] = torch.randn(2, 2, 3, 3)
        tiny[name + ".bias"] = torch.randn(2)
    write_caffe(pb, tiny, os.path.join(out, "tiny_layer.caffemodel"), legacy=False)
    write_caffe(pb, tiny, os.path.join(out, "tiny_layers_v1.caffemodel"), legacy=True)
    write_keras(h5py, np, tiny, os.path.join(out, "tiny_notop.h5"), "notop")

    timm = collections.OrderedDict()
    for k, name in zip(conv_indices(CFG), conv_names()):
        timm["features.%d.weight" % k] = ("F32", w[name + ".weight"].numpy())
        timm["features.%d.bias" % k] = ("F32", w[name + ".bias"].numpy())
    timm["pre_logits.fc1.weight"] = ("F32", np.zeros((8, 512, 1, 1), np.float32))
    timm["head.fc.weight"] = ("F32", np.zeros((10, 8), np.float32))
    write_safetensors(os.path.join(out, "timm_vgg19.safetensors"), timm, {"format": "pt"})

    # Wrong architectures and shapes (small files).
    torch.save(small_dict(torch, VGG16), os.path.join(out, "vgg16_zip.pth"))
    torch.save(small_dict(torch, CFG, bn=True), os.path.join(out, "vgg19bn_zip.pth"))
    resnet = collections.OrderedDict([("conv1.weight", torch.zeros(64, 3, 7, 7)), ("bn1.weight", torch.ones(64)),
                                      ("bn1.running_mean", torch.zeros(64)), ("fc.weight", torch.zeros(10, 64))])
    torch.save(resnet, os.path.join(out, "resnet_zip.pth"))
    gat16 = collections.OrderedDict((k, torch.zeros(1)) for k in gatys if not k.startswith(("conv3_4", "conv4_4", "conv5_4")))
    torch.save(gat16, os.path.join(out, "vgg16_gatys_legacy.pth"), _use_new_zipfile_serialization=False)
    # Full shapes at no cost: expanded tensors (stride 0) keep a one-element storage.
    cheap = collections.OrderedDict()
    for k, name in zip(conv_indices(CFG), conv_names()):
        cheap["features.%d.weight" % k] = torch.full((1,), 0.01).expand(w[name + ".weight"].shape)
        cheap["features.%d.bias" % k] = torch.full((1,), 0.01).expand(w[name + ".bias"].shape)
    nan = collections.OrderedDict(cheap)
    nan["features.2.weight"] = torch.full((1,), float("nan")).expand(64, 64, 3, 3)
    torch.save(nan, os.path.join(out, "nan_zip.pth"))
    ints = collections.OrderedDict(cheap)
    ints["features.2.weight"] = torch.zeros(1, dtype=torch.int32).expand(64, 64, 3, 3)
    torch.save(ints, os.path.join(out, "int_weights_zip.pth"))
    torch.save(cheap, os.path.join(out, "stride0_zip.pth"))
    torch.save(cheap, os.path.join(out, "stride0_legacy.pth"), _use_new_zipfile_serialization=False)
    # A training checkpoint: nested state dict with DataParallel's prefix, and other objects.
    nested = {"epoch": 3, "args": argparse.Namespace(lr=0.1, arch="vgg19"), "best": 0.5,
              "state_dict": collections.OrderedDict(("module." + k, v) for k, v in cheap.items())}
    torch.save(nested, os.path.join(out, "stride0_nested_zip.pth"))

    # A whole pickled model (torch.save(model)): Parameters inside nn.Module objects, the
    # module class referenced by name (__main__.VGG19), never needed to read the file.
    class VGG19(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = vgg_features(torch, CFG)
    VGG19.__module__, VGG19.__qualname__ = "__main__", "VGG19"
    globals()["VGG19"] = VGG19
    model = VGG19()
    for k in conv_indices(CFG):
        for what in ("weight", "bias"):
            setattr(model.features[k], what, torch.nn.Parameter(cheap["features.%d.%s" % (k, what)]))
    torch.save(model, os.path.join(out, "stride0_model_zip.pth"))

    write_oldest_legacy(os.path.join(out, "stride0_oldest_legacy.pth"),
                        collections.OrderedDict((k, list(v.shape)) for k, v in cheap.items()), 0.01)
    # Pickle protocol 4 (FRAME, STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE) instead of torch's default 2.
    torch.save(cheap, os.path.join(out, "stride0_p4_zip.pth"), pickle_protocol=4)
    torch.save(cheap, os.path.join(out, "stride0_p4_legacy.pth"), pickle_protocol=4,
               _use_new_zipfile_serialization=False)
    wrong = collections.OrderedDict(cheap)
    wrong["features.0.weight"] = torch.zeros(1).expand(64, 3, 5, 5)
    torch.save(wrong, os.path.join(out, "wrong_shape_zip.pth"))
    wrong = collections.OrderedDict(cheap)
    wrong["features.30.bias"] = torch.zeros(1).expand(256)
    torch.save(wrong, os.path.join(out, "wrong_bias_zip.pth"))

    write_transformer(torch, np, out)
    write_vgg16(torch, np, pb, out)
    write_jcjohnson(torch, np, out)
    write_adain(torch, np, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    out = os.path.abspath(ap.parse_args().out_dir)
    os.makedirs(out, exist_ok=True)
    stamp = os.path.join(out, "stamp")
    want = stamp_text()
    with open(os.path.join(out, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(stamp) and open(stamp).read() == want:
            return
        if os.path.exists(stamp):
            os.remove(stamp)
        generate(out)
        with open(stamp, "w") as f:
            f.write(want)


if __name__ == "__main__":
    main()
