# SPDX-License-Identifier: MIT
"""Arrays go in without copies and come back as NumPy arrays; DLPack works on the CPU path."""
import numpy as np
import pytest

from conftest import nst

_nst = nst._nst


def address(a):
    return a.__array_interface__["data"][0]


def features_of(session, image):
    return session.features(image, ["relu1_1"])["relu1_1"]


@pytest.fixture(scope="module")
def reference(session, images):
    return features_of(session, images["content"][0])


def test_zero_copy_layouts(session, images, reference):
    """The loader reads the caller's buffer itself: the address it read is the array's own."""
    c8 = images["content"][1]
    f32 = c8.astype(np.float32) / np.float32(255)
    cases = {
        "uint8 (H, W, 3)": c8,
        "float32 (H, W, 3)": f32,
        "float32 (1, 3, H, W)": np.ascontiguousarray(f32.transpose(2, 0, 1)[None]),
        "float32 (3, H, W) strided view": f32.transpose(2, 0, 1),
    }
    for name, a in cases.items():
        got = features_of(session, a)
        assert _nst._last_array_read() == address(a), name
        assert np.array_equal(got, reference), name


def test_strided_view_read_in_place(session, images):
    big = np.zeros((80, 96, 3), np.uint8)
    big[::2, ::2] = images["content"][1]
    view = big[::2, ::2]
    assert not view.flags.c_contiguous
    got = features_of(session, view)
    assert _nst._last_array_read() == address(view)
    assert np.array_equal(got, features_of(session, images["content"][0]))


def test_other_dtypes_are_converted(session, images, reference):
    f64 = images["content"][1].astype(np.float64) / 255
    got = features_of(session, f64)
    assert _nst._last_array_read() != address(f64)  # a float32 copy was read
    assert np.abs(got - reference).max() < 1e-3


def test_dlpack_cpu_input(session, images, reference):
    torch = pytest.importorskip("torch", reason="PyTorch provides the DLPack producer for this test")
    t = torch.from_numpy(images["content"][1].copy())
    got = features_of(session, t)
    assert _nst._last_array_read() == t.data_ptr()
    assert np.array_equal(got, reference)
    # NumPy's DLPack import of the same tensor: still the same memory, read in place.
    if hasattr(np, "from_dlpack"):
        via_numpy = np.from_dlpack(t)
        assert np.array_equal(features_of(session, via_numpy), reference)
        assert _nst._last_array_read() == t.data_ptr()


def test_results_are_numpy_arrays_that_own_their_memory(session, images):
    out = session.run(images["content"][1], images["style"][1], num_iterations=1, image_size=32, quiet=True)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.flags.c_contiguous
    assert out.flags.writeable
    del session  # the array stays valid on its own
    out += 0
    terms, grad = nst.Session(weights="random:0", backend="cpu").evaluate(images["content"][1], images["content"][0],
                                                                          images["style"][0], image_size=32)
    assert isinstance(grad, np.ndarray) and grad.shape == (1, 3, 27, 32)
    # DLPack out of NumPy works on what we return (the CPU DLPack path back into frameworks).
    if hasattr(np, "from_dlpack"):
        again = np.from_dlpack(grad)
        assert np.shares_memory(again, grad)
