// SPDX-License-Identifier: MIT
#include "io/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "core/error.h"

namespace nst {

std::string input_error_prefix(const std::string& kind, const std::string& path) {
    return "cannot read " + kind + " '" + path + "'";
}

namespace {

// Closes the descriptor on every exit path.
struct FdGuard {
    int fd = -1;
    ~FdGuard() {
        if (fd >= 0) ::close(fd);
    }
};

std::string open_error(int err) {
    switch (err) {
        case ENOENT: return "file not found";
        case EACCES: return "permission denied";
        case ENOTDIR: return "a component of the path is not a directory";
        default: return std::strerror(err);
    }
}

}  // namespace

std::vector<unsigned char> read_input_file(const std::string& path, const std::string& kind, std::size_t max_bytes) {
    const std::string prefix = input_error_prefix(kind, path);
    if (path.empty()) throw_input("cannot read " + kind + ": empty file name");

    // O_NONBLOCK: opening a FIFO without a writer would otherwise block forever; the fstat
    // below rejects it before any read.
    FdGuard f;
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f.fd < 0) throw_input(prefix + ": " + open_error(errno));

    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw_input(prefix + ": " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw_input(prefix + ": is a directory");
    if (!S_ISREG(st.st_mode)) throw_input(prefix + ": not a regular file");
    if (st.st_size == 0) throw_input(prefix + ": empty file");
    if (std::size_t(st.st_size) > max_bytes)
        throw_input(prefix + ": file too large (" + std::to_string(st.st_size) + " bytes, limit " +
                    std::to_string(max_bytes) + ")");

    std::vector<unsigned char> bytes;
    try {
        bytes.resize(std::size_t(st.st_size));
    } catch (const std::bad_alloc&) {
        throw_input(prefix + ": not enough memory to read " + std::to_string(st.st_size) + " bytes");
    }
    std::size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::read(f.fd, bytes.data() + got, bytes.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_input(prefix + ": " + std::strerror(errno));
        }
        if (n == 0) break;  // the file shrank while we read it
        got += std::size_t(n);
    }
    bytes.resize(got);
    if (bytes.empty()) throw_input(prefix + ": empty file");
    return bytes;
}

}  // namespace nst
