// SPDX-License-Identifier: MIT
#include "convert/pickle.h"

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "convert/checkpoint.h"
#include "core/error.h"

namespace nst::convert::pickle {

namespace {

// Opcodes, as named in CPython's Lib/pickle.py.
enum Op : unsigned char {
    MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I', BININT = 'J',
    BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P', BINPERSID = 'Q', REDUCE = 'R',
    STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U', UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a',
    BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h',
    INST = 'i', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', OBJ = 'o', PUT = 'p', BINPUT = 'q',
    LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
    PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86,
    TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b, BINBYTES = 'B',
    SHORT_BINBYTES = 'C', SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f,
    ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
    BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98,
};

constexpr std::size_t kMaxLine = 4096;  // text opcodes (GLOBAL, INT, PUT...): a line is short
// A VGG19 state dict unpickles to about a thousand values, a whole pickled model to tens of
// thousands. The caps keep a hostile pickle from growing the arena, stack or memo (each costs a
// byte or two of input per entry) to gigabytes before it fails.
constexpr std::size_t kMaxValues = 1u << 22;
constexpr std::size_t kMaxStack = 1u << 22;
constexpr std::size_t kMaxMemo = 1u << 22;

class Machine {
public:
    Machine(Input& in, const PersistentLoad& pload) : m_in(in), m_pload(pload) {}

    Result run() {
        for (;;) {
            m_op_offset = m_in.offset();
            const unsigned char op = u8();
            if (op == STOP) {
                if (m_stack.empty()) fail("STOP with an empty stack");
                m_result.root = m_stack.back();
                return std::move(m_result);
            }
            step(op);
        }
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw_input("pickle: " + what + " at byte " + std::to_string(m_op_offset));
    }

    Value* make(Kind k) {
        if (m_result.arena.size() >= kMaxValues) fail("more than " + std::to_string(kMaxValues) + " objects");
        m_result.arena.push_back(std::make_unique<Value>());
        m_result.arena.back()->kind = k;
        return m_result.arena.back().get();
    }
    void push(Value* v) {
        if (m_stack.size() >= kMaxStack) fail("stack deeper than " + std::to_string(kMaxStack));
        m_stack.push_back(v);
    }
    void memo_put(std::uint64_t key, Value* v) {
        if (m_memo.size() >= kMaxMemo && !m_memo.count(key)) fail("more than " + std::to_string(kMaxMemo) + " memo entries");
        m_memo[key] = v;
    }
    Value* pop() {
        if (m_stack.size() <= floor()) fail("stack underflow");
        Value* v = m_stack.back();
        m_stack.pop_back();
        return v;
    }
    Value* top() {
        if (m_stack.size() <= floor()) fail("stack underflow");
        return m_stack.back();
    }
    // Values above the innermost MARK may be popped; those below belong to an enclosing MARK.
    std::size_t floor() const { return m_marks.empty() ? 0 : m_marks.back(); }
    std::vector<Value*> pop_mark() {
        if (m_marks.empty()) fail("no MARK on the stack");
        const std::size_t at = m_marks.back();
        m_marks.pop_back();
        std::vector<Value*> items(m_stack.begin() + std::ptrdiff_t(at), m_stack.end());
        m_stack.resize(at);
        return items;
    }

    void read(void* dst, std::size_t n) {
        if (n > m_in.remaining()) fail("unexpected end of data (truncated file?)");
        m_in.read(dst, n);
    }
    unsigned char u8() {
        unsigned char c;
        read(&c, 1);
        return c;
    }
    std::uint64_t le(int bytes) {
        unsigned char b[8];
        read(b, std::size_t(bytes));
        std::uint64_t v = 0;
        for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | b[k];
        return v;
    }
    std::string bytes(std::uint64_t n) {
        if (n > m_in.remaining()) fail("a string of " + std::to_string(n) + " bytes runs past the end of the data");
        std::string s(std::size_t(n), '\0');
        if (n) m_in.read(s.data(), std::size_t(n));
        return s;
    }
    std::string line() {
        std::string s;
        for (;;) {
            const char c = char(u8());
            if (c == '\n') return s;
            if (s.size() >= kMaxLine) fail("text argument longer than " + std::to_string(kMaxLine) + " bytes");
            s += c;
        }
    }

