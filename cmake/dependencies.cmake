# SPDX-License-Identifier: MIT
# Dependencies come from the system (Debian packages), never from the network.
# Required: OpenMP, a CBLAS (OpenBLAS preferred, its OpenMP build first so that BLAS and our
# loops share one thread pool), stb, libpng, nlohmann-json, CLI11. Optional: doctest, Google
# Benchmark, CUDA Toolkit + cuDNN. A missing optional one switches its feature off.

find_package(OpenMP REQUIRED)
find_package(PNG REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)

# ---- BLAS ---------------------------------------------------------------------------------------
set(NST_BLAS_HINTS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/aarch64-linux-gnu/openblas-openmp)
set(NST_CBLAS_HINTS /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/aarch64-linux-gnu/openblas-openmp)
find_library(NST_OPENBLAS_LIB NAMES openblas HINTS ${NST_BLAS_HINTS})
find_path(NST_CBLAS_INCLUDE NAMES cblas.h HINTS ${NST_CBLAS_HINTS} PATH_SUFFIXES openblas x86_64-linux-gnu)
if(NOT NST_OPENBLAS_LIB OR NOT NST_CBLAS_INCLUDE)
  message(FATAL_ERROR "nst: OpenBLAS not found (Debian: apt-get install libopenblas-openmp-dev)")
endif()
# LAPACK (dsyevd, WCT's eigendecompositions, nn/sym_eigen.h): Debian's OpenBLAS packages ship their
# liblapack next to libopenblas (libopenblas-openmp-dev), so no further package is needed.
find_library(NST_LAPACK_LIB NAMES lapack HINTS ${NST_BLAS_HINTS} NO_DEFAULT_PATH)
find_library(NST_LAPACK_LIB NAMES lapack)
if(NOT NST_LAPACK_LIB)
  message(FATAL_ERROR "nst: LAPACK not found (Debian: apt-get install libopenblas-openmp-dev or liblapack-dev)")
endif()
add_library(nst::blas INTERFACE IMPORTED)
set_target_properties(nst::blas PROPERTIES INTERFACE_LINK_LIBRARIES "${NST_OPENBLAS_LIB};${NST_LAPACK_LIB}"
                                           INTERFACE_INCLUDE_DIRECTORIES "${NST_CBLAS_INCLUDE}")
message(STATUS "nst: BLAS ${NST_OPENBLAS_LIB}, LAPACK ${NST_LAPACK_LIB}")

# ---- stb (Debian's libstb-dev: headers in stb/, implementations in libstb) --------------------
find_path(NST_STB_INCLUDE NAMES stb_image.h PATH_SUFFIXES stb HINTS ${STB_ROOT}/include ${STB_ROOT})
find_library(NST_STB_LIB NAMES stb HINTS ${STB_ROOT}/lib ${STB_ROOT})
if(NOT NST_STB_INCLUDE OR NOT NST_STB_LIB)
  message(FATAL_ERROR "nst: stb not found (Debian: apt-get install libstb-dev)")
endif()
add_library(nst::stb INTERFACE IMPORTED)
set_target_properties(nst::stb PROPERTIES INTERFACE_LINK_LIBRARIES "${NST_STB_LIB}"
                                          INTERFACE_INCLUDE_DIRECTORIES "${NST_STB_INCLUDE}")

# ---- optional: weight converters (nst weights convert) ------------------------------------------
# libzip reads PyTorch's zip checkpoints, HDF5 (C API) Keras .h5 files. A missing one turns off
# only its reader, which then says which Debian package to install.
# (Debian 12's libzip-config.cmake fails without the zipcmp tools installed, so look for the
# header and library directly.)
find_path(NST_LIBZIP_INCLUDE NAMES zip.h)
find_library(NST_LIBZIP_LIB NAMES zip)
if(NST_LIBZIP_INCLUDE AND NST_LIBZIP_LIB)
  set(NST_HAVE_LIBZIP ON)
  add_library(nst::libzip INTERFACE IMPORTED)
  set_target_properties(nst::libzip PROPERTIES INTERFACE_LINK_LIBRARIES "${NST_LIBZIP_LIB}"
                                               INTERFACE_INCLUDE_DIRECTORIES "${NST_LIBZIP_INCLUDE}")
else()
  set(NST_HAVE_LIBZIP OFF)
  message(STATUS "nst: libzip not found, PyTorch zip checkpoints cannot be converted (Debian: libzip-dev)")
endif()
# (CMake's FindHDF5 needs the C language enabled; Debian's serial HDF5 lives in hdf5/serial.)
find_path(NST_HDF5_INCLUDE NAMES hdf5.h PATH_SUFFIXES hdf5/serial)
find_library(NST_HDF5_LIB NAMES hdf5_serial hdf5 HINTS /usr/lib/x86_64-linux-gnu/hdf5/serial
             /usr/lib/aarch64-linux-gnu/hdf5/serial)
if(NST_HDF5_INCLUDE AND NST_HDF5_LIB)
  set(NST_HAVE_HDF5 ON)
  add_library(nst::hdf5 INTERFACE IMPORTED)
  set_target_properties(nst::hdf5 PROPERTIES INTERFACE_LINK_LIBRARIES "${NST_HDF5_LIB}"
                                             INTERFACE_INCLUDE_DIRECTORIES "${NST_HDF5_INCLUDE}")
else()
  set(NST_HAVE_HDF5 OFF)
  message(STATUS "nst: HDF5 not found, Keras .h5 files cannot be converted (Debian: libhdf5-dev)")
endif()
message(STATUS "nst: converters: libzip ${NST_HAVE_LIBZIP}, HDF5 ${NST_HAVE_HDF5}")

