// SPDX-License-Identifier: MIT
// nst::Error -> the Python exception classes of nst/_errors.py (UsageError, InputError,
// RuntimeError_), carrying the CLI's message and exit code.
#pragma once
#include <nanobind/nanobind.h>

namespace nst::py {

// Installs the translator; the classes are handed over by nst/__init__.py at import, so that
// they are ordinary Python classes users can subclass, pickle and document.
void register_errors(nanobind::module_& m);

}  // namespace nst::py
