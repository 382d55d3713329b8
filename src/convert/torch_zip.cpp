// SPDX-License-Identifier: MIT
// The zip container of torch.save, read with libzip (a missing libzip at build time turns only
// this reader off, with a message naming the Debian package).
#include <memory>

#include "convert/torch_checkpoint.h"
#include "convert/torch_pickle.h"
#include "core/error.h"

#if NST_HAVE_LIBZIP
#include <zip.h>
#endif

namespace nst::convert {

#if NST_HAVE_LIBZIP

namespace {

// data.pkl of a VGG19 state dict is a few kB; the cap keeps a hostile entry size from making us
// allocate gigabytes before the unpickler can reject it.
constexpr zip_uint64_t kMaxPickleBytes = 256ull << 20;

struct Archive {
    zip_t* zip = nullptr;
    std::string path, prefix;  // prefix: "<archive>/" (or "" for a flat archive)
    std::vector<torch::Storage> storages;
    std::vector<zip_int64_t> entry;  // per storage: its zip entry index
    ~Archive() {
        if (zip) zip_discard(zip);
    }
    [[noreturn]] void fail(const std::string& what) const { fail_file(Format::TorchZip, path, what); }
};

std::string zip_message(zip_t* z) { return zip_error_strerror(zip_get_error(z)); }

// Reads `n` bytes of entry `index` starting at `skip` into dst.
void read_entry(const Archive& a, zip_int64_t index, zip_uint64_t skip, zip_uint64_t n, unsigned char* dst,
                const std::string& what) {
    zip_file_t* f = zip_fopen_index(a.zip, zip_uint64_t(index), 0);
    if (!f) a.fail("cannot open " + what + ": " + zip_message(a.zip));
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> guard(f, zip_fclose);
    // Stored entries can seek; compressed ones are read up to the start of the span.
    if (skip && zip_fseek(f, zip_int64_t(skip), SEEK_SET) != 0) {
        std::vector<unsigned char> sink(1 << 16);
        while (skip) {
            const zip_uint64_t k = std::min<zip_uint64_t>(skip, sink.size());
            if (zip_fread(f, sink.data(), k) != zip_int64_t(k)) a.fail("cannot read " + what + " (truncated or corrupt)");
            skip -= k;
        }
    }
    zip_uint64_t done = 0;
    while (done < n) {
        const zip_int64_t got = zip_fread(f, dst + done, n - done);
        if (got <= 0)
            a.fail("cannot read " + what + " (" + (got < 0 ? std::string(zip_error_strerror(zip_file_get_error(f)))
                                                           : std::string("entry shorter than expected")) + ")");
        done += zip_uint64_t(got);
    }
}

zip_uint64_t entry_size(const Archive& a, zip_int64_t index) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(a.zip, zip_uint64_t(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        a.fail("cannot stat a zip entry: " + zip_message(a.zip));
    return st.size;
}

}  // namespace

Checkpoint read_torch_zip(const std::string& path) {
    auto a = std::make_shared<Archive>();
    a->path = path;
    int err = 0;
    a->zip = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!a->zip) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        const std::string msg = zip_error_strerror(&ze);
        zip_error_fini(&ze);
        a->fail("not a readable zip archive (" + msg + "); truncated or corrupt?");
    }

    // torch writes every entry under one directory, named after the file when it was saved.
    const zip_int64_t n = zip_get_num_entries(a->zip, 0);
    zip_int64_t pkl = -1;
    for (zip_int64_t i = 0; i < n; ++i) {
        const char* nm = zip_get_name(a->zip, zip_uint64_t(i), ZIP_FL_ENC_RAW);
        if (!nm) continue;
        const std::string s = nm;
        const std::size_t slash = s.find('/');
        if (s == "data.pkl" || (slash != std::string::npos && s.substr(slash + 1) == "data.pkl")) {
            pkl = i;
            a->prefix = s.substr(0, s.size() - 8);
            break;
        }
    }
    if (pkl < 0) a->fail("zip archive without data.pkl: not a PyTorch checkpoint");

    if (zip_int64_t bo = zip_name_locate(a->zip, (a->prefix + "byteorder").c_str(), ZIP_FL_ENC_RAW); bo >= 0) {
        const zip_uint64_t sz = entry_size(*a, bo);
        std::string order(std::size_t(std::min<zip_uint64_t>(sz, 16)), '\0');
        read_entry(*a, bo, 0, order.size(), reinterpret_cast<unsigned char*>(order.data()), "byteorder");
        if (order != "little") a->fail("byte order '" + printable(order) + "' is not supported (little-endian only)");
    }

    const zip_uint64_t pkl_size = entry_size(*a, pkl);
    if (pkl_size > kMaxPickleBytes) a->fail("data.pkl of " + std::to_string(pkl_size) + " bytes is implausibly large");
    std::vector<unsigned char> bytes(static_cast<std::size_t>(pkl_size));
    read_entry(*a, pkl, 0, pkl_size, bytes.data(), "data.pkl");

    torch::StorageTable table;
    std::vector<torch::TensorRef> refs;
    try {
        pickle::MemoryInput in(bytes.data(), bytes.size());
        pickle::Result obj = pickle::load(in, [&](const pickle::Value& pid) { return table.add(pid); });
        refs = torch::find_tensors(*obj.root, table);
    } catch (const Error& e) {
        a->fail(std::string("data.pkl: ") + e.what());
    }

    a->storages = table.storages();
    for (const torch::Storage& s : a->storages) {
        const std::string name = a->prefix + "data/" + s.key;
        const zip_int64_t idx = zip_name_locate(a->zip, name.c_str(), ZIP_FL_ENC_RAW);
        if (idx < 0) a->fail("storage entry data/" + printable(s.key) + " is missing");
        if (s.elem_bytes && entry_size(*a, idx) < s.numel * s.elem_bytes)
            a->fail("storage entry data/" + printable(s.key) + " has " + std::to_string(entry_size(*a, idx)) +
                    " bytes, its " + std::to_string(s.numel) + " elements need " + std::to_string(s.numel * s.elem_bytes));
        a->entry.push_back(idx);
    }

    Checkpoint ck;
    ck.path = path;
    ck.format = Format::TorchZip;
    ck.tensors = torch::source_tensors(
        refs, a->storages,
        [a](const torch::TensorRef& r, const torch::Storage& st, unsigned char* bytes, std::size_t size) {
            read_entry(*a, a->entry[std::size_t(r.storage)], r.span_begin * st.elem_bytes, size, bytes,
                       "the data of tensor " + printable(r.name));
        },
        [a](const std::string& message) { a->fail(message); });
    return ck;
}

#else

Checkpoint read_torch_zip(const std::string& path) {
    fail_file(Format::TorchZip, path,
              "this nst was built without libzip, which reads PyTorch's zip checkpoints; install the Debian "
              "package libzip-dev and rebuild");
}

#endif

}  // namespace nst::convert
