# The test kit's install, part of the SDK (component sdk): the library, its
# CMake targets and its pkg-config file. Included by host/src/testkit, where
# the bbr_testkit target is built from the host's sources.
# --- install (component sdk, with the headers) ------------------------------
install(TARGETS bbr_testkit EXPORT bbr-sdk-testkit-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk)
install(EXPORT bbr-sdk-testkit-targets NAMESPACE bbr::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bbr-sdk COMPONENT sdk)
# Read by bbr-sdkConfig.cmake: defines bbr::testkit and marks the component found.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/bbr-sdk-testkit.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bbr-sdk COMPONENT sdk)

# pkg-config bbr-testkit.pc, relocatable as bbr-sdk.pc is (prefix from the
# .pc file's own place).
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/pc_prefix.cmake)
bbr_pc_prefix(BBR_TESTKIT_PC_PREFIX)
# Versioned as the SDK package is: the ABI version bbr/plugin.h declares.
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/../include/bbr/plugin.h abi_lines
  REGEX "^#define BBR_ABI_(MAJOR|MINOR) [0-9]+")
string(REGEX REPLACE ".*BBR_ABI_MAJOR ([0-9]+).*" "\\1" abi_major "${abi_lines}")
string(REGEX REPLACE ".*BBR_ABI_MINOR ([0-9]+).*" "\\1" abi_minor "${abi_lines}")
set(BBR_TESTKIT_VERSION "${abi_major}.${abi_minor}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/bbr-testkit.pc.in
  ${CMAKE_CURRENT_BINARY_DIR}/bbr-testkit.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/bbr-testkit.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT sdk)
