// SPDX-License-Identifier: MIT
// A missing libhdf5 at build time turns only this reader off, with a message naming the
// Debian package.
#include "convert/keras_h5.h"

#include "core/error.h"

#if NST_HAVE_HDF5
#include <hdf5.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#endif

namespace nst::convert {

#if NST_HAVE_HDF5

namespace {

constexpr hsize_t kMaxAttrStrings = 1 << 20;

// An HDF5 identifier closed with its own close function.
struct Hid {
    hid_t id = -1;
    herr_t (*close)(hid_t) = nullptr;
    Hid(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
    Hid(const Hid&) = delete;
    Hid& operator=(const Hid&) = delete;
    ~Hid() {
        if (id >= 0 && close) close(id);
    }
    bool ok() const { return id >= 0; }
};

// The innermost message of HDF5's error stack: "truncated file: eof = ...", "bad object header".
herr_t walk_error(unsigned, const H5E_error2_t* e, void* out) {
    if (e && e->desc && *e->desc) *static_cast<std::string*>(out) = e->desc;
    return 0;
}
std::string hdf5_message() {
    std::string msg;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_error, &msg);
    H5Eclear2(H5E_DEFAULT);
    return msg.empty() ? "HDF5 error" : printable(msg, 160);
}

struct H5File {
    hid_t file = -1;
    std::string path;
    ~H5File() {
        if (file >= 0) H5Fclose(file);
    }
    [[noreturn]] void fail(const std::string& what) const { fail_file(Format::KerasH5, path, what); }
};

struct Dataset {
    std::string path;  // from the root, no leading '/'
    std::vector<std::int64_t> dims;
    std::string dtype;
    bool is_float = false;
};

std::string dtype_of(hid_t type) {
    const H5T_class_t c = H5Tget_class(type);
    const std::size_t size = H5Tget_size(type);
    if (c == H5T_FLOAT) return "float" + std::to_string(8 * size);
    if (c == H5T_INTEGER) return "int" + std::to_string(8 * size);
    if (c == H5T_STRING) return "string";
    return "non-numeric";
}

herr_t visit_link(hid_t group, const char* name, const H5L_info_t* info, void* data) {
    auto* out = static_cast<std::vector<Dataset>*>(data);
    if (info->type != H5L_TYPE_HARD) return 0;  // soft and external links could point anywhere
    Hid obj(H5Oopen(group, name, H5P_DEFAULT), H5Oclose);
    if (!obj.ok()) return -1;
    if (H5Iget_type(obj.id) != H5I_DATASET) return 0;
    Dataset d;
    d.path = name;
    Hid space(H5Dget_space(obj.id), H5Sclose);
    Hid type(H5Dget_type(obj.id), H5Tclose);
    if (!space.ok() || !type.ok()) return -1;
    const int nd = H5Sget_simple_extent_ndims(space.id);
    if (nd < 0 || nd > 32) return -1;
    std::vector<hsize_t> dims(std::size_t(nd), 0);
    if (nd > 0 && H5Sget_simple_extent_dims(space.id, dims.data(), nullptr) < 0) return -1;
    for (hsize_t x : dims) d.dims.push_back(std::int64_t(x));
    d.dtype = dtype_of(type.id);
    d.is_float = H5Tget_class(type.id) == H5T_FLOAT;
    out->push_back(std::move(d));
    return 0;
}

// A string or string-array attribute (fixed-length or variable-length strings); empty when absent.
std::vector<std::string> string_attr(const H5File& F, hid_t obj, const char* name) {
    std::vector<std::string> out;
    if (H5Aexists(obj, name) <= 0) return out;
    Hid a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
    if (!a.ok()) F.fail(std::string("cannot read attribute ") + name + ": " + hdf5_message());
    Hid type(H5Aget_type(a.id), H5Tclose);
    Hid space(H5Aget_space(a.id), H5Sclose);
    if (!type.ok() || !space.ok() || H5Tget_class(type.id) != H5T_STRING) return out;
    const hssize_t n = H5Sget_simple_extent_npoints(space.id);
    if (n < 0 || hsize_t(n) > kMaxAttrStrings) F.fail(std::string("attribute ") + name + " is implausibly large");
    if (H5Tis_variable_str(type.id) > 0) {
        Hid mem(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(mem.id, H5T_VARIABLE);
        std::vector<char*> p(std::size_t(n), nullptr);
        if (H5Aread(a.id, mem.id, p.data()) < 0) F.fail(std::string("cannot read attribute ") + name + ": " + hdf5_message());
        for (char* s : p) out.emplace_back(s ? s : "");
        H5Dvlen_reclaim(mem.id, space.id, H5P_DEFAULT, p.data());
    } else {
        const std::size_t size = H5Tget_size(type.id);
        if (size == 0 || size > 65536) return out;
        std::vector<char> buf(std::size_t(n) * size, '\0');
        if (H5Aread(a.id, type.id, buf.data()) < 0) F.fail(std::string("cannot read attribute ") + name + ": " + hdf5_message());
        for (hssize_t k = 0; k < n; ++k) {
            const char* s = buf.data() + std::size_t(k) * size;
            std::size_t len = 0;
            while (len < size && s[len]) ++len;
            out.emplace_back(s, len);
        }
    }
    return out;
}

bool group_exists(hid_t file, const std::string& path) {
    if (H5Lexists(file, path.c_str(), H5P_DEFAULT) <= 0) return false;
    Hid o(H5Oopen(file, path.c_str(), H5P_DEFAULT), H5Oclose);
    return o.ok() && H5Iget_type(o.id) == H5I_GROUP;
}

// blockB_convI -> conv index 0..15 (VGG19: 2, 2, 4, 4, 4 convs per block); -1 otherwise.
int keras_conv_index(const std::string& layer) {
    static const std::regex re("block([1-5])_conv([1-4])");
    std::smatch m;
    if (!std::regex_match(layer, m, re)) return -1;
    const int b = std::stoi(m[1]), i = std::stoi(m[2]);
    static const int first[6] = {0, 0, 2, 4, 8, 12};
    const int per_block = b <= 2 ? 2 : 4;
    return i <= per_block ? first[b] + i - 1 : -1;
}

std::string canonical(int conv) {
    static const int per_block[5] = {2, 2, 4, 4, 4};
    int b = 0, k = conv;
    while (k >= per_block[b]) k -= per_block[b++];
    return "conv" + std::to_string(b + 1) + "_" + std::to_string(k + 1);
}

struct Found {
    const Dataset* kernel = nullptr;
    const Dataset* bias = nullptr;
};

}  // namespace

Checkpoint read_keras_h5(const std::string& path) {
    namespace fs = std::filesystem;
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported here, not printed by HDF5
    auto file = std::make_shared<H5File>();
    H5File& F = *file;
    F.path = path;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) F.fail(fs::exists(path, ec) ? "is not a regular file" : "not found");
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        F.fail("not an HDF5 file");
    }
    F.file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (F.file < 0) F.fail("cannot open (" + hdf5_message() + "); truncated or corrupt?");

