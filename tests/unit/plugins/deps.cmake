# unit_plugins dlopens the real in-tree plugins: build them first.
# Included from tests/unit/CMakeLists.txt after the unit_<area> targets exist.
if(TARGET unit_plugins)
  add_dependencies(unit_plugins body-field-to-header base-model-to-header model-rewrite
    model-selector body-fields-to-headers header-to-body)
  # The request plugins' rule logic (plugins/<name>/*_rules.hpp) is also
  # tested on its own, without a host: it needs RE2 and the plugins' headers.
  include(${PROJECT_SOURCE_DIR}/plugins/common/re2.cmake)
  target_include_directories(unit_plugins PRIVATE ${PROJECT_SOURCE_DIR}/plugins)
  target_link_libraries(unit_plugins PRIVATE PkgConfig::RE2 nlohmann_json::nlohmann_json)
endif()
