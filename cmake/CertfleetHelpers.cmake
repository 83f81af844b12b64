# Small helpers that keep each CMakeLists.txt short. Every target made with
# them compiles with the project's warnings as errors and sees the project
# root as its include root (#include "common/crypto/certificate.h").

function(certfleet_apply_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()

# certfleet_library(NAME SOURCES ... [DEPS ...])
#   A static library; DEPS are linked publicly.
function(certfleet_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  certfleet_apply_warnings(${name})
endfunction()

# certfleet_executable(NAME SOURCES ... [DEPS ...] [OUTPUT_NAME name])
function(certfleet_executable name)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  if(ARG_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
  endif()
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  certfleet_apply_warnings(${name})
endfunction()

# certfleet_test(NAME SOURCES ... [DEPS ...] [LABELS ...])
#   A GoogleTest binary whose tests ctest discovers one by one. LABELS
#   defaults to "unit"; end-to-end tests use "e2e", integration "integration".
function(certfleet_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    CERTFLEET_BINARY_DIR="${PROJECT_BINARY_DIR}"
    CERTFLEET_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  certfleet_apply_warnings(${name})
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${ARG_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
