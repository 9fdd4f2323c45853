# The Python module actk._actk (nanobind): built when Python's development files and nanobind are
# found (cmake/install-deps.sh installs nanobind); a pip build (scikit-build-core) requires them.
# Sets ACTK_WITH_PYTHON.
set(ACTK_WITH_PYTHON OFF)
if(SKBUILD)
  set(actk_python_required REQUIRED)
endif()
find_package(Python 3.9 COMPONENTS Interpreter Development.Module ${actk_python_required})
if(Python_FOUND)
  execute_process(COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
    OUTPUT_VARIABLE actk_nanobind_dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(actk_nanobind_dir)
    list(APPEND CMAKE_PREFIX_PATH "${actk_nanobind_dir}")
  endif()
  find_package(nanobind CONFIG QUIET ${actk_python_required})
endif()
if(Python_FOUND AND nanobind_FOUND)
  set(ACTK_WITH_PYTHON ON)
  message(STATUS "actk: the Python module (nanobind ${nanobind_VERSION}, Python ${Python_VERSION})")
elseif(NOT Python_FOUND)
  message(WARNING "actk: the Python module is not built: Python's development files were not found")
else()
  message(WARNING "actk: the Python module is not built: nanobind was not found for ${Python_EXECUTABLE} "
    "(pip install nanobind, or sh cmake/install-deps.sh)")
endif()
