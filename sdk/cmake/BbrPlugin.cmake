# bbr_add_plugin(<target> SOURCES <files...> [OUTPUT_DIRECTORY <dir>])
#
# Builds a bbr-host plugin: a MODULE library with hidden visibility, no "lib"
# prefix, linked against the SDK headers only. Used by the in-tree plugins and
# by third parties through find_package(bbr-sdk), so both build the same way.
# The result is <target>.so; only bbr_plugin_entry_v1 is exported.
function(bbr_add_plugin target)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "bbr_add_plugin(${target}): SOURCES is required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "bbr_add_plugin(${target}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET bbr::sdk)
    message(FATAL_ERROR "bbr_add_plugin(${target}): target bbr::sdk is missing; use find_package(bbr-sdk)")
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE bbr::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # A C-only project has no CXX compiler id, so look at both.
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" OR CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    if(NOT APPLE)
      # A plugin must not depend on symbols from the host: fail at link time.
      target_link_options(${target} PRIVATE -Wl,--no-undefined)
    endif()
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
endfunction()