    std::vector<Dataset> datasets;
    if (H5Lvisit(F.file, H5_INDEX_NAME, H5_ITER_INC, visit_link, &datasets) < 0)
        F.fail("cannot list its datasets (" + hdf5_message() + "); truncated or corrupt?");

    // A full-model file (model.save) keeps the weights under model_weights/.
    const std::string root = group_exists(F.file, "model_weights") ? "model_weights/" : "";
    std::map<std::string, const Dataset*> by_path;
    for (const Dataset& d : datasets) by_path[d.path] = &d;

    std::vector<Found> convs(16);
    auto claim = [&](int conv, const Dataset* d) {
        Found& f = convs[std::size_t(conv)];
        const Dataset** slot = d->dims.size() == 4 ? &f.kernel : d->dims.size() == 1 ? &f.bias : nullptr;
        if (!slot) return;
        if (*slot && *slot != d)
            F.fail("layer " + canonical(conv) + " has two candidate " + (d->dims.size() == 4 ? "kernels" : "biases") +
                   ": " + printable((*slot)->path) + " and " + printable(d->path));
        *slot = d;
    };

    // Keras's own index: layer_names on the root, weight_names on each layer group.
    Hid root_group(H5Gopen2(F.file, root.empty() ? "/" : root.c_str(), H5P_DEFAULT), H5Gclose);
    if (!root_group.ok()) F.fail("cannot open group '/" + root + "': " + hdf5_message());
    const std::vector<std::string> layer_names = string_attr(F, root_group.id, "layer_names");
    for (const std::string& layer : layer_names) {
        const int conv = keras_conv_index(layer);
        if (conv < 0 || !group_exists(F.file, root + layer)) continue;
        Hid g(H5Gopen2(F.file, (root + layer).c_str(), H5P_DEFAULT), H5Gclose);
        for (const std::string& w : string_attr(F, g.id, "weight_names")) {
            auto it = by_path.find(root + layer + "/" + w);
            if (it == by_path.end())
                F.fail("layer " + printable(layer) + " lists weight '" + printable(w) + "', which is missing");
            claim(conv, it->second);
        }
    }
    // Files without Keras's attributes: any group named blockB_convI on the dataset's path.
    if (layer_names.empty()) {
        for (const Dataset& d : datasets) {
            if (d.path.rfind("optimizer_weights", 0) == 0) continue;
            std::size_t start = 0;
            while (start <= d.path.size()) {
                const std::size_t slash = d.path.find('/', start);
                const std::string part = d.path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
                if (slash == std::string::npos) break;  // the dataset's own name is not a layer
                if (const int conv = keras_conv_index(part); conv >= 0) {
                    claim(conv, &d);
                    break;
                }
                start = slash + 1;
            }
        }
    }

