# Run as: cmake -DBINARY=<test binary> -P check_test_binary_starts.cmake
#
# Catch's test discovery runs each test binary at build time to list its
# cases, and takes a binary that dies at start-up (a static initialiser that
# aborts, e.g. protobuf refusing a descriptor registered twice) for one with
# no tests: its cases would vanish from ctest without a failure. This check is
# a ctest test of its own that fails instead. (Catch2 v2 exits with the number
# of cases listed, so the exit code alone cannot tell; a death by signal comes
# back from execute_process as a text such as "Child aborted".)
execute_process(COMMAND ${BINARY} --list-test-names-only
                RESULT_VARIABLE result OUTPUT_VARIABLE listed ERROR_VARIABLE errors)
if(NOT result MATCHES "^[0-9]+$")
  message(FATAL_ERROR "${BINARY} died at start-up (${result}):\n${errors}")
endif()
string(STRIP "${listed}" listed)
if(listed STREQUAL "")
  message(FATAL_ERROR "${BINARY} lists no test cases:\n${errors}")
endif()
