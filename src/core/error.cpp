// SPDX-License-Identifier: MIT
#include "core/error.h"

namespace nst {

void throw_internal(const char* expr, const char* file, int line, const std::string& msg) {
    throw Error(ExitCode::Runtime,
                "internal error: " + msg + " (" + expr + " failed at " + file + ":" + std::to_string(line) + ")");
}

}  // namespace nst
