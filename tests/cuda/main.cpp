// SPDX-License-Identifier: MIT
// main() of nst_cuda_tests: without a usable CUDA device the whole suite is skipped with exit
// code 77, which CTest (SKIP_RETURN_CODE 77) reports as Skipped rather than Passed. With a
// device, doctest runs as usual (all its command-line options work).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "engine/engine.h"

int main(int argc, char** argv) {
    if (nst::cuda_device_count() == 0) {
        std::printf("nst_cuda_tests: no CUDA device: %zu test cases skipped\n",
                    doctest::detail::getRegisteredTests().size());
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