    Value* memo_get(std::uint64_t key) {
        auto it = m_memo.find(key);
        if (it == m_memo.end()) fail("memo key " + std::to_string(key) + " was never stored");
        return it->second;
    }
    std::uint64_t parse_uint(const std::string& s) {
        if (s.empty() || s.size() > 18) fail("bad decimal '" + printable(s) + "'");
        std::uint64_t v = 0;
        for (char c : s) {
            if (c < '0' || c > '9') fail("bad decimal '" + printable(s) + "'");
            v = v * 10 + std::uint64_t(c - '0');
        }
        return v;
    }

    Value* make_int(std::int64_t i) {
        Value* v = make(Kind::Int);
        v->i = i;
        return v;
    }
    Value* make_string(Kind k, std::string s) {
        Value* v = make(k);
        v->str = std::move(s);
        return v;
    }
    Value* make_long(const std::string& b) {
        if (b.size() > 8) return make_string(Kind::BigInt, b);
        std::uint64_t u = 0;
        for (std::size_t k = b.size(); k-- > 0;) u = (u << 8) | static_cast<unsigned char>(b[k]);
        if (!b.empty() && b.size() < 8 && (static_cast<unsigned char>(b.back()) & 0x80))
            u |= ~std::uint64_t(0) << (8 * b.size());  // sign-extend
        return make_int(static_cast<std::int64_t>(u));
    }
    Value* make_global(std::string module, std::string name) {
        Value* v = make(Kind::Global);
        v->module = std::move(module);
        v->name = std::move(name);
        return v;
    }
    Value* make_tuple(std::vector<Value*> items) {
        Value* v = make(Kind::Tuple);
        v->items = std::move(items);
        return v;
    }
    // callable(*args), never called: dict-like classes become an empty Dict, the rest an Object.
    Value* make_object(Value* callable, Value* args) {
        if (args->kind != Kind::Tuple) fail("call arguments are not a tuple");
        if (callable->kind == Kind::Global && args->items.empty() &&
            (callable->is_global("collections", "OrderedDict") || callable->is_global("builtins", "dict") ||
             callable->is_global("__builtin__", "dict")))
            return make(Kind::Dict);
        Value* v = make(Kind::Object);
        v->callable = callable;
        v->items = args->items;
        return v;
    }
    void set_items(Value* target, const std::vector<Value*>& kv) {
        if (target->kind != Kind::Dict && target->kind != Kind::Object) fail("SETITEM on a " + describe(*target));
        for (std::size_t k = 0; k + 1 < kv.size(); k += 2) target->dict.emplace_back(kv[k], kv[k + 1]);
    }
    void append_items(Value* target, const std::vector<Value*>& items) {
        // Objects (a list subclass, a deque) keep their items unread: we never interpret them.
        if (target->kind == Kind::Object) return;
        if (target->kind != Kind::List) fail("APPEND on a " + describe(*target));
        target->items.insert(target->items.end(), items.begin(), items.end());
    }

