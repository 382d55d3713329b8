// SPDX-License-Identifier: MIT
#include "convert/caffemodel.h"

#include <cstring>
#include <memory>
#include <set>

#include "convert/elements.h"
#include "convert/protobuf_wire.h"
#include "core/error.h"

namespace nst::convert {

namespace {

using wire::Tag;

constexpr std::size_t kMaxName = 1024;
constexpr std::uint64_t kV1Convolution = 4;

enum class LayerSyntax { Current, V1, V0 };

struct Blob {
    std::uint64_t start = 0, end = 0;  // the BlobProto message bytes
    std::vector<std::int64_t> shape;   // from `shape`, or the legacy dims
    std::int64_t legacy[4] = {0, 0, 0, 0};
    bool has_shape = false;
    std::uint64_t n_float = 0, n_double = 0;
};

struct Layer {
    std::string name, type;
    std::vector<Blob> blobs;
};

class Indexer {
public:
    explicit Indexer(wire::Reader& r) : m_r(r) {}

    std::vector<Layer> net(std::uint64_t end) {
        std::vector<Layer> layers;
        while (m_r.pos() < end) {
            const Tag t = m_r.tag(end);
            if ((t.field == 100 || t.field == 2) && t.wire == wire::Len) {
                const std::uint64_t e = m_r.len_end(end);
                Layer l;
                layer(l, e, t.field == 100 ? LayerSyntax::Current : LayerSyntax::V1);
                layers.push_back(std::move(l));
            } else {
                m_r.skip(t, end);
            }
        }
        return layers;
    }

private:
    void layer(Layer& l, std::uint64_t end, LayerSyntax syntax) {
        // Field numbers per syntax: name, type, blobs.
        const std::uint64_t f_name = syntax == LayerSyntax::V1 ? 4 : 1;
        const std::uint64_t f_type = syntax == LayerSyntax::V1 ? 5 : 2;
        const std::uint64_t f_blobs = syntax == LayerSyntax::Current ? 7 : syntax == LayerSyntax::V1 ? 6 : 50;
        while (m_r.pos() < end) {
            const Tag t = m_r.tag(end);
            if (t.field == f_name && t.wire == wire::Len) {
                l.name = m_r.string(end, kMaxName);
            } else if (t.field == f_type && syntax != LayerSyntax::V1 && t.wire == wire::Len) {
                l.type = m_r.string(end, kMaxName);
            } else if (t.field == f_type && syntax == LayerSyntax::V1 && t.wire == wire::Varint) {
                l.type = m_r.varint(end) == kV1Convolution ? "Convolution" : "V1 layer type";
            } else if (t.field == f_blobs && t.wire == wire::Len) {
                const std::uint64_t e = m_r.len_end(end);
                l.blobs.push_back(blob(e));
            } else if (syntax == LayerSyntax::V1 && t.field == 1 && t.wire == wire::Len) {
                const std::uint64_t e = m_r.len_end(end);  // a V0 layer wrapped in a V1 one
                layer(l, e, LayerSyntax::V0);
            } else {
                m_r.skip(t, end);
            }
        }
        if (syntax == LayerSyntax::V0 && l.type == "conv") l.type = "Convolution";
    }

    Blob blob(std::uint64_t end) {
        Blob b;
        b.start = m_r.pos();
        b.end = end;
        while (m_r.pos() < end) {
            const Tag t = m_r.tag(end);
            if (t.field == 7 && t.wire == wire::Len) {
                const std::uint64_t e = m_r.len_end(end);
                b.has_shape = true;
                b.shape.clear();
                while (m_r.pos() < e) {
                    const Tag d = m_r.tag(e);
                    if (d.field == 1 && d.wire == wire::Len) {
                        const std::uint64_t pe = m_r.len_end(e);
                        while (m_r.pos() < pe) push_dim(b, m_r.varint(pe));
                    } else if (d.field == 1 && d.wire == wire::Varint) {
                        push_dim(b, m_r.varint(e));
                    } else {
                        m_r.skip(d, e);
                    }
                }
            } else if (t.field >= 1 && t.field <= 4 && t.wire == wire::Varint) {
                b.legacy[t.field - 1] = std::int64_t(std::int32_t(std::uint32_t(m_r.varint(end))));
            } else if (t.field == 5 && t.wire == wire::Len) {
                const std::uint64_t e = m_r.len_end(end);
                if ((e - m_r.pos()) % 4) m_r.fail("packed float data of " + std::to_string(e - m_r.pos()) + " bytes");
                b.n_float += (e - m_r.pos()) / 4;
                m_r.seek(e);
            } else if (t.field == 5 && t.wire == wire::Fixed32) {
                ++b.n_float;
                m_r.skip(t, end);
            } else if (t.field == 8 && t.wire == wire::Len) {
                const std::uint64_t e = m_r.len_end(end);
                if ((e - m_r.pos()) % 8) m_r.fail("packed double data of " + std::to_string(e - m_r.pos()) + " bytes");
                b.n_double += (e - m_r.pos()) / 8;
                m_r.seek(e);
            } else if (t.field == 8 && t.wire == wire::Fixed64) {
                ++b.n_double;
                m_r.skip(t, end);
            } else {
                m_r.skip(t, end);
            }
        }
        return b;
    }

