# guardrail_pattern_set: the multi-pattern engine (pattern_set.hpp) as a
# static library for the guardrail plugin, its unit tests and the
# micro-benchmark, whichever includes this first.
#
# Hyperscan (Debian's libhyperscan-dev, x86-64 only) answers the patterns it
# can answer exactly; without it (BBR_WITH_HYPERSCAN=OFF, or not installed)
# the build still works and RE2::Set answers every pattern, more slowly.
include(${CMAKE_CURRENT_LIST_DIR}/../common/re2.cmake)
option(BBR_WITH_HYPERSCAN "Match the guardrail's patterns with Hyperscan when libhs is found" ON)
if(NOT TARGET guardrail_pattern_set)
  add_library(guardrail_pattern_set STATIC ${CMAKE_CURRENT_LIST_DIR}/pattern_set.cpp)
  # Built like the plugin it goes into (bbr_add_plugin): nothing of it exported.
  set_target_properties(guardrail_pattern_set PROPERTIES POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(guardrail_pattern_set PRIVATE -fno-gnu-unique)
  endif()
  target_include_directories(guardrail_pattern_set PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
  target_link_libraries(guardrail_pattern_set PUBLIC PkgConfig::RE2)
  target_compile_options(guardrail_pattern_set PRIVATE ${BBR_WARNINGS})
  if(BBR_WITH_HYPERSCAN)
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(HS QUIET IMPORTED_TARGET GLOBAL libhs)
    if(HS_FOUND)
      message(STATUS "guardrail patterns: Hyperscan ${HS_VERSION} and RE2::Set")
      target_compile_definitions(guardrail_pattern_set PRIVATE BBR_HAVE_HYPERSCAN=1)
      target_link_libraries(guardrail_pattern_set PRIVATE PkgConfig::HS)
    else()
      message(STATUS "guardrail patterns: Hyperscan (libhs) not found, RE2::Set only")
    endif()
  else()
    message(STATUS "guardrail patterns: RE2::Set only (BBR_WITH_HYPERSCAN=OFF)")
  endif()
endif()
