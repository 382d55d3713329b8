# SPDX-License-Identifier: MIT
"""nst.stylize / Session.stylize: a feed-forward model gives what `nst stylize` gives."""
import os

import numpy as np
import pytest

from conftest import PIL_Image, nst, quantize8


@pytest.fixture(scope="module")
def model(images, cli, workdir):
    """A tiny TransformerNet trained for one step by `nst train` (random VGG16 loss network)."""
    dataset = os.path.join(workdir, "dataset")
    os.makedirs(dataset, exist_ok=True)
    PIL_Image.fromarray(images["content"][1]).save(os.path.join(dataset, "a.png"))
    path = os.path.join(workdir, "model.safetensors")
    cli("train", "--style", images["style"][0], "--dataset", dataset, "--output", path, "--weights", "random16",
        "--width", "4", "--image-size", "32", "--batch-size", "1", "--iterations", "1", "--quiet")
    return path


def test_stylize_matches_cli(model, images, cli, workdir):
    out = os.path.join(workdir, "cli_stylize.png")
    cli("stylize", "--model", model, "--content", images["content"][0], "--output", out, "--quiet")
    expected = np.asarray(PIL_Image.open(out).convert("RGB"))
    got = nst.stylize(images["content"][0], model=model, quiet=True)
    assert got.shape == (40, 48, 3) and got.dtype == np.float32
    assert np.array_equal(quantize8(got), expected)
    from_array = nst.Session(backend="cpu").stylize(images["content"][1], model=model, quiet=True)
    assert np.array_equal(from_array, got)


def test_stylize_missing_model_is_input_error(images, workdir):
    with pytest.raises(nst.InputError) as e:
        nst.stylize(images["content"][1], model=os.path.join(workdir, "none.safetensors"))
    assert e.value.exit_code == 3