# ---- optional: optical flow (video, issue #14) --------------------------------------------------
# OpenCV's DIS flow from Debian's libopencv-video-dev alone. That package ships no CMake config or
# pkg-config file (only the libopencv-dev metapackage does, and it drags in contrib, ~150 MB), so
# the header and the three libraries are found directly. Without them estimate_flow says which
# package to install; precomputed flow (--flow-dir) still works.
find_path(NST_OPENCV_INCLUDE NAMES opencv2/video/tracking.hpp PATH_SUFFIXES opencv4)
find_library(NST_OPENCV_VIDEO_LIB NAMES opencv_video)
find_library(NST_OPENCV_IMGPROC_LIB NAMES opencv_imgproc)
find_library(NST_OPENCV_CORE_LIB NAMES opencv_core)
if(NST_OPENCV_INCLUDE AND NST_OPENCV_VIDEO_LIB AND NST_OPENCV_IMGPROC_LIB AND NST_OPENCV_CORE_LIB)
  set(NST_HAVE_OPENCV_VIDEO ON)
  add_library(nst::opencv_video INTERFACE IMPORTED)
  set_target_properties(nst::opencv_video PROPERTIES
    INTERFACE_LINK_LIBRARIES "${NST_OPENCV_VIDEO_LIB};${NST_OPENCV_IMGPROC_LIB};${NST_OPENCV_CORE_LIB}"
    INTERFACE_INCLUDE_DIRECTORIES "${NST_OPENCV_INCLUDE}")
  message(STATUS "nst: optical flow: OpenCV video module ${NST_OPENCV_VIDEO_LIB}")
else()
  set(NST_HAVE_OPENCV_VIDEO OFF)
  message(STATUS "nst: OpenCV video module not found, no flow estimation (Debian: libopencv-video-dev)")
endif()

# ---- optional: libjpeg for --jpeg-decoder libjpeg (src/io/jpeg_libjpeg.cpp) ----------------------
# The decoder PIL uses, so that the peer presets read JPEGs as the peers do (Debian: libjpeg-dev).
find_package(JPEG QUIET)
set(NST_HAVE_LIBJPEG ${JPEG_FOUND})
message(STATUS "nst: libjpeg ${NST_HAVE_LIBJPEG}")

# ---- optional: video files (src/video/clip_*.cpp) -----------------------------------------------
# FFmpeg's libraries through pkg-config (Debian: libavformat-dev libavcodec-dev libswscale-dev
# libavutil-dev). Without them frame folders still work and video paths give an input error.
find_package(PkgConfig QUIET)
set(NST_HAVE_FFMPEG OFF)
if(PkgConfig_FOUND)
  pkg_check_modules(NST_FFMPEG QUIET IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
  if(NST_FFMPEG_FOUND)
    set(NST_HAVE_FFMPEG ON)
  endif()
endif()
if(NOT NST_HAVE_FFMPEG)
  message(STATUS "nst: FFmpeg libraries not found, video files disabled (Debian: libavformat-dev libavcodec-dev libswscale-dev libavutil-dev)")
endif()
message(STATUS "nst: video files (FFmpeg) ${NST_HAVE_FFMPEG}")

# ---- optional: tests, benchmarks ----------------------------------------------------------------
find_package(doctest QUIET)
if(NOT doctest_FOUND)
  message(STATUS "nst: doctest not found, tests disabled (Debian: doctest-dev)")
endif()
find_package(benchmark QUIET)
if(NOT benchmark_FOUND)
  message(STATUS "nst: Google Benchmark not found, benchmarks disabled (Debian: libbenchmark-dev)")
endif()

# ---- optional: CUDA -----------------------------------------------------------------------------
set(NST_HAVE_CUDA OFF)
if(NOT NST_WITH_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit QUIET)
    # cuDNN: CUDNN_ROOT (or the environment's) first; on the GPU machine it may be the Python
    # wheel's folder (site-packages/nvidia/cudnn, whose lib/ holds only libcudnn.so.9).
    if(NOT CUDNN_ROOT AND DEFINED ENV{CUDNN_ROOT})
      set(CUDNN_ROOT $ENV{CUDNN_ROOT})
    endif()
    find_path(NST_CUDNN_INCLUDE cudnn.h HINTS ${CUDNN_ROOT}/include ${CUDAToolkit_INCLUDE_DIRS})
    find_library(NST_CUDNN_LIB NAMES cudnn libcudnn.so.9 HINTS ${CUDNN_ROOT}/lib ${CUDNN_ROOT}/lib64
                 ${CUDAToolkit_LIBRARY_DIR})
    if(CUDAToolkit_FOUND AND NST_CUDNN_INCLUDE AND NST_CUDNN_LIB AND EXISTS ${PROJECT_SOURCE_DIR}/src/cuda/CMakeLists.txt)
      set(NST_HAVE_CUDA ON)
      # Explicit architectures (a 2-core build cannot afford all of them): Hopper machine code
      # (the lent H100/H200) plus PTX that newer GPUs JIT-compile.
      set(NST_CUDA_ARCHITECTURES "90-real;90-virtual" CACHE STRING "CUDA architectures of the kernels")
      set(CMAKE_CUDA_ARCHITECTURES ${NST_CUDA_ARCHITECTURES})
      enable_language(CUDA)
      message(STATUS "nst: cuDNN ${NST_CUDNN_LIB}; CUDA architectures ${NST_CUDA_ARCHITECTURES}")
    endif()
  endif()
  if(NST_WITH_CUDA STREQUAL "ON" AND NOT NST_HAVE_CUDA)
    message(FATAL_ERROR "nst: NST_WITH_CUDA=ON but the CUDA toolkit, cuDNN or the CUDA sources were not found")
  endif()
endif()
message(STATUS "nst: CUDA backend ${NST_HAVE_CUDA}")
