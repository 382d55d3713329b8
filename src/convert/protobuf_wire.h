// SPDX-License-Identifier: MIT
// Protocol-buffer wire format (https://protobuf.dev/programming-guides/encoding/) read straight
// from a file: varints, tags, length-delimited fields, skipping by seeking. Used for Caffe
// models instead of protoc-generated classes so that (1) the 400 MB of fully connected weights
// in VGG_ILSVRC_19_layers.caffemodel are skipped by seeking, never parsed or held in memory,
// (2) every length is checked against its enclosing message and the file size (truncated and
// corrupt files fail with the byte offset), and (3) the build needs no protoc step. The schema
// subset it follows is src/convert/caffe_subset.proto.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace nst::convert::wire {

enum WireType : int { Varint = 0, Fixed64 = 1, Len = 2, StartGroup = 3, EndGroup = 4, Fixed32 = 5 };

struct Tag {
    std::uint64_t field = 0;
    int wire = 0;
};

// Reads from an open file. Offsets are absolute file positions. Every read is bounded by `end`,
// the end of the enclosing message; errors throw nst::Error(Input) "<what> at byte N" (the
// caller prefixes the file).
class Reader {
public:
    Reader(std::FILE* f, std::uint64_t file_size) : m_file(f), m_size(file_size) {}

    std::uint64_t pos() const { return m_pos; }
    void seek(std::uint64_t pos);

    std::uint64_t varint(std::uint64_t end);
    Tag tag(std::uint64_t end);
    // For a Len field: reads the length and returns the end offset of its payload.
    std::uint64_t len_end(std::uint64_t end);
    std::string string(std::uint64_t end, std::size_t max_bytes);  // Len payload; longer ones are cut
    void bytes(void* dst, std::size_t n, std::uint64_t end);
    void skip(const Tag& t, std::uint64_t end);  // any field but groups

    [[noreturn]] void fail(const std::string& what) const;

private:
    std::FILE* m_file;
    std::uint64_t m_size;
    std::uint64_t m_pos = 0;
};

}  // namespace nst::convert::wire
