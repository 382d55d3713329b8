# SPDX-License-Identifier: MIT
"""Keyword options -> the argument list of an nst command.

Options are the CLI's long options with underscores for dashes (``num_iterations=20`` is
``--num-iterations 20``); the CLI's own parser then checks them, so the messages and exit codes
are those of the command line. Values: True is a flag, False and None leave the option out,
lists and tuples become comma lists (``style`` repeats instead), paths may be ``os.PathLike``.
Arrays (NumPy, or anything with ``__dlpack__``) stand in for files: each gets a pseudo-path
``<array NAME>.png`` that nst's image loaders resolve to the array itself.
"""
import numbers
import os

from ._errors import UsageError

# Options whose list values repeat the option rather than joining with commas.
_REPEATED = {"style"}


def is_array(value):
    return hasattr(value, "__dlpack__") or hasattr(value, "__array_interface__")


def as_engine_array(value):
    """The array as the engine reads it: float32 and uint8 NumPy arrays (any strides) and
    DLPack objects as they are; other NumPy dtypes are converted to float32 (a copy)."""
    dtype = getattr(value, "dtype", None)
    if hasattr(value, "__array_interface__") and str(dtype) not in ("float32", "uint8"):
        import numpy as np

        return np.asarray(value, dtype=np.float32)
    return value


def _text(key, value):
    if isinstance(value, bool):
        raise UsageError(f"{key}: a boolean is only valid for flags", 2)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))  # shortest text that reads back as the same double
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    raise UsageError(f"{key}: cannot pass a {type(value).__name__} as an option value", 2)


class Arguments:
    """Collects one command's argument list and the arrays its pseudo-paths stand for."""

    def __init__(self, command):
        self.args = [command]
        self.arrays = {}

    def path_of(self, key, value, suffix=".png"):
        if not is_array(value):
            return _text(key, value)
        name = f"<array {key}>{suffix}"
        if name in self.arrays:
            name = f"<array {key}{len(self.arrays)}>{suffix}"
        self.arrays[name] = as_engine_array(value)
        return name

    def add(self, key, value, suffix=".png"):
        if value is None or value is False:
            return self
        flag = "--" + key.replace("_", "-")
        if value is True:
            self.args.append(flag)
        elif key in _REPEATED and isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                self.args += [flag, self.path_of(f"{key}{i}", v, suffix)]
        elif isinstance(value, (list, tuple)):
            self.args += [flag, ",".join(self.path_of(key, v, suffix) for v in value)]
        else:
            self.args += [flag, self.path_of(key, value, suffix)]
        return self

    def add_all(self, options):
        for key, value in options.items():
            self.add(key, value)
        return self
