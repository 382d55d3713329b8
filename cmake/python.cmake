# SPDX-License-Identifier: MIT
# The Python module (issue #15): nanobind + the Python development headers. NST_PYTHON=AUTO
# builds it when both are found, ON insists, OFF never looks. The CLI build never needs them.
#
# The interpreter: -DPython_EXECUTABLE=... when given; otherwise the first of `python3` on PATH
# and /usr/bin/python3 that can import nanobind (on Debian a pyenv or venv python3 often comes
# first on PATH while nanobind and NumPy were installed for the system interpreter).
set(NST_PYTHON AUTO CACHE STRING "Build the Python module nst._nst: AUTO, ON or OFF")
set_property(CACHE NST_PYTHON PROPERTY STRINGS AUTO ON OFF)
set(NST_HAVE_PYTHON OFF)

if(NOT NST_PYTHON STREQUAL "OFF")
  if(NOT Python_EXECUTABLE)
    find_program(NST_PATH_PYTHON3 python3)
    foreach(candidate ${NST_PATH_PYTHON3} /usr/bin/python3)
      if(EXISTS "${candidate}")
        execute_process(COMMAND "${candidate}" -c "import nanobind" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
        if(rc EQUAL 0)
          set(Python_EXECUTABLE "${candidate}" CACHE FILEPATH "Python interpreter of the nst module")
          break()
        endif()
      endif()
    endforeach()
  endif()
  find_package(Python 3.8 COMPONENTS Interpreter Development.Module QUIET)
  if(Python_FOUND)
    execute_process(COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
                    OUTPUT_VARIABLE NST_NANOBIND_DIR OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(NST_NANOBIND_DIR)
      list(APPEND CMAKE_PREFIX_PATH "${NST_NANOBIND_DIR}")
    endif()
    find_package(nanobind CONFIG QUIET)
  endif()
  if(Python_FOUND AND nanobind_FOUND)
    set(NST_HAVE_PYTHON ON)
    # The extension is a shared object that links nst_core statically: everything in it must be
    # position-independent. (On x86-64 -fPIC costs the engine nothing measurable.)
    set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  elseif(NST_PYTHON STREQUAL "ON")
    message(FATAL_ERROR "nst: NST_PYTHON=ON but Python ${Python_VERSION} headers or nanobind were not found "
                        "(pip install nanobind; apt-get install python3-dev; or -DPython_EXECUTABLE=...)")
  endif()
endif()
message(STATUS "nst: Python module ${NST_HAVE_PYTHON}")
if(NST_HAVE_PYTHON)
  message(STATUS "nst: Python ${Python_EXECUTABLE} (${Python_VERSION}), nanobind ${nanobind_VERSION}")
endif()
