# SPDX-License-Identifier: MIT
"""The per-iteration callback: every iteration seen, False stops, exceptions propagate."""
import numpy as np
import pytest

from conftest import nst, quantize8

RUN = dict(image_size=32, seed=1, init="content", quiet=True)


def test_callback_sees_every_iteration(session, images):
    seen = []
    session.run(images["content"][0], images["style"][0], num_iterations=6,
                callback=lambda i, terms, t: seen.append((i, dict(terms), t)), **RUN)
    assert [i for i, _, _ in seen] == [1, 2, 3, 4, 5, 6]
    for _, terms, _ in seen:
        assert set(terms) == {"content", "style", "tv", "total"}
        assert terms["total"] == pytest.approx(terms["content"] + terms["style"] + terms["tv"], rel=1e-9)
    times = [t for _, _, t in seen]
    assert times == sorted(times) and times[0] >= 0
    assert seen[-1][1]["total"] < seen[0][1]["total"]  # L-BFGS descends


def test_callback_false_stops_with_the_image_so_far(session, images):
    seen = []

    def stop_at_3(i, terms, t):
        seen.append(i)
        return i < 3

    stopped = session.run(images["content"][0], images["style"][0], num_iterations=8, callback=stop_at_3, **RUN)
    assert seen == [1, 2, 3]
    # The image so far is the image of a 3-iteration run.
    three = session.run(images["content"][0], images["style"][0], num_iterations=3, **RUN)
    assert np.array_equal(stopped, three)
    longer = session.run(images["content"][0], images["style"][0], num_iterations=8, **RUN)
    assert not np.array_equal(quantize8(stopped), quantize8(longer))


def test_callback_exception_propagates(session, images):
    class Boom(Exception):
        pass

    def fail(i, terms, t):
        if i == 2:
            raise Boom("stop here")

    with pytest.raises(Boom, match="stop here"):
        session.run(images["content"][0], images["style"][0], num_iterations=10, callback=fail, **RUN)
    # The session is usable afterwards.
    assert session.run(images["content"][0], images["style"][0], num_iterations=1, **RUN).shape == (27, 32, 3)
