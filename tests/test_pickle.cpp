// SPDX-License-Identifier: MIT
// The unpickler on hand-written opcode streams: values, memo, marks, and refusals (no code is
// ever run; malformed streams are input errors naming the byte).
#include <doctest/doctest.h>

#include <string>

#include "convert/pickle.h"
#include "core/error.h"

using namespace nst;
using namespace nst::convert;

namespace {

// A string literal with embedded NULs, whole.
#define BYTES(lit) std::string(lit, sizeof(lit) - 1)

pickle::Result unpickle(const std::string& bytes, const pickle::PersistentLoad& pl = {}) {
    pickle::MemoryInput in(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    return pickle::load(in, pl);
}

std::string error_of(const std::string& bytes) {
    try {
        unpickle(bytes);
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::Input);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("pickle: scalars / strings and containers") {
    // pickle.dumps({'a': (1, -2, 300, 70000), 'b': [None, True, 1.5], 'c': b'xy'}, protocol=3)
    const std::string p = BYTES("\x80\x03}q\x00(X\x01\x00\x00\x00" "aq\x01(K\x01J\xfe\xff\xff\xffM,\x01Jp\x11\x01\x00tq\x02X\x01\x00\x00\x00" "bq\x03]q\x04(N\x88G\x3f\xf8\x00\x00\x00\x00\x00\x00" "eX\x01\x00\x00\x00" "cq\x05" "C\x02xyq\x06u.");
    pickle::Result r = unpickle(p);
    REQUIRE(r.root->kind == pickle::Kind::Dict);
    const pickle::Value* a = r.root->get("a");
    REQUIRE(a);
    REQUIRE(a->kind == pickle::Kind::Tuple);
    REQUIRE(a->items.size() == 4);
    CHECK(a->items[0]->i == 1);
    CHECK(a->items[1]->i == -2);
    CHECK(a->items[2]->i == 300);
    CHECK(a->items[3]->i == 70000);
    const pickle::Value* b = r.root->get("b");
    REQUIRE(b);
    REQUIRE(b->items.size() == 3);
    CHECK(b->items[0]->kind == pickle::Kind::None);
    CHECK(b->items[1]->b);
    CHECK(b->items[2]->f == 1.5);
    const pickle::Value* c = r.root->get("c");
    REQUIRE(c);
    CHECK(c->kind == pickle::Kind::Bytes);
    CHECK(c->str == "xy");
}

TEST_CASE("pickle: LONG1 / memo / globals and persistent ids") {
    // LONG1 of -1 (one byte ff), of the 10-byte torch magic; BINPUT/BINGET; GLOBAL + REDUCE.
    pickle::Result r = unpickle(BYTES("\x80\x02\x8a\x01\xff."));
    CHECK(r.root->i == -1);
    r = unpickle(BYTES("\x8a\x0al\xfc\x9c" "F\xf9 j\xa8P\x19."));
    CHECK(r.root->kind == pickle::Kind::BigInt);
    r = unpickle(BYTES("]q\x05h\x05\x86."));  // (l, l): the same list twice
    REQUIRE(r.root->items.size() == 2);
    CHECK(r.root->items[0] == r.root->items[1]);
    r = unpickle(BYTES("cos\nsystem\n(X\x02\x00\x00\x00lstR."));
    // An arbitrary callable is only recorded, never called.
    REQUIRE(r.root->kind == pickle::Kind::Object);
    CHECK(r.root->callable->is_global("os", "system"));
    int calls = 0;
    r = unpickle(BYTES("X\x01\x00\x00\x00kQ."), [&](const pickle::Value& pid) {
        ++calls;
        CHECK(pid.str == "k");
        return std::int64_t(42);
    });
    CHECK(calls == 1);
    CHECK(r.root->kind == pickle::Kind::External);
    CHECK(r.root->i == 42);
}

TEST_CASE("pickle: malformed streams are input errors") {
    CHECK(error_of("").find("end of data") != std::string::npos);
    CHECK(error_of(BYTES("\x80\x02")).find("end of data") != std::string::npos);
    CHECK(error_of("t.").find("MARK") != std::string::npos);
    CHECK(error_of("s.").find("underflow") != std::string::npos);
    CHECK(error_of(BYTES("h\x07.")).find("memo key 7") != std::string::npos);
    CHECK(error_of(BYTES("X\xff\xff\x00\x00" "ab")).find("past the end") != std::string::npos);
    CHECK(error_of(BYTES("\x80\x09.")).find("protocol 9") != std::string::npos);
    CHECK(error_of("i__main__\nX\n.").find("unsupported pickle opcode") != std::string::npos);
    CHECK(error_of("NQ.").find("persistent id") != std::string::npos);
    CHECK(error_of(".").find("empty stack") != std::string::npos);
    CHECK(error_of("(N1N.").empty());  // MARK, None, POP_MARK (drops both), None: valid
    CHECK(error_of("(N1N0.").find("empty stack") != std::string::npos);
}
