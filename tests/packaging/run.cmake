# Proves the package works for consumers. MODE=find_package: install the build tree to a
# prefix and build a consumer with find_package(mlops CONFIG REQUIRED).
# MODE=add_subdirectory: build a consumer that adds the source tree (tests etc. stay off).
# MODE=fetch_content: the same through FetchContent from the local tree.
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
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
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
message(STATUS "consumer (${MODE}) built and ran")
