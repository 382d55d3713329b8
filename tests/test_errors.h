// SPDX-License-Identifier: MIT
// Checking thrown nst::Errors in tests: the exit-code class and the one-line message.
#pragma once
#include <doctest/doctest.h>

#include <exception>
#include <string>

#include "core/error.h"

namespace nst::test {

// Runs f, which must throw nst::Error with `code` and a one-line message; returns the message.
template <typename F>
std::string error_of(F&& f, ExitCode code = ExitCode::Input) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(int(e.code()) == int(code));
        const std::string msg = e.what();
        CHECK(msg.find('\n') == std::string::npos);
        return msg;
    } catch (const std::exception& e) {
        FAIL_CHECK("unexpected exception type: " << e.what());
        return "";
    }
    FAIL_CHECK("no nst::Error was thrown");
    return "";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace nst::test
