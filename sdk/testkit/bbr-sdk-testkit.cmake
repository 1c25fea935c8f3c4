# Part of the bbr-sdk CMake package: the test kit (bbr::testkit).
#
#   find_package(bbr-sdk 1.1 REQUIRED COMPONENTS testkit)
#   target_link_libraries(my_plugin_test PRIVATE bbr::testkit)
#
# bbr::testkit is libbbr-testkit.so plus bbr/testkit.hpp; it brings bbr::sdk.
if(EXISTS "${CMAKE_CURRENT_LIST_DIR}/bbr-sdk-testkit-targets.cmake")
  include("${CMAKE_CURRENT_LIST_DIR}/bbr-sdk-testkit-targets.cmake")
  set(bbr-sdk_testkit_FOUND TRUE)
endif()
