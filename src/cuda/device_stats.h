// SPDX-License-Identifier: MIT
// Accounting of nst's own device allocations (made through core/device_memory.h), so that a run
// can print its peak and tests can check that nothing leaks.
#pragma once
#include <cstddef>

namespace nst::cuda {

std::size_t device_bytes_in_use();
std::size_t device_bytes_peak();
void reset_device_peak();  // peak := in use

}  // namespace nst::cuda
