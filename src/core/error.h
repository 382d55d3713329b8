// SPDX-License-Identifier: MIT
// Errors carry the exit-code class of spec §7, so that only main() decides how to report them
// and library code never exits.
#pragma once
#include <stdexcept>
#include <string>

namespace nst {

enum class ExitCode : int { Ok = 0, Usage = 2, Input = 3, Runtime = 4 };

class Error : public std::runtime_error {
public:
    Error(ExitCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}
    ExitCode code() const { return m_code; }

private:
    ExitCode m_code;
};

[[noreturn]] inline void throw_usage(const std::string& msg) { throw Error(ExitCode::Usage, msg); }
[[noreturn]] inline void throw_input(const std::string& msg) { throw Error(ExitCode::Input, msg); }
[[noreturn]] inline void throw_runtime(const std::string& msg) { throw Error(ExitCode::Runtime, msg); }

// Internal invariant violated: a bug, reported as a runtime error with the source location.
[[noreturn]] void throw_internal(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace nst

// Precondition of a library entry point (shapes, devices). Failing means the caller is wrong.
#define NST_REQUIRE(cond, msg)                                                                    \
    do {                                                                                          \
        if (!(cond)) ::nst::throw_internal(#cond, __FILE__, __LINE__, (msg));                    \
    } while (0)