    void step(unsigned char op) {
        switch (op) {
            case PROTO: {
                const unsigned v = u8();
                if (v > 5) fail("unsupported pickle protocol " + std::to_string(v));
                return;
            }
            case FRAME: le(8); return;  // framing is only a read-ahead hint
            case MARK:
                if (m_marks.size() >= kMaxStack) fail("too many MARKs");
                m_marks.push_back(m_stack.size());
                return;
            case POP:
                if (!m_marks.empty() && m_stack.size() == floor()) {
                    pop_mark();  // nothing above the innermost MARK: Python's POP discards the mark
                } else {
                    pop();
                }
                return;
            case POP_MARK: pop_mark(); return;
            case DUP: push(top()); return;
            case NONE: push(make(Kind::None)); return;
            case NEWTRUE:
            case NEWFALSE: {
                Value* v = make(Kind::Bool);
                v->b = op == NEWTRUE;
                push(v);
                return;
            }
            case BININT: push(make_int(std::int32_t(std::uint32_t(le(4))))); return;
            case BININT1: push(make_int(std::int64_t(le(1)))); return;
            case BININT2: push(make_int(std::int64_t(le(2)))); return;
            case LONG1: push(make_long(bytes(le(1)))); return;
            case LONG4: {
                const std::uint64_t n = le(4);
                if (n & 0x80000000u) fail("negative LONG4 length");
                push(make_long(bytes(n)));
                return;
            }
            case INT: {
                std::string s = line();
                if (s == "00" || s == "01") {  // protocol 0 writes booleans as INT 00 / 01
                    Value* v = make(Kind::Bool);
                    v->b = s == "01";
                    push(v);
                    return;
                }
                const bool neg = !s.empty() && s[0] == '-';
                const std::uint64_t u = parse_uint(neg ? s.substr(1) : s);
                push(make_int(neg ? -std::int64_t(u) : std::int64_t(u)));
                return;
            }
            case BINFLOAT: {
                unsigned char b[8];
                read(b, 8);
                std::uint64_t u = 0;
                for (int k = 0; k < 8; ++k) u = (u << 8) | b[k];  // big-endian
                Value* v = make(Kind::Float);
                std::memcpy(&v->f, &u, 8);
                push(v);
                return;
            }
            case BINUNICODE: push(make_string(Kind::String, bytes(le(4)))); return;
            case SHORT_BINUNICODE: push(make_string(Kind::String, bytes(le(1)))); return;
            case BINUNICODE8: push(make_string(Kind::String, bytes(le(8)))); return;
            case BINSTRING: push(make_string(Kind::String, bytes(le(4)))); return;  // py2 str: text here
            case SHORT_BINSTRING: push(make_string(Kind::String, bytes(le(1)))); return;
            case BINBYTES: push(make_string(Kind::Bytes, bytes(le(4)))); return;
            case SHORT_BINBYTES: push(make_string(Kind::Bytes, bytes(le(1)))); return;
            case BINBYTES8:
            case BYTEARRAY8: push(make_string(Kind::Bytes, bytes(le(8)))); return;
            case EMPTY_TUPLE: push(make_tuple({})); return;
            case TUPLE: push(make_tuple(pop_mark())); return;
            case TUPLE1:
            case TUPLE2:
            case TUPLE3: {
                const int n = op - TUPLE1 + 1;
                std::vector<Value*> items(std::size_t(n), nullptr);
                for (int k = n - 1; k >= 0; --k) items[std::size_t(k)] = pop();
                push(make_tuple(std::move(items)));
                return;
            }
            case EMPTY_LIST:
            case EMPTY_SET: push(make(Kind::List)); return;
            case LIST:
            case FROZENSET: {
                Value* v = make(Kind::List);
                v->items = pop_mark();
                push(v);
                return;
            }
            case APPEND: {
                Value* v = pop();
                append_items(top(), {v});
                return;
            }
            case APPENDS:
            case ADDITEMS: {
                std::vector<Value*> items = pop_mark();
                append_items(top(), items);
                return;
            }
            case EMPTY_DICT: push(make(Kind::Dict)); return;
            case DICT: {
                std::vector<Value*> kv = pop_mark();
                if (kv.size() % 2) fail("DICT with an odd number of items");
                Value* d = make(Kind::Dict);
                set_items(d, kv);
                push(d);
                return;
            }
            case SETITEM: {
                Value* v = pop();
                Value* k = pop();
                set_items(top(), {k, v});
                return;
            }
            case SETITEMS: {
                std::vector<Value*> kv = pop_mark();
                if (kv.size() % 2) fail("SETITEMS with an odd number of items");
                set_items(top(), kv);
                return;
            }
            case GLOBAL: {
                std::string module = line();
                std::string name = line();
                push(make_global(std::move(module), std::move(name)));
                return;
            }
            case STACK_GLOBAL: {
                Value* name = pop();
                Value* module = pop();
                if (module->kind != Kind::String || name->kind != Kind::String) fail("STACK_GLOBAL of non-strings");
                push(make_global(module->str, name->str));
                return;
            }
            case REDUCE: {
                Value* args = pop();
                Value* callable = pop();
                push(make_object(callable, args));
                return;
            }
            case NEWOBJ: {
                Value* args = pop();
                Value* cls = pop();
                push(make_object(cls, args));
                return;
            }
            case NEWOBJ_EX: {
                pop();  // keyword arguments: never needed for what we interpret
                Value* args = pop();
                Value* cls = pop();
                push(make_object(cls, args));
                return;
            }
            case BUILD: {
                Value* state = pop();
                top()->state = state;
                return;
            }
            case BINPERSID:
            case PERSID: {
                Value* pid = op == BINPERSID ? pop() : make_string(Kind::String, line());
                if (!m_pload) fail("persistent id where none is expected");
                Value* v = make(Kind::External);
                v->i = m_pload(*pid);
                push(v);
                return;
            }
            case BINPUT: memo_put(le(1), top()); return;
            case LONG_BINPUT: memo_put(le(4), top()); return;
            case PUT: memo_put(parse_uint(line()), top()); return;
            case MEMOIZE: memo_put(m_memo.size(), top()); return;
            case BINGET: push(memo_get(le(1))); return;
            case LONG_BINGET: push(memo_get(le(4))); return;
            case GET: push(memo_get(parse_uint(line()))); return;
            default: {
                char buf[8];
                std::snprintf(buf, sizeof buf, "0x%02x", op);
                fail(std::string("unsupported pickle opcode ") + buf +
                     (op >= 0x20 && op < 0x7f ? std::string(" ('") + char(op) + "')" : std::string()));
            }
        }
    }

