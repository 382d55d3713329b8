// SPDX-License-Identifier: MIT
// A minimal, safe unpickler for what PyTorch checkpoints contain (protocols 0-5, the opcodes
// Python's pickle writes for dicts, lists, tuples, strings, numbers and reduced objects).
//
// Safety: nothing is ever called or imported. GLOBAL only records (module, name); REDUCE,
// NEWOBJ and BUILD build an inert Object that remembers its callable, arguments and state, and
// the caller (torch_checkpoint.cpp) decides what a few known callables such as
// torch._utils._rebuild_tensor_v2 mean. `collections.OrderedDict()` becomes a Dict so that
// SETITEMS fills it. Persistent ids (PyTorch's storages) go to a callback that returns a handle.
//
// Robustness: every length is checked against the bytes left, the stack and memo are checked on
// every access, and values live in an arena owned by the result (memo references may form
// cycles, so there is no ownership between values). Errors are nst::Error(Input)
// "pickle: <what> at byte <offset>".
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nst::convert::pickle {

enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Object, External };

struct Value {
    Kind kind = Kind::None;
    bool b = false;
    std::int64_t i = 0;       // Int; External: the handle persistent_load returned
    double f = 0;             // Float
    std::string str;          // String, Bytes; BigInt: little-endian two's complement bytes
    std::string module, name; // Global
    std::vector<Value*> items;                     // Tuple, List; Object: arguments (a tuple's items)
    std::vector<std::pair<Value*, Value*>> dict;   // Dict; Object: items set on it
    Value* callable = nullptr;                     // Object: what REDUCE / NEWOBJ was given
    Value* state = nullptr;                        // Object, Dict: what BUILD was given

    bool is_global(const char* mod, const char* nm) const {
        return kind == Kind::Global && module == mod && name == nm;
    }
    // Dict lookup by string key (nullptr when absent or not a Dict).
    const Value* get(const std::string& key) const;
};

// A source of pickle bytes: memory or an open file.
class Input {
public:
    virtual ~Input() = default;
    virtual void read(void* dst, std::size_t n) = 0;   // throws on end of data
    virtual std::uint64_t offset() const = 0;          // bytes consumed so far
    virtual std::uint64_t remaining() const = 0;       // bytes left
};

class MemoryInput : public Input {
public:
    MemoryInput(const unsigned char* data, std::size_t size) : m_data(data), m_size(size) {}
    void read(void* dst, std::size_t n) override;
    std::uint64_t offset() const override { return m_pos; }
    std::uint64_t remaining() const override { return m_size - m_pos; }

private:
    const unsigned char* m_data;
    std::size_t m_size, m_pos = 0;
};

// Reads from the current position of f; `size` is the file's size (for length checks).
class FileInput : public Input {
public:
    FileInput(std::FILE* f, std::uint64_t start, std::uint64_t size) : m_file(f), m_pos(start), m_size(size) {}
    void read(void* dst, std::size_t n) override;
    std::uint64_t offset() const override { return m_pos; }
    std::uint64_t remaining() const override { return m_size - m_pos; }

private:
    std::FILE* m_file;
    std::uint64_t m_pos, m_size;
};

struct Result {
    std::vector<std::unique_ptr<Value>> arena;
    Value* root = nullptr;
};

// Given a persistent id (BINPERSID/PERSID), returns a handle stored in an External value.
using PersistentLoad = std::function<std::int64_t(const Value& pid)>;

// Runs one pickle up to its STOP. Throws nst::Error(Input) for malformed or unsupported data.
Result load(Input& in, const PersistentLoad& persistent_load = {});

// Short description for messages: "dict", "str 'abc'", "torch._utils._rebuild_tensor_v2(...)".
std::string describe(const Value& v);

}  // namespace nst::convert::pickle
