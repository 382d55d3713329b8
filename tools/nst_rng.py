# SPDX-License-Identifier: MIT
"""nst's counter-based random numbers (src/core/rng.h), bit for bit, in Python.

Value i of stream s under seed k is a pure function of (k, s, i):

    mix(z)           = splitmix64 finaliser
    bits(k, s, i)    = mix(mix(k ^ (s * 0xD1B54A32D192ED03)) + i)          (all mod 2^64)
    uniform(k, s, i) = ((bits >> 11) + 0.5) * 2^-53                         in (0, 1), double
    normal(k, s, i)  = sqrt(-2 ln u1) * cos(2 pi u2),  u1 = uniform(k, s, 2i), u2 = uniform(k, s, 2i + 1)

Two implementations live here. The scalar functions are the readable definition: Python ints
masked to 64 bits and the math module (which calls the C library's log/cos/sqrt, as the C++
code does). The *_array functions compute whole ranges with numpy uint64 arithmetic; they give
the same bits because integer wrap-around, the int->double conversion of a 53-bit value, the
+0.5, the power-of-two scaling, the products and sqrt are all exactly specified by IEEE 754.
log and cos are not: numpy's SIMD versions differ from the C library's in the last bit for a
large share of inputs, so the arrays go through math.log / math.cos element by element.
self_check() compares both implementations.
"""
import math

import numpy as np

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_STREAM_MUL = 0xD1B54A32D192ED03
# The same decimal literal as rng.h; both languages round it to the same double.
TWO_PI = 6.283185307179586476925

# Streams of rng.h's enum Stream.
STREAM_WEIGHTS = 1  # + conv index 0..15
STREAM_INIT = 100
STREAM_NET_PARAMS = 200  # + parameter tensor index (nn/net_model.h init_params)


# --- scalar definition ------------------------------------------------------------------------

def mix(z):
    z = (z + _GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * _M1) & MASK64
    z = ((z ^ (z >> 27)) * _M2) & MASK64
    return z ^ (z >> 31)


def bits(seed, stream, i):
    return mix((mix((seed ^ ((stream * _STREAM_MUL) & MASK64)) & MASK64) + i) & MASK64)


def uniform(seed, stream, i):
    # int + 0.5 converts the (exact, < 2^53) integer to double first, as double(x) + 0.5 does in C++.
    return ((bits(seed, stream, i) >> 11) + 0.5) * 2.0 ** -53


def normal(seed, stream, i):
    u1 = uniform(seed, stream, 2 * i)
    u2 = uniform(seed, stream, 2 * i + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(TWO_PI * u2)


# --- vectorised -------------------------------------------------------------------------------

def _mix_array(z):
    # numpy uint64 arrays wrap modulo 2^64 silently, which is exactly the C++ semantics.
    z = z + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


def bits_array(seed, stream, start, count):
    """bits(seed, stream, i) for i = start .. start + count - 1, as uint64."""
    key = mix((seed ^ ((stream * _STREAM_MUL) & MASK64)) & MASK64)
    i = np.arange(count, dtype=np.uint64) + np.uint64(start)
    return _mix_array(i + np.uint64(key))


def uniform_array(seed, stream, start, count):
    b = bits_array(seed, stream, start, count)
    return ((b >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0 ** -53


def _libm(fn, a):
    # Element by element through the C library, the only way to get its exact last bits.
    return np.fromiter(map(fn, a.tolist()), dtype=np.float64, count=a.size)


def normal_array(seed, stream, start, count):
    """normal(seed, stream, i) for i = start .. start + count - 1, float64."""
    u = uniform_array(seed, stream, 2 * start, 2 * count)
    u1, u2 = u[0::2], u[1::2]
    return np.sqrt(-2.0 * _libm(math.log, u1)) * _libm(math.cos, TWO_PI * u2)


# --- what the engine builds from them ----------------------------------------------------------

# VGG19's 16 convolutions: (out, in) channels, in forward order (src/nn/vgg19_layers.h).
VGG19_CONVS = [(64, 3), (64, 64),
               (128, 64), (128, 128),
               (256, 128), (256, 256), (256, 256), (256, 256),
               (512, 256), (512, 512), (512, 512), (512, 512),
               (512, 512), (512, 512), (512, 512), (512, 512)]


def random_conv_weight(seed, k):
    """Conv k's weight of random_weights(seed) (src/nn/weights.cpp), float32 (O, I, 3, 3):
    element j = float32(sqrt(2 / (O*9)) * normal(seed, STREAM_WEIGHTS + k, j)), std and
    product in double, one rounding at the end. Biases are zero."""
    o, i = VGG19_CONVS[k]
    n = o * i * 9
    std = math.sqrt(2.0 / float(o * 9))
    w = (std * normal_array(seed, STREAM_WEIGHTS + k, 0, n)).astype(np.float32)
    return w.reshape(o, i, 3, 3)


def self_check(n=4096):
    """Compares the vectorised functions with the scalar definition on a few streams and offsets,
    including indices past 2^32 (where a 32-bit slip would show). Raises AssertionError."""
    for seed, stream, start in [(0, 0, 0), (1, STREAM_WEIGHTS, 0), (1, STREAM_WEIGHTS + 15, 2359000),
                                (2 ** 64 - 1, 12345, 2 ** 33 + 7), (7, 1000, 0)]:
        b = bits_array(seed, stream, start, n)
        u = uniform_array(seed, stream, start, n)
        g = normal_array(seed, stream, start, n)
        for j in range(0, n, 97):
            assert int(b[j]) == bits(seed, stream, start + j), (seed, stream, start + j)
            assert u[j] == uniform(seed, stream, start + j), (seed, stream, start + j)
            assert g[j] == normal(seed, stream, start + j), (seed, stream, start + j)


if __name__ == "__main__":
    self_check()
    print("nst_rng: vectorised and scalar implementations agree")
    for i in range(3):
        print(f"bits(1, 1, {i}) = {bits(1, 1, i):#018x}  normal(1, 1, {i}) = {normal(1, 1, i)!r}")
