# SPDX-License-Identifier: MIT
"""Exceptions raised by nst: the CLI's error message and its exit code (spec: 2 usage, 3 input, 4 runtime)."""


class Error(Exception):
    """Any nst failure. ``str(e)`` is the message the CLI prints after ``nst: error:``."""

    exit_code = 1

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(Error, ValueError):
    """A bad option or value (the CLI exits with 2)."""

    exit_code = 2


class InputError(Error):
    """A missing, unreadable or invalid input: image, weights, model, array (exit code 3)."""

    exit_code = 3


class EngineError(Error, RuntimeError):
    """A failure while running: device, memory, non-finite loss, interruption (exit code 4)."""

    exit_code = 4
