# SPDX-License-Identifier: MIT
"""Session.video runs `nst video` in process: the same frames as the executable, byte for byte."""
import os

import numpy as np

from conftest import PIL_Image


def test_video_frames_match_cli(session, images, cli, workdir):
    frames = os.path.join(workdir, "frames")
    os.makedirs(frames, exist_ok=True)
    y, x = np.mgrid[0:32, 0:40]
    for i in range(3):  # a small pan
        a = np.stack([np.sin((x + 2 * i) / 5.0), np.cos(y / 4.0), np.sin((x + y + 2 * i) / 7.0)], -1) * 0.4 + 0.5
        PIL_Image.fromarray((a * 255).astype(np.uint8)).save(os.path.join(frames, f"frame_{i + 1:05d}.png"))
    cli_out, py_out = os.path.join(workdir, "video_cli"), os.path.join(workdir, "video_py")
    cli("video", "--content", frames, "--style", images["style"][0], "--output", cli_out, "--weights", "random",
        "--backend", "cpu", "--num-iterations", "2,1", "--image-size", "32", "--quiet")
    session.video(frames, py_out, style=images["style"][0], num_iterations=[2, 1], image_size=32, quiet=True)
    def frame_names(folder):  # the folder also holds the resumable work folder, .nst-work
        return sorted(n for n in os.listdir(folder) if n.startswith("frame_"))

    names = frame_names(cli_out)
    assert names == ["frame_00001.png", "frame_00002.png", "frame_00003.png"]
    assert frame_names(py_out) == names
    for n in names:
        with open(os.path.join(cli_out, n), "rb") as a, open(os.path.join(py_out, n), "rb") as b:
            assert a.read() == b.read(), n