    Input& m_in;
    const PersistentLoad& m_pload;
    Result m_result;
    std::vector<Value*> m_stack;
    std::vector<std::size_t> m_marks;
    std::unordered_map<std::uint64_t, Value*> m_memo;
    std::uint64_t m_op_offset = 0;
};

}  // namespace

const Value* Value::get(const std::string& key) const {
    if (kind != Kind::Dict) return nullptr;
    for (const auto& [k, v] : dict)
        if (k->kind == Kind::String && k->str == key) return v;
    return nullptr;
}

void MemoryInput::read(void* dst, std::size_t n) {
    if (n > m_size - m_pos) throw_input("pickle: unexpected end of data at byte " + std::to_string(m_size));
    std::memcpy(dst, m_data + m_pos, n);
    m_pos += n;
}

void FileInput::read(void* dst, std::size_t n) {
    if (n > m_size - m_pos) throw_input("pickle: unexpected end of data at byte " + std::to_string(m_size));
    if (std::fread(dst, 1, n, m_file) != n)
        throw_input("pickle: read error at byte " + std::to_string(m_pos) + ": " + std::strerror(errno));
    m_pos += n;
}

Result load(Input& in, const PersistentLoad& persistent_load) { return Machine(in, persistent_load).run(); }

std::string describe(const Value& v) {
    switch (v.kind) {
        case Kind::None: return "None";
        case Kind::Bool: return v.b ? "True" : "False";
        case Kind::Int: return "int " + std::to_string(v.i);
        case Kind::BigInt: return "int (" + std::to_string(v.str.size()) + " bytes)";
        case Kind::Float: return "float";
        case Kind::String: return "str '" + printable(v.str, 40) + "'";
        case Kind::Bytes: return "bytes";
        case Kind::Tuple: return "tuple of " + std::to_string(v.items.size());
        case Kind::List: return "list of " + std::to_string(v.items.size());
        case Kind::Dict: return "dict of " + std::to_string(v.dict.size());
        case Kind::Global: return printable(v.module + "." + v.name);
        case Kind::Object:
            return (v.callable && v.callable->kind == Kind::Global ? describe(*v.callable) : std::string("object")) +
                   "(...)";
        case Kind::External: return "storage";
    }
    return "value";
}

}  // namespace nst::convert::pickle
