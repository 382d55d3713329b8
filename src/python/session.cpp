// SPDX-License-Identifier: MIT
#include "python/session.h"

#include <new>
#include <optional>

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "cli/in_process.h"
#include "cli/weight_cache.h"
#include "core/error.h"
#include "nn/vgg19_layers.h"

namespace nst::py {

namespace {

// Runs one command: the caller's arrays registered, the hooks installed, the GIL released and
// the session locked for its duration. A Python exception raised inside a hook (the callback,
// Ctrl-C) is restored as the pending error by the hook, which then stops the command; it wins
// over whatever the command throws on the way out.
class CommandCall {
public:
    CommandCall(std::mutex& mutex, cli::RunHooks& hooks) : m_mutex(mutex), m_hooks(hooks) {}

    void operator()(const std::vector<std::string>& args, const nb::dict& arrays) {
        RegisteredArrays registered(arrays);
        std::optional<Error> failure;
        {
            nb::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(m_mutex);
            cli::ScopedRunHooks scoped(m_hooks);
            try {
                cli::run_in_process(args);
            } catch (const Error& e) {
                failure = e;
            } catch (const std::bad_alloc&) {  // as the CLI's main(): exit code 4
                failure = Error(ExitCode::Runtime, "out of host memory; use a smaller image_size");
            } catch (const std::exception& e) {
                failure = Error(ExitCode::Runtime, e.what());
            }
        }
        if (python_failed) throw nb::python_error();
        if (failure) throw *failure;
    }

    // Called by hooks with the GIL held: catches what Python raised and asks the command to stop.
    template <typename Fn>
    bool guarded(Fn&& fn) {
        try {
            return fn();
        } catch (nb::python_error& e) {
            e.restore();
            python_failed = true;
            return false;
        }
    }

    bool python_failed = false;

private:
    std::mutex& m_mutex;
    cli::RunHooks& m_hooks;
};

nb::dict layer_values(const std::vector<int>& layers, const std::vector<double>& values) {
    nb::dict d;
    for (std::size_t i = 0; i < layers.size() && i < values.size(); ++i)
        d[nb::str(vgg19_layers()[std::size_t(layers[i])].name.c_str())] = values[i];
    return d;
}

}  // namespace

Session::Session() : m_cache(std::make_unique<cli::WeightCache>()) {}
Session::~Session() = default;

NumpyFloat Session::run(const std::vector<std::string>& args, const nb::dict& arrays, nb::object callback) {
    cli::RunHooks hooks;
    hooks.cache = m_cache.get();
    CommandCall call(m_mutex, hooks);
    int count = 0;
    hooks.on_iteration = [&](const cli::IterationEvent& ev) {
        nb::gil_scoped_acquire gil;
        return call.guarded([&] {
            ++count;
            if (!callback.is_none()) {
                nb::dict terms;
                terms["content"] = ev.terms.content_sum();
                terms["style"] = ev.terms.style_sum();
                terms["tv"] = ev.terms.tv;
                terms["total"] = ev.terms.total;
                nb::object keep_going = callback(count, terms, ev.seconds);
                if (keep_going.ptr() == Py_False) return false;
            }
            // Ctrl-C in the notebook or terminal: stop after this iteration, raise KeyboardInterrupt.
            if (PyErr_CheckSignals() != 0) throw nb::python_error();
            return true;
        });
    };
    Tensor<float> image;
    hooks.on_result = [&](const Tensor<float>& rgb) { image = rgb.clone(); };
    call(args, arrays);
    if (image.empty()) throw_runtime("run finished without an image");
    return numpy_hwc(image.cview());
}

nb::tuple Session::evaluate(const std::vector<std::string>& args, const nb::dict& arrays) {
    cli::RunHooks hooks;
    hooks.cache = m_cache.get();
    CommandCall call(m_mutex, hooks);
    LossSpec spec;
    LossTerms terms;
    Tensor<float> grad;
    hooks.on_evaluate = [&](const LossSpec& s, const LossTerms& t, Tensor<float>& g) {
        spec = s;
        terms = t;
        grad = std::move(g);
    };
    call(args, arrays);
    nb::dict d;
    d["content"] = layer_values(spec.content_layers, terms.content);
    d["style"] = layer_values(spec.style_layers, terms.style);
    d["tv"] = terms.tv;
    d["total"] = terms.total;
    const Shape s = grad.shape();
    NumpyFloat g = numpy_owning(std::move(grad), {std::size_t(s.n), std::size_t(s.c), std::size_t(s.h), std::size_t(s.w)});
    return nb::make_tuple(d, g);
}

nb::tuple Session::features(const std::vector<std::string>& args, const nb::dict& arrays) {
    cli::RunHooks hooks;
    hooks.cache = m_cache.get();
    CommandCall call(m_mutex, hooks);
    struct Layer {
        std::string name;
        Tensor<float> activation, gram;
    };
    std::vector<Layer> layers;
    hooks.on_feature = [&](const std::string& name, ConstView<float> a, ConstView<float> g) {
        Layer l{name, Tensor<float>(a.shape), Tensor<float>()};
        std::copy(a.data, a.data + a.numel(), l.activation.data());
        if (g.numel()) {
            l.gram = Tensor<float>(g.shape);
            std::copy(g.data, g.data + g.numel(), l.gram.data());
        }
        layers.push_back(std::move(l));
    };
    call(args, arrays);
    nb::dict activations, grams;
    for (Layer& l : layers) {
        const Shape s = l.activation.shape();
        activations[nb::str(l.name.c_str())] =
            numpy_owning(std::move(l.activation), {std::size_t(s.n), std::size_t(s.c), std::size_t(s.h), std::size_t(s.w)});
        if (!l.gram.empty()) {
            const std::size_t c = std::size_t(l.gram.shape().h);
            grams[nb::str(l.name.c_str())] = numpy_owning(std::move(l.gram), {c, c});
        }
    }
    return nb::make_tuple(activations, grams);
}

NumpyFloat Session::stylize(const std::vector<std::string>& args, const nb::dict& arrays) {
    cli::RunHooks hooks;
    hooks.cache = m_cache.get();
    CommandCall call(m_mutex, hooks);
    Tensor<float> image;
    hooks.on_result = [&](const Tensor<float>& rgb) { image = rgb.clone(); };
    call(args, arrays);
    if (image.empty()) throw_runtime("stylize finished without an image");
    return numpy_hwc(image.cview());
}

void Session::command(const std::vector<std::string>& args, const nb::dict& arrays) {
    cli::RunHooks hooks;
    hooks.cache = m_cache.get();
    CommandCall call(m_mutex, hooks);
    call(args, arrays);
}

void register_session(nb::module_& m) {
    nb::class_<Session>(m, "Session", "Commands of the nst CLI run in this process; weights and models stay loaded")
        .def(nb::init<>())
        .def("run", &Session::run, nb::arg("args"), nb::arg("arrays"), nb::arg("callback").none())
        .def("evaluate", &Session::evaluate, nb::arg("args"), nb::arg("arrays"))
        .def("features", &Session::features, nb::arg("args"), nb::arg("arrays"))
        .def("stylize", &Session::stylize, nb::arg("args"), nb::arg("arrays"))
        .def("command", &Session::command, nb::arg("args"), nb::arg("arrays"));
}

}  // namespace nst::py
