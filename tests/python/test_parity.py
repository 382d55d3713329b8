# SPDX-License-Identifier: MIT
"""The module gives what the nst executable gives on the same problem: same PNG bit for bit,
same .npy bytes, same eval terms and gradient, same features and Gram matrices."""
import json
import os

import numpy as np

from conftest import PIL_Image, cli_args, quantize8

# Content init: with random weights a random start barely moves in a few iterations, and a flat
# image would make the comparisons weak.
RUN = dict(image_size=32, num_iterations=3, seed=3, init="content", quiet=True)
CLI_FIXED = ["--weights", "random", "--backend", "cpu"]


def read_png(path):
    return np.asarray(PIL_Image.open(path).convert("RGB"))


def test_run_paths_matches_cli_png(session, images, cli, workdir):
    content, style = images["content"][0], images["style"][0]
    out = os.path.join(workdir, "cli_run.png")
    cli("run", "--content", content, "--style", style, "--output", out, *CLI_FIXED, *cli_args(RUN))
    got = session.run(content, style, **RUN)
    assert got.dtype == np.float32 and got.shape == (27, 32, 3) and got.flags.c_contiguous
    expected = read_png(out)
    assert np.array_equal(quantize8(got), expected)
    # The run optimised: it moved away from its start (the 0-iteration result) by several levels.
    start = session.run(content, style, **dict(RUN, num_iterations=0))
    assert np.abs(quantize8(got).astype(int) - quantize8(start).astype(int)).mean() > 2


def test_run_arrays_match_cli_png(session, images, cli, workdir):
    """uint8 arrays, and float32 arrays of the same values, stand in for the PNG files exactly."""
    (content, c8), (style, s8) = images["content"], images["style"]
    options = dict(RUN, style_weight=200.0, init="content", pooling="avg")
    out = os.path.join(workdir, "cli_run_arrays.png")
    cli("run", "--content", content, "--style", style, "--output", out, *CLI_FIXED, *cli_args(options))
    expected = read_png(out)
    assert np.array_equal(quantize8(session.run(c8, s8, **options)), expected)
    as_float = session.run(c8.astype(np.float32) / np.float32(255), s8.astype(np.float32) / np.float32(255), **options)
    assert np.array_equal(quantize8(as_float), expected)
    planar = np.ascontiguousarray(c8.transpose(2, 0, 1)[None])  # (1, 3, H, W)
    assert np.array_equal(quantize8(session.run(planar, [s8], **options)), expected)


def test_run_npy_output_matches_cli_bytes(session, images, cli, workdir):
    content, style = images["content"][0], images["style"][0]
    cli_out, py_out = os.path.join(workdir, "cli.npy"), os.path.join(workdir, "py.npy")
    cli("run", "--content", content, "--style", style, "--output", cli_out, *CLI_FIXED, *cli_args(RUN))
    session.run(content, style, output=py_out, **RUN)
    with open(cli_out, "rb") as a, open(py_out, "rb") as b:
        assert a.read() == b.read()


def test_evaluate_matches_cli_eval(session, images, cli, workdir):
    content, style = images["content"][0], images["style"][0]
    x = np.random.default_rng(5).normal(0, 20, size=(1, 3, 40, 48)).astype(np.float32)
    x_path, grad_path = os.path.join(workdir, "x.npy"), os.path.join(workdir, "grad.npy")
    np.save(x_path, x)
    p = cli("eval", "--content", content, "--style", style, "--image", x_path, "--grad-out", grad_path,
            "--image-size", "48", *CLI_FIXED)
    expected = json.loads(p.stdout)
    terms, grad = session.evaluate(x, content, style, image_size=48)
    assert terms == expected  # the CLI prints %.17g: every double round-trips exactly
    assert grad.shape == (1, 3, 40, 48) and grad.dtype == np.float32
    assert np.array_equal(grad, np.load(grad_path))
    assert np.abs(grad).max() > 0


def test_features_and_gram_match_cli(session, images, cli, workdir):
    content = images["content"][0]
    out_dir = os.path.join(workdir, "features")
    cli("features", "--image", content, "--layers", "relu1_1,relu3_1", "--gram", "--out-dir", out_dir,
        "--weights", "random", "--preset", "gatys")
    acts = session.features(content, ["relu1_1", "relu3_1"], preset="gatys")
    grams = session.gram(images["content"][1], "relu1_1,relu3_1", preset="gatys")
    assert sorted(acts) == sorted(grams) == ["relu1_1", "relu3_1"]
    for layer in acts:
        assert np.array_equal(acts[layer], np.load(os.path.join(out_dir, layer + ".npy")))
        assert np.array_equal(grams[layer], np.load(os.path.join(out_dir, layer + ".gram.npy")))
    assert acts["relu3_1"].shape == (1, 256, 10, 12) and grams["relu3_1"].shape == (256, 256)
