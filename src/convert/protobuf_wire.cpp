// SPDX-License-Identifier: MIT
#include "convert/protobuf_wire.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace nst::convert::wire {

void Reader::fail(const std::string& what) const { throw_input(what + " at byte " + std::to_string(m_pos)); }

void Reader::seek(std::uint64_t pos) {
    if (pos > m_size) fail("seek past the end of the file");
    if (fseeko(m_file, off_t(pos), SEEK_SET) != 0) fail(std::string("cannot seek: ") + std::strerror(errno));
    m_pos = pos;
}

void Reader::bytes(void* dst, std::size_t n, std::uint64_t end) {
    if (n > end - m_pos || end > m_size)
        fail(end > m_size ? "truncated file (" + std::to_string(m_size) + " bytes)" : "field runs past its message");
    if (n && std::fread(dst, 1, n, m_file) != n) fail(std::string("read error: ") + std::strerror(errno));
    m_pos += n;
}

std::uint64_t Reader::varint(std::uint64_t end) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        unsigned char b;
        if (m_pos >= end) fail(end >= m_size ? "truncated file (in a varint)" : "varint runs past its message");
        bytes(&b, 1, end);
        if (shift == 63 && (b & 0x7e)) fail("varint overflows 64 bits");
        v |= std::uint64_t(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
}

Tag Reader::tag(std::uint64_t end) {
    const std::uint64_t start = m_pos;
    const std::uint64_t t = varint(end);
    Tag out{t >> 3, int(t & 7)};
    if (out.field == 0 || out.wire > 5 || out.wire == StartGroup || out.wire == EndGroup) {
        m_pos = start;
        fail("invalid protobuf (field " + std::to_string(out.field) + ", wire type " + std::to_string(out.wire) + ")");
    }
    return out;
}

std::uint64_t Reader::len_end(std::uint64_t end) {
    const std::uint64_t n = varint(end);
    if (n > end - m_pos) {
        fail(end >= m_size ? "truncated file: a field of " + std::to_string(n) + " bytes, " +
                                 std::to_string(m_size - m_pos) + " left"
                           : "a field of " + std::to_string(n) + " bytes runs past its message");
    }
    return m_pos + n;
}

std::string Reader::string(std::uint64_t end, std::size_t max_bytes) {
    const std::uint64_t e = len_end(end);
    const std::size_t keep = std::size_t(std::min<std::uint64_t>(e - m_pos, max_bytes));
    std::string s(keep, '\0');
    bytes(s.data(), keep, e);
    if (m_pos != e) seek(e);
    return s;
}

void Reader::skip(const Tag& t, std::uint64_t end) {
    switch (t.wire) {
        case Varint: varint(end); return;
        case Fixed64:
            if (end - m_pos < 8) fail("truncated fixed64");
            seek(m_pos + 8);
            return;
        case Fixed32:
            if (end - m_pos < 4) fail("truncated fixed32");
            seek(m_pos + 4);
            return;
        case Len: seek(len_end(end)); return;
        default: fail("unsupported wire type " + std::to_string(t.wire));
    }
}

}  // namespace nst::convert::wire
