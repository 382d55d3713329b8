// SPDX-License-Identifier: MIT
// nst._nst: the compiled half of the Python package (python/nst/ is the other half). Only the
// pieces are registered here; each lives in its own file.
#include <nanobind/nanobind.h>

#include "io/memory_images.h"
#include "python/errors.h"
#include "python/session.h"

namespace nb = nanobind;

NB_MODULE(_nst, m) {
    m.doc() = "nst's engine and CLI commands, in process (use the nst package, not this module)";
    m.attr("__version__") = NST_VERSION;
    nst::py::register_errors(m);
    nst::py::register_session(m);
    // Tests: the address of the last caller array the image loaders read (zero-copy checks).
    m.def("_last_array_read", [] { return nst::last_memory_image_read(); });
}
