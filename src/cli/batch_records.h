// SPDX-License-Identifier: MIT
// The records of `nst batch`: one JSON object per job, one line each (JSON Lines), to stdout or
// appended to a --records file. Each line is written with one write(2) on a file opened with
// O_APPEND, so that shards appending to one file on the same machine never interleave within
// a line (per-task files, as --slurm writes, are the safe choice on network filesystems).
#pragma once
#include <optional>
#include <string>

#include "loss/objective.h"

namespace nst::cli {

struct BatchRecord {
    int line = 0;
    std::string status;  // ok, skipped or error
    std::string output;
    double seconds = 0;
    std::optional<int> iterations;     // nst run jobs that ran
    std::optional<LossTerms> terms;    // the last iteration's terms (nst run, at least one iteration)
    std::string error;                 // status error: the message nst would print after "nst: error: "
    int exit_code = 0;                 // status error: the code nst would exit with
    std::string shard;                 // "i/n"
};

// The record as one line of JSON (with its newline).
std::string record_line(const BatchRecord& r);

class RecordWriter {
public:
    // "" (or "-") writes to stdout. Throws an input error (exit 3) if the file cannot be opened.
    explicit RecordWriter(const std::string& path);
    ~RecordWriter();
    RecordWriter(const RecordWriter&) = delete;
    RecordWriter& operator=(const RecordWriter&) = delete;
    // Throws a runtime error (exit 4) when the line cannot be written whole.
    void write(const BatchRecord& r);

private:
    int m_fd = 1;
    bool m_owned = false;
    std::string m_path;
};

}  // namespace nst::cli
