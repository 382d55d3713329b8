// SPDX-License-Identifier: MIT
// Atomic output: bytes go to a temporary file beside the target, are flushed, then renamed over
// it. A failure at any point removes the temporary and leaves any existing target untouched.
#pragma once
#include <string>
#include <vector>

namespace nst {

// Throws nst::Error(Input) naming the path when the directory is missing or not writable.
void write_file_atomic(const std::string& path, const void* data, std::size_t bytes);
void write_file_atomic(const std::string& path, const std::vector<unsigned char>& bytes);

// Checks before a long run that `path` can be created (directory exists and is writable), so
// that a bad --output fails in a second rather than after the optimisation.
void check_writable(const std::string& path);

// For writers that create the file themselves from a path (FFmpeg's muxer): the constructor makes
// an empty temporary beside `target` (same checks and errors as write_file_atomic), the writer
// fills temp_path(), commit() publishes it under the target's name (permissions, fsync, rename).
// Destroying an uncommitted one removes the temporary, leaving any existing target untouched.
class AtomicFilePath {
public:
    explicit AtomicFilePath(const std::string& target);
    ~AtomicFilePath();
    AtomicFilePath(const AtomicFilePath&) = delete;
    AtomicFilePath& operator=(const AtomicFilePath&) = delete;

    const std::string& temp_path() const { return m_tmp; }
    const std::string& target() const { return m_target; }
    void commit();

private:
    std::string m_target, m_tmp;
    bool m_committed = false;
};

}  // namespace nst
