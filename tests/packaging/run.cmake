# Proves the package works for consumers. MODE=find_package: install the build tree to a
# prefix and build a consumer with find_package(mlops CONFIG REQUIRED).
# MODE=add_subdirectory: build a consumer that adds the source tree (tests etc. stay off).
# MODE=fetch_content: the same through FetchContent from the local tree.
# MODE=pkg_config: install, then build a consumer with `pkg-config --cflags --libs mlops`.
# The consumers build with -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion
# -Wpedantic -Werror; find_package also builds the whole path header-only and compiled.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
set(consumer ${SOURCE_DIR}/tests/packaging/consumer)
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
  if(NOT EXISTS ${WORK_DIR}/prefix/share/cmake/mlops/mlopsConfigVersion.cmake)
    message(FATAL_ERROR "the install tree has no mlopsConfigVersion.cmake")
  endif()
  run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build -G Ninja -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DMLOPS_CONSUMER_FULL=ON)
elseif(MODE STREQUAL "pkg_config")
  # The installed mlops.pc (compiled mode) through pkg-config, and the installed command's
  # version against the package's.
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
  file(GLOB pcdir ${WORK_DIR}/prefix/lib*/pkgconfig ${WORK_DIR}/prefix/lib/*/pkgconfig)
  set(ENV{PKG_CONFIG_PATH} "${pcdir}")
  execute_process(COMMAND pkg-config --modversion mlops OUTPUT_VARIABLE pcver OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT pcver STREQUAL VERSION)
    message(FATAL_ERROR "pkg-config --modversion mlops gave '${pcver}' (${rc}); the package is ${VERSION}")
  endif()
  execute_process(COMMAND pkg-config --cflags --libs mlops OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs mlops failed")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CXX} -std=c++20 -O1 -Wall -Wextra -Werror ${consumer}/full.cpp -o ${WORK_DIR}/consumer ${flags})
  run(${WORK_DIR}/consumer)
  if(EXISTS ${WORK_DIR}/prefix/bin/mlops)
    execute_process(COMMAND ${WORK_DIR}/prefix/bin/mlops --version OUTPUT_VARIABLE clever OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT clever STREQUAL VERSION)
      message(FATAL_ERROR "mlops --version says '${clever}'; the package is ${VERSION}")
    endif()
  endif()
  message(STATUS "consumer (pkg-config ${pcver}: ${flags}) built and ran")
  return()
elseif(MODE STREQUAL "fetch_content")
  run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build -G Ninja -DCMAKE_BUILD_TYPE=Release
      -DMLOPS_FETCH_DIR=${SOURCE_DIR})
  if(EXISTS ${WORK_DIR}/build/_deps/mlops-build/tests)
    message(FATAL_ERROR "mlops built its tests when fetched")
  endif()
else()
  run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/build -G Ninja -DCMAKE_BUILD_TYPE=Release
      -DMLOPS_SOURCE_DIR=${SOURCE_DIR})
  # As a subproject, mlops must not build its own tests, examples or benchmarks.
  if(EXISTS ${WORK_DIR}/build/mlops_build/tests OR EXISTS ${WORK_DIR}/build/mlops_build/benchmarks)
    message(FATAL_ERROR "mlops built its tests or benchmarks as a subproject")
  endif()
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
if(MODE STREQUAL "find_package")
  run(${WORK_DIR}/build/consumer_full)
  run(${WORK_DIR}/build/consumer_compiled)
endif()
message(STATUS "consumer (${MODE}) built and ran")
