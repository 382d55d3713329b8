# SPDX-License-Identifier: MIT
"""Bad inputs raise nst.Error subclasses with the CLI's message and exit code (spec: 2 usage, 3 input)."""
import os

import numpy as np
import pytest

from conftest import nst


def cli_message(cli, args):
    p = cli(*args, check=False)
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("nst: error: ")
    return p.returncode, line[len("nst: error: "):]


def test_missing_content_is_input_error_with_cli_message(session, images, cli, workdir):
    missing = os.path.join(workdir, "no_such.png")
    code, message = cli_message(cli, ["run", "--content", missing, "--style", images["style"][0], "--weights",
                                      "random", "--backend", "cpu", "--num-iterations", "1", "--image-size", "32",
                                      "--output", os.path.join(workdir, "unused.png")])
    with pytest.raises(nst.InputError) as e:
        session.run(missing, images["style"][0], num_iterations=1, image_size=32)
    assert e.value.exit_code == code == 3
    assert str(e.value) == message
    assert isinstance(e.value, nst.Error)


def test_bad_option_value_is_usage_error_with_cli_message(session, images, cli):
    code, message = cli_message(cli, ["run", "--content", images["content"][0], "--style", images["style"][0],
                                      "--weights", "random", "--backend", "cpu", "--pooling", "median"])
    with pytest.raises(nst.UsageError) as e:
        session.run(images["content"][0], images["style"][0], pooling="median")
    assert e.value.exit_code == code == 2
    assert str(e.value) == message


def test_unknown_option_and_bad_number_are_usage_errors(session, images):
    with pytest.raises(nst.UsageError) as e:
        session.run(images["content"][0], images["style"][0], no_such_option=1)
    assert e.value.exit_code == 2 and "--no-such-option" in str(e.value)
    with pytest.raises(nst.UsageError) as e:
        session.run(images["content"][0], images["style"][0], num_iterations="many")
    assert e.value.exit_code == 2 and "--num-iterations" in str(e.value)


def test_bad_arrays(session, images):
    c8 = images["content"][1]
    with pytest.raises(nst.UsageError, match="not an image"):
        session.run(np.zeros((8, 8, 5), np.float32), images["style"][0], num_iterations=1, image_size=32)
    nan = c8.astype(np.float32) / 255
    nan[3, 4, 1] = np.nan
    with pytest.raises(nst.InputError, match="not finite") as e:
        session.run(nan, images["style"][0], num_iterations=1, image_size=32)
    assert e.value.exit_code == 3
    with pytest.raises(nst.InputError, match=r"outside \[0, 1\]"):
        session.run(c8.astype(np.float32), images["style"][0], num_iterations=1, image_size=32)


def test_missing_weights_file_is_input_error(images):
    s = nst.Session(weights="/nonexistent/vgg19.safetensors", backend="cpu")
    with pytest.raises(nst.InputError) as e:
        s.run(images["content"][0], images["style"][0], num_iterations=1, image_size=32)
    assert e.value.exit_code == 3 and "vgg19.safetensors" in str(e.value)
