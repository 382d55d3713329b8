// SPDX-License-Identifier: MIT
// write_file_atomic and check_writable (POSIX). The temporary lives in the target's directory
// because rename(2) is atomic only within one file system; its name starts with a dot so that a
// crash leaves a hidden file rather than something that looks like output.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/error.h"

namespace nst {

namespace {

struct SplitPath {
    std::string dir;   // "." when the path has no directory part
    std::string base;  // "" when the path ends in '/'
};

SplitPath split_path(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return {".", path};
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

std::string write_prefix(const std::string& path) { return "cannot write '" + path + "': "; }

// Explains a failure to create a file in `dir`, looking at the directory itself, since errno
// from mkstemp alone ("No such file or directory") does not say which part is missing.
[[noreturn]] void throw_create_error(const std::string& path, const std::string& dir, int err) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        if (errno == ENOENT) throw_input(write_prefix(path) + "directory '" + dir + "' does not exist");
        throw_input(write_prefix(path) + "directory '" + dir + "': " + std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) throw_input(write_prefix(path) + "'" + dir + "' is not a directory");
    if (err == EACCES || err == EPERM || err == EROFS)
        throw_input(write_prefix(path) + "directory '" + dir + "' is not writable (" + std::strerror(err) + ")");
    throw_input(write_prefix(path) + std::strerror(err));
}

// The process umask without changing it: Linux reports it in /proc/self/status; elsewhere fall
// back to the set-and-restore idiom (racy only against another thread doing the same).
mode_t current_umask() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Umask:", 0) == 0) return mode_t(std::strtoul(line.c_str() + 6, nullptr, 8));
    }
    const mode_t m = ::umask(022);
    ::umask(m);
    return m;
}

void check_not_directory(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw_input(write_prefix(path) + "is a directory");
}

// Creates the temporary; returns its descriptor and fills `tmp_path`.
int create_temp(const std::string& path, const SplitPath& sp, std::string& tmp_path) {
    std::string templ = (sp.dir == "/" ? "/" : sp.dir + "/") + "." + sp.base + ".XXXXXX.tmp";
    const int fd = ::mkstemps(templ.data(), 4);
    if (fd < 0) throw_create_error(path, sp.dir, errno);
    tmp_path = templ;
    return fd;
}

// The checks every output path gets before a temporary is created beside it.
SplitPath checked_target(const std::string& path) {
    const SplitPath sp = split_path(path);
    if (path.empty() || sp.base.empty() || sp.base == "." || sp.base == "..")
        throw_input(write_prefix(path) + "not a file name");
    check_not_directory(path);
    return sp;
}

// Publishes a complete temporary under the final name: ordinary permissions, data on disk, then
// the rename. On any failure the temporary is removed and the target left as it was.
void publish_temp(int fd, const std::string& tmp, const std::string& path, const SplitPath& sp) {
    auto fail = [&](int err) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw_input(write_prefix(path) + std::strerror(err));
    };
    // mkstemp creates the file 0600; outputs get the permissions an ordinary create would give.
    if (::fchmod(fd, 0666 & ~current_umask()) != 0) fail(errno);
    // The data must be on disk before the rename makes it visible under the final name, or a
    // crash could leave an empty file where the previous output was.
    if (::fsync(fd) != 0) fail(errno);
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw_input(write_prefix(path) + std::strerror(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw_input(write_prefix(path) + std::strerror(err));
    }
    // Persist the directory entry too; failure here does not undo a completed write.
    const int dfd = ::open(sp.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace

void write_file_atomic(const std::string& path, const void* data, std::size_t bytes) {
    const SplitPath sp = checked_target(path);

    std::string tmp;
    const int fd = create_temp(path, sp, tmp);
    // From here on, every failure closes and removes the temporary before throwing.
    auto fail = [&](int err) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw_input(write_prefix(path) + std::strerror(err));
    };

    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t done = 0;
    while (done < bytes) {
        const ssize_t n = ::write(fd, p + done, bytes - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(errno);
        }
        if (n == 0) fail(EIO);
        done += std::size_t(n);
    }
    publish_temp(fd, tmp, path, sp);
}

void write_file_atomic(const std::string& path, const std::vector<unsigned char>& bytes) {
    write_file_atomic(path, bytes.data(), bytes.size());
}

void check_writable(const std::string& path) {
    const SplitPath sp = checked_target(path);
    std::string tmp;
    const int fd = create_temp(path, sp, tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
}

AtomicFilePath::AtomicFilePath(const std::string& target) : m_target(target) {
    const SplitPath sp = checked_target(target);
    const int fd = create_temp(target, sp, m_tmp);
    ::close(fd);
}

AtomicFilePath::~AtomicFilePath() {
    if (!m_committed) ::unlink(m_tmp.c_str());
}

void AtomicFilePath::commit() {
    NST_REQUIRE(!m_committed, "AtomicFilePath committed twice");
    const int fd = ::open(m_tmp.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw_input(write_prefix(m_target) + std::strerror(errno));
    m_committed = true;  // publish_temp removes the temporary itself on failure
    publish_temp(fd, m_tmp, m_target, split_path(m_target));
}

}  // namespace nst
