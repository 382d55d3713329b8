// SPDX-License-Identifier: MIT
// The legacy torch.save stream (torch < 1.6, or _use_new_zipfile_serialization=False).
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "convert/torch_checkpoint.h"
#include "convert/torch_pickle.h"
#include "core/error.h"

namespace nst::convert {

namespace {

// torch/serialization.py MAGIC_NUMBER = 0x1950a86a20f9469cfc6c, pickled as LONG1 little-endian.
const std::string kMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
constexpr std::int64_t kProtocolVersion = 1001;

struct File : CheckpointFile {
    explicit File(const std::string& path) : CheckpointFile(Format::TorchLegacy, path) {}
    std::vector<torch::Storage> storages;
    std::map<std::string, std::uint64_t> data_offset;  // root storage key -> offset of its first element
};

}  // namespace

Checkpoint read_torch_legacy(const std::string& path) {
    auto file = std::make_shared<File>(path);
    File& F = *file;

    torch::StorageTable table;
    std::vector<torch::TensorRef> refs;
    std::uint64_t pos = 0;
    const char* stage = "magic number";
    try {
        pickle::FileInput in(F.f, 0, F.size);
        {
            pickle::Result magic = pickle::load(in);
            const pickle::Value& m = *magic.root;
            if (m.kind != pickle::Kind::BigInt || m.str != kMagic)
                F.fail("a pickle without PyTorch's magic number: not a torch.save checkpoint");
        }
        stage = "protocol version";
        {
            pickle::Result proto = pickle::load(in);
            if (proto.root->kind != pickle::Kind::Int || proto.root->i != kProtocolVersion)
                F.fail("unsupported legacy protocol version (" + describe(*proto.root) + ", expected 1001)");
        }
        stage = "sys_info";
        {
            pickle::Result info = pickle::load(in);
            const pickle::Value* le = info.root->get("little_endian");
            if (le && le->kind == pickle::Kind::Bool && !le->b)
                F.fail("saved on a big-endian machine: not supported");
        }
        stage = "object";
        pickle::Result obj = pickle::load(in, [&](const pickle::Value& pid) { return table.add(pid); });
        refs = torch::find_tensors(*obj.root, table);
        stage = "storage key list";
        pickle::Result keys = pickle::load(in);
        if (keys.root->kind != pickle::Kind::List) F.fail("the storage key list is " + describe(*keys.root));
        F.storages = table.storages();
        pos = in.offset();
        // The raw storages follow in key-list order: int64 count, then count elements.
        for (const pickle::Value* k : keys.root->items) {
            if (k->kind != pickle::Kind::String) F.fail("a storage key is " + describe(*k));
            const torch::Storage* s = nullptr;
            for (const auto& st : F.storages)
                if (st.key == k->str) s = &st;
            if (!s) F.fail("storage '" + printable(k->str) + "' is listed but no tensor uses it");
            if (!s->elem_bytes)
                F.fail("storage '" + printable(k->str) + "' has type " + printable(s->type_name) +
                       ", whose size is unknown: cannot find the storages after it");
            if (F.size - pos < 8)
                F.fail("truncated: storage '" + printable(k->str) + "' should start at byte " + std::to_string(pos) +
                       ", the file has " + std::to_string(F.size) + " bytes");
            unsigned char b[8];
            F.seek(pos);
            if (std::fread(b, 1, 8, F.f) != 8) F.fail("read error at byte " + std::to_string(pos));
            std::uint64_t count = 0;
            for (int i = 7; i >= 0; --i) count = (count << 8) | b[i];
            if (count != s->numel)
                F.fail("storage '" + printable(k->str) + "' holds " + std::to_string(count) + " elements, its tensors say " +
                       std::to_string(s->numel));
            pos += 8;
            const std::uint64_t bytes = count * s->elem_bytes;
            if (count > F.size || bytes > F.size - pos)
                F.fail("truncated: storage '" + printable(k->str) + "' needs " + std::to_string(bytes) + " bytes at byte " +
                       std::to_string(pos) + ", the file has " + std::to_string(F.size));
            F.data_offset[k->str] = pos;
            pos += bytes;
        }
    } catch (const Error& e) {
        const std::string msg = e.what();
        // Errors raised by F.fail already name the file.
        if (msg.rfind(format_name(Format::TorchLegacy), 0) == 0) throw;
        F.fail(std::string(stage) + ": " + msg);
    }
    for (const auto& s : F.storages)
        if (!F.data_offset.count(s.key)) F.fail("storage '" + printable(s.key) + "' is used but not in the file");

    Checkpoint ck;
    ck.path = path;
    ck.format = Format::TorchLegacy;
    ck.tensors = torch::source_tensors(
        refs, F.storages,
        [file](const torch::TensorRef& r, const torch::Storage& st, unsigned char* bytes, std::size_t size) {
            file->seek(file->data_offset.at(st.key) + r.span_begin * st.elem_bytes);
            if (size > 0 && std::fread(bytes, 1, size, file->f) != size)
                file->fail("read error in the data of tensor " + printable(r.name));
        },
        [file](const std::string& message) { file->fail(message); });
    return ck;
}

}  // namespace nst::convert