    void push_dim(Blob& b, std::uint64_t d) {
        if (b.shape.size() >= 16 || d > (1ull << 40)) m_r.fail("implausible blob shape");
        b.shape.push_back(std::int64_t(d));
    }

    wire::Reader& m_r;
};

// Re-reads a blob's data fields in order into dst (float or double data, packed or not).
void read_blob(wire::Reader& r, const Blob& b, float* dst) {
    const bool use_float = b.n_float > 0;
    const std::uint64_t field = use_float ? 5 : 8;
    const ElemType et = use_float ? ElemType::F32 : ElemType::F64;
    const std::size_t es = elem_size(et);
    std::uint64_t done = 0;
    std::vector<unsigned char> buf(1 << 20);
    r.seek(b.start);
    while (r.pos() < b.end) {
        const Tag t = r.tag(b.end);
        if (t.field == field && t.wire == wire::Len) {
            const std::uint64_t e = r.len_end(b.end);
            while (r.pos() < e) {
                const std::size_t n = std::size_t(std::min<std::uint64_t>(e - r.pos(), buf.size()));
                r.bytes(buf.data(), n, e);
                to_float(et, buf.data(), n / es, dst + done);
                done += n / es;
            }
        } else if (t.field == field && (t.wire == wire::Fixed32 || t.wire == wire::Fixed64)) {
            r.bytes(buf.data(), es, b.end);
            to_float(et, buf.data(), 1, dst + done);
            ++done;
        } else {
            r.skip(t, b.end);
        }
    }
}

}  // namespace

Checkpoint read_caffemodel(const std::string& path) {
    auto file = std::make_shared<CheckpointFile>(Format::Caffe, path);
    CheckpointFile& F = *file;
    if (F.size == 0) F.fail("empty file");

    std::vector<Layer> layers;
    try {
        wire::Reader r(F.f, F.size);
        layers = Indexer(r).net(F.size);
    } catch (const Error& e) {
        F.fail(std::string("not a valid binary Caffe model: ") + e.what() +
               " (truncated or corrupt? a .prototxt holds no weights)");
    }
    std::size_t with_blobs = 0;
    for (const Layer& l : layers) with_blobs += !l.blobs.empty();
    if (layers.empty()) F.fail("no layers: not a Caffe model with weights");
    if (!with_blobs) F.fail("none of its " + std::to_string(layers.size()) + " layers has weights (a deploy definition?)");

    Checkpoint ck;
    ck.path = path;
    ck.format = Format::Caffe;
    std::set<std::string> seen;
    for (const Layer& l : layers) {
        if (l.blobs.empty() || !seen.insert(l.name).second) continue;  // first definition of a name wins
        for (std::size_t k = 0; k < l.blobs.size(); ++k) {
            const Blob& b = l.blobs[k];
            SourceTensor t;
            t.name = l.name + (k == 0 ? ".weight" : k == 1 ? ".bias" : ".blob" + std::to_string(k));
            const std::uint64_t count = b.n_float ? b.n_float : b.n_double;
            t.dtype = b.n_float ? "float32" : b.n_double ? "float64" : "empty";
            if (b.has_shape) {
                t.shape = b.shape;
            } else if (b.legacy[0] || b.legacy[1] || b.legacy[2] || b.legacy[3]) {
                t.shape.assign(b.legacy, b.legacy + 4);
            } else {
                t.shape = {std::int64_t(count)};
            }
            for (auto d : t.shape)
                if (d < 0) F.fail("layer " + printable(l.name) + " blob " + std::to_string(k) + " has a negative dimension");
            // Biases were stored as (1, 1, 1, O) before blobs had shapes.
            if (k == 1)
                while (t.shape.size() > 1 && t.shape[0] == 1) t.shape.erase(t.shape.begin());
            if (shape_numel(t.shape) != count)
                F.fail("layer " + printable(l.name) + " blob " + std::to_string(k) + " has " + std::to_string(count) +
                       " values, its shape " + shape_string(t.shape) + " needs " + std::to_string(shape_numel(t.shape)));
            t.read = [file, b, name = t.name](float* dst) {
                try {
                    wire::Reader r(file->f, file->size);
                    read_blob(r, b, dst);
                } catch (const Error& e) {
                    file->fail("reading " + printable(name) + ": " + e.what());
                }
            };
            ck.tensors.push_back(std::move(t));
        }
    }
    return ck;
}

}  // namespace nst::convert
