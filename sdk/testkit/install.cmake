# The plugin test kit: libbbr-testkit.so + bbr/testkit.hpp (issue 8, item 4).
#
# A SHARED library built from the host's own static libraries (loader, chain,
# session, the offline session driver), linked in privately, so a plugin author needs only the SDK install
# and the Debian runtime libraries the host itself uses. It exports only the
# bbr::testkit API (hidden visibility, and the static libraries' symbols kept
# local), so it never clashes with what a test links besides.
#
# Included from sdk/CMakeLists.txt; the host's targets are defined later in
# the tree, which target_link_libraries resolves at generation time.
add_library(bbr_testkit SHARED ${CMAKE_CURRENT_SOURCE_DIR}/testkit.cpp)
add_library(bbr::testkit ALIAS bbr_testkit)
# The kit's own ABI follows the plugin ABI's major (bbr/plugin.h).
set_target_properties(bbr_testkit PROPERTIES
  OUTPUT_NAME bbr-testkit
  EXPORT_NAME testkit
  SOVERSION 1
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
target_compile_options(bbr_testkit PRIVATE ${BBR_WARNINGS})
target_link_libraries(bbr_testkit PUBLIC bbr_sdk PRIVATE bbr_offline)
if(NOT APPLE)
  target_link_options(bbr_testkit PRIVATE -Wl,--exclude-libs,ALL -Wl,--no-undefined
    "-Wl,--version-script=${CMAKE_CURRENT_SOURCE_DIR}/testkit.map")
  set_property(TARGET bbr_testkit APPEND PROPERTY LINK_DEPENDS
    ${CMAKE_CURRENT_SOURCE_DIR}/testkit.map)
endif()

# --- install (component sdk, with the headers) ------------------------------
install(TARGETS bbr_testkit EXPORT bbr-sdk-testkit-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk)
install(EXPORT bbr-sdk-testkit-targets NAMESPACE bbr::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bbr-sdk COMPONENT sdk)
# Read by bbr-sdkConfig.cmake: defines bbr::testkit and marks the component found.
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/bbr-sdk-testkit.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bbr-sdk COMPONENT sdk)

# pkg-config bbr-testkit.pc, relocatable as bbr-sdk.pc is (prefix from the
# .pc file's own place).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(BBR_TESTKIT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  string(REGEX REPLACE "/$" "" up "${up}")
  set(BBR_TESTKIT_PC_PREFIX "\${pcfiledir}/${up}")
endif()
# Versioned as the SDK package is: the ABI version bbr/plugin.h declares.
file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/../include/bbr/plugin.h abi_lines
  REGEX "^#define BBR_ABI_(MAJOR|MINOR) [0-9]+")
string(REGEX REPLACE ".*BBR_ABI_MAJOR ([0-9]+).*" "\\1" abi_major "${abi_lines}")
string(REGEX REPLACE ".*BBR_ABI_MINOR ([0-9]+).*" "\\1" abi_minor "${abi_lines}")
set(BBR_TESTKIT_VERSION "${abi_major}.${abi_minor}")
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/bbr-testkit.pc.in
  ${CMAKE_CURRENT_BINARY_DIR}/bbr-testkit.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/bbr-testkit.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT sdk)
