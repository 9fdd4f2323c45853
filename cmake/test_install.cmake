# CTest driver: installs actk into a fresh prefix, then configures, builds and runs the consumer
# project of examples/consumer against it with find_package(actk CONFIG REQUIRED).
#   -DBUILD_DIR=<an actk build tree to install>        (install that build), or
#   -DSOURCE_DIR=<actk sources> -DCUDA=ON|OFF [-DSHARED=ON] (configure and build the library
#                                                        first; SHARED: as a shared library)
#   -DWORK_DIR=<scratch folder> -DCONSUMER_DIR=<examples/consumer>
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
if(NOT BUILD_DIR)
  set(BUILD_DIR "${WORK_DIR}/actk-build")
  if(NOT SHARED)
    set(SHARED OFF)
  endif()
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${BUILD_DIR}" -DCMAKE_BUILD_TYPE=Release -DACTK_ENABLE_CUDA=${CUDA}
      -DBUILD_SHARED_LIBS=${SHARED} -DACTK_BUILD_TESTS=OFF -DACTK_BUILD_BENCHMARKS=OFF -DACTK_BUILD_EXAMPLES=OFF
      -DACTK_BUILD_PYTHON=OFF)
  run(${CMAKE_COMMAND} --build "${BUILD_DIR}" -j2)
endif()
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
file(GLOB_RECURSE config "${prefix}/*/actkConfig.cmake")
file(GLOB_RECURSE version "${prefix}/*/actkConfigVersion.cmake")
if(NOT config OR NOT version OR NOT EXISTS "${prefix}/include/actk/actk.hpp" OR NOT EXISTS "${prefix}/bin/actk")
  message(FATAL_ERROR "the install under ${prefix} lacks the package config, the headers or the actk executable")
endif()
if(SHARED)
  file(GLOB_RECURSE shared_library "${prefix}/*/libactk.so.${VERSION}")
  file(GLOB_RECURSE development_link LIST_DIRECTORIES false "${prefix}/*/libactk.so")
  if(NOT shared_library OR NOT development_link)
    message(FATAL_ERROR "a shared build installed no libactk.so.${VERSION} and libactk.so link under ${prefix}")
  endif()
endif()
# The installed executable runs from the prefix (a shared libactk found through its RPATH).
run("${prefix}/bin/actk" --version)
run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer" -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
run("${WORK_DIR}/consumer/consumer")
