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
  activations PyTorch computes for it (float64) as .npy.

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
