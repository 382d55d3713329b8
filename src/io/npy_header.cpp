// SPDX-License-Identifier: MIT
// A small recursive-descent parser for the one dict literal .npy files contain. It accepts what
// numpy writes and reads (either quote style, trailing commas, Python 2 "L" suffixes on
// integers, any key order) and nothing else: unknown or repeated keys, escapes in strings,
// negative or overflowing dimensions are errors.
#include "io/npy_header.h"

#include <cstring>
#include <limits>

namespace nst {

namespace {

class DictParser {
public:
    explicit DictParser(const std::string& s) : m_s(s) {}

    std::string parse(NpyHeader& out) {
        bool seen_descr = false, seen_order = false, seen_shape = false;
        skip_ws();
        if (!eat('{')) return "header is not a dict";
        for (;;) {
            skip_ws();
            if (eat('}')) break;
            std::string key;
            if (!parse_string(key)) return "malformed header: expected a quoted key";
            skip_ws();
            if (!eat(':')) return "malformed header: expected ':' after '" + key + "'";
            skip_ws();
            if (key == "descr") {
                if (seen_descr) return "malformed header: repeated key 'descr'";
                seen_descr = true;
                if (!parse_string(out.descr)) return "unsupported dtype: 'descr' is not a simple type string";
            } else if (key == "fortran_order") {
                if (seen_order) return "malformed header: repeated key 'fortran_order'";
                seen_order = true;
                if (!parse_bool(out.fortran_order)) return "malformed header: 'fortran_order' is not True or False";
            } else if (key == "shape") {
                if (seen_shape) return "malformed header: repeated key 'shape'";
                seen_shape = true;
                const std::string err = parse_shape(out.shape);
                if (!err.empty()) return err;
            } else {
                return "malformed header: unexpected key '" + key + "'";
            }
            skip_ws();
            if (eat(',')) continue;
            if (eat('}')) break;
            return "malformed header: expected ',' or '}'";
        }
        // numpy pads with spaces and ends with '\n'; some writers pad with NULs.
        while (m_i < m_s.size() && (is_ws(m_s[m_i]) || m_s[m_i] == '\0')) ++m_i;
        if (m_i != m_s.size()) return "malformed header: text after the dict";
        if (!seen_descr || !seen_order || !seen_shape)
            return "malformed header: needs the keys 'descr', 'fortran_order' and 'shape'";
        return "";
    }

private:
    static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
    void skip_ws() {
        while (m_i < m_s.size() && is_ws(m_s[m_i])) ++m_i;
    }
    bool eat(char c) {
        if (m_i < m_s.size() && m_s[m_i] == c) {
            ++m_i;
            return true;
        }
        return false;
    }
    bool eat_word(const char* w) {
        const std::size_t n = std::strlen(w);
        if (m_s.compare(m_i, n, w) != 0) return false;
        m_i += n;
        return true;
    }

    bool parse_string(std::string& out) {
        if (m_i >= m_s.size() || (m_s[m_i] != '\'' && m_s[m_i] != '"')) return false;
        const char quote = m_s[m_i++];
        out.clear();
        while (m_i < m_s.size() && m_s[m_i] != quote) {
            if (m_s[m_i] == '\\' || m_s[m_i] == '\n') return false;
            out += m_s[m_i++];
        }
        return eat(quote);
    }

    bool parse_bool(bool& out) {
        if (eat_word("True")) {
            out = true;
            return true;
        }
        if (eat_word("False")) {
            out = false;
            return true;
        }
        return false;
    }

    std::string parse_shape(std::vector<std::int64_t>& out) {
        out.clear();
        if (!eat('(')) return "malformed header: 'shape' is not a tuple";
        for (;;) {
            skip_ws();
            if (eat(')')) return "";
            if (m_i < m_s.size() && m_s[m_i] == '-') return "negative dimension in 'shape'";
            if (m_i >= m_s.size() || m_s[m_i] < '0' || m_s[m_i] > '9')
                return "malformed header: 'shape' holds something other than integers";
            std::int64_t v = 0;
            while (m_i < m_s.size() && m_s[m_i] >= '0' && m_s[m_i] <= '9') {
                const int digit = m_s[m_i++] - '0';
                if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10) return "dimension too large in 'shape'";
                v = v * 10 + digit;
            }
            eat('L');  // Python 2 long, written by old numpy versions
            out.push_back(v);
            skip_ws();
            if (eat(',')) continue;
            if (eat(')')) return "";
            return "malformed header: expected ',' or ')' in 'shape'";
        }
    }

    const std::string& m_s;
    std::size_t m_i = 0;
};

}  // namespace

std::string parse_npy_header(const unsigned char* d, std::size_t n, NpyHeader& out) {
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (n < 10 || std::memcmp(d, magic, 6) != 0) return "not a .npy file (bad magic)";
    out.major = d[6];
    out.minor = d[7];
    std::size_t header_len = 0, start = 0;
    if (out.major == 1 && out.minor == 0) {
        header_len = std::size_t(d[8]) | (std::size_t(d[9]) << 8);
        start = 10;
    } else if ((out.major == 2 || out.major == 3) && out.minor == 0) {
        if (n < 12) return "truncated header";
        header_len = std::size_t(d[8]) | (std::size_t(d[9]) << 8) | (std::size_t(d[10]) << 16) |
                     (std::size_t(d[11]) << 24);
        start = 12;
    } else {
        return "unsupported .npy version " + std::to_string(out.major) + "." + std::to_string(out.minor);
    }
    if (header_len > n - start) return "truncated header";
    out.data_offset = start + header_len;
    // Version 3.0 allows UTF-8 in the dict; the keys and values we accept are ASCII, so a
    // byte-wise parse is correct for every header we accept.
    const std::string text(reinterpret_cast<const char*>(d + start), header_len);
    return DictParser(text).parse(out);
}

std::vector<unsigned char> format_npy_header(const std::vector<std::int64_t>& shape) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) dict += ", ";
        dict += std::to_string(shape[i]);
    }
    if (shape.size() == 1) dict += ",";  // a one-element tuple in Python
    dict += "), }";

    const bool v2 = dict.size() + 1 + 10 > 65535;
    const std::size_t prefix = v2 ? 12 : 10;
    std::size_t total = prefix + dict.size() + 1;  // + '\n'
    total = (total + 63) / 64 * 64;
    dict.append(total - prefix - dict.size() - 1, ' ');
    dict += '\n';

    const std::size_t len = dict.size();
    std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(v2 ? 2 : 1), 0};
    out.push_back(static_cast<unsigned char>(len & 0xFF));
    out.push_back(static_cast<unsigned char>((len >> 8) & 0xFF));
    if (v2) {
        out.push_back(static_cast<unsigned char>((len >> 16) & 0xFF));
        out.push_back(static_cast<unsigned char>((len >> 24) & 0xFF));
    }
    out.insert(out.end(), dict.begin(), dict.end());
    return out;
}

}  // namespace nst
