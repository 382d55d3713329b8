// SPDX-License-Identifier: MIT
// The checkpoints of the converter tests, written at test time into the build tree by
// tests/make_convert_inputs.py with the real producers (torch.save, h5py, python3-protobuf), run
// by Debian's /usr/bin/python3. Tests that need them are marked
//     TEST_CASE("..." * doctest::skip(nst::test::convert_inputs_unavailable()))
// and are reported as skipped (with one stderr line naming the missing Debian packages) where
// that Python lacks torch, h5py or protobuf, or protoc is missing.
#pragma once
#include <string>

namespace nst::test {

// Space-separated Debian packages missing for the generator; "" when everything is there.
const std::string& convert_inputs_missing();
inline bool convert_inputs_unavailable() { return !convert_inputs_missing().empty(); }

// Runs the generator (once per test process; it returns at once when its stamp is current) and
// returns the directory holding the files.
const std::string& convert_inputs();

// Runs a shell command line, capturing stdout and stderr; returns the exit code.
int run_shell(const std::string& cmd, std::string* out = nullptr, std::string* err = nullptr);
std::string shell_quoted(const std::string& s);

}  // namespace nst::test
