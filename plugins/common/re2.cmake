# RE2 (Debian libre2-dev) as the imported target PkgConfig::RE2, for plugins
# that match client text with regexes. GLOBAL so every plugin folder (and the
# unit tests of their rule logic) sees the one target, whichever includes this first.
if(NOT TARGET PkgConfig::RE2)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET GLOBAL re2)
endif()
