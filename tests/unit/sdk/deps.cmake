# unit_sdk: plugin.hpp and the test kit. Included from tests/unit/CMakeLists.txt.
#
# The probe plugin is plugin.hpp's C++17 compile test: built with
# CXX_STANDARD 17 (the file refuses any other), once linked into the tests and
# once as a .so the kit loads.
add_library(sdk_probe_types STATIC ${CMAKE_CURRENT_LIST_DIR}/probe_plugin.cpp
  ${CMAKE_CURRENT_LIST_DIR}/testkit_cxx17.cpp)
set_target_properties(sdk_probe_types PROPERTIES CXX_STANDARD 17 CXX_EXTENSIONS OFF)
target_compile_options(sdk_probe_types PRIVATE ${BBR_WARNINGS})
target_link_libraries(sdk_probe_types PUBLIC bbr::sdk)

set(BBR_SDK_PROBE_DIR ${CMAKE_BINARY_DIR}/sdk-probe)
bbr_add_plugin(sdk_probe SOURCES ${CMAKE_CURRENT_LIST_DIR}/probe_plugin.cpp
  OUTPUT_DIRECTORY ${BBR_SDK_PROBE_DIR})
set_target_properties(sdk_probe PROPERTIES OUTPUT_NAME sdk-probe CXX_STANDARD 17 CXX_EXTENSIONS OFF)
target_compile_definitions(sdk_probe PRIVATE BBR_PROBE_EXPORT)
target_compile_options(sdk_probe PRIVATE ${BBR_WARNINGS})

# The kit tests use only the kit's API (never the host code linked into
# unit_sdk too: the kit carries its own copy, kept local to the .so).
target_link_libraries(unit_sdk PRIVATE bbr_testkit sdk_probe_types)
target_compile_definitions(unit_sdk PRIVATE BBR_SDK_PROBE_SO="${BBR_SDK_PROBE_DIR}/sdk-probe.so")
add_dependencies(unit_sdk sdk_probe body-field-to-header base-model-to-header header-to-body bbr-host)

# libbbr-testkit.so exports its API only (host/src/testkit/testkit.map).
find_program(BBR_READELF NAMES readelf)
if(BBR_READELF)
  add_test(NAME "sdk: libbbr-testkit.so exports only the bbr::testkit API"
    COMMAND ${CMAKE_COMMAND} -DREADELF=${BBR_READELF} -DLIBRARY=$<TARGET_FILE:bbr_testkit>
            -P ${CMAKE_CURRENT_LIST_DIR}/check_testkit_exports.cmake)
endif()
