// SPDX-License-Identifier: MIT
#include "python/errors.h"

#include <exception>
#include <new>

#include "core/error.h"

namespace nst::py {

namespace nb = nanobind;

namespace {

// Indexed by exit code (2 usage, 3 input, 4 runtime); [0] is nst.Error itself.
nb::object g_classes[5];

void raise(int code, const char* message) {
    nb::handle cls = (code >= 2 && code <= 4 && g_classes[code].is_valid()) ? g_classes[code] : g_classes[0];
    if (!cls.is_valid()) {  // the package was not imported through nst/__init__.py
        PyErr_SetString(PyExc_RuntimeError, message);
        return;
    }
    nb::object error = cls(nb::str(message), code);
    PyErr_SetObject(cls.ptr(), error.ptr());
}

void translate(const std::exception_ptr& p, void*) {
    try {
        std::rethrow_exception(p);
    } catch (const Error& e) {
        raise(int(e.code()), e.what());
    } catch (const std::bad_alloc&) {  // as main(): out of memory is a runtime failure, exit 4
        raise(int(ExitCode::Runtime), "out of host memory; use a smaller image_size");
    }
}

}  // namespace

void register_errors(nb::module_& m) {
    nb::register_exception_translator(translate);
    m.def("_set_error_classes", [](nb::object base, nb::object usage, nb::object input, nb::object runtime) {
        g_classes[0] = base;
        g_classes[2] = usage;
        g_classes[3] = input;
        g_classes[4] = runtime;
    });
    // Python objects must not outlive the interpreter inside static storage.
    nb::module_::import_("atexit").attr("register")(nb::cpp_function([] {
        for (auto& c : g_classes) c.reset();
    }));
}

}  // namespace nst::py