    Checkpoint ck;
    ck.path = path;
    ck.format = Format::KerasH5;
    std::map<const Dataset*, bool> used;
    for (int conv = 0; conv < 16; ++conv) {
        const Found& f = convs[std::size_t(conv)];
        for (const Dataset* d : {f.kernel, f.bias}) {
            if (!d) continue;
            used[d] = true;
            const bool kernel = d == f.kernel;
            SourceTensor t;
            t.name = canonical(conv) + (kernel ? ".weight" : ".bias");
            t.origin = d->path;
            t.dtype = d->dtype;
            t.shape = d->dims;
            if (kernel) {
                if (d->dims[0] != 3 && d->dims[2] == 3 && d->dims[3] == 3)
                    F.fail("kernel " + printable(d->path) + " is stored " + shape_string(d->dims) +
                           " (out, in, h, w): Theano-ordered Keras weights are flipped and not supported; use the "
                           "tf_dim_ordering file");
                t.shape = {d->dims[3], d->dims[2], d->dims[0], d->dims[1]};
            }
            t.read = [file, d = *d, kernel](float* dst) {
                if (!d.is_float) file->fail("dataset " + printable(d.path) + " has type " + d.dtype + ", not float");
                Hid ds(H5Dopen2(file->file, d.path.c_str(), H5P_DEFAULT), H5Dclose);
                if (!ds.ok()) file->fail("cannot open dataset " + printable(d.path) + ": " + hdf5_message());
                const std::size_t n = shape_numel(d.dims);
                std::vector<float> src(kernel ? n : 0);
                float* buf = kernel ? src.data() : dst;
                // HDF5 converts float16/float64 datasets to float on reading.
                if (H5Dread(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
                    file->fail("cannot read dataset " + printable(d.path) + " (" + hdf5_message() +
                               "); truncated or corrupt?");
                if (!kernel) return;
                // (kh, kw, in, out) -> (out, in, kh, kw): axes (3, 2, 0, 1), no flip.
                const std::size_t kh = std::size_t(d.dims[0]), kw = std::size_t(d.dims[1]);
                const std::size_t ci = std::size_t(d.dims[2]), co = std::size_t(d.dims[3]);
                for (std::size_t y = 0; y < kh; ++y)
                    for (std::size_t x = 0; x < kw; ++x)
                        for (std::size_t i = 0; i < ci; ++i)
                            for (std::size_t o = 0; o < co; ++o)
                                dst[((o * ci + i) * kh + y) * kw + x] = src[((y * kw + x) * ci + i) * co + o];
            };
            ck.tensors.push_back(std::move(t));
        }
    }
    // The other datasets, under their paths, so that a wrong file is described by what it holds.
    for (const Dataset& d : datasets) {
        if (used.count(&d)) continue;
        SourceTensor t;
        t.name = d.path;
        t.shape = d.dims;
        t.dtype = d.dtype;
        t.read = [file, p = d.path](float*) { file->fail("dataset " + printable(p) + " is not a VGG19 weight"); };
        ck.tensors.push_back(std::move(t));
    }
    return ck;
}

#else

Checkpoint read_keras_h5(const std::string& path) {
    fail_file(Format::KerasH5, path,
              "this nst was built without HDF5, which reads Keras .h5 files; install the Debian package "
              "libhdf5-dev and rebuild");
}

#endif

}  // namespace nst::convert
