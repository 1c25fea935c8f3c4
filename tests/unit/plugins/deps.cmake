# unit_plugins dlopens the real in-tree plugins: build them first.
# Included from tests/unit/CMakeLists.txt after the unit_<area> targets exist.
if(TARGET unit_plugins)
  add_dependencies(unit_plugins body-field-to-header base-model-to-header)
  # The response-side plugins; their pure logic (plugins/<name>/*.hpp) is also
  # tested directly, which needs RE2 (guardrail) and nlohmann.
  add_dependencies(unit_plugins response-model-rewrite guardrail usage-metrics)
  target_include_directories(unit_plugins PRIVATE ${PROJECT_SOURCE_DIR}/plugins)
  include(${PROJECT_SOURCE_DIR}/plugins/common/re2.cmake)
  target_link_libraries(unit_plugins PRIVATE PkgConfig::RE2 nlohmann_json::nlohmann_json)
  # SSE cases run through the real Session with the offline driver.
  target_link_libraries(unit_plugins PRIVATE bbr_offline)
endif()
