# Packaging: files installed only for operators (example configuration, a
# systemd unit) and the CPack settings for the Debian packages.
#
# Two packages come out of one `cpack -G DEB`:
#   bbr-host      the server: bin/bbr-host, the in-tree plugins under
#                 lib/bbr-host/plugins, the example config and the systemd unit
#                 (every install rule without a COMPONENT, CMake's "Unspecified")
#   bbr-host-sdk  the plugin SDK: C/C++ headers, CMake package, pkg-config file
#                 (the `sdk` component)
# Split because a plugin author's build machine needs the headers and not a
# server, and a server host needs no headers; the SDK is architecture-free.

# --- operator files ------------------------------------------------------------
install(FILES ${CMAKE_CURRENT_LIST_DIR}/config.example.yaml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bbr-host)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/adapters.example.yaml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bbr-host)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/systemd/bbr-host.service
        DESTINATION lib/systemd/system)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/systemd/bbr-host.default
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bbr-host)

# --- CPack ---------------------------------------------------------------------
set(CPACK_PACKAGE_NAME bbr-host)
set(CPACK_PACKAGE_VENDOR "bbr-host")
set(CPACK_PACKAGE_CONTACT "bbr-host maintainers <bbr-host@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Empty on purpose: CPackDeb would prepend a summary to each component's
# description below, whose first lines are their own summaries (one per package).
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
# Release packages carry no debug info; the build tree keeps the unstripped files.
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL Unspecified sdk)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime dependencies come from the ELF files themselves (dpkg-shlibdeps), so
# the package follows whatever gRPC/protobuf/yaml-cpp the build linked.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

# CPack names per-component variables after the upper-cased component name.
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_NAME bbr-host)
set(CPACK_DEBIAN_UNSPECIFIED_DESCRIPTION
  "Envoy ext_proc server for body-based routing of LLM inference traffic
bbr-host reads OpenAI-style request bodies streamed by Envoy's external
processing filter and sets routing headers (X-Gateway-Model-Name) through a
chain of dynamically loaded plugins. It is a drop-in for the Gateway API
Inference Extension's body-based router.")
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_SDK_PACKAGE_NAME bbr-host-sdk)
# Architecture-specific since the SDK carries the test kit (libbbr-testkit.so):
# CPack's default, the build machine's dpkg architecture.
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_SDK_DESCRIPTION
  "plugin SDK for bbr-host
C ABI header (bbr/plugin.h), C++ helpers (bbr/plugin.hpp), the CMake package
bbr-sdk with bbr_add_plugin(), the pkg-config files bbr-sdk.pc and bbr-testkit.pc,
the plugin test kit (libbbr-testkit.so, bbr/testkit.hpp) and examples.")
set(CPACK_DEBIAN_SDK_PACKAGE_SUGGESTS "bbr-host")
# The test kit links the host's runtime libraries: dpkg-shlibdeps lists them.
set(CPACK_DEBIAN_SDK_PACKAGE_SHLIBDEPS ON)

include(CPack)
cpack_add_component(Unspecified DISPLAY_NAME "bbr-host server and in-tree plugins")
cpack_add_component(sdk DISPLAY_NAME "bbr-host plugin SDK")
