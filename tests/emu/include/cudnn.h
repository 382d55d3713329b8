// SPDX-License-Identifier: MIT
// The kernel emulator's stand-in for cuDNN's header: only what src/cuda/check.h (included by
// every kernel file) names. cuDNN itself is not emulated; a kernel file that called it would
// fail to compile here, deliberately.
#pragma once

#include <cuda_runtime.h>

typedef enum {
    CUDNN_STATUS_SUCCESS = 0,
    CUDNN_STATUS_NOT_INITIALIZED = 1001,
    CUDNN_STATUS_NOT_SUPPORTED = 3000,
    CUDNN_STATUS_ALLOC_FAILED = 4003,  // = CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED
} cudnnStatus_t;

const char* cudnnGetErrorString(cudnnStatus_t status);
